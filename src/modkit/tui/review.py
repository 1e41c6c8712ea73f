"""The interactive review (`modkit review --interactive FILE`): walk a flag CSV's comments with
their article and parent chain, and approve, reject, escalate, correct or annotate each one.

Built on the labeler's widgets. Every decision is written (label events, then the decision log,
exactly as an imported CSV row would be: :func:`modkit.review.record_decisions`) the moment its
key is pressed, so quitting at any time loses nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Static

from modkit import review
from modkit.tui.widgets import ArticlePanel, CommentPanel, ContextPanel, StatusLine, clip, comment_view

CSS = """
Screen { layout: vertical; }
#top { height: 1; background: $primary; color: $text; padding: 0 1; }
#flags { height: auto; max-height: 3; padding: 0 1; }
#keys { height: auto; padding: 0 1; background: $panel; color: $text-muted; }
#ask { display: none; height: 3; }
#ask.visible { display: block; }
"""

KEYS = "a approve  r reject  x escalate  c correct  e note  ←/b back  →/s skip  q quit"
CODE_KEYS = {str(i): code for i, code in enumerate(review.REJECT_CODES, start=1)}
CODES_HELP = "reject code: " + "  ".join(f"{k} {c}" for k, c in CODE_KEYS.items()) + "  Enter none  Esc cancel"
_STYLE = {"approve": "bold green", "reject": "bold red", "escalate": "bold magenta", "correct": "bold cyan"}


class ReviewApp(App):
    """Review the comments of one flag CSV as ``reviewer``."""

    CSS = CSS
    TITLE = "modkit review"
    BINDINGS = [Binding("ctrl+c", "quit", "quit", show=False, priority=True)]  # noqa: RUF012 (Textual API)

    def __init__(self, file: str | Path, reviewer: str, pages: str | Path | Iterable[str | Path],
                 labels: str | Path) -> None:
        super().__init__()
        from modkit.labels.store import check_annotator

        self.reviewer = check_annotator(reviewer)
        self.labels = Path(labels)
        self.sheet = review.read_sheet(file)
        self.index = review.PageIndex.read(pages)
        self.allowed = review.allowed_values(labels)
        self.items, self.problems = review.flagged_items(self.sheet, self.index)
        self.pos = 0
        self.mode: str | None = None  # None, "code", "correct", "note"
        self.result = review.ReviewResult()
        latest = review.DecisionLog(labels).latest()
        self.decided: dict[str, dict] = {cid: rec for (who, cid), rec in latest.items() if who == self.reviewer}
        self.message = (f"{len(self.problems)} row(s) skipped: {self.problems[0]}" if self.problems else "")

    # -- layout --------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield from comment_view()
        yield Static(id="flags")
        yield StatusLine(id="status")
        yield Input(id="ask")
        yield Static(KEYS, id="keys")

    def on_mount(self) -> None:
        self.refresh_view()

    @property
    def item(self) -> review.FlaggedItem | None:
        return self.items[self.pos] if self.pos < len(self.items) else None

    def refresh_view(self) -> None:
        n = len(self.items)
        done = sum(1 for it in self.items if it.comment.id in self.decided)
        self.query_one("#top", Static).update(Text(clip(
            f"modkit review · {self.sheet.path.name} · reviewer {self.reviewer} · "
            f"{min(self.pos + 1, n)}/{n} · {done} decided", 200), style="bold"))
        status = self.query_one("#status", StatusLine)
        it = self.item
        if it is None:
            self.query_one("#article", ArticlePanel).update(Text("End of the file.", style="bold green"))
            self.query_one("#context", ContextPanel).update("")
            panel = self.query_one("#comment", CommentPanel)
            panel.border_title = "done"
            panel.query_one("#comment-body", Static).update(Text(
                f"{self.result.decisions} decisions recorded this session ({self.result.events} label events).\n"
                "Press b to go back, q to quit."))
            self.query_one("#flags", Static).update("")
            status.update(Text(clip(self.message, 200)))
            return
        thread = self.index.threads[it.comment.doc]
        self.query_one("#article", ArticlePanel).show(thread)
        self.query_one("#context", ContextPanel).show(thread, it.comment)
        self.query_one("#comment", CommentPanel).show(thread, it.comment)
        t = Text()
        t.append("flags: ", style="bold")
        # flags, scores, model and earlier decisions come from the CSV and the log: shown visible
        t.append(clip(", ".join(it.flags), 200) or "none", style="bold red" if it.flags else "dim")
        for k, v in it.scores.items():
            t.append(f"  {clip(k[2:], 40)} {v:.2f}", style="red" if v >= 0.5 else "dim")
        if it.model:
            t.append(f"  model {clip(it.model, 80)}", style="dim")
        reasons = it.cells.get("reasons", "").strip()
        if reasons:
            t.append("\nwhy: " + clip(reasons, 150), style="yellow")
        prev = self.decided.get(it.comment.id)
        if prev:
            t.append("\nyour decision: ", style="bold")
            t.append(clip(str(prev["decision"]), 40), style=_STYLE.get(str(prev["decision"]), "bold"))
            if prev.get("reject_code"):
                t.append(f" {clip(str(prev['reject_code']), 40)}")
            labels = clip(" ".join(f"{k}={v}" for k, v in (prev.get("labels") or {}).items()), 200)
            if labels:
                t.append(f"  ({labels})", style="dim")
        self.query_one("#flags", Static).update(t)
        status.update(Text(clip(self.message, 200)))

    # -- actions -------------------------------------------------------------------------------
    def record(self, decision: str, code: str = "", corrections: dict[str, str] | None = None, note: str = "") -> bool:
        it = self.item
        if it is None:
            return False
        try:
            d = it.decide(decision, self.reviewer, self.allowed, code, corrections, note)
        except ValueError as exc:
            self.message = str(exc)
            return False
        r = review.record_decisions([d], self.labels)
        self.result.decisions += r.decisions
        self.result.events += r.events
        self.result.already += r.already
        self.result.by_decision.update(r.by_decision)
        if decision != review.NOTE:
            self.decided[d.comment_id] = d.record("")
        what = " ".join(f"{k}={v}" for k, v in d.values.items())
        self.message = f"{it.comment.author}: {decision}{' ' + code if code else ''}" + (f" -> {what}" if what else "")
        if r.already:
            self.message += " (already recorded)"
        return True

    def ask(self, mode: str, placeholder: str) -> None:
        self.mode = mode
        box = self.query_one("#ask", Input)
        box.placeholder = placeholder
        box.value = ""
        box.add_class("visible")
        box.focus()

    def close_ask(self) -> None:
        box = self.query_one("#ask", Input)
        box.value = ""
        box.remove_class("visible")
        self.mode = None
        self.set_focus(None)
        self.query_one("#keys", Static).update(KEYS)

    async def on_key(self, event: events.Key) -> None:
        if self.query_one("#ask", Input).has_focus:
            if event.key == "escape":
                self.close_ask()
                self.refresh_view()
                event.stop()
            return
        ch = event.character or ""
        self.message = ""
        if self.mode == "code":
            if event.key == "escape":
                self.mode = None
                self.message = "reject cancelled"
            elif ch in CODE_KEYS or event.key == "enter":
                self.mode = None
                if self.record("reject", CODE_KEYS.get(ch, "")):
                    self.pos += 1
            else:
                self.message = CODES_HELP
            self.query_one("#keys", Static).update(CODES_HELP if self.mode == "code" else KEYS)
            event.stop()
            self.refresh_view()
            return
        if ch == "q":
            self.exit(self.result)
            return
        handled = True
        if ch == "b" or event.key == "left":
            self.pos = max(0, self.pos - 1)
        elif ch == "s" or event.key == "right":
            self.pos = min(len(self.items), self.pos + 1)
        elif self.item is None:
            handled = ch in "arxce" and bool(ch)
        elif ch == "a":
            if self.record("approve"):
                self.pos += 1
        elif ch == "x":
            if self.record("escalate"):
                self.pos += 1
        elif ch == "r":
            self.mode = "code"
            self.query_one("#keys", Static).update(CODES_HELP)
        elif ch == "c":
            self.ask("correct", "corrections, e.g. civility=uncivil topic=on; Enter saves, Esc cancels")
        elif ch == "e":
            self.ask("note", "note on this comment; Enter saves, Esc cancels")
        else:
            handled = False
        if handled:
            event.stop()
            event.prevent_default()
            self.refresh_view()

    def on_input_submitted(self, message: Input.Submitted) -> None:
        mode, value = self.mode, message.value.strip()
        self.close_ask()
        if not value:
            self.message = "nothing entered"
        elif mode == "note":
            self.record(review.NOTE, note=value)
        elif mode == "correct":
            try:
                corrections = review.parse_corrections(value)
            except ValueError as exc:
                self.message = str(exc)
            else:
                if self.record(review.CORRECT, corrections=corrections):
                    self.pos += 1
        self.refresh_view()


def run_review_app(file: str | Path, reviewer: str, pages: str | Path | Iterable[str | Path],
                   labels: str | Path) -> review.ReviewResult:
    """Open the review screen in this terminal; returns what was recorded."""
    app = ReviewApp(file, reviewer, pages=pages, labels=labels)
    app.run()
    return app.result

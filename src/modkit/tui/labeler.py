"""The full-screen labeler (`modkit label`) and adjudicator (`modkit labels adjudicate`).

Both are thin Textual views: the labeler draws a :class:`~modkit.labels.session.LabelSession`
and forwards keys to it; every label is written to the store by the session the moment its key
is pressed, so quitting (or a crash) at any time loses nothing.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Static

from modkit.labels.agreement import Disagreement
from modkit.labels.corpus import Corpus
from modkit.labels.schema import Schema
from modkit.labels.session import LabelSession
from modkit.labels.store import LabelEvent, LabelStore
from modkit.safetext import visible
from modkit.tui.widgets import (
    ArticlePanel,
    ChoiceBar,
    CommentPanel,
    ContextPanel,
    StatusLine,
    clip,
    comment_view,
)

CSS = """
Screen { layout: vertical; }
#top { height: 1; background: $primary; color: $text; padding: 0 1; }
#defs { height: auto; max-height: 6; padding: 0 1; color: $text-muted; }
#keys { height: 1; padding: 0 1; background: $panel; color: $text-muted; }
#note { display: none; height: 3; }
#note.visible { display: block; }
"""


def _keys_help(schema: Schema) -> str:
    c = schema.controls
    return (f"{c['back']} back  {c['skip']} skip  {c['undo']} undo  {c['next_unlabeled']} next unlabeled  "
            f"{c['note']} note  {c['quit']} quit  ←→ comment  ↑↓ task")


class LabelerApp(App):
    """Label comments with one key per value. ``order``: the comment ids in the order to show."""

    CSS = CSS
    TITLE = "modkit label"
    BINDINGS = [Binding("ctrl+c", "quit", "quit", show=False, priority=True)]

    def __init__(self, corpus: Corpus, store: LabelStore, schema: Schema, annotator: str,
                 order: list[str] | None = None, only_unlabeled: bool = False,
                 session: LabelSession | None = None) -> None:
        super().__init__()
        self.session = session or LabelSession(corpus, store, schema, annotator, order=order,
                                               only_unlabeled=only_unlabeled)
        self.schema = schema
        self._actions = {key: action for action, key in schema.controls.items()}

    def compose(self) -> ComposeResult:
        yield from comment_view()
        yield ChoiceBar(id="choices")
        yield Static(id="defs")
        yield StatusLine(id="status")
        yield Input(placeholder="note for this comment; Enter saves, Esc cancels", id="note")
        yield Static(Text(visible(_keys_help(self.schema))), id="keys")  # Text: a key "[" is no markup

    def on_mount(self) -> None:
        if self.session.warnings:
            self.session.message = f"{len(self.session.warnings)} bad line(s) in your label file skipped: {self.session.warnings[0]}"
        self.refresh_view()

    # -- drawing ---------------------------------------------------------------------------------
    def refresh_view(self) -> None:
        s = self.session
        top = self.query_one("#top", Static)
        n = len(s.queue)
        where = f"{min(s.pos + 1, n)}/{n}" if n else "0/0"
        it = s.item
        page = f" · {it.thread.doc}" if it else ""
        top.update(Text(clip(f"modkit label · annotator {s.annotator} · {where}{page}", 200), style="bold"))
        prog = " · ".join(f"{t} {k}/{n}" for t, k in s.progress().items())
        status = self.query_one("#status", StatusLine)
        if it is None:
            self.query_one("#article", ArticlePanel).update(Text("All comments in this session are labeled.", style="bold green"))
            self.query_one("#context", ContextPanel).update("")
            panel = self.query_one("#comment", CommentPanel)
            panel.border_title = "done"
            panel.query_one("#comment-body", Static).update(Text(visible(
                f"{s.summary()}\n\nPress {self.schema.controls['back']} to go back, "
                f"{self.schema.controls['undo']} to undo, {self.schema.controls['quit']} to quit.", keep_layout=True)))
            self.query_one("#choices", ChoiceBar).update("")
            self.query_one("#defs", Static).update("")
            status.update(Text(clip(f"{prog}  {s.message}", 200)))
            return
        cid = it.id
        self.query_one("#article", ArticlePanel).show(it.thread)
        self.query_one("#context", ContextPanel).show(it.thread, it.comment)
        stale = s.stale.get(cid, {})
        warning = ""
        if stale:
            old = ", ".join(f"{t}={v}" for t, v in stale.items())
            warning = f"text changed since you labeled it ({old}): label it again"
        self.query_one("#comment", CommentPanel).show(it.thread, it.comment, warning)
        values = {t.name: s.value(cid, t.name) for t in s.tasks}
        extra = {t: f"(was {v}, old text)" for t, v in stale.items() if values.get(t) is None}
        self.query_one("#choices", ChoiceBar).show(s.tasks, values, s.task_i, extra)
        task = s.task
        width = max(20, self.size.width - 3)
        defs = Text(clip(task.question, width) + "\n", style="italic") if task.question else Text()
        for i, v in enumerate(task.values):
            head = f"{v.key} {v.name}: "
            defs.append(head, style="bold")
            defs.append(clip(v.definition, width - len(head)) + ("\n" if i < len(task.values) - 1 else ""))
        self.query_one("#defs", Static).update(defs)
        note = s.pending_note.get(cid) or s.notes.get((cid, task.name), "")
        msg = s.message + (f"  note: {note}" if note else "")
        status.update(Text(clip(f"{prog} │ {msg}" if msg else prog, 200)))

    # -- keys ----------------------------------------------------------------------------------
    async def on_key(self, event: events.Key) -> None:
        note = self.query_one("#note", Input)
        if note.has_focus:
            if event.key == "escape":
                self._close_note()
                event.stop()
            return
        s = self.session
        s.message = ""
        ch = event.character or ""
        action = self._actions.get(ch) if ch else None
        handled = True
        if action == "quit":
            self.exit()
            return
        if action == "back" or event.key == "left":
            s.back()
        elif action == "skip":
            s.skip()
        elif action == "undo":
            s.undo()
        elif action == "next_unlabeled":
            s.next_unlabeled()
        elif action == "note":
            if not s.done:
                note.add_class("visible")
                note.value = s.pending_note.get(s.queue[s.pos], "")
                note.focus()
        elif event.key in ("pagedown", "pageup"):
            self.query_one("#comment", CommentPanel).page(1 if event.key == "pagedown" else -1)
            event.stop()
            return
        elif event.key == "right":
            s.next_comment()
        elif event.key in ("down", "tab"):
            if not s.done:
                s.focus_task(1)
        elif event.key in ("up", "shift+tab"):
            if not s.done:
                s.focus_task(-1)
        elif ch and s.press(ch):
            pass
        else:
            handled = False
        if handled:
            event.stop()
            event.prevent_default()
            self.refresh_view()

    def on_input_submitted(self, message: Input.Submitted) -> None:
        self.session.note(message.value)
        self._close_note()

    def _close_note(self) -> None:
        note = self.query_one("#note", Input)
        note.value = ""
        note.remove_class("visible")
        self.set_focus(None)
        self.refresh_view()

    def summary(self) -> str:
        return self.session.summary()


class AdjudicatorApp(App):
    """Walk the disagreements: show each annotator's value, one key records the final value
    as an ``adjudicated`` event (by ``annotator``), then the next disagreement."""

    CSS = CSS
    TITLE = "modkit labels adjudicate"
    BINDINGS = [Binding("ctrl+c", "quit", "quit", show=False, priority=True)]

    def __init__(self, corpus: Corpus, store: LabelStore, schema: Schema, annotator: str,
                 disagreements: list[Disagreement]) -> None:
        super().__init__()
        self.corpus, self.store, self.schema, self.annotator = corpus, store, schema, annotator
        self.items = [d for d in disagreements if d.comment_id in corpus]
        self.pos = 0
        self.decided: dict[tuple[str, str], str] = {}
        self.history: list[tuple[Disagreement, str | None]] = []
        self.message = ""

    def compose(self) -> ComposeResult:
        yield from comment_view()
        yield ChoiceBar(id="choices")
        yield Static(id="defs")
        yield StatusLine(id="status")
        c = self.schema.controls
        yield Static(Text(visible(f"value key: record final value  {c['back']} back  {c['skip']} skip  {c['undo']} undo  "
                                  f"{c['quit']} quit")), id="keys")

    def on_mount(self) -> None:
        self.refresh_view()

    def refresh_view(self) -> None:
        n = len(self.items)
        top = self.query_one("#top", Static)
        top.update(Text(f"modkit labels adjudicate · {self.annotator} · {min(self.pos + 1, n)}/{n} disagreements",
                        style="bold"))
        status = self.query_one("#status", StatusLine)
        if self.pos >= n:
            self.query_one("#article", ArticlePanel).update(Text("All disagreements walked.", style="bold green"))
            self.query_one("#context", ContextPanel).update("")
            self.query_one("#comment", CommentPanel).query_one("#comment-body", Static).update(Text(clip(self.summary(), 500)))
            self.query_one("#choices", ChoiceBar).update("")
            self.query_one("#defs", Static).update("")
            status.update(Text(clip(self.message, 200)))
            return
        d = self.items[self.pos]
        it = self.corpus.item(d.comment_id)
        self.query_one("#article", ArticlePanel).show(it.thread)
        self.query_one("#context", ContextPanel).show(it.thread, it.comment)
        self.query_one("#comment", CommentPanel).show(it.thread, it.comment)
        task = self.schema.task(d.task)
        final = self.decided.get((d.comment_id, d.task), d.adjudicated)
        self.query_one("#choices", ChoiceBar).show([task], {task.name: final}, 0)
        votes = Text("annotators: ", style="bold")
        votes.append(clip(", ".join(f"{w}={v}" for w, v in d.values.items()), 500))
        width = max(20, self.size.width - 3)
        for v in task.values:
            head = f"{v.key} {v.name}: "
            votes.append("\n" + head, style="bold")
            votes.append(clip(v.definition, width - len(head)))
        self.query_one("#defs", Static).update(votes)
        status.update(Text(clip(self.message, 200)))

    async def on_key(self, event: events.Key) -> None:
        ch = event.character or ""
        actions = {key: action for action, key in self.schema.controls.items()}
        action = actions.get(ch)
        self.message = ""
        if action == "quit":
            self.exit()
            return
        n = len(self.items)
        if action == "back" or event.key == "left":
            self.pos = max(0, self.pos - 1)
        elif action == "skip" or event.key == "right":
            self.pos = min(n, self.pos + 1)
        elif action == "undo":
            if self.history:
                d, before = self.history.pop()
                self._write(d, before)
                self.pos = self.items.index(d)
                self.message = f"undone ({d.task} back to {before or 'no adjudication'})"
            else:
                self.message = "nothing to undo"
        elif self.pos < n:
            d = self.items[self.pos]
            v = self.schema.task(d.task).by_key(ch)
            if v is None:
                return
            self.history.append((d, self.decided.get((d.comment_id, d.task), d.adjudicated)))
            self._write(d, v.name)
            self.message = f"{d.comment_id} {d.task}={v.name} adjudicated"
            self.pos += 1
        else:
            return
        event.stop()
        self.refresh_view()

    def _write(self, d: Disagreement, value: str | None) -> None:
        it = self.corpus.item(d.comment_id)
        self.store.append([LabelEvent(d.comment_id, it.comment.doc, d.task, value, self.annotator,
                                      source="adjudicated", text_sha=it.sha)])
        if value is None:
            self.decided.pop((d.comment_id, d.task), None)
        else:
            self.decided[(d.comment_id, d.task)] = value

    def summary(self) -> str:
        return f"{self.annotator}: {len(self.decided)} adjudicated of {len(self.items)} disagreements walked"

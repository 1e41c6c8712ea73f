"""Widgets shared by the labeler, the adjudicator and the review screen.

Each widget draws plain data (a :class:`~modkit.threads.Thread`, a
:class:`~modkit.threads.Comment`, the schema's tasks) and fits an 80x24 terminal:

- :class:`ArticlePanel`: the article's title and the first lines of its lead;
- :class:`ContextPanel`: the chain of parent comments, nearest last, each cut to a line or two;
- :class:`CommentPanel`: the comment itself, scrollable, with an optional warning line;
- :class:`ChoiceBar`: one line per task with its keys and values, the current value marked;
- :class:`StatusLine`: one line of text (position, progress, messages).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from modkit.labels.schema import Task
from modkit.safetext import visible
from modkit.threads import Comment, Thread


def clip(text: str, width: int) -> str:
    """One line of at most ``width`` characters, with an ellipsis when cut; control and invisible
    characters (an escape sequence in a comment) shown :func:`~modkit.safetext.visible`."""
    flat = visible(" ".join(text.split()))
    return flat if len(flat) <= width else flat[: max(0, width - 1)] + "…"


# Lines above an article's first paragraph: editor's notes, bylines, datelines, photo credits.
_NOT_LEAD = re.compile(r"^(editor[’']?s note|by |updated|posted|photo|image|\(cnn\))", re.IGNORECASE)


def lead_of(thread: Thread, limit: int = 400) -> str:
    """The article's lead: its text after the title line, without date/byline-only lines."""
    lines = [ln.strip() for ln in thread.article.splitlines() if ln.strip()]
    if lines and lines[0] == thread.title.strip():
        lines = lines[1:]
    body = [ln for ln in lines if len(ln) > 60 and not _NOT_LEAD.match(ln)] or lines
    return clip(" ".join(body), limit)


class ArticlePanel(Static):
    """Title (bold) and a two-line lead."""

    DEFAULT_CSS = """
    ArticlePanel { height: auto; max-height: 3; padding: 0 1; background: $boost; }
    """

    def show(self, thread: Thread) -> None:
        t = Text()
        t.append(clip(thread.title, 200), style="bold")
        t.append(f"  [{visible(thread.doc[:3])}]\n", style="dim")
        t.append(lead_of(thread), style="italic")
        self.update(t)


class ContextPanel(Static):
    """The parent chain of a comment: up to ``max_parents`` nearest parents, one or two lines each."""

    DEFAULT_CSS = """
    ContextPanel { height: auto; max-height: 6; padding: 0 1; color: $text-muted; }
    """

    def show(self, thread: Thread, comment: Comment, max_parents: int = 3, width: int | None = None) -> None:
        chain = thread.ancestors(comment)
        t = Text()
        if not chain:
            t.append("top-level comment: it answers the article", style="dim")
            self.update(t)
            return
        hidden = len(chain) - max_parents
        if hidden > 0:
            t.append(f"… {hidden} earlier parent(s)\n", style="dim")
            chain = chain[-max_parents:]
        # two screen lines per parent when there are one or two, else one: the nearest parent
        # (the one a reply's stance is about) must never be cut off
        screen = width or (self.app.size.width if self.is_attached else 80) or 80
        lines = 2 if len(chain) <= 2 else 1
        for i, p in enumerate(chain):
            indent = "  " * i
            same = "  (same author)" if p.author == comment.author else ""
            head = f"{indent}↳ {p.position}. {clip(p.author, 40)}{same}: "
            t.append(head, style="bold")
            room = max(10, lines * (screen - 2) - len(head) - 1)
            t.append(clip(p.text or "(empty)", room) + ("\n" if i < len(chain) - 1 else ""))
        self.update(t)


class CommentPanel(VerticalScroll):
    """The comment being judged, in full (scrolls when long), with an optional warning."""

    DEFAULT_CSS = """
    CommentPanel { height: 1fr; min-height: 3; border: round $accent; padding: 0 1; }
    CommentPanel > Static { height: auto; }
    """

    def compose(self):
        yield Static(id="comment-body")

    def show(self, thread: Thread, comment: Comment, warning: str = "") -> None:
        depth = "top-level" if not comment.parent_id else f"reply, depth {comment.depth}"
        # Text, not a str: Textual would read a str title as markup ("[red]" in an author's name)
        self.border_title = Text(clip(f"{comment.position}/{thread.found} on {thread.doc[:3]} · {comment.author} · "
                                      f"{comment.timestamp or 'no time'} · {depth}", 200))
        t = Text()
        if warning:
            t.append(f"⚠ {visible(warning)}\n", style="bold yellow")
        t.append(visible(comment.text, keep_layout=True) if comment.text.strip() else "(empty comment)",
                 style="" if comment.text.strip() else "dim italic")
        self.query_one("#comment-body", Static).update(t)
        self.scroll_home(animate=False)
        self.call_after_refresh(self._mark_overflow)

    def _mark_overflow(self) -> None:
        self.border_subtitle = "PgDn/PgUp: more" if self.max_scroll_y > 0 else ""

    def page(self, delta: int) -> None:
        """Scroll the comment by a page (``delta`` = 1 down, -1 up)."""
        if delta > 0:
            self.scroll_page_down(animate=False)
        else:
            self.scroll_page_up(animate=False)


class ChoiceBar(Static):
    """One line per task: ``▶ civility  [1] civil  [2] uncivil  [3] abusive``; the focused task
    is marked, the current value highlighted."""

    DEFAULT_CSS = """
    ChoiceBar { height: auto; padding: 0 1; }
    """

    def show(self, tasks: Sequence[Task], values: Mapping[str, str | None], focus: int | None = None,
             extra: Mapping[str, str] | None = None) -> None:
        t = Text()
        width = max(len(task.name) for task in tasks)
        for i, task in enumerate(tasks):
            mark = "▶ " if i == focus else "  "
            t.append(mark + visible(task.name).ljust(width) + " ", style="bold reverse" if i == focus else "bold")
            for v in task.values:
                chosen = values.get(task.name) == v.name
                t.append(" ")
                t.append(f"[{visible(v.key)}]", style="bold cyan")
                t.append(visible(v.name) + ("✓" if chosen else ""), style="bold green reverse" if chosen else "")
            if extra and extra.get(task.name):
                t.append("  " + visible(extra[task.name]), style="yellow")
            if i < len(tasks) - 1:
                t.append("\n")
        self.update(t)


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine { height: 1; padding: 0 1; background: $panel; }
    """


def comment_view() -> Iterator[Widget]:
    """The panels every screen shows above its own controls: a top line, the article, the
    chain of parents and the comment itself (ids ``top``, ``article``, ``context``, ``comment``)."""
    yield Static(id="top")
    yield ArticlePanel(id="article")
    yield ContextPanel(id="context")
    yield CommentPanel(id="comment")

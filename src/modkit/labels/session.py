"""A labeling session: the state machine behind `modkit label`, without any screen.

The Textual app (``modkit.tui.labeler``) only draws a :class:`LabelSession` and forwards keys;
everything that decides what is written and what comes next lives here, so it is testable and
usable from a notebook::

    s = LabelSession(Corpus.read("seeds/"), LabelStore("labels"), load_schema(), "me")
    s.record("civil"); s.record("on"); s.record("agree")   # three tasks -> next comment
    s.undo()                                               # a new event restores the old value

Rules:

- Every recorded value is appended to the store at once (locked, flushed, fsynced).
- One value moves the focus to the next task of the comment, after the last task to the next
  comment in the queue (its first task not yet labeled).
- ``skip`` moves the current comment to the end of the queue: skipped comments come back last.
- ``undo`` writes a new event restoring the previous value (``null`` if there was none): the
  files are never rewritten. It walks back through this session's labels, newest first.
- Resume: a new session starts at the first comment, in the queue order, that this annotator
  has not labeled on every task. A label given to a different text of the comment (stale) does
  not count and is shown as a warning.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from modkit.errors import ModkitError
from modkit.labels.corpus import Corpus, Item
from modkit.labels.schema import Schema, Task
from modkit.labels.store import LabelEvent, LabelStore, check_annotator, read_events

ORDERS = ("document", "random", "uncertain")


def comment_order(corpus: Corpus, order: str = "document", seed: int = 0,
                  uncertainty: Mapping[str, float] | None = None) -> list[str]:
    """The comment ids of ``corpus`` in labeling order.

    ``document``: page by page, in page order; ``random``: shuffled, reproducible with ``seed``;
    ``uncertain``: highest ``uncertainty`` first (comment id -> score, e.g. the ``uncertainty``
    column of ``modkit.flag.score``), ties and unscored comments in document order.
    """
    ids = corpus.ids()
    if order == "document":
        return ids
    if order == "random":
        random.Random(seed).shuffle(ids)
        return ids
    if order == "uncertain":
        if uncertainty is None:
            raise ModkitError("--order uncertain needs the model's uncertainty per comment")
        rank = {cid: i for i, cid in enumerate(ids)}
        return sorted(ids, key=lambda c: (-float(uncertainty.get(c, float("-inf"))), rank[c]))
    raise ModkitError(f"unknown order {order!r}: expected one of {', '.join(ORDERS)}")


@dataclass(frozen=True)
class Change:
    """One label written in this session, remembered so that undo can restore the previous one."""

    comment_id: str
    task: str
    before: str | None
    before_note: str
    after: str | None


class LabelSession:
    def __init__(
        self, corpus: Corpus, store: LabelStore, schema: Schema, annotator: str,
        order: list[str] | None = None, only_unlabeled: bool = False,
    ) -> None:
        self.corpus = corpus
        self.store = store
        self.schema = schema
        self.annotator = check_annotator(annotator)
        self.tasks: tuple[Task, ...] = schema.tasks
        self.values: dict[tuple[str, str], str] = {}
        self.notes: dict[tuple[str, str], str] = {}
        self.stale: dict[str, dict[str, str]] = {}  #: comment -> task -> value given to an older text
        self.warnings: list[str] = []  #: torn or invalid lines found in the annotator's file
        self.pending_note: dict[str, str] = {}
        self.history: list[Change] = []
        self.written = 0
        self.message = ""
        self._load()
        ids = list(order) if order is not None else corpus.ids()
        unknown = [c for c in ids if c not in corpus]
        if unknown:
            raise ModkitError(f"comment order names {len(unknown)} unknown comment(s), first {unknown[0]!r}")
        if only_unlabeled:
            ids = [c for c in ids if not self.complete(c)]
        self.queue: list[str] = ids
        self.pos = 0
        self.task_i = 0
        self.resume()

    # -- state ---------------------------------------------------------------------------------
    def _load(self) -> None:
        path = self.store.path_for(self.annotator)
        if not path.exists():
            return
        texts = self.corpus.texts()
        latest: dict[tuple[str, str], LabelEvent] = {}
        for ev in read_events(Path(path), self.warnings):
            if ev.source != "adjudicated" and ev.annotator == self.annotator:
                latest[(ev.comment_id, ev.task)] = ev
        for (cid, task), ev in latest.items():
            if ev.value is None:
                continue
            now = texts.get(cid)
            if ev.text_sha and now is not None and now != ev.text_sha:
                self.stale.setdefault(cid, {})[task] = ev.value
                continue
            self.values[(cid, task)] = ev.value
            self.notes[(cid, task)] = ev.note

    @property
    def done(self) -> bool:
        """True when the position is past the last comment of the queue."""
        return self.pos >= len(self.queue)

    @property
    def item(self) -> Item | None:
        return None if self.done else self.corpus.item(self.queue[self.pos])

    @property
    def task(self) -> Task:
        return self.tasks[self.task_i]

    def value(self, comment_id: str, task: str) -> str | None:
        return self.values.get((comment_id, task))

    def complete(self, comment_id: str) -> bool:
        return all((comment_id, t.name) in self.values for t in self.tasks)

    def first_open_task(self, comment_id: str) -> int:
        for i, t in enumerate(self.tasks):
            if (comment_id, t.name) not in self.values:
                return i
        return 0

    def progress(self) -> dict[str, int]:
        """Task -> comments of the queue labeled on it by this annotator."""
        return {t.name: sum((c, t.name) in self.values for c in self.queue) for t in self.tasks}

    def remaining(self) -> int:
        return sum(not self.complete(c) for c in self.queue)

    # -- moves ---------------------------------------------------------------------------------
    def go(self, pos: int, task_i: int | None = None) -> None:
        self.pos = max(0, min(pos, len(self.queue)))
        if self.done:
            self.task_i = 0
        else:
            self.task_i = self.first_open_task(self.queue[self.pos]) if task_i is None else task_i

    def resume(self) -> None:
        """Go to the first comment of the queue not fully labeled by this annotator."""
        for i, cid in enumerate(self.queue):
            if not self.complete(cid):
                self.go(i)
                return
        self.go(len(self.queue))

    def next_comment(self) -> None:
        self.go(self.pos + 1)

    def back(self) -> None:
        """To the previous comment (from the end: the last one), first task."""
        self.go(self.pos - 1, 0)

    def skip(self) -> None:
        """Move the current comment to the end of the queue; it comes back after the others."""
        if self.done:
            return
        cid = self.queue.pop(self.pos)
        self.queue.append(cid)
        self.message = "skipped: it comes back at the end"
        self.go(self.pos)

    def next_unlabeled(self) -> bool:
        """Jump to the next comment (after the current one, wrapping) not fully labeled."""
        n = len(self.queue)
        for step in range(1, n + 1):
            i = (self.pos + step) % n if n else 0
            if not self.complete(self.queue[i]):
                self.go(i)
                return True
        self.message = "every comment is labeled"
        return False

    def focus_task(self, delta: int) -> None:
        self.task_i = (self.task_i + delta) % len(self.tasks)

    # -- writes --------------------------------------------------------------------------------
    def _write(self, cid: str, task: str, value: str | None, note: str) -> None:
        item = self.corpus.item(cid)
        self.store.append([LabelEvent(cid, item.comment.doc, task, value, self.annotator, note=note,
                                      text_sha=item.sha)])
        self.written += 1
        if value is None:
            self.values.pop((cid, task), None)
            self.notes.pop((cid, task), None)
        else:
            self.values[(cid, task)] = value
            self.notes[(cid, task)] = note
            self.stale.get(cid, {}).pop(task, None)

    def record(self, value: str) -> None:
        """Label the focused task of the current comment and move on."""
        if self.done:
            return
        cid, task = self.queue[self.pos], self.task.name
        self.task.check(value)
        key = (cid, task)
        note = self.pending_note.pop(cid, "")
        self.history.append(Change(cid, task, self.values.get(key), self.notes.get(key, ""), value))
        self._write(cid, task, value, note)
        self.message = f"{task}={value}"
        if self.task_i + 1 < len(self.tasks):
            self.task_i += 1
        else:
            self.next_comment()

    def press(self, char: str) -> bool:
        """A value key for the focused task: record it. Returns False if the key means nothing."""
        if self.done:
            return False
        v = self.task.by_key(char)
        if v is None:
            return False
        self.record(v.name)
        return True

    def undo(self) -> bool:
        """Restore the value before this session's latest label (a new event) and go back to it."""
        if not self.history:
            self.message = "nothing to undo in this session"
            return False
        ch = self.history.pop()
        self._write(ch.comment_id, ch.task, ch.before, ch.before_note)
        self.go(self.queue.index(ch.comment_id), [t.name for t in self.tasks].index(ch.task))
        self.message = f"undone: {ch.task}={ch.after}" + (f" (back to {ch.before})" if ch.before else "")
        return True

    def note(self, text: str) -> None:
        """Attach a free-text note: to the focused task's label if it has one (re-recorded with
        the note), else to the next label given to this comment."""
        if self.done or not text.strip():
            return
        cid, task = self.queue[self.pos], self.task.name
        text = text.strip()
        current = self.values.get((cid, task))
        if current is not None:
            self._write(cid, task, current, text)
            self.message = f"note saved with {task}={current}"
        else:
            self.pending_note[cid] = text
            self.message = "note kept: saved with the next label of this comment"

    def summary(self) -> str:
        total = len(self.queue)
        full = total - self.remaining()
        return (f"{self.annotator}: {self.written} label events written this session to "
                f"{self.store.path_for(self.annotator)}; {full}/{total} comments fully labeled")

"""The comments being labeled: every comment of some pages, found by id, with its thread."""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from modkit.errors import ModkitError
from modkit.labels.store import check_annotator, text_sha
from modkit.threads import Comment, Thread, iter_threads


def default_annotator() -> str:
    """``$MODKIT_ANNOTATOR`` if set, else the login name."""
    name = os.environ.get("MODKIT_ANNOTATOR", "").strip()
    if not name:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):  # no login name (some containers): ask for --annotator
            raise ModkitError("no annotator name: pass --annotator NAME or set MODKIT_ANNOTATOR") from None
    return check_annotator(name)


@dataclass(frozen=True)
class Item:
    """One comment to label, with the thread that gives its context."""

    thread: Thread
    comment: Comment

    @property
    def id(self) -> str:
        return self.comment.id

    @property
    def sha(self) -> str:
        return text_sha(self.comment.text)


class Corpus:
    """All comments of the pages read, in document order (page, then position on the page)."""

    def __init__(self, threads: Iterable[Thread]) -> None:
        self.threads: list[Thread] = list(threads)
        self.items: list[Item] = [Item(t, c) for t in self.threads for c in t.comments]
        self._by_id = {it.id: it for it in self.items}

    @classmethod
    def read(cls, sources: str | Path | Iterable[str | Path] = "seeds/") -> Corpus:
        return cls(iter_threads(sources))

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Item]:
        return iter(self.items)

    def __contains__(self, comment_id: object) -> bool:
        return comment_id in self._by_id

    def get(self, comment_id: str) -> Item | None:
        return self._by_id.get(comment_id)

    def item(self, comment_id: str) -> Item:
        """The comment with this id, or a clear error (a unique id prefix is accepted)."""
        it = self._by_id.get(comment_id)
        if it is not None:
            return it
        matches = [i for i in self.items if i.id.startswith(comment_id)] if len(comment_id) >= 4 else []
        if len(matches) == 1:
            return matches[0]
        pages = ", ".join(t.doc for t in self.threads) or "no pages"
        if len(matches) > 1:
            raise ModkitError(f"comment id {comment_id!r} is ambiguous: matches {', '.join(i.id for i in matches)}")
        raise ModkitError(f"unknown comment id {comment_id!r}: not a comment of the pages read ({pages})")

    def texts(self) -> dict[str, str]:
        """``comment id -> text_sha`` of the current text, to detect stale labels."""
        return {it.id: it.sha for it in self.items}

    def ids(self) -> list[str]:
        return [it.id for it in self.items]

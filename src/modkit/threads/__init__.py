"""Thread reconstruction: pages in, reply trees out.

>>> from modkit import threads
>>> pages = threads.read("seeds/")          # a file, a folder or a unique prefix
>>> df = threads.to_frame(pages)            # one row per comment
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from modkit.errors import ModkitError
from modkit.sources import resolve_sources
from modkit.threads import export, seedpage
from modkit.threads.model import Comment, Problem, Thread, comment_id
from modkit.threads.registry import formats, read_file, read_thread, register
from modkit.threads.seedpage import PageComment, parse_page, render_page

register("seed", (".txt",), seedpage.read_page, "scraped page: article + 'soundoff (N Responses)'")
register("csv", (".csv",), export.read_csv, "comment export with id/parent_id columns, one thread per doc")
register("jsonl", (".jsonl",), export.read_jsonl, "comment export, one JSON object per line with id/parent_id")

__all__ = [
    "Comment", "PageComment", "Problem", "Thread", "comment_id", "formats", "iter_threads",
    "parse_page", "read", "read_file", "read_thread", "register", "render_page", "to_frame",
    "to_records", "COMMENT_FIELDS",
]

#: Per-comment columns of ``jsonl``/``csv`` output and of :func:`to_frame`, in order.
COMMENT_FIELDS = (
    "id", "doc", "parent_id", "depth", "position", "author", "timestamp", "text",
    "title", "source", "sha256", "declared", "found",
)


def iter_threads(
    sources: str | Path | Iterable[str | Path],
    errors: list[ModkitError] | None = None,
) -> Iterator[Thread]:
    """Yield every :class:`Thread`, file by file (memory stays flat: one file at a time).

    ``sources`` may be one SOURCE or several (file, folder, unique prefix). A scraped page gives
    one thread; a CSV or JSONL export one per ``doc`` it holds. A file that cannot be read
    raises its :class:`ModkitError`, unless ``errors`` is a list: then the error is appended to
    it and the other files still go through.
    """
    if isinstance(sources, (str, Path)):
        sources = [sources]
    for path in resolve_sources(sources):
        try:
            found = read_file(path)
        except ModkitError as exc:
            if errors is None:
                raise
            errors.append(exc)
            continue
        yield from found


def read(sources: str | Path | Iterable[str | Path]) -> list[Thread]:
    """Read every page named by ``sources`` into a list of threads."""
    return list(iter_threads(sources))


def to_records(threads: Iterable[Thread]) -> Iterator[dict[str, object]]:
    """One flat dict per comment with :data:`COMMENT_FIELDS`."""
    for t in threads:
        for c in t.comments:
            yield {
                "id": c.id, "doc": c.doc, "parent_id": c.parent_id, "depth": c.depth,
                "position": c.position, "author": c.author, "timestamp": c.timestamp,
                "text": c.text, "title": t.title, "source": t.source, "sha256": t.sha256,
                "declared": t.declared, "found": t.found,
            }


def to_frame(threads: Thread | Iterable[Thread]):  # -> pandas.DataFrame
    """A pandas DataFrame with one row per comment and :data:`COMMENT_FIELDS` as columns."""
    import pandas as pd

    if isinstance(threads, Thread):
        threads = [threads]
    frame = pd.DataFrame.from_records(list(to_records(threads)), columns=list(COMMENT_FIELDS))
    return frame.astype({"depth": "int64", "position": "int64", "declared": "Int64", "found": "int64"})

"""Thread reconstruction: pages in, reply trees out.

>>> from modkit import threads
>>> pages = threads.read("seeds/")          # a file, a folder or a unique prefix
>>> df = threads.to_frame(pages)            # one row per comment
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from modkit.errors import ModkitError
from modkit.sources import PAGE_SUFFIXES, PARQUET_SUFFIXES, check_readers, resolve_source
from modkit.tables import MissingDependencyError
from modkit.threads import export, seedpage
from modkit.threads.model import Comment, Problem, Thread, comment_id
from modkit.threads.registry import iter_file, read_file, read_thread, register
from modkit.threads.seedpage import PageComment, parse_page, render_page

register("seed", (".txt",), seedpage.read_page, "scraped page: article + 'soundoff (N Responses)'")
register("csv", (".csv",), export.read_csv, "comment export with id/parent_id columns, one thread per doc")
register("jsonl", (".jsonl", ".ndjson", ".json"), export.read_jsonl,
         "comment export, one JSON object per line with id/parent_id")
# The platform exports (Disqus, WordPress, Coral, Reddit, Hacker News, Discourse) register
# themselves; ``threads.formats`` is that package, ``threads.registry.formats()`` lists every format.
from modkit.threads import formats  # noqa: E402

# Last: the one format that needs an optional package (pyarrow, ``pip install 'modkit[scale]'``).
register("parquet", (".parquet",), export.read_parquet,
         "comment export as a Parquet table with id/parent_id columns (needs pyarrow)")

__all__ = [
    "COMMENT_FIELDS",
    "COMMENT_KINDS",
    "Comment",
    "PageComment",
    "Problem",
    "Thread",
    "comment_id",
    "formats",
    "iter_threads",
    "page_files",
    "parse_page",
    "read",
    "read_file",
    "read_thread",
    "register",
    "render_page",
    "to_frame",
    "to_records",
]

#: Per-comment columns of ``jsonl``/``csv`` output and of :func:`to_frame`, in order.
#: ``article`` (the page's article text) is on the first comment of each thread only, empty on
#: the others: the export stays small and reads back (``modkit flag all.csv``) with its article.
COMMENT_FIELDS = (
    "id", "doc", "parent_id", "depth", "position", "author", "timestamp", "text",
    "title", "source", "sha256", "declared", "found", "article", "status", "status_reason",
)
#: The type of each of :data:`COMMENT_FIELDS` in a Parquet file (``modkit threads -f parquet``)
#: and in :func:`to_frame`: whole numbers for the counts and levels (``declared`` is null for an
#: export, which declares none), text for the rest. ``timestamp`` stays the ISO 8601 text of the
#: jsonl/csv rows ("" when missing): the page's wall-clock time, with no zone to convert.
COMMENT_KINDS: dict[str, str] = {
    **dict.fromkeys(COMMENT_FIELDS, "string"),
    "depth": "int64", "position": "int64", "declared": "int64", "found": "int64",
}


def iter_threads(
    sources: str | Path | Iterable[str | Path],
    errors: list[ModkitError] | None = None,
    options: dict[str, object] | None = None,
) -> Iterator[Thread]:
    """Yield every :class:`Thread`, file by file (memory stays flat: one file at a time).

    ``sources`` may be one SOURCE or several (file, folder, unique prefix). A scraped page gives
    one thread; a CSV or JSONL export one per ``doc`` it holds. Every SOURCE is checked before
    the first file is read (a missing or ambiguous one raises :class:`SourceError`). A file
    that cannot be read raises its :class:`ModkitError`, unless ``errors`` is a list: then the
    error is appended to it and the other files still go through. A large export is streamed
    thread by thread (:func:`~modkit.threads.registry.iter_file`). ``options`` go to the readers
    that take them (``{"keep_types": ["pingback"]}`` for WordPress). A ``.parquet`` file without
    pyarrow installed raises :class:`~modkit.tables.MissingDependencyError` when the SOURCEs are
    checked, whatever ``errors`` is.
    """
    return _read_files(_page_paths(sources), errors, options)  # SOURCEs are checked now, files read lazily


def page_files(sources: str | Path | Iterable[str | Path]) -> Iterator[Path]:
    """The files :func:`iter_threads` reads for ``sources``, in its order (each named once).
    The SOURCEs are checked when this is called; the paths are made as they are asked for."""
    return _page_paths(sources)


def _read_files(paths: Iterator[Path], errors: list[ModkitError] | None,
                options: dict[str, object] | None = None) -> Iterator[Thread]:
    for path in paths:
        try:
            found = iter_file(path, options)
            for t in found:  # an export truncated after its first threads raises here
                yield t
        except ModkitError as exc:
            if errors is None or isinstance(exc, MissingDependencyError):
                raise
            errors.append(exc)
            continue


def _page_paths(sources: str | Path | Iterable[str | Path]) -> Iterator[Path]:
    """The files named by ``sources``, with the rules of :func:`modkit.sources.resolve_sources`,
    but a folder is held as a sorted list of names and each path made only when it is read, so
    that a folder of 100k pages costs a few MB, not a list of 100k ``Path`` objects."""
    if isinstance(sources, (str, Path)):
        sources = [sources]
    plan: list[tuple[Path, list[str]] | list[Path]] = []
    for source in sources:
        folder = Path(source)
        if folder.is_dir():
            names = sorted(
                e.name for e in os.scandir(folder)
                if not e.name.startswith(".") and os.path.splitext(e.name)[1].lower() in PAGE_SUFFIXES and e.is_file()
            )
            if not names:
                resolve_source(source)  # raises the SourceError that says the folder holds no pages
            check_readers(folder / n for n in names if n.lower().endswith(PARQUET_SUFFIXES))
            plan.append((folder, names))
        else:
            plan.append(resolve_source(source))
    return _walk(plan)


def _walk(plan: list[tuple[Path, list[str]] | list[Path]]) -> Iterator[Path]:
    seen: set[tuple[int, int]] | None = set() if len(plan) > 1 else None  # repeats only across SOURCEs
    for item in plan:
        paths = (item[0] / name for name in item[1]) if isinstance(item, tuple) else iter(item)
        for path in paths:
            if seen is not None:
                try:
                    st = os.stat(path)
                except OSError:
                    pass  # read_file reports it
                else:
                    key = (st.st_dev, st.st_ino)
                    if key in seen:
                        continue
                    seen.add(key)
            yield path


def read(sources: str | Path | Iterable[str | Path]) -> list[Thread]:
    """Read every page named by ``sources`` into a list of threads."""
    return list(iter_threads(sources))


def to_records(threads: Iterable[Thread]) -> Iterator[dict[str, object]]:
    """One flat dict per comment with :data:`COMMENT_FIELDS`."""
    for t in threads:
        for k, c in enumerate(t.comments):
            yield {
                "id": c.id, "doc": c.doc, "parent_id": c.parent_id, "depth": c.depth,
                "position": c.position, "author": c.author, "timestamp": c.timestamp,
                "text": c.text, "title": t.title, "source": t.source, "sha256": t.sha256,
                "declared": t.declared, "found": t.found, "article": t.article if k == 0 else "",
                "status": c.status, "status_reason": c.status_reason,
            }


def to_frame(threads: Thread | Iterable[Thread]):  # -> pandas.DataFrame
    """A pandas DataFrame with one row per comment and :data:`COMMENT_FIELDS` as columns."""
    import pandas as pd

    if isinstance(threads, Thread):
        threads = [threads]
    frame = pd.DataFrame.from_records(list(to_records(threads)), columns=list(COMMENT_FIELDS))
    return frame.astype({"depth": "int64", "position": "int64", "declared": "Int64", "found": "int64"})

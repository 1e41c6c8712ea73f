"""A small registry of page formats: each reader turns one file into one or more threads.

A reader is registered for file endings; :func:`read_file` picks it by the file's ending and,
where several formats share an ending (two ``.xml`` exports, several ``.json`` ones), by its
content: each such format has a ``sniff`` function that looks at the file's first
:data:`SNIFF_BYTES` bytes; a format registered without one is the ending's fallback.
Adding a layout (another site's scrape, another CMS export) is one function and one call to
:func:`register`. A reader returns (or yields) :class:`Thread` objects: a scraped page gives
one, a CSV or JSONL export may give one per ``doc`` it holds. A reader that yields may be
streamed (:func:`iter_file`); it raises a file-level :class:`ParseError` before its first
thread when it can (a truncated export found at its end may still have yielded the threads
before the damage).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from modkit.errors import ParseError
from modkit.threads.model import Thread

Reader = Callable[..., "Thread | Iterable[Thread]"]
#: How much of a file :func:`format_for` reads to tell formats that share an ending apart
#: (a Reddit dump's first line alone can be a few KB).
SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class PageFormat:
    name: str
    suffixes: tuple[str, ...]
    reader: Reader
    description: str = ""
    sniff: Callable[[bytes], bool] | None = None  #: True when a file's first bytes are this format
    options: tuple[str, ...] = ()  #: keyword options the reader takes (see :func:`read_file`)


_FORMATS: dict[str, PageFormat] = {}


def register(name: str, suffixes: tuple[str, ...], reader: Reader, description: str = "",
             sniff: Callable[[bytes], bool] | None = None, options: tuple[str, ...] = ()) -> None:
    """Register ``reader`` for files ending in one of ``suffixes`` (lower case, with the dot).

    ``sniff(head)`` says whether a file whose first bytes are ``head`` is this format; without it
    the format is the fallback of its endings. ``options``: the keyword options ``reader``
    accepts (passed on by :func:`read_file` when given)."""
    _FORMATS[name] = PageFormat(name, tuple(s.lower() for s in suffixes), reader, description, sniff, options)


def formats() -> list[PageFormat]:
    """The registered formats, in registration order."""
    return list(_FORMATS.values())


def format_for(path: Path) -> PageFormat:
    """The format of ``path``: by its ending, then (several formats for that ending) by the first
    :data:`SNIFF_BYTES` of its content; :class:`ParseError` if there is none."""
    suffix = path.suffix.lower()
    candidates = [f for f in _FORMATS.values() if suffix in f.suffixes]
    if not candidates:
        known = ", ".join(dict.fromkeys(s for f in _FORMATS.values() for s in f.suffixes))
        raise ParseError(path, None, f"unknown page format {suffix or '(no ending)'!r}: expected one of {known}")
    if len(candidates) == 1 and candidates[0].sniff is None:
        return candidates[0]
    try:
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError as exc:
        raise ParseError(path, None, f"cannot read file: {exc.strerror or exc}") from None
    for fmt in candidates:
        if fmt.sniff is not None and fmt.sniff(head):
            return fmt
    for fmt in candidates:
        if fmt.sniff is None:
            return fmt
    if not head.strip():
        raise ParseError(path, None, "empty file (0 bytes), nothing to read")
    kinds = "; ".join(f.description or f.name for f in candidates)
    raise ParseError(path, None, f"not a {suffix} export modkit knows: expected one of: {kinds}")


def _options(fmt: PageFormat, options: Mapping[str, object] | None) -> dict[str, object]:
    return {k: v for k, v in (options or {}).items() if k in fmt.options}


def read_file(path: str | Path, options: Mapping[str, object] | None = None) -> list[Thread]:
    """Read one file with the reader registered for its ending (and content): every thread it holds.

    ``options`` are reader options (``keep_types`` for WordPress...); a reader gets those it
    declares. Raises :class:`ParseError` naming the file (and line) when it cannot be read at all.
    """
    path = path if isinstance(path, Path) else Path(path)
    fmt = format_for(path)
    try:
        result = fmt.reader(path, **_options(fmt, options))
        return [result] if isinstance(result, Thread) else list(result)
    except OSError as exc:
        raise ParseError(path, None, f"cannot read file: {exc.strerror or exc}") from None


def iter_file(path: str | Path, options: Mapping[str, object] | None = None) -> Iterator[Thread]:
    """Like :func:`read_file`, but the threads of a streaming reader (a large export) come one
    at a time, so memory holds one thread, not the whole file. The first thread is read before
    this returns, so a file that cannot be read at all raises here; a reader may still raise a
    :class:`ParseError` later (an export truncated after its first threads)."""
    path = path if isinstance(path, Path) else Path(path)
    fmt = format_for(path)
    try:
        result = fmt.reader(path, **_options(fmt, options))
        if isinstance(result, Thread):
            return iter((result,))
        if isinstance(result, (list, tuple)):
            return iter(result)
        it = iter(result)
        first = next(it, None)
    except OSError as exc:
        raise ParseError(path, None, f"cannot read file: {exc.strerror or exc}") from None
    return iter(()) if first is None else _chain(path, first, it)


def _chain(path: Path, first: Thread, rest: Iterator[Thread]) -> Iterator[Thread]:
    yield first
    try:
        yield from rest
    except OSError as exc:
        raise ParseError(path, None, f"cannot read file: {exc.strerror or exc}") from None


def read_thread(path: str | Path) -> Thread:
    """Read a file that holds exactly one thread (a scraped page, a one-doc export)."""
    found = read_file(path)
    if len(found) != 1:
        docs = ", ".join(t.doc for t in found[:5]) + (", ..." if len(found) > 5 else "")
        raise ParseError(path, None, f"holds {len(found)} threads ({docs}), expected one; use read_file()")
    return found[0]

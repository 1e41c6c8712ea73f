"""A small registry of page formats: each reader turns one file into one or more threads.

A reader is registered for file endings; :func:`read_file` picks it by the file's ending.
Adding a layout (another site's scrape, another CMS export) is one function and one call to
:func:`register`. A reader returns (or yields) :class:`Thread` objects: a scraped page gives
one, a CSV or JSONL export may give one per ``doc`` it holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from modkit.errors import ParseError
from modkit.threads.model import Thread

Reader = Callable[[Path], "Thread | Iterable[Thread]"]


@dataclass(frozen=True)
class PageFormat:
    name: str
    suffixes: tuple[str, ...]
    reader: Reader
    description: str = ""


_FORMATS: dict[str, PageFormat] = {}


def register(name: str, suffixes: tuple[str, ...], reader: Reader, description: str = "") -> None:
    """Register ``reader`` for files ending in one of ``suffixes`` (lower case, with the dot)."""
    _FORMATS[name] = PageFormat(name, tuple(s.lower() for s in suffixes), reader, description)


def formats() -> list[PageFormat]:
    """The registered formats, in registration order."""
    return list(_FORMATS.values())


def format_for(path: Path) -> PageFormat:
    """The format registered for ``path``'s ending; :class:`ParseError` if there is none."""
    suffix = path.suffix.lower()
    for fmt in _FORMATS.values():
        if suffix in fmt.suffixes:
            return fmt
    known = ", ".join(s for f in _FORMATS.values() for s in f.suffixes)
    raise ParseError(path, None, f"unknown page format {suffix or '(no ending)'!r}: expected one of {known}")


def read_file(path: str | Path) -> list[Thread]:
    """Read one file with the reader registered for its ending: every thread it holds.

    Raises :class:`ParseError` naming the file (and line) when it cannot be read at all.
    """
    path = path if isinstance(path, Path) else Path(path)
    fmt = format_for(path)
    try:
        result = fmt.reader(path)
        return [result] if isinstance(result, Thread) else list(result)
    except OSError as exc:
        raise ParseError(path, None, f"cannot read file: {exc.strerror or exc}") from None


def read_thread(path: str | Path) -> Thread:
    """Read a file that holds exactly one thread (a scraped page, a one-doc export)."""
    found = read_file(path)
    if len(found) != 1:
        docs = ", ".join(t.doc for t in found[:5]) + (", ..." if len(found) > 5 else "")
        raise ParseError(path, None, f"holds {len(found)} threads ({docs}), expected one; use read_file()")
    return found[0]

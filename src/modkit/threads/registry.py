"""A small registry of page formats: each reader turns one file into a :class:`Thread`.

A reader is registered for file endings; ``read_thread`` picks it by the file's ending.
Adding a layout (another site's scrape, another CMS export) is one function and one call to
:func:`register`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from modkit.errors import ParseError
from modkit.threads.model import Thread

Reader = Callable[[Path], Thread]


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
    return list(_FORMATS.values())


def format_for(path: Path) -> PageFormat:
    suffix = path.suffix.lower()
    for fmt in _FORMATS.values():
        if suffix in fmt.suffixes:
            return fmt
    known = ", ".join(s for f in _FORMATS.values() for s in f.suffixes)
    raise ParseError(path, None, f"unknown page format {suffix or '(no ending)'!r}: expected one of {known}")


def read_thread(path: str | Path) -> Thread:
    """Read one file with the reader registered for its ending."""
    path = Path(path)
    fmt = format_for(path)
    try:
        return fmt.reader(path)
    except OSError as exc:
        raise ParseError(path, None, f"cannot read file: {exc.strerror or exc}") from None

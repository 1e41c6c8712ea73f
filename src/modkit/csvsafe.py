"""CSV safety shared by every modkit CSV reader and writer.

- Formula neutralisation: a cell a spreadsheet would run as a formula (it starts with = + - @,
  tab or carriage return) gets a leading apostrophe on the way out (:func:`neutralise`);
  ``modkit review``, the export reader (``modkit threads -f csv`` files) and ``modkit labels
  import`` strip it again on the way in (:func:`unneutralise`).
- Reading: :func:`rows` is the one CSV reader under every modkit reader (exports, flagged CSVs,
  label imports, flag's run files). It allows cells up to :data:`MAX_CELL` characters (the csv
  module's default stops at 131,072: one pasted spam comment) and turns every way a CSV can be
  broken into one :class:`~modkit.errors.ParseError` naming the file and line: a quote that is
  never closed ("unterminated quote starting here"), a stray quote after a closed one, a cell over
  the limit.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from modkit.errors import ParseError

#: The largest cell modkit's CSV readers accept, in characters: large enough for any real
#: comment or article (and for pasted spam), small enough to bound what one cell can cost.
MAX_CELL = 64 << 20

#: Cell starts that spreadsheets read as a formula (or that hide one behind white space).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """Prefix ``'`` to a cell that a spreadsheet would run as a formula; leave others unchanged.

    A cell that already looks neutralised (``'=x``, ``''=x``) gets one more ``'``, so that
    :func:`unneutralise` gives every cell back exactly (modkit's round trips stay exact)."""
    return "'" + cell if cell.lstrip("'").startswith(FORMULA_STARTS) else cell


def unneutralise(cell: str) -> str:
    """Undo :func:`neutralise`: ``'=1+1`` -> ``=1+1``, ``''=1`` -> ``'=1``; anything else as is.
    ``unneutralise(neutralise(cell)) == cell`` for every cell."""
    if cell[:1] == "'" and cell.lstrip("'").startswith(FORMULA_STARTS):
        return cell[1:]
    return cell


_LINE = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+\Z")


def lines(text: str) -> Iterator[str]:
    """The lines of ``text`` with their endings (``\n``, ``\r\n`` or ``\r``), one at a time: what
    ``io.StringIO(text, newline="")`` gives ``csv.reader``, without its copy of the whole text at
    4 bytes a character."""
    return (m.group() for m in _LINE.finditer(text))


def allow_large_cells() -> None:
    """Set the csv module's cell limit (process-wide) to :data:`MAX_CELL`; :func:`rows` calls it."""
    if csv.field_size_limit() != MAX_CELL:
        csv.field_size_limit(MAX_CELL)


def rows(
    lines: Iterable[str], path: str | Path, *, delimiter: str = ",", first_line: int = 1
) -> Iterator[tuple[int, list[str]]]:
    """``(line, cells)`` for each record of a CSV, ``line`` being the line it starts on.

    ``lines`` is what ``csv.reader`` takes (a file opened with ``newline=""``, or
    :func:`lines` of a text); ``first_line`` is the number of its first line (2 when
    a line before it was taken off). Blank lines come as empty lists. A broken CSV raises one
    :class:`ParseError`: a quoted cell that runs to the end of the file, or whose closing quote
    comes lines later followed by more text (a stray quote that swallowed the rows after it),
    is "unterminated quote starting here" at the line the cell starts on.
    """
    allow_large_cells()
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    offset = first_line - 1
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _broken(path, start + offset, reader.line_num + offset, str(exc)) from None
        yield start + offset, cells


def _broken(path: str | Path, start: int, line: int, problem: str) -> ParseError:
    if "field larger than field limit" in problem:
        return ParseError(path, start, f"a cell over {MAX_CELL:,} characters (the most modkit reads in one cell)")
    if "unexpected end of data" in problem or ("expected after" in problem and line > start):
        end = "the end of the file" if "unexpected end" in problem else f"line {line}"
        return ParseError(path, start, f"unterminated quote starting here (the quoted cell runs to {end})")
    if "expected after" in problem:
        return ParseError(path, line, f"stray quote: text after the closing quote of a cell ({problem}); "
                                      'write a quote inside a quoted cell as ""')
    return ParseError(path, line, f"broken CSV ({problem})")

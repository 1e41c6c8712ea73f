"""Spreadsheet formula neutralisation, shared by the flag CSV writer and the review reader.

A cell a spreadsheet would run as a formula (it starts with = + - @, tab or carriage return)
gets a leading apostrophe on the way out; ``modkit review`` strips it again on the way in.
"""

from __future__ import annotations

#: Cell starts that spreadsheets read as a formula (or that hide one behind white space).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """Prefix ``'`` to a cell that a spreadsheet would run as a formula; leave others unchanged."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def unneutralise(cell: str) -> str:
    """Undo :func:`neutralise`: ``'=1+1`` -> ``=1+1``; anything else as is."""
    if len(cell) > 1 and cell[0] == "'" and cell[1] in FORMULA_STARTS:
        return cell[1:]
    return cell

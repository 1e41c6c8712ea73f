"""Show hostile text visibly: comment text never reaches a terminal as control sequences.

Comments are written by strangers. A comment holding ``ESC [ 2 J`` clears a moderator's
screen, ``ESC ] 0 ;`` sets the window title, ``ESC ] 8 ;`` plants a link, ``ESC ] 52 ;``
writes the clipboard, a device-status query makes the terminal type into the shell, and the
bidi overrides (U+202A-E, U+2066-9) reorder what is shown. :func:`visible` replaces each such
character with a visible stand-in:

- C0 controls (U+0000-001F, except newline and tab where kept) and DEL: the Unicode control
  pictures (``ESC`` -> ``␛``, NUL -> ``␀``, DEL -> ``␡``);
- C1 controls (U+0080-009F), bidi embeddings, overrides and isolates, zero-width and other
  invisible format characters, line and paragraph separators: ``<U+202E>``.

Printable text, including every script and emoji, is left unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

#: Format and separator characters that change or hide what is shown; shown as ``<U+XXXX>``.
INVISIBLE = (
    "\u061c"  # arabic letter mark
    "\u180e"  # mongolian vowel separator
    "\u200b-\u200f"  # zero-width space/non-joiner/joiner, LRM, RLM
    "\u2028\u2029"  # line and paragraph separators
    "\u202a-\u202e"  # bidi embeddings and overrides
    "\u2060-\u2064"  # word joiner, invisible operators
    "\u2066-\u2069"  # bidi isolates
    "\u206a-\u206f"  # deprecated format characters
    "\ufeff"  # zero-width no-break space (BOM)
    "\ufff9-\ufffb"  # interlinear annotation
)

_ALL = re.compile(f"[\x00-\x1f\x7f-\x9f{INVISIBLE}]")
_KEEP_LAYOUT = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{INVISIBLE}]")


def _stand_in(m: re.Match[str]) -> str:
    ch = m.group(0)
    code = ord(ch)
    if code < 0x20:
        return chr(0x2400 + code)
    if code == 0x7F:
        return "\u2421"
    return f"<U+{code:04X}>"


def visible(text: str, *, keep_layout: bool = False) -> str:
    """``text`` with every control and invisible format character shown as a visible stand-in.

    ``keep_layout=True`` keeps newlines and tabs (for multi-line views such as the labeler);
    otherwise they are shown too (``␊``, ``␉``), for one-line contexts such as error messages.
    """
    pattern = _KEEP_LAYOUT if keep_layout else _ALL
    return pattern.sub(_stand_in, text) if pattern.search(text) else text


def is_clean(text: str, *, keep_layout: bool = True) -> bool:
    """True when ``text`` holds nothing :func:`visible` would replace."""
    return not (_KEEP_LAYOUT if keep_layout else _ALL).search(text)


def pieces(text: str, *, keep_layout: bool = False) -> Iterator[tuple[str, bool]]:
    """``text`` as :func:`visible` shows it, in pieces ``(piece, is_stand_in)``: for views that
    mark the stand-ins (the HTML report puts each in a ``<span>``)."""
    pattern = _KEEP_LAYOUT if keep_layout else _ALL
    at = 0
    for m in pattern.finditer(text):
        if m.start() > at:
            yield text[at:m.start()], False
        yield _stand_in(m), True
        at = m.end()
    if at < len(text):
        yield text[at:], False

"""Reader for scraped pages in the seed layout (``seeds/*.txt``).

A page holds an article and, sometimes, a comment section that starts at
``soundoff (N Responses)`` and ends at ``Post a comment``. A top-level comment starts with
``  N. author``; a reply with ``• author``, indented two more spaces per level; then body lines;
then a timestamp line such as ``June 6, 2013 at 8:33 am |``, sometimes followed by ``Reply``.

The reader is forgiving: CRLF, a BOM, tabs, undecodable bytes, blank lines inside bodies, a reply
that skips an indentation level, a missing timestamp and a truncated page all go through, each
noted as a :class:`~modkit.threads.model.Problem` on the thread. A file that is empty or binary
raises :class:`~modkit.errors.ParseError` (:func:`read_page`).

:func:`render_page` writes the layout back (tests round-trip through it; ``bench/synth.py``
builds its corpus with it).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import datetime
from hashlib import blake2b as _blake2b
from pathlib import Path
from typing import NamedTuple

from modkit.errors import ParseError
from modkit.threads.model import Comment, Problem, Thread

_SOUNDOFF = re.compile(r"[ \t]*soundoff \((\d[\d,]*) Responses?\)[ \t]*(?=\n|\Z)", re.IGNORECASE)
_SOUNDOFF_NL = re.compile(r"\n[ \t]*+soundoff \((\d[\d,]*) Responses?\)[ \t]*(?=\n|\Z)", re.IGNORECASE)
_END = re.compile(r"^[ \t]*Post a comment[ \t]*$", re.IGNORECASE)
_END_NL = re.compile(r"\n[ \t]*+Post a comment[ \t]*(?=\n|\Z)", re.IGNORECASE)
_MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December"
)
_TIMESTAMP = re.compile(
    rf"^\s*({_MONTHS}) (\d{{1,2}}), (\d{{4}}) at (\d{{1,2}}):(\d{{2}}) ?([ap]m)\s*\|?\s*(?:Reply)?\s*$",
    re.IGNORECASE,
)
_TOP = re.compile(r"^( *)(\d{1,6})\. (.*)$")
_REPLY = re.compile(r"^( *)\u2022 ?(.*)$")
# A newline and the line after it when that line reads as a marker: a top-level header (_TOP), a
# reply header (_REPLY) or a timestamp (_TIMESTAMP), each branch the same as that regex on one
# line. Starting with a literal "\n" lets the engine jump from line to line; the lookahead keeps
# the slow month names off ordinary lines.
_MARKER = re.compile(
    r"\n(?:(?P<ti>[ ]*+)(?P<num>\d{1,6})\. (?P<ta>[^\n]*)"
    r"|(?P<ri>[ ]*+)\u2022 ?(?P<ra>[^\n]*)"
    r"|[^\S\n]*+(?=[^\W\d_]+ \d{1,2}, \d{4} (?i:at) \d)"
    rf"(?P<mon>(?i:{_MONTHS})) (?P<day>\d{{1,2}}), (?P<year>\d{{4}}) (?i:at) (?P<hour>\d{{1,2}}):(?P<min>\d{{2}})"
    r" ?(?P<ampm>(?i:[ap]m))[^\S\n]*\|?[^\S\n]*(?i:Reply)?[^\S\n]*(?=\n|\Z))"
)
# A whole comment as pages write it, where a header is due: blank lines, a header line, body
# lines none of which could be a marker (a header or a timestamp candidate), and the timestamp
# line. The section reader takes such comments in one match each and leaves everything else
# (a body line that looks like a header, a missing timestamp, stray text) to the marker loop.
# Runs of indentation are possessive (``*+``) here and in _MARKER: giving spaces back can never
# make a match, and trying it costs a deep reply (thousands of spaces) a pass per space.
_COMMENT = re.compile(
    r"(?:\n[^\S\n]*+(?=\n))*"
    r"\n(?:(?P<ti>[ ]*+)(?P<num>\d{1,6})\. (?P<ta>[^\n]*)|(?P<ri>[ ]*+)\u2022 ?(?P<ra>[^\n]*))"
    r"(?P<body>(?:\n(?![ ]*+(?:\d{1,6}\. |\u2022)|[^\S\n]*+[^\W\d_]+ \d{1,2}, \d{4} (?i:at) \d)[^\n]*)*)"
    r"\n[^\S\n]*+"
    rf"(?P<mon>(?i:{_MONTHS})) (?P<day>\d{{1,2}}), (?P<year>\d{{4}}) (?i:at) (?P<hour>\d{{1,2}}):(?P<min>\d{{2}})"
    r" ?(?P<ampm>(?i:[ap]m))[^\S\n]*\|?[^\S\n]*(?i:Reply)?[^\S\n]*(?=\n|\Z)"
)
_DATE_LINE = re.compile(rf"^({_MONTHS}) \d{{1,2}}(st|nd|rd|th)?, \d{{4}}$")
_MONTH_NUM = {m.lower(): i for i, m in enumerate(_MONTHS.split("|"), start=1)}
_MONTH_INITIALS = frozenset("JFMASOND")  # _DATE_LINE is case-sensitive
_TWO = [f"{i:02d}" for i in range(100)]
_MONTH_EXACT = {m: i for i, m in enumerate(_MONTHS.split("|"), start=1)}

# Site furniture that is not article text: navigation, sharing, "more from" links, etc.
_BOILERPLATE = re.compile(
    r"^(Skip to[: ].*|Follow .* on social media:?|On Twitter \+ .*|What time is .* on CNN\?"
    r"|Check showtimes .*|Filed under:.*|Post by:.*|Topics?:.*|\u00ab Previous entry"
    r"|Next entry \u00bb|More from GPS:.*|Special Offer|Become a fan!.*|Subscribe .*"
    r"|\u2022 .*|\d{1,2}:\d{2} [AP]M ET|You must be logged in to post a comment\.?"
    r"|.* welcomes a lively and courteous discussion.*)$",
    re.IGNORECASE,
)
# The same test, faster: the anchored alternatives of _BOILERPLATE only for lines whose first
# character can start one (re.I also folds "\u017f" to "s"), and the one unanchored alternative
# as a search.
_BOILER_FIRST = frozenset("SFOWCPT\u00abNMB\u2022Ysfowcptnmby\u017f")
_WELCOMES = re.compile(r" welcomes a lively and courteous discussion", re.IGNORECASE)


def _is_boilerplate(line: str) -> bool:
    """``_BOILERPLATE.match(line)`` for a stripped, non-empty line without newlines."""
    first = line[0]
    if (first in _BOILER_FIRST or first.isdigit()) and _BOILERPLATE.match(line):
        return True
    return _WELCOMES.search(line) is not None


def decode_page(data: bytes, path: object = "<page>") -> tuple[str, list[Problem]]:
    """Decode page bytes: UTF-8 (BOM dropped); otherwise a clear ``decode`` problem and
    replacement characters, or Latin-1 (cp1252) when the bytes hold no UTF-8 at all."""
    problems: list[Problem] = []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        has_utf8 = re.search(rb"[\xc2-\xf4][\x80-\xbf]", data) is not None
        if has_utf8:
            text = data.decode("utf-8", errors="replace")
            how = "replaced undecodable bytes with U+FFFD"
        else:
            text = data.decode("cp1252", errors="replace")
            how = "decoded as Latin-1 (cp1252)"
        problems.append(Problem("decode", f"{path}:{line}: not valid UTF-8; {how}", line))
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text, problems


def decode_file(data: bytes, path: object = "<page>") -> tuple[str, list[Problem]]:
    """:func:`check_text`, then :func:`decode_page`."""
    check_text(data, path)
    return decode_page(data, path)


def check_text(data: bytes, path: object = "<page>") -> None:
    """Refuse what cannot be a text page: an empty file, or a binary one (a NUL byte; UTF-16
    text also holds them). Raises :class:`ParseError` naming the file (and line)."""
    if not data:
        raise ParseError(path, None, "empty file (0 bytes), nothing to read")
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise ParseError(path, line, "binary file (NUL byte), not a text page; expected UTF-8 or Latin-1 text")


def _expand_leading_tabs(text: str) -> str:
    """Tabs in a line's indentation are 8-column tab stops (what ``expand`` and editors that
    turn runs of spaces into tabs assume); tabs inside the text are kept."""
    out = []
    for line in text.split("\n"):
        if line[:1] in (" ", "\t") and "\t" in line:
            body = line.lstrip(" \t")
            lead = line[: len(line) - len(body)]
            line = lead.expandtabs(8) + body
        out.append(line)
    return "\n".join(out)


def parse_timestamp(text: str) -> str:
    """``June 6, 2013 at 8:33 am`` (optionally followed by ``|`` and ``Reply``) as ISO 8601
    ``2013-06-06T08:33``; "" when ``text`` is no such timestamp or names no real date."""
    m = _TIMESTAMP.match(text)
    return _iso(m) if m else ""


def _iso(match: re.Match[str]) -> str:
    return _iso_parts(*match.groups())


def _iso_parts(month: str, day: str, year: str, hour: str, minute: str, ampm: str) -> str:
    h = int(hour) % 12 + (12 if ampm in ("pm", "PM", "Pm", "pM") else 0)
    mo = _MONTH_EXACT.get(month) or _MONTH_NUM.get(month.casefold(), 0)  # re.I also matches "\u017f" for "s"
    y, d, mi = int(year), int(day), int(minute)
    if not (1 <= d <= 28 and mo and h < 24 and mi < 60 and y >= 1):
        try:
            datetime(y, mo, d, h, mi)  # rejects February 30th, 7:75 and the like
        except ValueError:
            return ""
    if y < 1000:
        return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}"
    return f"{y}-{_TWO[mo]}-{_TWO[d]}T{_TWO[h]}:{_TWO[mi]}"  # no format specs: faster


def _title(lines: list[str]) -> str:
    """The headline: the line just above the first date line ("June 6th, 2013"), else the first
    line that is not site furniture. ``lines`` are stripped."""
    head = lines[:80]
    for i, line in enumerate(head):
        if line[:1] in _MONTH_INITIALS and _DATE_LINE.match(line):
            for prev in reversed(head[:i]):
                if prev and not _is_boilerplate(prev):
                    return prev
    for line in head:
        if line and not _is_boilerplate(line):
            return line
    return ""


def _article(lines: list[str]) -> str:
    """The article text: stripped ``lines`` without site furniture and repeats."""
    out: list[str] = []
    seen: set[str] = set()
    for line in lines:
        if not line or line in seen or _is_boilerplate(line):
            continue
        seen.add(line)  # scraped pages repeat headlines and captions
        out.append(line)
    return "\n".join(out)


_BLANK_RUN = re.compile(r"\n{3,}")


def _body_text(raw: str) -> str:
    """Body lines as the comment's text: each line stripped (dedent), single line breaks kept,
    paragraphs separated by exactly one blank line, no blank lines at either end."""
    if "\n" not in raw:
        return raw.strip()
    text = "\n".join([line.strip() for line in raw.split("\n")]).strip()
    return _BLANK_RUN.sub("\n\n", text) if "\n\n\n" in text else text


class _Open:
    """A comment being read: header seen, body accumulating, timestamp pending."""

    __slots__ = ("author", "body", "cid", "depth", "indent", "line", "number", "parent", "timestamp")

    def __init__(self, indent: int, author: str, line: int, number: int | None) -> None:
        self.indent = indent
        self.author = author
        self.line = line
        self.number = number
        self.body: list[str] = []  # slices of body text, joined by newlines
        self.timestamp = ""
        self.depth = 0
        self.parent: _Open | None = None
        self.cid = ""


def parse_page(data: bytes, path: str | Path = "<page>", doc: str | None = None) -> Thread:
    """Parse one page in the seed layout from its bytes. Never raises on odd content."""
    path = path if isinstance(path, Path) else Path(path)
    doc = doc if doc is not None else path.stem
    sha = hashlib.sha256(data).hexdigest()
    text, problems = decode_page(data, path)
    if "\t" in text:
        text = _expand_leading_tabs(text)

    m = _SOUNDOFF.match(text) or _SOUNDOFF_NL.search(text)
    if m is None:
        lines = [line.strip() for line in text.split("\n")]
        problems.insert(0, Problem("no_comment_section", f"{path}: page has no comment section"))
        return Thread(
            doc=doc, source=str(path), sha256=sha, title=_title(lines), article=_article(lines),
            declared=None, problems=tuple(problems), has_comment_section=False,
        )

    head = text[: m.start()]
    head_lines = [line.strip() for line in head.split("\n")]
    digits = m.group(1).replace(",", "").lstrip("0") or "0"
    first_line = head.count("\n") + (m.group(0)[0] == "\n") + 2  # the line after "soundoff"
    section = text[m.end() :]  # starts with the newline that ends the "soundoff" line

    comments, section_problems = _parse_section(section, first_line, doc, path)
    problems.extend(section_problems)
    # More digits than any page has comments (int() also refuses over 4,300): no count declared.
    declared = int(digits) if len(digits) <= 18 else None
    if declared is None:
        problems.append(Problem(
            "count_mismatch", f"{path}:{first_line - 1}: declared comment count has {len(digits):,} digits; not checked",
            first_line - 1))
    elif declared != len(comments):
        problems.append(
            Problem(
                "count_mismatch",
                f"{path}: found {len(comments)} comments, page declares {declared}",
            )
        )
    return Thread(
        doc=doc, source=str(path), sha256=sha, title=_title(head_lines),
        article=_article(head_lines), declared=declared, comments=tuple(comments),
        problems=tuple(problems),
    )


def _parse_section(
    section: str, first_line: int, doc: str, path: Path
) -> tuple[list[Comment], list[Problem]]:
    """Read the comments of a comment section: ``section`` is the text after the ``soundoff``
    line, starting with that line's newline; ``first_line`` is the number of the line after it.

    The rules, line by line: blank lines separate; ``Post a comment`` ends the section; after a
    header, a timestamp line ends the comment; where a header is due (at the start, after a
    timestamp) any header line opens the next comment; inside a body, a header line counts only
    if a blank line follows, it is indented at most one level below the open comment, and (for
    ``N.``) it has the next top-level number; anything else is body text. A reply's parent is the
    nearest comment above it that is indented less.

    Speed: only lines that may be a marker (a header, a timestamp) are looked at one by one, by
    one regex (:data:`_MARKER`); the body lines between them are taken as whole slices of text.
    ``tests/test_threads_roundtrip.py`` checks this against a plain line-by-line reading.
    """
    problems: list[Problem] = []
    comments: list[Comment] = []
    open_: _Open | None = None
    stack: list[_Open] = []  # ancestors of the next reply, by indentation
    expect_header = True  # after a timestamp (or at the start) the next text is a header
    last_number = 0  # number of the latest top-level header
    repeats: dict[str, int] = {}
    end_match = _END_NL.search(section)
    end = end_match.start() + 1 if end_match else len(section)  # start of the "Post a comment" line
    size = len(section)
    count = section.count
    nl_pos, nl_seen = 0, first_line - 1  # line numbers: newlines counted up to nl_pos
    pos = 1  # start of the text not yet given to a comment

    def close(c: _Open) -> None:
        text = _body_text("\n".join(c.body))
        # The id rule of modkit.threads.model.comment_id, inlined: texts here are normalised.
        base = "c" + _blake2b(f"{doc}\x1f{c.author}\x1f{c.timestamp}\x1f{text}".encode(), digest_size=6).hexdigest()
        n = repeats.get(base, 0) + 1
        repeats[base] = n
        c.cid = base if n == 1 else f"{base}-{n}"
        if not c.timestamp:
            problems.append(
                Problem("missing_timestamp", f"{path}:{c.line}: comment by {c.author!r} has no timestamp line", c.line)
            )
        parent = c.parent
        comments.append(Comment(  # id, doc, parent_id, depth, position, author, timestamp, text, line
            c.cid, doc, parent.cid if parent is not None else "", c.depth,
            len(comments) + 1, c.author, c.timestamp, text, c.line,
        ))

    def open_reply(indent: int, author: str, line: int) -> _Open:
        """A reply header: attach it to the nearest open comment with less indentation."""
        c = _Open(indent, author, line, None)
        while stack and stack[-1].indent >= indent:
            stack.pop()
        if stack:
            parent = stack[-1]
            c.depth = parent.depth + 1
            c.parent = parent
            if indent - parent.indent > 2 and parent.depth + 1 != (indent - 2) // 2:
                problems.append(Problem(
                    "skipped_level",
                    f"{path}:{line}: reply by {author!r} skips an indentation level; attached to {parent.author!r}",
                    line,
                ))
        else:
            problems.append(Problem(
                "orphan", f"{path}:{line}: reply by {author!r} has no comment above it; read as top-level", line
            ))
        stack.append(c)
        return c

    # Fast path: whole well-formed comments, one match each (see _COMMENT).
    match = _COMMENT.match
    while (m := match(section, pos - 1, end)) is not None:
        ti, num, ta, ri, ra, body, mon, day, year, hour, minute, ampm = m.groups()
        ls = m.start("ri") if num is None else m.start("ti")  # the header line
        if open_ is not None:
            close(open_)
        nl_seen += count("\n", nl_pos, ls)
        nl_pos = ls
        if num is not None:
            last_number = int(num)
            c = _Open(len(ti), ta.strip(), nl_seen, last_number)
            stack[:] = [c]
        else:
            c = open_reply(len(ri), ra.strip(), nl_seen)
        if body:
            c.body.append(body)
        c.timestamp = _iso_parts(mon, day, year, hour, minute, ampm)
        open_ = c
        pos = m.end() + 1

    # Everything else, marker by marker.
    for m in _MARKER.finditer(section, pos - 1, end):
        ls = m.start() + 1  # the marker line is section[ls:le]
        le = m.end()
        ti, num, ta, ri, ra, mon, day, year, hour, minute, ampm = m.groups()
        if mon is not None:  # a timestamp line
            if open_ is not None and not expect_header:
                if ls > pos:
                    open_.body.append(section[pos : ls - 1])
                open_.timestamp = _iso_parts(mon, day, year, hour, minute, ampm)
                expect_header = True
                pos = le + 1
            continue  # else: text where a header was due; it stays with the text before the next marker
        indent = len(ti) if num is not None else len(ri)
        if not expect_header:
            # A header is followed by a blank line (then the body or the timestamp).
            nxt = section.find("\n", le + 1)
            if not (
                (le >= size or not section[le + 1 : nxt if nxt >= 0 else size].strip())
                and open_ is not None
                and indent <= open_.indent + 2
                and (num is None or int(num) == last_number + 1)
            ):
                continue  # not a header: body text
        if open_ is not None:
            if ls > pos:
                if expect_header:
                    # the line of pos, counted on from nl_pos (never from 0: one stray per comment would be quadratic)
                    _stray(open_, section[pos : ls - 1], nl_seen + count("\n", nl_pos, pos), path, problems)
                else:
                    open_.body.append(section[pos : ls - 1])
            close(open_)
        pos = le + 1
        nl_seen += count("\n", nl_pos, ls)
        nl_pos = ls
        if num is not None:
            last_number = int(num)
            c = _Open(indent, ta.strip(), nl_seen, last_number)
            stack[:] = [c]
        else:
            c = open_reply(indent, ra.strip(), nl_seen)
        open_ = c
        expect_header = False
    if open_ is not None:
        if end > pos:
            if expect_header:
                _stray(open_, section[pos:end], nl_seen + count("\n", nl_pos, pos), path, problems)
            else:
                open_.body.append(section[pos:end])
        close(open_)
    if end_match is None:
        where = first_line + count("\n") - 1
        problems.append(Problem("truncated", f"{path}:{where}: comment section ends without 'Post a comment' (truncated page?)", where))
    return comments, problems


def _stray(open_: _Open, chunk: str, first: int, path: Path, problems: list[Problem]) -> None:
    """Text after a timestamp where the next header was due (rare): blank lines are skipped, a
    lone ``Reply`` (the timestamp's link on a line of its own) is dropped, anything else is kept
    in the comment above, with a ``bad_row`` problem."""
    for k, line in enumerate(chunk.split("\n")):
        stripped = line.strip()
        if not stripped:
            continue
        if open_.timestamp:
            if stripped.lower() == "reply":
                continue
            problems.append(Problem("bad_row", f"{path}:{first + k}: text after a timestamp kept in the comment above", first + k))
        open_.body.append(line)


def read_page(path: str | Path) -> Thread:
    """Read and parse one page file in the seed layout.

    Raises :class:`ParseError` for a file that is empty or binary (and, through the registry,
    one that cannot be read); any text goes through, its oddities noted as problems.
    """
    path = path if isinstance(path, Path) else Path(path)
    with open(path, "rb", buffering=0) as fh:  # unbuffered: one read of the whole file
        data = fh.readall()
    check_text(data, path)
    return parse_page(data, path)


# -- writing pages in the seed layout -------------------------------------------------------------
_MONTH_NAMES = _MONTHS.split("|")


def format_timestamp(iso: str) -> str:
    """ISO ``2013-06-06T08:33`` as the page writes it: ``June 6, 2013 at 8:33 am``."""
    when = datetime.strptime(iso, "%Y-%m-%dT%H:%M")
    hour = when.hour % 12 or 12
    return (f"{_MONTH_NAMES[when.month - 1]} {when.day}, {when.year} at "
            f"{hour}:{when.minute:02d} {'am' if when.hour < 12 else 'pm'}")


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def ambiguous_body_line(line: str) -> bool:
    """True for a body line the seed layout cannot carry: the page has no escaping, so a line that
    reads as a timestamp, a comment header or the section's end would be read as one."""
    s = line.strip()
    return bool(
        _TIMESTAMP.match(s) or _END.match(s) or _TOP.match(s) or s.startswith("\u2022")
    )


def render_page(
    comments: Iterable[object],
    *,
    title: str = "",
    article: str = "",
    date: str | None = None,
    declared: int | None = None,
    reply_links: bool = True,
    footer: bool = True,
) -> str:
    """Write a page in the seed layout; :func:`parse_page` reads it back.

    ``comments`` in page (tree pre-)order, each with ``author``, ``timestamp`` (ISO
    ``YYYY-MM-DDTHH:MM`` or "" for none), ``text`` (paragraphs separated by a blank line) and
    ``depth`` (0 top-level; at most one more than the comment before it), such as
    :class:`~modkit.threads.model.Comment` objects or :class:`PageComment` tuples. ``date``
    (ISO ``YYYY-MM-DD``) is written under the title; ``declared`` defaults to the number of
    comments; ``footer=False`` leaves out ``Post a comment`` (a truncated page). Body lines for
    which :func:`ambiguous_body_line` is true cannot be read back as written.
    """
    out: list[str] = []
    if title:
        out += [title, ""]
    if date:
        when = datetime.strptime(date, "%Y-%m-%d")
        out += [f"{_MONTH_NAMES[when.month - 1]} {_ordinal(when.day)}, {when.year}", ""]
    for paragraph in article.split("\n") if article else ():
        out += [paragraph, ""]
    items = list(comments)
    out.append(f"soundoff ({len(items) if declared is None else declared} Responses)")
    number = 0
    prev_depth = -1
    for c in items:
        depth = int(c.depth)  # type: ignore[attr-defined]
        if depth > prev_depth + 1:
            raise ValueError(f"comment at depth {depth} follows one at depth {prev_depth}")
        prev_depth = depth
        pad = " " * (2 + 2 * depth)
        if depth == 0:
            number += 1
            out.append(f"  {number}. {c.author}")  # type: ignore[attr-defined]
        else:
            out.append(f"{pad}\u2022 {c.author}")  # type: ignore[attr-defined]
        out.append("")
        body_pad = pad + "  "
        text = c.text  # type: ignore[attr-defined]
        if text:  # an empty body leaves two blank lines, as the seeds do
            out += [body_pad + line if line else "" for line in text.split("\n")]
        out.append("")
        if c.timestamp:  # type: ignore[attr-defined]
            out.append(f"{body_pad}{format_timestamp(c.timestamp)} |{' Reply' if reply_links else ''}")  # type: ignore[attr-defined]
    if footer:
        out += ["", "Post a comment", ""]
    return "\n".join(out) + "\n"


class PageComment(NamedTuple):
    """A comment to write with :func:`render_page`."""

    author: str
    timestamp: str
    text: str
    depth: int = 0

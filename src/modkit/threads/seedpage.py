"""Reader for scraped pages in the seed layout (``seeds/*.txt``).

A page holds an article and, sometimes, a comment section that starts at
``soundoff (N Responses)`` and ends at ``Post a comment``. A top-level comment starts with
``  N. author``; a reply with ``• author``, indented two more spaces per level; then body lines;
then a timestamp line such as ``June 6, 2013 at 8:33 am |``, sometimes followed by ``Reply``.

The reader is forgiving: CRLF, a BOM, tabs, undecodable bytes, blank lines inside bodies, a reply
that skips an indentation level, a missing timestamp and a truncated page all go through, each
noted as a :class:`~modkit.threads.model.Problem` on the thread.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from modkit.errors import ParseError
from modkit.threads.model import Comment, IdAssigner, Problem, Thread

_SOUNDOFF = re.compile(r"^[ \t]*soundoff \((\d[\d,]*) Responses?\)[ \t]*$", re.M | re.I)
_END = re.compile(r"^[ \t]*Post a comment[ \t]*$", re.I)
_MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December"
)
_TIMESTAMP = re.compile(
    rf"^\s*({_MONTHS}) (\d{{1,2}}), (\d{{4}}) at (\d{{1,2}}):(\d{{2}}) ?([ap]m)\s*\|?\s*(?:Reply)?\s*$",
    re.I,
)
_TOP = re.compile(r"^( *)(\d{1,6})\. (.*)$")
_REPLY = re.compile(r"^( *)\u2022 ?(.*)$")
_DATE_LINE = re.compile(rf"^({_MONTHS}) \d{{1,2}}(st|nd|rd|th)?, \d{{4}}$")
_MONTH_NUM = {m.lower(): i for i, m in enumerate(_MONTHS.split("|"), start=1)}

# Site furniture that is not article text: navigation, sharing, "more from" links, etc.
_BOILERPLATE = re.compile(
    r"^(Skip to[: ].*|Follow .* on social media:?|On Twitter \+ .*|What time is .* on CNN\?"
    r"|Check showtimes .*|Filed under:.*|Post by:.*|Topics?:.*|\u00ab Previous entry"
    r"|Next entry \u00bb|More from GPS:.*|Special Offer|Become a fan!.*|Subscribe .*"
    r"|\u2022 .*|\d{1,2}:\d{2} [AP]M ET|You must be logged in to post a comment\.?"
    r"|.* welcomes a lively and courteous discussion.*)$",
    re.I,
)


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
    month, day, year, hour, minute, ampm = match.groups()
    h = int(hour) % 12 + (12 if ampm.lower() == "pm" else 0)
    try:
        return datetime(int(year), _MONTH_NUM[month.lower()], int(day), h, int(minute)).strftime(
            "%Y-%m-%dT%H:%M"
        )
    except ValueError:
        return ""


def _title(lines: list[str]) -> str:
    """The headline: the line just above the first date line ("June 6th, 2013"), else the first
    line that is not site furniture."""
    head = [ln.strip() for ln in lines[:80]]
    for i, line in enumerate(head):
        if _DATE_LINE.match(line):
            for prev in reversed(head[:i]):
                if prev and not _BOILERPLATE.match(prev):
                    return prev
    for line in head:
        if line and not _BOILERPLATE.match(line):
            return line
    return ""


def _article(lines: list[str]) -> str:
    out: list[str] = []
    seen: set[str] = set()
    for raw in lines:
        line = raw.strip()
        if not line or line in seen or _BOILERPLATE.match(line):
            continue
        seen.add(line)  # scraped pages repeat headlines and captions
        out.append(line)
    return "\n".join(out)


def _body(lines: list[str]) -> str:
    """Join body lines: dedent, keep single line breaks, one blank line between paragraphs."""
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        stripped = line.strip()
        if stripped:
            paragraphs[-1].append(stripped)
        elif paragraphs[-1]:
            paragraphs.append([])
    return "\n\n".join("\n".join(p) for p in paragraphs if p)


class _Open:
    """A comment being read: header seen, body accumulating, timestamp pending."""

    __slots__ = ("indent", "author", "line", "body", "timestamp", "depth", "parent", "number")

    def __init__(self, indent: int, author: str, line: int, number: int | None) -> None:
        self.indent = indent
        self.author = author
        self.line = line
        self.number = number
        self.body: list[str] = []
        self.timestamp = ""
        self.depth = 0
        self.parent = ""


def parse_page(data: bytes, path: str | Path = "<page>", doc: str | None = None) -> Thread:
    """Parse one page in the seed layout from its bytes. Never raises on odd content."""
    path = Path(path)
    doc = doc if doc is not None else path.stem
    sha = hashlib.sha256(data).hexdigest()
    text, problems = decode_page(data, path)
    if "\t" in text:
        text = _expand_leading_tabs(text)

    m = _SOUNDOFF.search(text)
    if m is None:
        lines = text.split("\n")
        problems.insert(0, Problem("no_comment_section", f"{path}: page has no comment section"))
        return Thread(
            doc=doc, source=str(path), sha256=sha, title=_title(lines), article=_article(lines),
            declared=None, problems=tuple(problems), has_comment_section=False,
        )

    head_lines = text[: m.start()].split("\n")
    declared = int(m.group(1).replace(",", ""))
    first_line = len(head_lines) + 1  # 1-based line of the first line after "soundoff"
    section = text[m.end() + 1 :].split("\n") if m.end() < len(text) else []

    comments, section_problems = _parse_section(section, first_line, doc, path)
    problems.extend(section_problems)
    if declared != len(comments):
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
    lines: list[str], first_line: int, doc: str, path: Path
) -> tuple[list[Comment], list[Problem]]:
    problems: list[Problem] = []
    done: list[_Open] = []
    open_: _Open | None = None
    stack: list[_Open] = []  # ancestors of the next reply, by indentation
    expect_header = True  # after a timestamp (or at the start) the next text is a header
    ended = False
    n = len(lines)

    def close(c: _Open | None) -> None:
        if c is None:
            return
        if not c.timestamp:
            problems.append(
                Problem("missing_timestamp", f"{path}:{c.line}: comment by {c.author!r} has no timestamp line", c.line)
            )
        done.append(c)

    def looks_like_header(i: int) -> bool:
        # A header is followed by a blank line (then the body or the timestamp).
        return i + 1 >= n or not lines[i + 1].strip()

    for i, line in enumerate(lines):
        lineno = first_line + i
        if not line.strip():
            if open_ is not None and not expect_header:
                open_.body.append("")
            continue
        if _END.match(line):
            ended = True
            break
        if open_ is not None and not expect_header:
            ts = _TIMESTAMP.match(line)
            if ts:
                open_.timestamp = _iso(ts)
                expect_header = True
                continue
        top = _TOP.match(line)
        reply = None if top else _REPLY.match(line)
        header = top or reply
        is_header = header is not None and (
            expect_header
            or (
                looks_like_header(i)
                and open_ is not None
                and len(header.group(1)) <= open_.indent + 2
                and (top is None or int(top.group(2)) == _next_number(done, open_))
            )
        )
        if not is_header:
            if open_ is None:
                continue  # stray text before the first header
            if expect_header and open_.timestamp:
                # Text after the timestamp that is no header: keep it, it belongs to the body.
                problems.append(Problem("bad_row", f"{path}:{lineno}: text after a timestamp kept in the comment above", lineno))
            open_.body.append(line)
            continue
        assert header is not None
        close(open_)
        indent = len(header.group(1))
        if top:
            c = _Open(indent, top.group(3).strip(), lineno, int(top.group(2)))
            stack = [c]
        else:
            assert reply is not None
            c = _Open(indent, reply.group(2).strip(), lineno, None)
            while stack and stack[-1].indent >= indent:
                stack.pop()
            if stack:
                parent = stack[-1]
                c.depth = parent.depth + 1
                if indent - parent.indent > 2 and parent.depth + 1 != (indent - 2) // 2:
                    problems.append(
                        Problem("skipped_level", f"{path}:{lineno}: reply by {c.author!r} skips an indentation level; attached to {parent.author!r}", lineno)
                    )
                c.parent = f"#{id(parent)}"
            else:
                problems.append(
                    Problem("orphan", f"{path}:{lineno}: reply by {c.author!r} has no comment above it; read as top-level", lineno)
                )
            stack.append(c)
        open_ = c
        expect_header = False
    close(open_)
    if not ended:
        where = first_line + n - 1
        problems.append(Problem("truncated", f"{path}:{where}: comment section ends without 'Post a comment' (truncated page?)", where))

    assign = IdAssigner(doc)
    ids: dict[str, str] = {}
    comments: list[Comment] = []
    for pos, c in enumerate(done, start=1):
        text = _body(c.body)
        cid = assign(c.author, c.timestamp, text)
        ids[f"#{id(c)}"] = cid
        comments.append(
            Comment(id=cid, doc=doc, parent_id=ids.get(c.parent, ""), depth=c.depth, position=pos,
                    author=c.author, timestamp=c.timestamp, text=text, line=c.line)
        )
    return comments, problems


def _next_number(done: list[_Open], open_: _Open) -> int:
    for c in [open_, *reversed(done)]:
        if c.number is not None:
            return c.number + 1
    return 1


def read_page(path: str | Path) -> Thread:
    """Read and parse one page file in the seed layout.

    Raises :class:`ParseError` for a file that is empty or binary (and, through the registry,
    one that cannot be read); any text goes through, its oddities noted as problems.
    """
    path = Path(path)
    data = path.read_bytes()
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

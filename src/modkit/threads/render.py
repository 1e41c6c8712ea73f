"""Writers for threads: a rich reply tree for the terminal, JSONL and CSV rows."""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from modkit.csvsafe import neutralise
from modkit.safeio import atomic_write, write_text_atomic
from modkit.safetext import visible
from modkit.threads import COMMENT_FIELDS, to_records
from modkit.threads.model import Comment, Thread


def summary_line(t: Thread) -> str:
    """``found/declared, depth, authors`` for one page, in plain words."""
    if not t.has_comment_section:
        return f"{visible(t.doc)}: no comment section"
    if t.declared is None:  # an export declares no count
        counts = f"{t.found} comments"
    else:
        counts = f"{t.found}/{t.declared} comments found/declared"
    mark = "" if not t.count_mismatch else "  (fewer than declared)" if t.found < (t.declared or 0) else "  (more than declared)"
    return f"{visible(t.doc)}: {counts}, max depth {max(t.max_depth, 0)}, {len(t.authors)} authors{mark}"


#: Reply levels the tree view indents (4 columns each) unless told otherwise; deeper replies
#: are listed without more indentation, each with its depth (see :func:`tree`).
MAX_INDENT = 10

_GUIDES = ("\u251c\u2500\u2500 ", "\u2514\u2500\u2500 ", "\u2502   ", "    ")  # ├──  └──  │  and blank
_DIM, _AUTHOR, _ID, _DEEP = Style(dim=True), Style(color="cyan"), Style(color="magenta"), Style(color="yellow")


class ReplyTree:
    """A page's reply tree as a rich renderable: the summary line, the title, then per comment
    its number, author, time and id and the first line of its text, under guide lines.

    Built for hostile and huge pages: every string is shown :func:`~modkit.safetext.visible`
    (no escape sequence of a comment reaches the terminal), and drawing is iterative and linear
    in the number of comments. Indentation stops after ``max_indent`` levels of replies: deeper
    replies are listed in tree order below the comment at that level, after one line that says
    so, each with its depth and the number of the comment it answers.
    """

    def __init__(self, t: Thread, width: int = 100, max_indent: int = MAX_INDENT) -> None:
        self.thread, self.width, self.max_indent = t, width, max(1, max_indent)

    def _layout(self) -> dict[str, list[str | None]]:
        """Holder id ("" for the page) -> what is drawn under it, in order: comment ids, and
        ``None`` for the line that says deeper replies follow without more indentation."""
        under: dict[str, list[str | None]] = {"": []}
        holder: dict[str, str] = {}  # comment id -> the holder its replies go under
        level: dict[str, int] = {}  # comment id -> indentation level (0 = top-level)
        for c in self.thread.walk():
            up = level.get(c.parent_id, -1)
            box = holder.get(c.parent_id, "")
            if up == self.max_indent:  # its parent is at the last level: it goes beside it
                if not under[box] or under[box][0] is not None:
                    under[box].insert(0, None)  # first thing under that comment: the line that says so
                under[box].append(c.id)
                level[c.id], holder[c.id] = up, box
            else:
                under[box].append(c.id)
                under[c.id] = []
                level[c.id], holder[c.id] = up + 1, c.id
        return under

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        t = self.thread
        yield Text(summary_line(t), style="bold")
        yield Text(visible(t.title) or "(no title)", style="dim")
        under = self._layout()
        cols = options.max_width
        flat = self.max_indent
        styled = console.color_system is not None  # without colours rich writes styles as plain text
        stack: list[tuple[str | None, str, bool]] = [
            (item, "", i == len(under[""]) - 1) for i, item in reversed(list(enumerate(under[""])))]
        while stack:
            item, pre, last = stack.pop()
            first, rest = pre + _GUIDES[1 if last else 0], pre + _GUIDES[3 if last else 2]
            if item is None:
                note = f"\u2193 replies deeper than depth {flat} follow without more indentation, each with its depth"
                yield from _line(console, first, rest, cols, [(note, _DEEP)], styled)
                continue
            c = t[item]
            deep = c.depth > flat
            head = [(f"{c.position}. ", _DIM), (visible(c.author) or "(no author)", _AUTHOR),
                    (f"  {visible(c.timestamp) or 'no time'}  ", _DIM), (visible(c.id), _ID), *_status_mark(c)]
            if deep:
                parent = t.get(c.parent_id)
                head.append((f"  depth {c.depth}, answers {parent.position if parent else '?'}.", _DEEP))
            yield from _line(console, first, rest, cols, head, styled)
            text = c.text.split("\n", 1)[0] if c.text else "(empty)"
            text = visible(text[: self.width * 8])  # stand-ins are longer than what they show: cut after
            if len(text) > self.width:
                text = text[: self.width - 1] + "\u2026"
            yield from _line(console, rest, rest, cols, [(text, Style.null())], styled)
            kids = under.get(item, ())
            for i in range(len(kids) - 1, -1, -1):
                stack.append((kids[i], rest, i == len(kids) - 1))


_PENDING, _REMOVED = Style(color="yellow"), Style(color="red")


def _status_mark(c: Comment) -> list[tuple[str, Style]]:
    """``[spam]``, ``[rejected: ABUSIVE]``...: the platform's decision, unless it simply published it."""
    if not c.status or c.status == "approved":
        return []
    why = f": {visible(c.status_reason)}" if c.status_reason else ""
    return [(f"  [{visible(c.status)}{why}]", _PENDING if c.status == "pending" else _REMOVED)]


def _line(console: Console, first: str, rest: str, cols: int, parts: list[tuple[str, Style]],
          styled: bool = True) -> list[Segment]:
    """One label line after its guides, wrapped (under ``rest``) when it does not fit ``cols``.
    ``styled=False`` (no colours on this console): one plain segment a line, a fraction of the cost."""
    room = cols - len(first)
    plain = "".join(s for s, _ in parts)
    if (len(plain) if plain.isascii() else cell_len(plain)) <= room:  # visible(): ASCII is 1 cell a char
        if not styled:
            return [Segment(first + plain + "\n")]
        return [Segment(first), *(Segment(s, style) for s, style in parts), _NL]
    room = max(20, room)
    out: list[Segment] = []
    if not plain.isascii():
        for i, piece in enumerate(Text.assemble(*parts).wrap(console, room)):
            out.append(Segment(first if i == 0 else rest))
            out.extend(piece.render(console))
            out.append(_NL)
        return out
    # ASCII (most lines): rich's word wrap, without its cost per line (Text.wrap is ~1 ms)
    cuts = [0, *_ascii_breaks(plain, room), len(plain)]
    for i in range(len(cuts) - 1):
        a, b = cuts[i], cuts[i + 1]
        b = min(b, a + room)  # as rich: what runs past the edge (white space after a word) is cut
        if not styled:
            out.append(Segment((first if i == 0 else rest) + plain[a:b] + "\n"))
            continue
        out.append(Segment(first if i == 0 else rest))
        at = 0
        for s, style in parts:
            lo, hi = max(a, at), min(b, at + len(s))
            if lo < hi:
                out.append(Segment(s[lo - at:hi - at], style))
            at += len(s)
        out.append(_NL)
    return out


_NL = Segment.line()
_WORD = re.compile(r"\s*\S+\s*")


def _ascii_breaks(text: str, width: int) -> list[int]:
    """Where rich's word wrap breaks an ASCII line (``rich._wrap.divide_line``, one cell a char)."""
    breaks: list[int] = []
    pos = 0
    for m in _WORD.finditer(text):
        start, word = m.start(), m.group()
        length = len(word.rstrip())
        if width - pos >= length:
            pos += len(word)
        elif length > width:  # a word longer than a line is folded
            chunks = [word[k:k + width] for k in range(0, len(word), width)]
            for k, chunk in enumerate(chunks):
                if start:
                    breaks.append(start)
                if k == len(chunks) - 1:
                    pos = len(chunk)
                else:
                    start += len(chunk)
        elif pos and start:
            breaks.append(start)
            pos = len(word)
    return breaks


def tree(t: Thread, width: int = 100, max_indent: int = MAX_INDENT) -> ReplyTree:
    """The page's reply tree for ``console.print`` (see :class:`ReplyTree`); ``width``: the most
    characters of a comment's first line shown."""
    return ReplyTree(t, width, max_indent)


def write_jsonl(threads: Iterable[Thread], fh: IO[str]) -> int:
    n = 0
    for rec in to_records(threads):
        fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        n += 1
    return n


def write_csv(threads: Iterable[Thread], fh: IO[str]) -> int:
    """One row per comment; a text cell a spreadsheet would run as a formula (``=HYPERLINK(...)``)
    gets a leading apostrophe (:func:`~modkit.csvsafe.neutralise`), which modkit's CSV reader
    takes off again, so the file reads back exactly."""
    writer = csv.DictWriter(fh, fieldnames=list(COMMENT_FIELDS), lineterminator="\n")
    writer.writeheader()
    n = 0
    for rec in to_records(threads):
        writer.writerow({k: neutralise(v) if isinstance(v, str) else v for k, v in rec.items()})
        n += 1
    return n


#: Files of a ConvoKit corpus folder, as ``convokit.Corpus.dump`` writes them.
CONVOKIT_FILES = ("utterances.jsonl", "speakers.json", "conversations.json", "corpus.json", "index.json")
NO_AUTHOR = "(no author)"


def _unix(iso: str) -> int | None:
    # The page gives no zone: the wall-clock time is stored as if it were UTC.
    if not iso:
        return None
    return int(datetime.strptime(iso, "%Y-%m-%dT%H:%M").replace(tzinfo=UTC).timestamp())


def _roots(t: Thread) -> dict[str, str]:
    """Comment id -> id of the top-level comment of its reply tree (itself for a top-level one).

    Each walk up stops at a comment already placed, so a 100,000-deep chain costs linear time
    (``t.ancestors`` per comment would be quadratic)."""
    root: dict[str, str] = {}
    for c in t.comments:
        chain: list[str] = []
        on_chain: set[str] = set()
        cur = c
        while cur.id not in root:
            chain.append(cur.id)
            on_chain.add(cur.id)
            up = t.parent(cur)
            if up is None or up.id in on_chain:
                top = cur.id
                break
            cur = up
        else:
            top = root[cur.id]
        for i in chain:
            root[i] = top
    return root


def write_convokit(threads: Iterable[Thread], out_dir: str | os.PathLike[str], name: str = "modkit") -> int:
    """Write a ConvoKit corpus folder that ``convokit.Corpus(filename=out_dir)`` loads.

    One utterance per comment (its id is the modkit id; ``reply_to`` the parent's id or null;
    ``timestamp`` Unix seconds of the page's wall-clock time read as UTC), one speaker per author,
    one conversation per top-level comment (ConvoKit's convention: a conversation is a reply tree
    with one root, its id is the root's id). Page facts go in conversation meta (``doc``,
    ``title``, ``source``, ``sha256``) and in utterance meta (``doc``, ``depth``, ``position``,
    ``timestamp_iso``, ``modkit_id``). Ids are modkit's; an export whose ids repeat an id
    of an earlier doc gets ``doc/id`` ids for that doc. Streams: one page in memory at a time. Returns the number of utterances.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    speakers: dict[str, dict] = {}
    conversations: dict[str, dict] = {}
    docs: list[str] = []
    seen: set[str] = set()
    n = 0
    with atomic_write(out / "utterances.jsonl", newline="\n") as fh:  # fsync + rename: never half-written
        for t in threads:
            docs.append(t.doc)
            # Page ids are unique corpus-wide (the doc is hashed in); export ids may repeat
            # across docs, and ConvoKit needs unique ids: such a doc's ids become "doc/id".
            clash = any(c.id in seen for c in t.comments)
            uid = (lambda i, d=t.doc: f"{d}/{i}") if clash else (lambda i: i)
            seen.update(uid(c.id) for c in t.comments)
            root = _roots(t)
            for c in t.comments:
                if not c.parent_id:
                    conversations[uid(c.id)] = {
                        "meta": {"doc": t.doc, "title": t.title, "source": t.source, "sha256": t.sha256},
                        "vectors": [],
                    }
            for c in t.comments:
                speaker = c.author or NO_AUTHOR
                speakers.setdefault(speaker, {"meta": {}, "vectors": []})
                rec = {
                    "id": uid(c.id), "conversation_id": uid(root[c.id]), "text": c.text, "speaker": speaker,
                    "meta": {"doc": c.doc, "modkit_id": c.id, "depth": c.depth, "position": c.position,
                             "timestamp_iso": c.timestamp},
                    "reply_to": uid(c.parent_id) if c.parent_id else None, "timestamp": _unix(c.timestamp),
                    "vectors": [],
                }
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
                n += 1
    s, i = "<class 'str'>", "<class 'int'>"
    files = {
        "speakers.json": speakers,
        "conversations.json": conversations,
        "corpus.json": {"name": name, "docs": docs},
        "index.json": {
            "utterances-index": {"doc": [s], "modkit_id": [s], "depth": [i], "position": [i], "timestamp_iso": [s]},
            "speakers-index": {},
            "conversations-index": {"doc": [s], "title": [s], "source": [s], "sha256": [s]},
            "overall-index": {"name": [s], "docs": ["<class 'list'>"]},
            "version": 1,
            "vectors": [],
        },
    }
    for fname, data in files.items():
        write_text_atomic(out / fname, json.dumps(data, ensure_ascii=False))
    return n


__all__ = ["CONVOKIT_FILES", "summary_line", "tree", "write_convokit", "write_csv", "write_jsonl"]

"""Writers for threads: a rich reply tree for the terminal, JSONL, CSV and Parquet rows, a
ConvoKit corpus; and :func:`render_parts`, which renders the rows of many files in worker
processes (``modkit threads --jobs N``), in file order.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from modkit.csvsafe import neutralise
from modkit.errors import ModkitError
from modkit.parallel import resolve_jobs
from modkit.safeio import atomic_write, write_text_atomic
from modkit.safetext import visible
from modkit.tables import MissingDependencyError
from modkit.threads import COMMENT_FIELDS, COMMENT_KINDS, page_files, to_records
from modkit.threads.model import Comment, Problem, Thread
from modkit.threads.registry import iter_file


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
    """One JSON object per comment (:data:`~modkit.threads.COMMENT_FIELDS`) per line; the count."""
    n = 0
    for rec in to_records(threads):
        fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        n += 1
    return n


def write_csv(threads: Iterable[Thread], fh: IO[str], header: bool = True) -> int:
    """One row per comment; a text cell a spreadsheet would run as a formula (``=HYPERLINK(...)``)
    gets a leading apostrophe (:func:`~modkit.csvsafe.neutralise`), which modkit's CSV reader
    takes off again, so the file reads back exactly. ``header=False``: the rows only (a part
    of a file whose header is already written)."""
    writer = csv.DictWriter(fh, fieldnames=list(COMMENT_FIELDS), lineterminator="\n")
    if header:
        writer.writeheader()
    n = 0
    for rec in to_records(threads):
        writer.writerow({k: neutralise(v) if isinstance(v, str) else v for k, v in rec.items()})
        n += 1
    return n


#: Comments turned into Arrow columns at a time by :func:`write_parquet` (a row group is made of several).
TABLE_COMMENTS = 4096


def comment_schema():  # -> pyarrow.Schema
    """The Arrow schema of the Parquet rows: :data:`~modkit.threads.COMMENT_FIELDS` with the
    types of :data:`~modkit.threads.COMMENT_KINDS` (needs pyarrow)."""
    from modkit import tables

    return tables.schema(COMMENT_KINDS)


def comment_table(threads: Iterable[Thread]):  # -> pyarrow.Table
    """The rows of ``threads`` (those of :func:`write_jsonl`) as an Arrow table of
    :func:`comment_schema`; memory: the whole table, so give it a bounded number of threads."""
    from modkit import tables

    pa = tables.require_pyarrow()
    cols: dict[str, list[Any]] = {f: [] for f in COMMENT_FIELDS}
    appenders = [(f, cols[f].append) for f in COMMENT_FIELDS]
    for rec in to_records(threads):
        for f, add in appenders:
            add(rec[f])
    return pa.Table.from_pydict(cols, schema=comment_schema())


def write_parquet(threads: Iterable[Thread], path: str | os.PathLike[str],
                  row_group_rows: int | None = None) -> int:
    """Write the rows of :func:`write_jsonl` to the Parquet file ``path`` (typed columns,
    :func:`comment_schema`), whole or not at all (a temporary file renamed over ``path``),
    streamed: the threads are read one at a time and the rows written in row groups of
    :data:`modkit.tables.ROW_GROUP_ROWS`, so memory holds one row group (as Arrow columns) and
    :data:`TABLE_COMMENTS` comments (as Python objects). Needs pyarrow.
    Returns the number of rows."""
    from modkit import tables

    with tables.parquet_sink(path, comment_schema(), row_group_rows or tables.ROW_GROUP_ROWS) as sink:
        batch: list[Thread] = []
        n = 0
        for t in threads:
            batch.append(t)
            n += len(t.comments)
            if n >= TABLE_COMMENTS:  # Python strings cost up to 4 bytes a character, Arrow's 1-2
                sink.write_table(comment_table(batch))
                batch, n = [], 0
        sink.write_table(comment_table(batch))
        return sink.rows


# --------------------------------------------------------------------------------------------
# Rows of many files in worker processes (``modkit threads --jobs N``)
# --------------------------------------------------------------------------------------------
#: The row formats :func:`render_parts` renders.
ROW_FORMATS = ("jsonl", "csv", "parquet")
#: About how many bytes of input files a worker reads per task (whole files; several small
#: ones, or one larger one). A file larger than this is read in the calling process instead,
#: streamed, so no worker holds the rows of a huge export.
CHUNK_BYTES = 4 << 20
#: Comments per part when a large file is rendered in the calling process.
PART_COMMENTS = 20_000


@dataclass(frozen=True)
class PageNote:
    """What a worker tells about one thread it rendered: enough to report it, not its comments."""

    doc: str
    source: str
    problems: tuple[Problem, ...] = ()


@dataclass
class RenderedPart:
    """The rows of consecutive threads, rendered: ``data`` is JSONL text, CSV rows (no
    header) or a ``pyarrow.Table``, by format; ``events`` says, in file order, each thread
    rendered (:class:`PageNote`) and each file that could not be read (its error message)."""

    fmt: str
    data: Any
    rows: int
    events: list[PageNote | str] = field(default_factory=list)


def _render(threads: Iterable[Thread], fmt: str) -> tuple[Any, int]:
    if fmt == "parquet":
        table = comment_table(threads)
        return table, table.num_rows
    buf = io.StringIO()
    n = write_jsonl(threads, buf) if fmt == "jsonl" else write_csv(threads, buf, header=False)
    return buf.getvalue(), n


def _noted(paths: Iterable[str | Path], events: list[PageNote | str],
           options: dict[str, object] | None) -> Iterator[Thread]:
    for p in paths:
        try:
            for t in iter_file(Path(p), options):
                events.append(PageNote(t.doc, t.source, t.problems))
                yield t
        except MissingDependencyError:
            raise
        except ModkitError as exc:  # a message, not the error: ParseError does not pickle
            events.append(exc.message)


def render_files(paths: Sequence[str], fmt: str, options: dict[str, object] | None = None) -> RenderedPart:
    """Read ``paths`` (whole files) and render their rows in ``fmt`` (:data:`ROW_FORMATS`):
    the unit of work of a ``--jobs`` worker. Reads and writes no file but ``paths``."""
    if fmt not in ROW_FORMATS:
        raise ValueError(f"unknown row format {fmt!r}: expected one of {', '.join(ROW_FORMATS)}")
    events: list[PageNote | str] = []
    data, n = _render(_noted(paths, events, options), fmt)
    return RenderedPart(fmt, data, n, events)


def _stream_file(path: Path, fmt: str, options: dict[str, object] | None) -> Iterator[RenderedPart]:
    """A large file read here, streamed: parts of about :data:`PART_COMMENTS` comments."""
    events: list[PageNote | str] = []  # _noted appends each thread's note before yielding it
    batch: list[Thread] = []
    n = 0
    for t in _noted([path], events, options):
        batch.append(t)
        n += len(t.comments)
        if n >= PART_COMMENTS:
            data, rows = _render(batch, fmt)
            yield RenderedPart(fmt, data, rows, events[:])
            events.clear()
            batch, n = [], 0
    data, rows = _render(batch, fmt)
    yield RenderedPart(fmt, data, rows, events[:])


def render_parts(sources: str | Path | Iterable[str | Path], fmt: str, jobs: int = 0,
                 options: dict[str, object] | None = None,
                 chunk_bytes: int = CHUNK_BYTES) -> Iterator[RenderedPart]:
    """The rows of every thread of ``sources`` in format ``fmt``, rendered in ``jobs`` worker
    processes (0: one per core), as :class:`RenderedPart` objects in file order: written one
    after the other (a CSV's header first) they give exactly what :func:`write_jsonl`,
    :func:`write_csv` or :func:`write_parquet` give over :func:`~modkit.threads.iter_threads`.

    Work is split by file, never inside one: consecutive files of about ``chunk_bytes`` in all
    go to one worker (joblib, results in order); a file larger than that is read here,
    streamed. Memory: a few parts per worker. The SOURCEs are checked now (a missing one
    raises :class:`~modkit.errors.SourceError`); unreadable files are events of the parts.
    With one chunk of files or ``jobs=1`` everything is read here, in this process.
    """
    if fmt not in ROW_FORMATS:
        raise ValueError(f"unknown row format {fmt!r}: expected one of {', '.join(ROW_FORMATS)}")
    paths = page_files(sources)  # checks the SOURCEs now
    jobs = resolve_jobs(jobs)
    return _parts(_units(paths, chunk_bytes), fmt, jobs, options)


def _units(paths: Iterable[Path], chunk_bytes: int) -> list[tuple[bool, list[str]]]:
    """``(small, files)`` in file order: a chunk of small files for a worker, or one large file."""
    out: list[tuple[bool, list[str]]] = []
    cur: list[str] = []
    size = 0
    for p in paths:
        try:
            n = os.stat(p).st_size
        except OSError:
            n = 0  # the reader says what is wrong with it
        if n > chunk_bytes:
            if cur:
                out.append((True, cur))
                cur, size = [], 0
            out.append((False, [str(p)]))
            continue
        cur.append(str(p))
        size += n
        if size >= chunk_bytes:
            out.append((True, cur))
            cur, size = [], 0
    if cur:
        out.append((True, cur))
    return out


def _parts(units: list[tuple[bool, list[str]]], fmt: str, jobs: int,
           options: dict[str, object] | None) -> Iterator[RenderedPart]:
    pooled = sum(small for small, _ in units)
    if jobs <= 1 or pooled <= 1:
        for small, files in units:
            if small:
                yield render_files(files, fmt, options)
            else:
                yield from _stream_file(Path(files[0]), fmt, options)
        return
    from itertools import groupby

    from joblib import Parallel, delayed

    with Parallel(n_jobs=min(jobs, pooled), return_as="generator") as parallel:
        for small, group in groupby(units, key=lambda u: u[0]):
            chunks = [files for _, files in group]
            if small:
                yield from parallel(delayed(render_files)(files, fmt, options) for files in chunks)
            else:
                for files in chunks:
                    yield from _stream_file(Path(files[0]), fmt, options)


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


__all__ = ["CHUNK_BYTES", "CONVOKIT_FILES", "ROW_FORMATS", "PageNote", "RenderedPart", "comment_schema", "comment_table",
           "render_files", "render_parts", "summary_line", "tree", "write_convokit", "write_csv", "write_jsonl",
           "write_parquet"]

"""Readers for comment exports that already carry reply links: CSV, JSONL and Parquet.

What a CMS export gives: one row per comment with ``id`` and ``parent_id`` (empty or null for a
top-level comment), and optionally ``doc``, ``author``, ``timestamp``, ``text``, ``title``,
``article``, ``position``, ``status`` and ``status_reason`` (the platform's decision, as
``modkit threads -f jsonl`` writes them). Other columns are ignored.

How a file maps to threads: every distinct ``doc`` value is one thread, in order of first
appearance; rows without a ``doc`` (or a file without that column) belong to the thread named
after the file (its name without the ending). A doc's rows need not be contiguous. Comments keep
the export's own ``id`` (it is already stable); their order is ``position`` when every row of
the doc has an integer one, else file order.

Structural problems make the file unreadable and raise one :class:`~modkit.errors.ParseError`
naming the file and line: no ``id``/``parent_id`` column, an empty id, a JSONL line that is not a
JSON object. Problems of the reply graph are returned as data on the thread (see
:data:`~modkit.threads.model.PROBLEM_KINDS`) and repaired so the tree stays usable:

- ``duplicate_id``: a later row with an id already seen in the doc is skipped;
- ``orphan``: a reply whose parent is not in the doc is read as top-level;
- ``cycle``: parent links that loop are broken at the comment that comes first in the file,
  which is read as top-level.

Parquet (:func:`read_parquet`, needs pyarrow) holds the same columns with their own types and
is read a record batch at a time; its "line" in messages is the row number (1 for the first row).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from modkit import csvsafe
from modkit.errors import ParseError
from modkit.threads.model import Comment, Problem, Thread, resolve_replies
from modkit.threads.seedpage import decode_file, parse_timestamp

if TYPE_CHECKING:
    import pyarrow.parquet as pq

#: Columns an export must have.
REQUIRED_COLUMNS = ("id", "parent_id")
#: Columns an export may have; any other column is ignored.
OPTIONAL_COLUMNS = ("doc", "author", "timestamp", "text", "title", "article", "position", "status", "status_reason")


def normalize_timestamp(value: object) -> str | None:
    """``YYYY-MM-DDTHH:MM`` from an ISO 8601 string (a zone is converted to UTC), a Unix time in
    seconds (a number, or a string of digits as Reddit dumps give it), or the seed pages'
    ``June 6, 2013 at 8:33 am``; "" for empty; None if unreadable."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(value, tz=UTC).strftime("%Y-%m-%dT%H:%M")
        except (OverflowError, OSError, ValueError):
            return None
    text = str(value).strip()
    if not text:
        return ""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        if text.lstrip("-").replace(".", "", 1).isdigit():  # Unix seconds as a string
            return normalize_timestamp(float(text))
        return parse_timestamp(text) or None
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M")


class _Row:
    __slots__ = ("author", "id", "line", "parent", "position", "reason", "status", "text", "timestamp")

    def __init__(self, line: int, cid: str, parent: str, author: str, timestamp: str, text: str,
                 position: int | None, status: str = "", reason: str = "") -> None:
        self.line, self.id, self.parent = line, cid, parent
        self.author, self.timestamp, self.text, self.position = author, timestamp, text, position
        self.status, self.reason = status, reason


class _Doc:
    def __init__(self, doc: str) -> None:
        self.doc = doc
        self.rows: list[_Row] = []
        self.title = ""
        self.article = ""
        self.problems: list[Problem] = []


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip() if not isinstance(value, str) else value.strip()


def _position(value: object) -> int | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, float):  # a whole number a table stored as a float (pandas, with gaps)
        return int(value) if value.is_integer() else None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


class _Collector:
    """Gathers rows into docs for one file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.default_doc = path.stem
        self.docs: dict[str, _Doc] = {}

    def add(self, line: int, rec: dict[str, object]) -> None:
        cid = _cell(rec.get("id"))
        if not cid:
            raise ParseError(self.path, line, "empty id: every comment needs an id")
        doc_name = _cell(rec.get("doc")) or self.default_doc
        doc = self.docs.get(doc_name)
        if doc is None:
            doc = self.docs[doc_name] = _Doc(doc_name)
        if not doc.title:
            doc.title = _cell(rec.get("title"))
        if not doc.article:
            doc.article = _cell(rec.get("article"))
        raw_time = rec.get("timestamp")
        timestamp = normalize_timestamp(raw_time)
        if timestamp is None:
            doc.problems.append(Problem(
                "bad_timestamp", f"{self.path}:{line}: unreadable timestamp {raw_time!r} for id {cid!r}; left empty", line))
            timestamp = ""
        text = rec.get("text")
        text = "" if text is None else str(text).replace("\r\n", "\n").replace("\r", "\n").strip()
        doc.rows.append(_Row(line, cid, _cell(rec.get("parent_id")), _cell(rec.get("author")),
                             timestamp, text, _position(rec.get("position")),
                             _cell(rec.get("status")).lower(), _cell(rec.get("status_reason"))))

    def threads(self, sha: str, fmt: str, decode_problems: Iterable[Problem] = ()) -> Iterator[Thread]:
        if not self.docs:  # a header-only export: one empty thread, not an error
            self.docs[self.default_doc] = _Doc(self.default_doc)
        for i, doc in enumerate(self.docs.values()):
            comments, problems = _build(doc, self.path)
            yield Thread(
                doc=doc.doc, source=str(self.path), sha256=sha, title=doc.title, article=doc.article,
                declared=None, comments=tuple(comments),
                problems=(*(decode_problems if i == 0 else ()), *doc.problems, *problems),
                format=fmt,
            )


def _build(doc: _Doc, path: Path) -> tuple[list[Comment], list[Problem]]:
    problems: list[Problem] = []
    rows: list[_Row] = []
    first_line: dict[str, int] = {}
    for r in doc.rows:
        if r.id in first_line:
            problems.append(Problem(
                "duplicate_id", f"{path}:{r.line}: duplicate id {r.id!r} (first on line {first_line[r.id]}); row skipped", r.line))
            continue
        first_line[r.id] = r.line
        rows.append(r)
    if rows and all(r.position is not None for r in rows):
        rows.sort(key=lambda r: r.position)  # stable: file order breaks ties
    by_id = {r.id: r for r in rows}
    parent: dict[str, str] = {}
    for r in rows:
        if r.parent and r.parent not in by_id:
            problems.append(Problem(
                "orphan", f"{path}:{r.line}: id {r.id!r} replies to {r.parent!r}, which is not in doc {doc.doc!r}; read as top-level", r.line))
            parent[r.id] = ""
        else:
            parent[r.id] = r.parent
    depth, loops = resolve_replies([r.id for r in rows], parent, lambda i: by_id[i].line)
    for head, shown in loops:
        problems.append(Problem(
            "cycle", f"{path}:{by_id[head].line}: reply links loop ({shown}); {head!r} read as top-level", by_id[head].line))
    comments = [
        Comment(id=r.id, doc=doc.doc, parent_id=parent[r.id], depth=depth[r.id], position=pos,
                author=r.author, timestamp=r.timestamp, text=r.text, line=r.line,
                status=r.status, status_reason=r.reason)
        for pos, r in enumerate(rows, start=1)
    ]
    return comments, problems


def _check_columns(path: Path, line: int, names: object, where: str) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in names]  # type: ignore[operator]
    if missing:
        raise ParseError(path, line, f"missing required {where} {', '.join(repr(m) for m in missing)} "
                         f"(an export needs {', '.join(REQUIRED_COLUMNS)})")


def read_csv(path: str | Path) -> list[Thread]:
    """Read a CSV comment export (header row; comma separated; UTF-8, a BOM is fine).

    Cells neutralised against spreadsheet formulas (``'=HYPERLINK(...)``, as ``modkit threads
    -f csv`` writes them) are read back as they were (:func:`~modkit.csvsafe.unneutralise`)."""
    path = Path(path)
    data = path.read_bytes()
    text, problems = decode_file(data, path)
    records = csvsafe.rows(csvsafe.lines(text), path)
    collector = _Collector(path)
    header = next(records, None)
    if header is None or not any(h.strip() for h in header[1]):
        raise ParseError(path, 1, "no header row")
    names = [h.strip().lower() for h in header[1]]
    _check_columns(path, header[0], names, "column")
    for line, row in records:
        if not any(cell.strip() for cell in row):
            continue
        collector.add(line, dict(zip(names, map(csvsafe.unneutralise, row))))
    return list(collector.threads(hashlib.sha256(data).hexdigest(), "csv", problems))


def read_jsonl(path: str | Path) -> list[Thread]:
    """Read a JSONL comment export: one JSON object per line, blank lines ignored."""
    path = Path(path)
    data = path.read_bytes()
    text, problems = decode_file(data, path)
    collector = _Collector(path)
    for lineno, line in enumerate(_lines(text), start=1):
        if not line.strip():
            continue
        rec = parse_json_line(line, path, lineno)
        if not isinstance(rec, dict):
            raise ParseError(path, lineno, f"expected a JSON object, got {type(rec).__name__}")
        _check_columns(path, lineno, rec, "field")
        if _SURROGATE_ESCAPE.search(line):
            rec = _replace_lone_surrogates(rec, path, lineno, problems)
        collector.add(lineno, rec)
    return list(collector.threads(hashlib.sha256(data).hexdigest(), "jsonl", problems))


#: What a Parquet export's columns may hold: text, or numbers and times that read as text.
_PARQUET_KINDS = ("string", "int64", "float64", "bool", "timestamp", "null")


def read_parquet(path: str | Path) -> Iterator[Thread]:
    """Read a Parquet comment export (``modkit threads -f parquet`` writes one): the columns of a
    CSV/JSONL export (names in any case; others ignored), of any type that reads as text
    (strings, numbers, times; a time column is read as ISO 8601). Needs pyarrow.

    Streams: rows are read one record batch (:data:`modkit.tables.READ_BATCH_ROWS` rows, out of
    one decoded row group) at a time and each doc's thread is yielded when its last row is read,
    so memory holds one row group, one batch and the largest doc (and the set of doc names),
    whatever the file's size. This needs each
    doc's rows to be contiguous, as modkit writes them; a first pass over the ``doc`` column
    alone checks it, and a file whose docs are interleaved is read whole (memory: the whole
    file, as for CSV). A doc is never split across threads. A corrupt file, a missing
    ``id``/``parent_id`` column or a column of an unusable type (lists, bytes) is one
    :class:`ParseError` naming the file and the column, raised before the first thread.
    """
    from modkit import tables

    path = Path(path)
    pf = tables.open_parquet(path)
    kinds = tables.column_kinds(pf)
    by_lower: dict[str, str] = {}
    for name in kinds:
        by_lower.setdefault(name.strip().lower(), name)
    _check_columns(path, 0, by_lower, "column")
    wanted = {c: by_lower[c] for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if c in by_lower}
    for col, name in wanted.items():
        if kinds[name] not in _PARQUET_KINDS:
            raise ParseError(path, None, f"column {name!r} holds {kinds[name]}, not text or numbers "
                                         f"(an export's {col} column)")
    with open(path, "rb") as fh:
        sha = hashlib.file_digest(fh, "sha256").hexdigest()
    return _parquet_threads(path, pf, wanted, sha, _docs_contiguous(path, pf, wanted.get("doc")))


def _docs_contiguous(path: Path, pf: pq.ParquetFile, doc_column: str | None) -> bool:
    """Whether every doc's rows of the Parquet file follow each other (one pass over the doc column)."""
    if doc_column is None:
        return True
    from modkit import tables

    done: set[str] = set()
    current: str | None = None
    for batch in tables.iter_batches(pf, path, [doc_column], tables.READ_BATCH_ROWS):
        for value in batch[doc_column]:
            doc = _cell(value) or path.stem  # rows without a doc are the file's own thread
            if doc != current:
                if doc in done:
                    return False
                if current is not None:
                    done.add(current)
                current = doc
    return True


def _parquet_threads(path: Path, pf: pq.ParquetFile, wanted: dict[str, str], sha: str,
                     contiguous: bool) -> Iterator[Thread]:
    from modkit import tables

    names = list(wanted)
    collector = _Collector(path)
    current: str | None = None
    row = 0
    empty = True
    for batch in tables.iter_batches(pf, path, wanted.values(), tables.READ_BATCH_ROWS):
        docs = batch[wanted["doc"]] if "doc" in wanted else None
        for k, values in enumerate(zip(*(batch[wanted[c]] for c in names))):
            row += 1
            if contiguous and docs is not None:
                doc = _cell(docs[k]) or collector.default_doc
                if doc != current:
                    if collector.docs:
                        yield from collector.threads(sha, "parquet")
                        collector = _Collector(path)
                    current = doc
            collector.add(row, dict(zip(names, values)))
            empty = False
    if collector.docs or empty:  # a file without rows: one empty thread, as a header-only CSV
        yield from collector.threads(sha, "parquet")


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` one at a time (``text.split`` would hold a second copy of a big file)."""
    start = 0
    while True:
        end = text.find("\n", start)
        if end < 0:
            yield text[start:]
            return
        yield text[start:end]
        start = end + 1


def parse_json_line(line: str, path: object, lineno: int) -> object:
    """``json.loads(line)``, or one :class:`ParseError` naming the file and line for anything it
    refuses: bad JSON, a number of over 4,300 digits, arrays or objects nested too deep."""
    try:
        return json.loads(line)
    except RecursionError:
        raise ParseError(path, lineno, "not valid JSON here (arrays or objects nested too deep)") from None
    except json.JSONDecodeError as exc:
        raise ParseError(path, lineno, f"not valid JSON ({exc.msg}, column {exc.colno})") from None
    except ValueError:  # Python's limit on the digits of an integer
        raise ParseError(path, lineno, "not valid JSON here (a number of over 4,300 digits)") from None


#: A JSON escape of a UTF-16 surrogate: JSON may hold a lone one, which no UTF-8 file can.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _replace_lone_surrogates(rec: dict, path: object, lineno: int, problems: list[Problem]) -> dict:
    """``rec`` with each lone surrogate in its top-level strings replaced by U+FFFD (and one
    ``decode`` problem), so the comment can be written as UTF-8 later."""
    def clean(value: object) -> object:
        return _LONE_SURROGATE.sub("\ufffd", value) if isinstance(value, str) else value

    out = {clean(k): clean(v) for k, v in rec.items()}
    if out != rec:
        problems.append(Problem("decode", f"{path}:{lineno}: lone UTF-16 surrogate escape; replaced with U+FFFD", lineno))
    return out

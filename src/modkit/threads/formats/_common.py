"""What the platform export readers share: rows, the reply-tree builder, the spool that groups
a large export's comments by thread in flat memory, streaming XML and JSON lines.

A reader turns each comment it finds into a :data:`Row`, a plain tuple (cheap to hold and to
spill to disk)::

    (line, id, parent, author, timestamp, text, status, reason)

``line`` is where the comment starts in the file (XML and JSON lines know it; 0 when not), and
orders the comments of a thread as the file does. :func:`build_thread` turns one thread's rows
into a :class:`~modkit.threads.model.Thread`, repairing the reply graph as the CSV/JSONL reader
does: a duplicate id is skipped, a reply to a comment that is not there is read as top-level
(``orphan``), a loop of reply links is broken at the comment that comes first (``cycle``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from modkit.errors import ParseError
from modkit.threads.export import normalize_timestamp, parse_json_line
from modkit.threads.model import Comment, Problem, Thread, resolve_replies

Row = tuple  # (line, id, parent, author, timestamp, text, status, reason)
LINE, ID, PARENT, AUTHOR, TIME, TEXT, STATUS, REASON = range(8)

#: Comments a reader holds in memory before the rest of an export goes to a temporary SQLite
#: file (:class:`Spool`): memory stays flat however large the export.
SPILL_AFTER = 50_000
_CHUNK = 1 << 16
_BOM = b"\xef\xbb\xbf"


def file_sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def where_line(path: Path) -> Callable[[int], str]:
    return lambda line: f"{path}:{line}" if line else f"{path}"


def timestamp(value: object) -> str | None:
    """ISO 8601 ``YYYY-MM-DDTHH:MM`` in UTC from what exports give: ISO 8601 (a zone is
    converted, none means UTC), Unix seconds as a number or a string, MongoDB's
    ``{"$date": ...}``; "" when empty, None when unreadable."""
    if isinstance(value, dict):  # MongoDB extended JSON (Coral dumps by mongoexport)
        value = value.get("$date", value.get("$numberLong"))
        if isinstance(value, dict):
            value = value.get("$numberLong")
        if isinstance(value, str) and value.lstrip("-").isdigit():
            value = int(value) / 1000  # canonical extended JSON: milliseconds
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            value = value / 1000
    return normalize_timestamp(value)


def bad_time(where: str, raw: object, cid: str, line: int) -> Problem:
    return Problem("bad_timestamp", f"{where}: unreadable timestamp {raw!r} for id {cid!r}; left empty", line)


# --------------------------------------------------------------------------------------------
# The reply tree
# --------------------------------------------------------------------------------------------
def build_thread(doc: str, rows: list[Row], *, path: Path, sha: str, fmt: str, title: str = "",
                 article: str = "", problems: Iterable[Problem] = (),
                 where: Callable[[int], str] | None = None, declared: int | None = None,
                 lines: bool = True) -> Thread:
    """One :class:`Thread` from its rows in file order (see the module doc). ``where(line)``
    names a row in messages (default ``path:line``); ``lines=False``: the rows' ``line`` is an
    ordinal for ``where``, not a line of the file (the comments' ``line`` is then 0)."""
    at = where or where_line(path)
    ln: Callable[[int], int] = (lambda n: n) if lines else (lambda n: 0)
    probs: list[Problem] = list(problems)
    first: dict[str, int] = {}
    kept: list[Row] = []
    for r in rows:
        cid = r[ID]
        if cid in first:
            probs.append(Problem("duplicate_id", f"{at(r[LINE])}: duplicate id {cid!r} (first at "
                                 f"{at(kept[first[cid]][LINE])}); skipped", ln(r[LINE])))
            continue
        first[cid] = len(kept)
        kept.append(r)
    parent: dict[str, str] = {}
    for r in kept:
        p = r[PARENT]
        if p and p not in first:
            probs.append(Problem("orphan", f"{at(r[LINE])}: id {r[ID]!r} replies to {p!r}, which is not in "
                                 f"doc {doc!r}; read as top-level", ln(r[LINE])))
            parent[r[ID]] = ""
        else:
            parent[r[ID]] = p
    depth, loops = resolve_replies([r[ID] for r in kept], parent)
    for head, shown in loops:
        line = kept[first[head]][LINE]
        probs.append(Problem("cycle", f"{at(line)}: reply links loop ({shown}); {head!r} read as top-level", ln(line)))
    comments = tuple(
        Comment(r[ID], doc, parent[r[ID]], depth[r[ID]], pos, r[AUTHOR], r[TIME], r[TEXT], ln(r[LINE]), r[STATUS], r[REASON])
        for pos, r in enumerate(kept, start=1)
    )
    return Thread(doc=doc, source=str(path), sha256=sha, title=title, article=article, declared=declared,
                  comments=comments, problems=tuple(probs), format=fmt)


# --------------------------------------------------------------------------------------------
# Grouping comments by thread in flat memory
# --------------------------------------------------------------------------------------------
class _Disk:
    """A temporary SQLite file, removed by :meth:`close`."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="modkit-export-")
        self.db = sqlite3.connect(os.path.join(self.dir, "spool.sqlite"), isolation_level=None)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "temp_store=FILE", "cache_size=-16000"):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.execute("BEGIN")

    def close(self) -> None:
        try:
            self.db.close()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class Spool:
    """Rows grouped by a key (the thread), in order of the key's first appearance, each group's
    rows in file order. The first :data:`SPILL_AFTER` rows stay in memory; past that every row
    goes to a temporary SQLite file, read back one group at a time."""

    def __init__(self, spill_after: int | None = None) -> None:
        self.spill_after = SPILL_AFTER if spill_after is None else spill_after
        self.keys: dict[str, int] = {}
        self._mem: dict[int, list[Row]] = {}
        self._n = 0
        self._seq = 0
        self._disk: _Disk | None = None
        self._batch: list[tuple] = []

    def __len__(self) -> int:
        return self._n

    def add(self, key: str, row: Row) -> None:
        k = self.keys.get(key)
        if k is None:
            k = self.keys[key] = len(self.keys)
        self._n += 1
        if self._disk is None:
            self._mem.setdefault(k, []).append(row)
            if self._n > self.spill_after:
                self._spill()
        else:
            self._seq += 1
            self._batch.append((k, self._seq, *row))
            if len(self._batch) >= 5000:
                self._flush()

    def _spill(self) -> None:
        self._disk = _Disk()
        self._disk.db.execute("CREATE TABLE r (k INTEGER, seq INTEGER, line INTEGER, id TEXT, parent TEXT, "
                              "author TEXT, ts TEXT, body TEXT, status TEXT, reason TEXT)")
        mem, self._mem = self._mem, {}
        for k in list(mem):
            for row in mem.pop(k):  # a group at a time: the rows are not held twice
                self._seq += 1
                self._batch.append((k, self._seq, *row))
                if len(self._batch) >= 5000:
                    self._flush()
        self._flush()

    def _flush(self) -> None:
        if self._batch and self._disk is not None:
            self._disk.db.executemany("INSERT INTO r VALUES (?,?,?,?,?,?,?,?,?,?)", self._batch)
            self._batch = []

    def groups(self) -> Iterator[tuple[str, list[Row]]]:
        """``(key, rows)`` per key, keys in order of first appearance."""
        names = list(self.keys)
        if self._disk is None:
            for k in sorted(self._mem):
                rows = self._mem.pop(k)
                rows.sort(key=_line_key)
                yield names[k], rows
            return
        self._flush()
        cur = self._disk.db.execute("SELECT k, line, id, parent, author, ts, body, status, reason FROM r "
                                    "ORDER BY k, line, seq")
        key, rows = -1, []
        for rec in cur:
            if rec[0] != key:
                if rows:
                    yield names[key], rows
                key, rows = rec[0], []
            rows.append(rec[1:])
        if rows:
            yield names[key], rows

    def close(self) -> None:
        if self._disk is not None:
            self._disk.close()
            self._disk = None
        self._mem = {}


def _line_key(row: Row) -> int:
    return row[LINE]


class Index:
    """A ``str -> str`` map that stays small in memory: past :data:`SPILL_AFTER` entries it
    lives in a temporary SQLite file (Hacker News: which story each comment is under)."""

    def __init__(self, spill_after: int | None = None) -> None:
        self.spill_after = SPILL_AFTER if spill_after is None else spill_after
        self._mem: dict[str, str] = {}
        self._disk: _Disk | None = None
        self._pending: dict[str, str] = {}

    def __setitem__(self, key: str, value: str) -> None:
        if self._disk is None:
            self._mem[key] = value
            if len(self._mem) > self.spill_after:
                self._disk = _Disk()
                self._disk.db.execute("CREATE TABLE m (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID")
                self._pending = self._mem
                self._mem = {}
                self._flush()
        else:
            self._pending[key] = value
            if len(self._pending) >= 5000:
                self._flush()

    def _flush(self) -> None:
        assert self._disk is not None
        self._disk.db.executemany("INSERT OR REPLACE INTO m VALUES (?, ?)", self._pending.items())
        self._pending = {}

    def get(self, key: str) -> str | None:
        if self._disk is None:
            return self._mem.get(key)
        hit = self._pending.get(key)
        if hit is not None:
            return hit
        row = self._disk.db.execute("SELECT v FROM m WHERE k = ?", (key,)).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        if self._disk is not None:
            self._disk.close()
            self._disk = None
        self._mem = {}


# --------------------------------------------------------------------------------------------
# JSON
# --------------------------------------------------------------------------------------------
def json_lines(path: Path, problems: list[Problem]) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line, object)`` for every non-blank line of a JSON lines file, read a line at a time.
    A line that is not JSON, or not a JSON object, raises :class:`ParseError` naming the line;
    bytes that are not UTF-8 are replaced (one ``decode`` problem)."""
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if lineno == 1 and raw.startswith(_BOM):
                raw = raw[3:]
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                if not any(p.kind == "decode" for p in problems):
                    problems.append(Problem("decode", f"{path}:{lineno}: bytes that are not UTF-8 "
                                            f"(byte {exc.start + 1} of the line); replaced", lineno))
                text = raw.decode("utf-8", errors="replace")
            obj = parse_json_line(text, path, lineno)
            if not isinstance(obj, dict):
                raise ParseError(path, lineno, f"expected a JSON object, got {_kind(obj)}")
            if _SURROGATE_ESCAPE.search(text):
                obj = _no_surrogates(obj, path, lineno, problems)
            yield lineno, obj


#: A JSON escape of a UTF-16 surrogate: JSON may hold a lone one, which no UTF-8 output can.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _no_surrogates(obj: Any, path: Path, lineno: int, problems: list[Problem]) -> Any:
    def clean(v: Any) -> Any:
        if isinstance(v, str):
            return _LONE_SURROGATE.sub("\ufffd", v)
        if isinstance(v, dict):
            return {clean(k): clean(x) for k, x in v.items()}
        if isinstance(v, list):
            return [clean(x) for x in v]
        return v

    out = clean(obj)
    if out != obj:
        problems.append(Problem("decode", f"{path}:{lineno}: lone UTF-16 surrogate escape; replaced with U+FFFD", lineno))
    return out


def is_json_lines(path: Path) -> bool:
    """Whether a JSON export is one object per line (else a JSON array or a single document)."""
    with open(path, "rb") as fh:
        head = fh.read(_CHUNK)
    text = head.lstrip(_BOM).lstrip()
    return text[:1] == b"{" and _first_line_is_object(text)


def json_records(path: Path, problems: list[Problem], lines: bool | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """The records of a JSON export given either way: one object per line (streamed; the
    number is the line), a JSON array of objects or a single (pretty-printed) object (the
    number is the item's place, 1 for the first; see :func:`where_json`)."""
    if lines is None:
        lines = is_json_lines(path)
    if lines:
        yield from json_lines(path, problems)
        return
    doc = load_json(path)
    items = doc if isinstance(doc, list) else [doc]
    for i, obj in enumerate(items):
        if not isinstance(obj, dict):
            raise ParseError(path, None, f"item [{i}]: expected a JSON object, got {_kind(obj)}")
        yield i + 1, obj


def where_json(path: Path, lines: bool) -> Callable[[int], str]:
    """How messages name a record of :func:`json_records`: ``path:line``, or ``path: item [i]``."""
    return where_line(path) if lines else (lambda n: f"{path}: item [{n - 1}]")


def no_id(path: Path, lines: bool, n: int, what: str) -> ParseError:
    """The error for a record without an id, naming its line (or its item)."""
    if lines:
        return ParseError(path, n, f"{what} without an id: every comment needs an id")
    return ParseError(path, None, f"item [{n - 1}]: {what} without an id: every comment needs an id")


def _first_line_is_object(text: bytes) -> bool:
    nl = text.find(b"\n")
    if nl < 0:
        return True  # one line (or a first line longer than the head): JSON lines it is
    try:
        return isinstance(json.loads(text[:nl]), dict)
    except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested too deep (fuzz/fuzz_readers.py)
        return False


def load_json(path: Path) -> Any:
    """A whole JSON document (a Discourse topic, a JSON array): :class:`ParseError` with the line."""
    data = path.read_bytes()
    if not data.strip():
        raise ParseError(path, None, "empty file (0 bytes), nothing to read")
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ParseError(path, data.count(b"\n", 0, exc.start) + 1, "not UTF-8 text, not a JSON export") from None
    except json.JSONDecodeError as exc:
        raise ParseError(path, exc.lineno, f"not valid JSON ({exc.msg}, column {exc.colno}); truncated?") from None
    except RecursionError:
        raise ParseError(path, None, "not valid JSON here (arrays or objects nested too deep)") from None
    except ValueError:  # Python's limit on the digits of an integer
        raise ParseError(path, None, "not valid JSON here (a number of over 4,300 digits)") from None


def _kind(obj: object) -> str:
    return {list: "an array", str: "a string", int: "a number", float: "a number", bool: "true/false",
            type(None): "null"}.get(type(obj), type(obj).__name__)


def json_head(head: bytes) -> tuple[dict[str, Any] | None, str]:
    """What a sniffer looks at: the first record when the file's first line is one whole JSON
    object (JSON lines), and the head as text for key searches."""
    text = head.lstrip(_BOM).lstrip().decode("utf-8", errors="replace")
    nl = text.find("\n")
    line = text if nl < 0 else text[:nl]
    try:
        first = json.loads(line)
    except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested too deep (fuzz/fuzz_readers.py)
        first = None
    return (first if isinstance(first, dict) else None), text


def has_key(text: str, *names: str) -> bool:
    return any(re.search(r'"%s"\s*:' % re.escape(n), text) for n in names)


def cell(value: object) -> str:
    """A JSON value as an id or a name: numbers without ``.0``, null as ""."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# --------------------------------------------------------------------------------------------
# XML: defusedxml's parser, fed in chunks, handing over every element at one depth
# --------------------------------------------------------------------------------------------
def local(tag: str) -> str:
    return tag.rpartition("}")[2]


def child(elem: Any, name: str) -> Any:
    for c in elem:
        if c.tag.rpartition("}")[2] == name:
            return c
    return None


def children(elem: Any) -> dict[str, Any]:
    """An element's children by local name (the first of each name), for several lookups."""
    out: dict[str, Any] = {}
    for c in elem:
        out.setdefault(c.tag.rpartition("}")[2], c)
    return out


def text_of(elem: Any) -> str:
    return (elem.text or "").strip() if elem is not None else ""


def child_text(elem: Any, name: str) -> str:
    c = child(elem, name)
    return (c.text or "").strip() if c is not None else ""


def attr(elem: Any, name: str) -> str:
    """An attribute by local name (``dsq:id`` is ``{http://disqus.com/disqus-internals}id``)."""
    for k, v in elem.attrib.items():
        if k.rpartition("}")[2] == name:
            return (v or "").strip()
    return ""


class _Target:
    """A TreeBuilder target that hands over each element at ``depth`` (0 = the root) when it
    ends, with the line its start tag is on and the lines of its children, then has its parent
    drop it: the tree never holds more than the elements not yet handed over."""

    def __init__(self, depth: int) -> None:
        import xml.etree.ElementTree as ET

        self.tb = ET.TreeBuilder()
        self.want = depth
        self.depth = -1
        self.stack: list[Any] = []
        self.lines: dict[int, int] = {}  # id(element) -> line, elements at depth and depth + 1
        self.done: list[tuple[Any, int, dict[int, int]]] = []
        self.expat: Any = None
        self.root_tag = ""

    def start(self, tag: str, attrs: dict[str, str]) -> Any:
        el = self.tb.start(tag, attrs)
        self.depth += 1
        if self.depth == 0:
            self.root_tag = local(tag)
        if self.want <= self.depth <= self.want + 1:
            self.lines[id(el)] = self.expat.CurrentLineNumber
        self.stack.append(el)
        return el

    def end(self, tag: str) -> Any:
        el = self.tb.end(tag)
        self.stack.pop()
        if self.depth == self.want:
            self.done.append((el, self.lines.pop(id(el), 0), self.lines))
            self.lines = {}
            if self.stack:
                self.stack[-1].clear()  # the parent lets go of the element just handed over
        self.depth -= 1
        return el

    def data(self, data: str) -> None:
        self.tb.data(data)

    def close(self) -> Any:
        return self.tb.close()


def iter_xml(path: Path, depth: int, root: str) -> Iterator[tuple[Any, int, dict[int, int]]]:
    """``(element, line, lines of its children by id())`` for each element at ``depth`` of
    ``path`` (1: the root's children), in file order, streamed: defusedxml's parser (no entity
    expansion, no external entities, no network) is fed 64 KB at a time and each element is
    dropped from the tree once handed over, so memory stays flat in the size of the file.

    Raises :class:`ParseError` naming the line for XML that is not well-formed (a truncated
    export), that declares entities (a "billion laughs" file: refused at the declaration, in
    constant time and memory), or whose root element is not ``<root>``."""
    from xml.etree.ElementTree import ParseError as XMLError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import DefusedXMLParser

    target = _Target(depth)
    parser = DefusedXMLParser(target=target, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    target.expat = parser.parser
    checked = False
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(_CHUNK), b""):
                parser.feed(block)
                if not checked and target.root_tag:
                    checked = True
                    if target.root_tag != root:
                        raise ParseError(path, 1, f"XML root <{target.root_tag}>, expected <{root}>")
                if target.done:
                    done, target.done = target.done, []
                    yield from done
            parser.close()
    except DefusedXmlException as exc:
        what = getattr(exc, "name", None)
        raise ParseError(path, parser.parser.CurrentLineNumber,
                         f"XML that declares an entity{f' ({what!r})' if what else ''} or refers to an external "
                         "one: refused (modkit never expands entities: a 'billion laughs' file would fill memory)") from None
    except XMLError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        msg = re.sub(r":? line \d+, column \d+$", "", str(exc))
        hint = "; the file ends early (truncated export?)" if msg.startswith(("no element found", "unclosed token")) else ""
        raise ParseError(path, line, f"not well-formed XML ({msg}){hint}") from None
    yield from target.done


def xml_root(head: bytes) -> tuple[str, str]:
    """``(root local name, head text)`` of an XML file from its first bytes: the XML declaration,
    comments, processing instructions and a DOCTYPE are skipped."""
    text = head.lstrip(_BOM).decode("utf-8", errors="replace")
    pos = 0
    pat = re.compile(r"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE(?:[^\[>]|\[.*?\])*>)", re.S)
    while True:
        m = pat.match(text, pos)
        if not m or m.end() == pos:
            break
        pos = m.end()
    m = re.compile(r"\s*<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)").match(text, pos)
    return (m.group(2) if m else ""), text


__all__ = [
    "SPILL_AFTER", "Index", "Row", "Spool", "attr", "bad_time", "build_thread", "cell", "child",
    "child_text", "children", "file_sha256", "text_of", "has_key", "is_json_lines", "json_head", "json_lines", "json_records", "load_json",
    "no_id", "where_json",
    "iter_xml", "local", "timestamp", "where_line", "xml_root",
]

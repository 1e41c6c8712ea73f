"""Batch operations on labels: set, import, export. The CLI is a thin layer over these.

>>> from modkit.labels import Corpus, LabelStore, load_schema, set_labels
>>> corpus, store, schema = Corpus.read("seeds/"), LabelStore("labels"), load_schema()
>>> set_labels(store, schema, corpus, "cd6e10b388724", ["civility=civil", "topic=on"], annotator="ann")
"""

from __future__ import annotations

import codecs
import csv
import itertools
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from modkit import csvsafe
from modkit.errors import ModkitError, NotFoundError, ParseError, not_found
from modkit.labels.corpus import Corpus
from modkit.labels.schema import Schema
from modkit.labels.store import SOURCES, LabelEvent, LabelStore, check_annotator, now_iso
from modkit.threads.export import parse_json_line

#: The longest note a label may carry, in characters (a pasted 10 MB cell is refused, not stored).
MAX_NOTE = 10_000
#: Columns an import file may hold besides one column per task (or ``task`` + ``value``).
META_COLUMNS = ("comment_id", "doc", "annotator", "note", "time", "source", "text_sha")


class RowErrors(ModkitError):
    """Several bad rows in one input file: one message per row, nothing written."""

    def __init__(self, path: object, problems: list[str], total: int) -> None:
        self.problems = problems
        if len(problems) == 1:  # one bad row: one line
            super().__init__(f"{problems[0]}; nothing imported (1 bad row of {total})")
            return
        lines = problems[:50]
        if len(problems) > 50:
            lines.append(f"... and {len(problems) - 50} more")
        lines.append(f"{path}: {len(problems)} bad row(s) of {total}; nothing imported")
        super().__init__("\n".join(lines))


def parse_assignments(pairs: Iterable[str] | Mapping[str, str], schema: Schema) -> dict[str, str]:
    """``["civility=abusive", "topic=off"]`` -> ``{"civility": "abusive", "topic": "off"}``,
    validated against the schema (unknown task or value: the standard one-line error)."""
    items = pairs.items() if isinstance(pairs, Mapping) else (_split_pair(p) for p in pairs)
    out: dict[str, str] = {}
    for task, value in items:
        schema.check(task, value)
        if task in out and out[task] != value:
            raise ModkitError(f"{task} given twice: {out[task]} and {value}")
        out[task] = value
    if not out:
        raise ModkitError(f"nothing to set: give TASK=VALUE pairs, e.g. {_example(schema)}")
    return out


def _split_pair(pair: str) -> tuple[str, str]:
    task, sep, value = pair.partition("=")
    if not sep or not task.strip() or not value.strip():
        raise ModkitError(f"{pair!r}: expected TASK=VALUE, e.g. civility=uncivil")
    return task.strip(), value.strip()


def _example(schema: Schema) -> str:
    return " ".join(f"{t.name}={t.values[0].name}" for t in schema.tasks)


def set_labels(
    store: LabelStore, schema: Schema, corpus: Corpus, comment_id: str,
    assignments: Iterable[str] | Mapping[str, str], annotator: str, note: str = "",
    source: str = "manual",
) -> list[LabelEvent]:
    """Record ``task=value`` labels for one comment (validated: the id against ``corpus``, the
    values against ``schema``); written durably before returning."""
    check_annotator(annotator)
    if len(note) > MAX_NOTE:
        raise ModkitError(f"--note of {len(note):,} characters: at most {MAX_NOTE:,}")
    values = parse_assignments(assignments, schema)
    item = corpus.item(comment_id)
    events = [
        LabelEvent(item.id, item.comment.doc, task, value, annotator, source=source, note=note,
                   text_sha=item.sha)
        for task, value in values.items()
    ]
    store.append(events)
    return events


# -- import ------------------------------------------------------------------------------------


@dataclass
class ImportResult:
    rows: int  #: data rows read
    written: list[LabelEvent] = field(default_factory=list)
    unchanged: int = 0  #: labels already current with the same value and note (not written again)


def read_table(path: str | Path) -> list[tuple[int, dict[str, object]]]:
    """Rows of a CSV (header row) or JSONL file as ``(line number, row)`` pairs (all of them:
    :func:`iter_table` gives them one at a time)."""
    problems: list[str] = []
    rows = list(iter_table(path, problems))
    if problems:
        raise RowErrors(path, problems, len(rows) + len(problems))
    return rows


def _numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of each ``\\n``-ended line of a UTF-8 file (BOM dropped), read a
    megabyte at a time; a byte that is not UTF-8 or a NUL byte is a :class:`ParseError` at its
    line, raised when the reading gets there (what ``read_text`` then a search for NUL gave)."""
    try:
        fh = open(path, "rb")  # noqa: SIM115  (closed below, also when the caller stops early)
    except FileNotFoundError:
        raise not_found(path) from None
    except IsADirectoryError:
        raise NotFoundError(f"{path}: is a folder, expected a .csv or .jsonl file") from None
    except OSError as exc:
        raise ModkitError(f"{path}: cannot read: {exc.strerror or exc}") from None
    with fh:
        n, offset, tail, first = 0, 0, b"", True
        while True:
            try:
                chunk = fh.read(1 << 20)
            except IsADirectoryError:
                raise NotFoundError(f"{path}: is a folder, expected a .csv or .jsonl file") from None
            except OSError as exc:
                raise ModkitError(f"{path}: cannot read: {exc.strerror or exc}") from None
            if first:
                first = False
                chunk = chunk.removeprefix(codecs.BOM_UTF8)  # as utf-8-sig: byte offsets count after it
            parts = (tail + chunk).split(b"\n") if chunk else [tail]
            tail = parts.pop() if chunk else b""
            if not chunk and not parts[0]:
                return
            for k, raw in enumerate(parts):
                n += 1
                last = not chunk and k == len(parts) - 1
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise ParseError(path, n, f"not UTF-8 text (byte {offset + exc.start})") from None
                if "\x00" in text:
                    raise ParseError(path, n, "binary file (NUL byte), expected UTF-8 text")
                offset += len(raw) + (0 if last else 1)
                yield n, text if last else text + "\n"
            if not chunk:
                return


def iter_table(path: str | Path, problems: list[str] | None = None) -> Iterator[tuple[int, dict[str, object]]]:
    """Rows of a CSV (header row) or JSONL file as ``(line number, row)`` pairs, streamed: the
    file is read a megabyte at a time, so a million-row import does not hold its text.

    A JSONL line that is not a JSON object is not a row: its message goes to ``problems`` (a
    :class:`ParseError` when ``problems`` is None). Errors about the whole file (not found, not
    UTF-8, NUL byte, empty, a broken CSV quote) are raised when the reading reaches them."""
    path = Path(path)
    lines = _numbered_lines(path)
    seen: list[tuple[int, str]] = []  # the blank lines before the first text: is the file empty?
    for n, text in lines:
        seen.append((n, text))
        if text.strip():
            break
    else:
        raise ModkitError(f"{path}: empty file (expected a header row with comment_id and task columns, "
                          "or JSON objects with comment_id)")
    numbered = itertools.chain(seen, lines)
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        for n, line in numbered:
            # lines end at "\n" only, not splitlines(): JSON strings may hold U+2028 and other separators
            if not line.strip():
                continue
            try:
                obj = parse_json_line(line, path, n)
                if not isinstance(obj, dict):
                    raise ParseError(path, n, "expected a JSON object per line")
            except ParseError as exc:
                if problems is None:
                    raise
                problems.append(exc.message)
                continue
            yield n, obj
        return
    if path.suffix.lower() not in (".csv", ".tsv"):
        raise ModkitError(f"{path}: unknown file type {path.suffix!r}: expected .csv or .jsonl")
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    pieces = (piece for _, text in numbered for piece in csvsafe.lines(text))  # \r endings too, as before
    records = csvsafe.rows(pieces, path, delimiter=delimiter)
    header = next((cells for _, cells in records if cells), None)  # as csv.DictReader: blank lines skipped
    if not header:
        raise ModkitError(f"{path}: empty file (expected a header row with comment_id and task columns)")
    unneutralise = csvsafe.unneutralise
    width = len(header)
    for n, cells in records:
        if not cells:
            continue
        cells = [unneutralise(cell) for cell in cells]  # '=x from `labels export` is =x
        row: dict[str, object] = dict(zip(header, cells))
        if len(cells) > width:
            row = {"__extra__": cells[width:], **row}
        else:
            row.update((name, None) for name in header[len(cells):])
        yield n, row


def plan_import(
    path: str | Path, store: LabelStore, schema: Schema, corpus: Corpus,
    annotator: str | None = None, source: str = "import",
) -> ImportResult:
    """Validate every row of an import file and return the events it would write.

    A row is ``comment_id`` plus one column per task (empty cell = no label for that task), or
    ``comment_id``, ``task``, ``value``; optional ``annotator`` (else ``annotator``), ``note``.
    Any bad row raises :class:`RowErrors` listing every bad row by number. Labels identical to
    the annotator's current label (same value and note) are counted in ``unchanged`` and not
    written again, so importing the same file twice adds nothing.
    """
    n_rows, events = _validated(path, schema, corpus, annotator, source)
    return _new_labels(n_rows, events, store)


def _validated(path: str | Path, schema: Schema, corpus: Corpus, annotator: str | None,
               source: str) -> tuple[int, list[LabelEvent]]:
    """``(rows read, the events of every row)``; :class:`RowErrors` if any row is bad."""
    if source not in SOURCES:
        raise ModkitError(f"unknown source {source!r}: expected one of {', '.join(SOURCES)}")
    problems: list[str] = []
    json_problems: list[str] = []  # lines that are no rows: reported alone, as read_table does
    events: list[LabelEvent] = []
    allowed = set(META_COLUMNS) | set(schema.task_names) | {"task", "value"}
    memo: dict[str, str] = {}  # one string per distinct task, value, annotator, note
    intern = memo.setdefault
    checked: set[tuple[str, str]] = set()  # (task, value) pairs the schema allowed
    good_names: set[str] = set()
    shas: dict[str, str] = {}  # comment id -> text_sha, hashed once per comment
    stamp = now_iso()
    n_rows = 0
    for n, row in iter_table(path, json_problems):
        n_rows += 1
        where = f"{path}:{n}"
        if "__extra__" in row:
            problems.append(f"{where}: more cells than header columns")
            continue
        unknown = sorted(k for k in row if k not in allowed)
        if unknown:
            problems.append(f"{where}: unknown column {_shown(unknown[0])}: expected comment_id, a task "
                            f"({', '.join(schema.task_names)}) or {', '.join(c for c in META_COLUMNS[1:])}")
            continue
        cid = _cell(row.get("comment_id"))
        if not cid:
            problems.append(f"{where}: missing comment_id")
            continue
        item = corpus.get(cid)
        if item is None:
            problems.append(f"{where}: unknown comment id {_shown(cid)}: not a comment of the pages read")
            continue
        who = _cell(row.get("annotator")) or annotator
        if not who:
            problems.append(f"{where}: no annotator (add an annotator column or pass --annotator)")
            continue
        if who not in good_names:
            try:
                check_annotator(who)
            except ModkitError as exc:
                problems.append(f"{where}: {exc.message}")
                continue
            good_names.add(who)
        note = _cell(row.get("note"))
        if len(note) > MAX_NOTE:
            problems.append(f"{where}: note of {len(note):,} characters: at most {MAX_NOTE:,} (a note is a remark, "
                            "not a copy of the comment)")
            continue
        pairs: list[tuple[str, str]] = []
        if "task" in row or "value" in row:
            pairs.append((_cell(row.get("task")), _cell(row.get("value"))))
        pairs += [(t, _cell(row.get(t))) for t in schema.task_names if _cell(row.get(t))]
        if not pairs:
            problems.append(f"{where}: no label: fill at least one of {', '.join(schema.task_names)}")
            continue
        who, note = intern(who, who), intern(note, note)
        for task, value in pairs:
            if (task, value) not in checked:
                try:
                    schema.check(task, value)
                except ModkitError as exc:
                    problems.append(f"{where}: {exc.message}")
                    break
                checked.add((task, value))
            if problems:  # a bad row seen: nothing is written, keep only the messages
                continue
            sha = shas.get(item.id)
            if sha is None:
                sha = shas[item.id] = item.sha
            events.append(LabelEvent(item.id, item.comment.doc, intern(task, task), intern(value, value), who,
                                     stamp, source, note, sha))
    if json_problems:
        raise RowErrors(path, json_problems, n_rows + len(json_problems))
    if problems:
        raise RowErrors(path, problems, n_rows)
    return n_rows, events


def _new_labels(n_rows: int, events: list[LabelEvent], store: LabelStore, stamp: str | None = None,
                batch: str = "") -> ImportResult:
    """The events that change something: not identical to the current label (or to an earlier
    event of the same import). With ``stamp``, those are written with that time and ``batch``
    (made here, one at a time: no second list of a million events)."""
    current = store.current()
    result = ImportResult(rows=n_rows)
    planned: dict[tuple[str, str, str], LabelEvent] = {}
    for ev in events:
        key = (ev.comment_id, ev.task, ev.annotator)
        have = planned.get(key) or current.get(key)
        if have is not None and have.value == ev.value and have.note == ev.note and have.text_sha == ev.text_sha:
            result.unchanged += 1
            continue
        if stamp is not None:
            ev = _restamp(ev, stamp, batch)
        planned[key] = ev
        result.written.append(ev)
    return result


def import_labels(
    path: str | Path, store: LabelStore, schema: Schema, corpus: Corpus,
    annotator: str | None = None, source: str = "import",
) -> ImportResult:
    """Validate the whole file, then append its new labels all or nothing (see
    :func:`plan_import`). Nothing is written if any row is bad.

    All or nothing also against a kill or a full disk: the labels, one file per annotator, are
    written in one journal transaction (:mod:`modkit.labels.journal`), each event stamped with
    its batch id. What is new is decided under the journal lock, after a batch a killed import
    left is completed, so running the same import again after a crash adds nothing.

    The file is read as a stream (:func:`iter_table`) and each row kept as one small event;
    what grows with the rows is those events and the journal's lines (its intent record holds
    every line of the batch: that is what makes it all or nothing)."""
    from modkit.labels.journal import transaction

    n_rows, events = _validated(path, schema, corpus, annotator, source)  # the slow part, unlocked
    store.ensure_root()
    with transaction(store.root, "import") as tx:
        result = _new_labels(n_rows, events, store, now_iso(), tx.id)
        del events  # only the written ones are kept
        for file, lines in store.lines_by_file(result.written).items():
            tx.append(file, lines)
    return result


def _restamp(ev: LabelEvent, stamp: str, batch: str = "") -> LabelEvent:
    return LabelEvent(ev.comment_id, ev.doc, ev.task, ev.value, ev.annotator, stamp, ev.source, ev.note,
                      ev.text_sha, batch)


def _cell(v: object) -> str:
    return "" if v is None else str(v).strip()


def _shown(value: str, most: int = 64) -> str:
    """``value`` quoted for a message, a hostile 10 MB cell cut to its start and its length."""
    return repr(value) if len(value) <= most else f"{value[:most]!r}... ({len(value):,} characters)"


# -- export ------------------------------------------------------------------------------------


def export_rows(
    store: LabelStore, schema: Schema, resolved: bool = False, texts: Mapping[str, str] | None = None,
    warnings: list[str] | None = None, order: Iterable[str] | None = None,
) -> list[dict[str, str]]:
    """Rows for export.

    - ``resolved=False``: one row per comment and annotator: ``comment_id, doc, annotator``,
      one column per task (empty = not labeled), ``note`` (the notes given, joined by " | ").
    - ``resolved=True``: one row per comment: ``comment_id, doc``, one column per task with the
      resolved value (adjudicated, else majority; empty on a tie), ``ties`` and ``adjudicated``
      (the tasks concerned, space-separated) and ``annotators`` (how many labeled the comment).

    ``texts`` (comment id -> text_sha) leaves stale labels out, reporting them in ``warnings``.
    Rows follow ``order`` (comment ids, e.g. document order) then the rest by id.
    """
    tasks = schema.task_names
    rank = {cid: i for i, cid in enumerate(order or [])}

    def sort_key(k: tuple[str, ...]) -> tuple[int, tuple[str, ...]]:
        return (rank.get(k[0], len(rank)), k)

    rows: list[dict[str, str]] = []
    if not resolved:
        cur = store.current(warnings, texts)
        by: dict[tuple[str, str], dict[str, LabelEvent]] = {}
        for (cid, task, who), ev in cur.items():
            if task in tasks:
                by.setdefault((cid, who), {})[task] = ev
        for key in sorted(by, key=sort_key):
            evs = by[key]
            any_ev = next(iter(evs.values()))
            notes = list(dict.fromkeys(e.note for e in evs.values() if e.note))
            row = {"comment_id": key[0], "doc": any_ev.doc, "annotator": key[1]}
            row.update({t: (evs[t].value or "") if t in evs else "" for t in tasks})
            row["note"] = " | ".join(notes)
            rows.append(row)
        return rows
    res = store.resolved(warnings, texts)
    by_c: dict[str, dict[str, object]] = {}
    for (cid, task), r in res.items():
        if task in tasks:
            by_c.setdefault(cid, {})[task] = r
    for cid in sorted(by_c, key=lambda c: sort_key((c,))):
        rs = by_c[cid]
        any_r = next(iter(rs.values()))
        who = {e.annotator for r in rs.values() for e in r.events if e.source != "adjudicated"}  # type: ignore[attr-defined]
        row = {"comment_id": cid, "doc": any_r.doc}  # type: ignore[attr-defined]
        row.update({t: (rs[t].value or "") if t in rs else "" for t in tasks})  # type: ignore[attr-defined]
        row["ties"] = " ".join(t for t in tasks if t in rs and rs[t].tie)  # type: ignore[attr-defined]
        row["adjudicated"] = " ".join(t for t in tasks if t in rs and rs[t].adjudicated)  # type: ignore[attr-defined]
        row["annotators"] = str(len(who))
        rows.append(row)
    return rows


def write_rows(rows: list[dict[str, str]], fh: TextIO, fmt: str = "csv", columns: list[str] | None = None) -> int:
    """Write export rows as CSV (header first) or JSONL; returns the row count.

    In CSV, a cell a spreadsheet would run as a formula (a note ``=HYPERLINK(...)``) gets a
    leading apostrophe (:func:`~modkit.csvsafe.neutralise`); ``labels import`` takes it off."""
    if fmt == "jsonl":
        fh.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        return len(rows)
    if fmt != "csv":
        raise ModkitError(f"unknown format {fmt!r}: expected csv or jsonl")
    cols = columns or (list(rows[0]) if rows else ["comment_id", "doc"])
    writer = csv.DictWriter(fh, fieldnames=cols, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: csvsafe.neutralise(v) if isinstance(v, str) else v for k, v in row.items()})
    return len(rows)


def export_columns(schema: Schema, resolved: bool) -> list[str]:
    if resolved:
        return ["comment_id", "doc", *schema.task_names, "ties", "adjudicated", "annotators"]
    return ["comment_id", "doc", "annotator", *schema.task_names, "note"]

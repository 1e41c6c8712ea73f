"""Batch operations on labels: set, import, export. The CLI is a thin layer over these.

>>> from modkit.labels import Corpus, LabelStore, load_schema, set_labels
>>> corpus, store, schema = Corpus.read("seeds/"), LabelStore("labels"), load_schema()
>>> set_labels(store, schema, corpus, "cd6e10b388724", ["civility=civil", "topic=on"], annotator="ann")
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from modkit.errors import ModkitError
from modkit.labels.corpus import Corpus
from modkit.labels.schema import Schema
from modkit.labels.store import SOURCES, LabelEvent, LabelStore, check_annotator, now_iso

#: Columns an import file may hold besides one column per task (or ``task`` + ``value``).
META_COLUMNS = ("comment_id", "doc", "annotator", "note", "time", "source", "text_sha")


class RowErrors(ModkitError):
    """Several bad rows in one input file: one message per row, nothing written."""

    def __init__(self, path: object, problems: list[str], total: int) -> None:
        self.problems = problems
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
    """Rows of a CSV (header row) or JSONL file as ``(line number, row)`` pairs."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ModkitError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise ModkitError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        rows: list[tuple[int, dict[str, object]]] = []
        problems = []
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as exc:
                problems.append(f"{path}:{n}: not valid JSON ({exc.msg})")
                continue
            if not isinstance(obj, dict):
                problems.append(f"{path}:{n}: expected a JSON object per line")
                continue
            rows.append((n, obj))
        if problems:
            raise RowErrors(path, problems, len(rows) + len(problems))
        return rows
    if path.suffix.lower() not in (".csv", ".tsv"):
        raise ModkitError(f"{path}: unknown file type {path.suffix!r}: expected .csv or .jsonl")
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
    if not reader.fieldnames:
        raise ModkitError(f"{path}: empty file (expected a header row with comment_id and task columns)")
    rows = []
    for row in reader:
        if None in row:
            rows.append((reader.line_num, {"__extra__": row.pop(None), **row}))
        else:
            rows.append((reader.line_num, dict(row)))
    return rows


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
    if source not in SOURCES:
        raise ModkitError(f"unknown source {source!r}: expected one of {', '.join(SOURCES)}")
    rows = read_table(path)
    problems: list[str] = []
    events: list[LabelEvent] = []
    allowed = set(META_COLUMNS) | set(schema.task_names) | {"task", "value"}
    for n, row in rows:
        where = f"{path}:{n}"
        if "__extra__" in row:
            problems.append(f"{where}: more cells than header columns")
            continue
        unknown = sorted(k for k in row if k not in allowed)
        if unknown:
            problems.append(f"{where}: unknown column {unknown[0]!r}: expected comment_id, a task "
                            f"({', '.join(schema.task_names)}) or {', '.join(c for c in META_COLUMNS[1:])}")
            continue
        cid = _cell(row.get("comment_id"))
        if not cid:
            problems.append(f"{where}: missing comment_id")
            continue
        item = corpus.get(cid)
        if item is None:
            problems.append(f"{where}: unknown comment id {cid!r}: not a comment of the pages read")
            continue
        who = _cell(row.get("annotator")) or annotator
        if not who:
            problems.append(f"{where}: no annotator (add an annotator column or pass --annotator)")
            continue
        try:
            check_annotator(who)
        except ModkitError as exc:
            problems.append(f"{where}: {exc.message}")
            continue
        note = _cell(row.get("note"))
        pairs: list[tuple[str, str]] = []
        if "task" in row or "value" in row:
            pairs.append((_cell(row.get("task")), _cell(row.get("value"))))
        pairs += [(t, _cell(row.get(t))) for t in schema.task_names if _cell(row.get(t))]
        if not pairs:
            problems.append(f"{where}: no label: fill at least one of {', '.join(schema.task_names)}")
            continue
        bad = False
        for task, value in pairs:
            try:
                schema.check(task, value)
            except ModkitError as exc:
                problems.append(f"{where}: {exc.message}")
                bad = True
                break
            events.append(LabelEvent(item.id, item.comment.doc, task, value, who, source=source, note=note,
                                     text_sha=item.sha))
        if bad:
            continue
    if problems:
        raise RowErrors(path, problems, len(rows))
    current = store.current()
    result = ImportResult(rows=len(rows))
    planned: dict[tuple[str, str, str], LabelEvent] = {}
    for ev in events:
        key = (ev.comment_id, ev.task, ev.annotator)
        have = planned.get(key) or current.get(key)
        if have is not None and have.value == ev.value and have.note == ev.note and have.text_sha == ev.text_sha:
            result.unchanged += 1
            continue
        planned[key] = ev
        result.written.append(ev)
    return result


def import_labels(
    path: str | Path, store: LabelStore, schema: Schema, corpus: Corpus,
    annotator: str | None = None, source: str = "import",
) -> ImportResult:
    """Validate the whole file, then append its new labels in one locked write
    (see :func:`plan_import`). Nothing is written if any row is bad."""
    result = plan_import(path, store, schema, corpus, annotator, source)
    stamp = now_iso()
    result.written = [_restamp(ev, stamp) for ev in result.written]
    store.append(result.written)
    return result


def _restamp(ev: LabelEvent, stamp: str) -> LabelEvent:
    return LabelEvent(ev.comment_id, ev.doc, ev.task, ev.value, ev.annotator, stamp, ev.source, ev.note,
                      ev.text_sha)


def _cell(v: object) -> str:
    return "" if v is None else str(v).strip()


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
    """Write export rows as CSV (header first) or JSONL; returns the row count."""
    if fmt == "jsonl":
        fh.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        return len(rows)
    if fmt != "csv":
        raise ModkitError(f"unknown format {fmt!r}: expected csv or jsonl")
    cols = columns or (list(rows[0]) if rows else ["comment_id", "doc"])
    writer = csv.DictWriter(fh, fieldnames=cols, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return len(rows)


def export_columns(schema: Schema, resolved: bool) -> list[str]:
    if resolved:
        return ["comment_id", "doc", *schema.task_names, "ties", "adjudicated", "annotators"]
    return ["comment_id", "doc", "annotator", *schema.task_names, "note"]

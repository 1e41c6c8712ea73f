"""Verify the label store, and repair what can be repaired (``modkit labels check``).

>>> from modkit.labels import check
>>> report = check.check_store("labels", texts=corpus.texts())   # comment id -> text_sha
>>> for p in report.problems: print(p)                             # labels/ana.jsonl:12: torn line ...
>>> report = check.repair("labels")                                # backups FILE.bak-<time>, atomic rewrite

What is checked, file by file (each annotator file ``labels/<name>.jsonl``, and the JSONL logs the
caller adds, such as the review decision log), line by line:

- **torn** lines (a write cut short by a kill or a crash: JSON that stops mid-way) and
  **invalid** lines (not JSON, not an object, a field missing, an unknown ``source``): readers
  skip both; :func:`repair` drops them;
- **unknown values**: a task or value the label schema (``labels/schema.toml``) does not have;
- with ``texts`` (the pages' ``comment id -> text_sha``): **unknown comment ids** (on none of
  the pages; ids an erasure pseudonymised, ``erased-...``, are expected) and **stale** labels,
  given to a text of the comment that has changed since (``text_sha``);
- **uncommitted batches** (``labels/.journal/``: an import or review killed mid-way; their lines
  are hidden from readers): :func:`repair` completes them (:func:`modkit.labels.journal.recover`).

Unknown values, unknown ids and stale labels are reported, never dropped: they are someone's
judgement, and the schema or the pages may be what changed. :func:`repair` rewrites a file
under its append lock, with a backup copy ``FILE.bak-<time>`` of the old bytes first, through
:func:`modkit.safeio.write_bytes_atomic`; every line it keeps keeps its bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from modkit.errors import ModkitError
from modkit.labels import journal
from modkit.labels.schema import Schema, schema_for
from modkit.labels.store import LabelEvent, LabelStore, parse_lines
from modkit.safeio import locked, os_error, write_bytes_atomic

#: A checker of one record of an extra log: raises ValueError or ModkitError when invalid.
Convert = Callable[[dict, str], object]

#: Kinds of problem :func:`repair` fixes by dropping the line.
DROPPABLE = ("torn", "invalid")


@dataclass(frozen=True)
class Problem:
    """One problem: where (file and line; no line for a whole-file problem), what kind, and a
    message that says what readers do and what ``--repair`` would do."""

    path: Path
    line: int | None
    kind: str  #: torn, invalid, unknown_value, unknown_comment, stale, mismatch, pending, unreadable
    message: str

    @property
    def fixable(self) -> bool:
        return self.kind in DROPPABLE or self.kind == "pending"

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else f"{self.path}"
        return f"{where}: {self.message}"


@dataclass
class Repaired:
    path: Path
    backup: Path
    dropped: int  #: lines dropped


@dataclass
class CheckReport:
    files: int = 0  #: files checked
    records: int = 0  #: lines read as valid records
    problems: list[Problem] = field(default_factory=list)
    repaired: list[Repaired] = field(default_factory=list)  #: set by :func:`repair`
    completed: list[str] = field(default_factory=list)  #: batches completed by :func:`repair`

    @property
    def ok(self) -> bool:
        return not self.problems


def _torn(raw: bytes, is_last: bool, ends_with_newline: bool) -> bool:
    """A line a write cut short: the last line without its newline, or an object that stops
    mid-way (a string or the object runs to the end, or a character is cut) where a later
    append went on after it."""
    if is_last and not ends_with_newline:
        return True
    raw = raw.rstrip()
    if not raw.startswith(b"{"):
        return False
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.end >= len(raw)  # the last character is cut
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return exc.msg.startswith("Unterminated string") or exc.pos >= len(text)
    return False


def check_file(path: Path, convert: Convert, *, schema: Schema | None = None,
               texts: Mapping[str, str] | None = None, annotator: str | None = None,
               hidden: set[str] | frozenset[str] = frozenset()) -> tuple[int, list[Problem]]:
    """``(valid records, problems)`` of one JSONL file; ``convert`` validates a record
    (:meth:`LabelEvent.from_dict` for a label file). ``schema`` checks task and value,
    ``texts`` comment ids and text fingerprints, ``annotator`` the annotator of each line;
    lines of the ``hidden`` batches (not committed) get no content checks."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return 0, [Problem(path, None, "unreadable", os_error(path, exc, "cannot read").message)]
    ends = data.endswith(b"\n")
    last = data.count(b"\n") + (0 if ends else 1)
    problems: list[Problem] = []
    records = 0
    for i, raw, d, rec, exc in parse_lines(data, path, convert):
        if exc is not None:
            if _torn(raw, i == last, ends):
                problems.append(Problem(path, i, "torn", "torn line (a write cut short by a kill or crash); "
                                        "readers skip it; --repair drops it"))
            else:
                where = f"{path}:{i}"
                why = exc.message.removeprefix(f"{where}: ") if isinstance(exc, ModkitError) else (
                    f"not JSON: {exc.msg}" if isinstance(exc, json.JSONDecodeError) else str(exc))
                problems.append(Problem(path, i, "invalid", f"invalid line ({why}); readers skip it; "
                                        "--repair drops it"))
            continue
        records += 1
        if str(d.get("batch") or "") in hidden:
            continue
        problems += _content(path, i, d, rec, schema, texts, annotator)
    return records, problems


def _content(path: Path, i: int, d: dict, rec: object, schema: Schema | None,
             texts: Mapping[str, str] | None, annotator: str | None) -> list[Problem]:
    out = []
    if isinstance(rec, LabelEvent):
        if annotator is not None and rec.annotator != annotator:
            out.append(Problem(path, i, "mismatch", f"annotator {rec.annotator!r} in the file of {annotator!r}"))
        if schema is not None:
            try:
                if rec.value is None:
                    schema.task(rec.task)
                else:
                    schema.check(rec.task, rec.value)
            except ModkitError as exc:
                out.append(Problem(path, i, "unknown_value", f"{exc.message} ({schema.source})"))
    cid = str(d.get("comment_id") or "")
    if texts is not None and cid and not cid.startswith("erased-"):
        now = texts.get(cid)
        sha = str(d.get("text_sha") or "")
        if now is None:
            out.append(Problem(path, i, "unknown_comment", f"unknown comment id {cid!r}: on none of the pages given"))
        elif sha and sha != now:
            out.append(Problem(path, i, "stale", f"stale: comment {cid}'s text changed since (text_sha {sha}, "
                                                 f"now {now}); readers leave it out: label it again"))
    return out


def _pending_problems(root: Path) -> list[Problem]:
    out = []
    for record in journal.intent_records(root):
        try:
            batch, files = journal.read_record(record)
        except ModkitError as exc:
            out.append(Problem(record, None, "unreadable", exc.message.removeprefix(f"{record}: ")))
            continue
        n = sum(len(v) for v in files.values())
        out.append(Problem(record, None, "pending",
                           f"batch {batch} not committed ({n} lines for {', '.join(files)}: an import or review "
                           "killed mid-way); readers leave it out; --repair or the next write completes it"))
    return out


def check_store(root: str | Path, *, schema: Schema | None = None, texts: Mapping[str, str] | None = None,
                logs: Mapping[Path, Convert] | None = None) -> CheckReport:
    """Check every annotator file under ``root`` (and each extra JSONL log of ``logs``: path ->
    record checker) and the journal; writes nothing. ``schema``: the folder's
    (:func:`~modkit.labels.schema_for`) when None."""
    root = Path(root)
    schema = schema or schema_for(root)
    report = CheckReport()
    report.problems += _pending_problems(root)
    hidden = journal.pending(root)
    for path in LabelStore(root).files():
        n, problems = check_file(path, LabelEvent.from_dict, schema=schema, texts=texts, annotator=path.stem,
                                 hidden=hidden)
        report.files += 1
        report.records += n
        report.problems += problems
    for path, convert in (logs or {}).items():
        if path.is_file():
            n, problems = check_file(path, convert, texts=texts, hidden=hidden)
            report.files += 1
            report.records += n
            report.problems += problems
    return report


def repair(root: str | Path, *, schema: Schema | None = None, texts: Mapping[str, str] | None = None,
           logs: Mapping[Path, Convert] | None = None, time: str | None = None) -> CheckReport:
    """Complete uncommitted batches, then drop torn and invalid lines, file by file, each file
    rewritten atomically under its lock after a backup copy ``FILE.bak-<time>``; returns the
    check of the repaired store (what is left cannot be fixed by dropping lines)."""
    root = Path(root)
    schema = schema or schema_for(root)
    completed = journal.recover(root)
    stamp = time or datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    repaired: list[Repaired] = []
    targets: list[tuple[Path, Convert]] = [(p, LabelEvent.from_dict) for p in LabelStore(root).files()]
    targets += [(p, c) for p, c in (logs or {}).items() if p.is_file()]
    for path, convert in targets:
        with locked(path):  # appenders wait; they open the file after the lock, so they see the new one
            _, problems = check_file(path, convert)
            drop = {p.line for p in problems if p.kind in DROPPABLE}
            if not drop:
                continue
            data = path.read_bytes()
            backup = path.with_name(f"{path.name}.bak-{stamp}")
            k = 1
            while backup.exists():  # a second repair within the same second keeps the first backup
                k += 1
                backup = path.with_name(f"{path.name}.bak-{stamp}-{k}")
            write_bytes_atomic(backup, data)
            kept = [raw for i, raw in enumerate(data.split(b"\n"), start=1) if i not in drop and raw.strip()]
            write_bytes_atomic(path, b"".join(raw + b"\n" for raw in kept))
            repaired.append(Repaired(path, backup, len(drop)))
    report = check_store(root, schema=schema, texts=texts, logs=logs)
    report.repaired = repaired
    report.completed = completed
    return report

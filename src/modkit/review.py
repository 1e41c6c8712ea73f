"""Review: moderators' decisions on flagged CSVs, back into labels and a decision log.

>>> from modkit import review
>>> result = review.import_review(["flagged.csv"], "ana", pages="seeds/", labels="labels")  # validate, write
>>> result.decisions, result.events, result.already
>>> review.stats("labels")                                            # precision per flag, ...

A flagged CSV (written by ``modkit flag``) comes back from LibreOffice, Excel or Google Sheets
with a BOM, CRLF line ends, ``;`` or tab as delimiter, columns reordered or added, rows deleted,
cells holding newlines. :func:`read_sheet` reads all of that, and undoes the formula
neutralisation of ``modkit flag`` (a leading ``'`` before ``= + - @``, tab or CR).

Each reviewed row becomes

- label events in the :class:`~modkit.labels.LabelStore` (``source="review"``, annotator = the
  reviewer, the flagging model and the decision in ``note``, ``text_sha`` of the current text),
  mapped by :func:`label_values` (see its docstring for the rules), and
- one record in the append-only decision log :class:`DecisionLog`
  (``labels/review/decisions.jsonl``) that keeps what the system said (``system``: model, flags,
  scores) apart from what the human decided (``decision``, ``reject_code``, ``corrections``,
  ``note``).

Every row is validated before anything is written: one problem per row, with its row number as
the spreadsheet shows it (the header is row 1). Importing the same decisions twice adds nothing:
each record carries a ``key`` over (reviewer, comment, decision, reject code, corrections, note)
and a row whose key equals the reviewer's latest decision on that comment is skipped.

Crash safety: the label events and the decision records of one import (or of one keypress of
``--interactive``) are one batch, written all or nothing through the intent journal of
:mod:`modkit.labels.journal`:

1. under the journal lock, a batch a killed review or import left is completed first, then the
   new decisions are planned against the log (so what is "already imported" is decided on a
   whole log);
2. ``labels/.journal/<batch>.json`` (every label line and decision line, each stamped with the
   batch id ``review-<time>-<random>``) is written atomically (fsync, rename, fsync);
3. the label lines are appended to ``labels/<reviewer>.jsonl``, the decision lines to
   ``labels/review/decisions.jsonl`` (each append locked and fsynced), and the journal record
   is removed: the commit;
4. readers (the store, :class:`DecisionLog`, ``review stats``, ``train``) leave out the lines of
   a batch whose journal record is still there, so after a kill at any point they see the labels
   and the decisions of a batch together or not at all; the next writer completes the batch
   (roll forward: it appends the lines a file does not hold yet, byte for byte);
5. a full disk during step 3 cuts the files back to their old size and removes the record: the
   command says so in one line and nothing was written.

Re-running an import after a crash is idempotent: step 1 completes the batch, then every row's
``key`` matches the reviewer's latest decision and is counted as already imported.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from modkit import csvsafe
from modkit.csvsafe import FORMULA_STARTS, neutralise, unneutralise  # noqa: F401  (part of this module's API)
from modkit.errors import ModkitError, NotFoundError, ParseError, clip, not_found
from modkit.labels import LabelEvent, LabelStore, text_sha
from modkit.labels.store import append_durably, check_annotator, read_records
from modkit.tasks import Registry, default_registry
from modkit.threads import Comment, Thread, iter_threads

#: What a moderator can write in the ``decision`` column (empty = not reviewed).
DECISIONS = ("approve", "reject", "escalate")
#: Recorded for a row with corrections (``labels``) but no decision, and by the TUI's "correct".
CORRECT = "correct"
#: Recorded for a row with only a note (no decision, no corrections): log only, no label.
NOTE = "note"
#: Allowed ``reject_code`` values.
REJECT_CODES = ("OFFENSIVE", "ABUSIVE", "SPAM", "HARASSMENT", "HATE_SPEECH", "IRRELEVANT", "OTHER")
#: Columns a review CSV must have; all others are optional and extra ones are ignored.
REQUIRED_COLUMNS = ("comment_id", "decision")
#: Columns review reads when present.
READ_COLUMNS = (
    "comment_id", "doc", "decision", "reject_code", "note", "labels", "flags", "model", "text_sha", "reasons",
)  # and every score column p_<flag>
#: Where the decision log lives, relative to the labels folder. A sub-folder, so the label store
#: (which reads ``labels/*.jsonl`` as annotator files) never mistakes it for an annotator.
DECISION_LOG = Path("review") / "decisions.jsonl"

# How decisions map onto label values (see label_values): from the task registry of the label
# schema (modkit.tasks): each flag's task, the value it stands for, the reject codes confirming it.
_FLAG_ALIASES = {"OFFTOPIC": "OFF_TOPIC", "REPEAT": "REPEAT_POST", "REPEATPOST": "REPEAT_POST"}


class Allowed(dict):
    """The label schema as review needs it: ``{task: values}``, plus ``registry`` (the task
    registry: which label each flag and reject code stands for)."""

    def __init__(self, registry: Registry) -> None:
        super().__init__({t.name: t.values for t in registry.tasks})
        self.registry = registry

    @property
    def reject_codes(self) -> tuple[str, ...]:
        """The base :data:`REJECT_CODES` plus every flag code and reject code the schema declares."""
        return tuple(dict.fromkeys([*REJECT_CODES, *self.registry.reject_codes]))


def _registry(allowed: Mapping[str, Sequence[str]] | None) -> Registry:
    reg = getattr(allowed, "registry", None)
    return reg if reg is not None else default_registry()


# --------------------------------------------------------------------------------------------
# Reading spreadsheets
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sheet:
    """A CSV as a spreadsheet saved it: normalised column names and rows with their numbers."""

    path: Path
    columns: tuple[str, ...]
    rows: tuple[tuple[int, dict[str, str]], ...]  #: (spreadsheet row number, cells by column)
    delimiter: str
    encoding: str
    sha256: str  #: of the file's bytes


def _decode(path: Path, data: bytes) -> tuple[str, str]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" is UTF-16
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise ParseError(path, None, f"starts as UTF-16 but is not valid UTF-16 ({exc.reason} at byte "
                                         f"{exc.start})") from None
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        # Excel on Windows saves "CSV" in the ANSI code page.
        try:
            return data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError as exc:
            raise ParseError(path, None, f"not UTF-8, UTF-16 or Windows-1252 text ({exc.reason})") from None


def _sniff_delimiter(text: str) -> str:
    """The delimiter of the header line: ``,`` ``;`` or tab.

    A header with quoted names is read by ``csv.Sniffer``, which skips delimiters inside quotes
    (``"comment_id";"note, short"`` is ``;``). Otherwise, or when it cannot tell, the most
    frequent of the three: on one unquoted line the Sniffer prefers ``,`` to a more frequent
    ``;`` (``comment_id;decision;note (short, optional)`` would come out as ``,``)."""
    end = text.find("\n")
    header = text if end < 0 else text[:end]  # not split(): that would copy the whole file
    if '"' in header:
        try:
            return csv.Sniffer().sniff(header, delimiters=",;\t").delimiter
        except csv.Error:
            pass
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _shown_columns(header: Sequence[str], most: int = 12) -> str:
    """The header's names for a one-line message: at most ``most``, each at most 40 characters."""
    names = [h if len(h) <= 40 else h[:39] + "…" for h in header if h]
    if len(names) > most:
        return f"{', '.join(names[:most])}, ... ({len(names)} columns)"
    return ", ".join(names) or "nothing"


def _norm_column(name: str) -> str:
    return re.sub(r"\s+", "_", name.replace("\ufeff", "").strip().lower())


def read_sheet(path: str | Path) -> Sheet:
    """Read a CSV saved by a spreadsheet program (BOM, CRLF, ``,`` ``;`` or tab, quoted newlines).

    Column names are stripped and lower-cased; cells are un-neutralised (:func:`unneutralise`);
    rows whose cells are all empty are dropped but still counted, so row numbers match what the
    spreadsheet shows (the header is row 1). Raises :class:`ParseError` naming the file and row.
    """
    path = Path(path)
    data = _read_bytes(path)
    text, encoding = _decode(path, data)
    header, rows, delimiter = _sheet_rows(path, text, csvsafe.lines)
    return Sheet(path, header, tuple(rows), delimiter, encoding, hashlib.sha256(data).hexdigest())


def iter_sheet_rows(path: str | Path) -> Iterator[tuple[int, dict[str, str]]]:
    """:func:`read_sheet`'s rows one at a time, for a large flag CSV (the report's): a UTF-8 file
    is checked in one streamed pass (valid UTF-8, no NUL byte), then read line by line, so memory
    holds one row; UTF-16 and Windows-1252 files (Excel's) are read whole by :func:`read_sheet`.
    The same rows, numbers and errors as :func:`read_sheet`."""
    import codecs

    path = Path(path)
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError:
        yield from read_sheet(path).rows  # its one-line errors (missing file, a folder...)
        return
    with fh:
        start = fh.read(4)
        utf8 = not start.startswith((b"\xff\xfe", b"\xfe\xff"))
        decoder = codecs.getincrementaldecoder("utf-8")()
        fh.seek(0)
        try:
            while utf8 and (chunk := fh.read(1 << 20)):
                if b"\x00" in chunk:
                    utf8 = False  # read_sheet names the line
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    if not utf8:
        yield from read_sheet(path).rows
        return
    with open(path, encoding="utf-8-sig", newline="") as text:
        first = text.read(1 << 16)
        if not first.strip():
            yield from read_sheet(path).rows  # its "empty file" error
            return
        text.seek(0)
        _, rows, _ = _sheet_rows(path, first, lambda _: text)
        yield from rows


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise not_found(path) from None
    except IsADirectoryError:
        raise NotFoundError(f"{path}: is a folder, expected a CSV file") from None
    except OSError as exc:
        raise ModkitError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _sheet_rows(path: Path, text: str, lines: Callable[[str], Iterable[str]]
                ) -> tuple[tuple[str, ...], Iterator[tuple[int, dict[str, str]]], str]:
    """The header, the rows (lazily) and the delimiter of a sheet whose text starts with
    ``text`` (all of it, or its first 64 KB) and whose lines ``lines(text)`` gives."""
    if not text.strip():
        raise ParseError(path, None, "empty file, expected a header row with comment_id and decision")
    nul = text.find("\x00")
    if nul >= 0:  # modkit never writes one (pages and exports holding one are refused as binary)
        raise ParseError(path, text.count("\n", 0, nul) + 1, "binary file (NUL byte), expected a CSV")
    end = text.find("\n")
    first = text if end < 0 else text[:end]
    first_line = 1
    source = lines(text)
    if first.strip().lower().startswith("sep=") and len(first.strip()) == 5:
        # Excel's delimiter hint line ("sep=;"): Excel hides it, so the header stays row 1
        delimiter, first_line = first.strip()[4], 2
        source = iter(source)
        next(source, None)
    else:
        delimiter = _sniff_delimiter(text)
    # Errors name the file's line (csvsafe.rows); rows below are numbered as the spreadsheet shows them.
    records = (cells for _, cells in csvsafe.rows(source, path, delimiter=delimiter, first_line=first_line))
    head = next(records, None)
    if head is None:
        raise ParseError(path, None, "empty file, expected a header row with comment_id and decision")
    header = [_norm_column(c) for c in head]
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            raise ParseError(path, 1, f"column {name!r} appears twice in the header")
        seen.add(name)
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ParseError(
            path, 1, f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(header has: {_shown_columns(header)}; delimiter {delimiter!r})",
        )

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        for number, record in enumerate(records, start=2):
            if not any(cell.strip() for cell in record):
                continue
            yield number, {name: unneutralise(record[i]) if i < len(record) else "" for i, name in enumerate(header) if name}

    return tuple(header), rows(), delimiter


# --------------------------------------------------------------------------------------------
# Rows to decisions
# --------------------------------------------------------------------------------------------
def parse_flags(cell: str) -> tuple[str, ...]:
    """``"ABUSIVE;off-topic"`` -> ``("ABUSIVE", "OFF_TOPIC")``: split on ``; , |`` or spaces,
    upper-cased, ``-`` as ``_`` (``OFFTOPIC`` is read as ``OFF_TOPIC``), in order, once each."""
    names = (re.sub(r"-", "_", f.strip().upper()) for f in re.split(r"[;,|\s]+", cell or ""))
    return tuple(dict.fromkeys(_FLAG_ALIASES.get(n, n) for n in names if n and n not in ("NONE", "NAN")))


def parse_corrections(cell: str) -> dict[str, str]:
    """``"civility=uncivil topic=on"`` (spaces, ``;`` or ``,`` between) -> ``{task: value}``.
    Raises ValueError naming the bad part."""
    out: dict[str, str] = {}
    for part in re.split(r"[;,\s]+", (cell or "").strip()):
        if not part:
            continue
        task, sep, value = part.partition("=")
        if not sep:
            task, sep, value = part.partition(":")
        if not sep or not task.strip() or not value.strip():
            raise ValueError(f"correction {part!r} is not TASK=VALUE (e.g. civility=uncivil topic=on)")
        out[task.strip().lower()] = value.strip().lower()
    return out


def label_values(
    decision: str, flags: Sequence[str], reject_code: str = "", corrections: Mapping[str, str] | None = None,
    registry: Registry | None = None,
) -> dict[str, str]:
    """The label values a review decision stands for, as ``{task: value}``, by the task registry
    of the label schema (``registry``; the default schema's when None).

    - ``approve`` (the flag was wrong: the comment is fine): every task a flag was raised on gets
      its fine value (the value no flag of the task stands for: in the default schema ABUSIVE,
      UNCIVIL -> ``civility=civil``; OFF_TOPIC, REPEAT_POST, EMPTY -> ``topic=on``); a row with no
      such flag (LINKS or SHOUTING only, or a comment queued for its uncertainty) gets the fine
      value of every task that has flags.
    - ``reject`` (the flag was right): each flag gives its label (ABUSIVE -> ``civility=abusive``,
      UNCIVIL -> ``civility=uncivil``, OFF_TOPIC, REPEAT_POST, EMPTY -> ``topic=off``; the more
      severe wins when two flags share a task); a ``reject_code`` adds or raises one: a flag's
      own code, or a code the schema lists in a flag's ``reject_codes`` (default schema:
      HARASSMENT, HATE_SPEECH -> ``civility=abusive``; OFFENSIVE -> ``civility=uncivil``; SPAM,
      IRRELEVANT -> ``topic=off``); OTHER adds nothing. A reject that maps to nothing (no such
      flag, no code or only OTHER, no correction) is refused: it would teach the model nothing.
    - ``escalate``, ``correct`` and ``note``: no value of their own.
    - corrections (``labels`` column) override all of the above, task by task.
    """
    reg = registry or _registry(None)
    values: dict[str, str] = {}

    def put(task: str, value: str) -> None:
        spec = reg.task(task)
        if task not in values or spec.severity(value) > spec.severity(values[task]):
            values[task] = value

    mapped = [(f.task, f.label) for code in flags if (f := reg.flag(code)) is not None and f.task]
    if decision == "approve":
        tasks = {task for task, _ in mapped} or {t.name for t in reg.tasks if t.fine}
        for task in sorted(tasks):
            fine = reg.task(task).fine
            if fine:
                values[task] = fine
    elif decision == "reject":
        for task, value in mapped:
            put(task, value)
        for f in reg.reject_codes.get(reject_code, []):
            put(f.task, f.label)
    values.update(corrections or {})
    return values


@dataclass(frozen=True)
class Decision:
    """One moderator decision on one comment, validated against the pages and the schema."""

    comment_id: str
    doc: str
    decision: str  #: approve, reject, escalate or correct
    reviewer: str
    reject_code: str = ""
    note: str = ""
    corrections: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)  #: label values written (label_values)
    model: str = ""  #: the model that flagged the comment
    flags: tuple[str, ...] = ()
    scores: dict[str, float] = field(default_factory=dict)
    text_sha: str = ""  #: of the comment's current text
    file: str = ""
    row: int = 0

    @property
    def key(self) -> str:
        """Idempotence key: same reviewer, comment and decision content -> same key."""
        payload = json.dumps(
            [self.reviewer, self.comment_id, self.decision, self.reject_code,
             sorted(self.corrections.items()), self.note.strip()],
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]

    def label_note(self) -> str:
        parts = [f"review {self.decision}"]
        if self.reject_code:
            parts.append(self.reject_code)
        if self.flags:
            parts.append("flags=" + ",".join(self.flags))
        if self.model:
            parts.append(f"model={self.model}")
        if self.note:
            parts.append(f"note={self.note}")
        return "; ".join(parts)

    def events(self, time: str, batch: str = "") -> list[LabelEvent]:
        return [
            LabelEvent(
                comment_id=self.comment_id, doc=self.doc, task=task, value=value, annotator=self.reviewer,
                time=time, source="review", note=self.label_note(), text_sha=self.text_sha, batch=batch,
            )
            for task, value in sorted(self.values.items())
        ]

    def record(self, time: str, batch: str = "") -> dict[str, object]:
        """The decision-log line: the human decision apart from what the system said."""
        rec: dict[str, object] = {
            "key": self.key, "time": time, "reviewer": self.reviewer,
            "comment_id": self.comment_id, "doc": self.doc,
            "decision": self.decision, "reject_code": self.reject_code,
            "corrections": self.corrections, "note": self.note, "labels": self.values,
            "system": {"model": self.model, "flags": list(self.flags), "scores": self.scores},
            "text_sha": self.text_sha, "file": self.file, "row": self.row,
        }
        if batch:
            rec["batch"] = batch
        return rec


@dataclass(frozen=True)
class RowProblem:
    file: str
    row: int
    comment_id: str
    problem: str

    def __str__(self) -> str:
        who = f" ({self.comment_id})" if self.comment_id else ""
        return clip(f"{self.file}: row {self.row}{who}: {self.problem}")  # a 10 MB cell stays out of the line


class ReviewError(ModkitError):
    """Some rows are invalid; nothing was written. ``problems`` holds one entry per bad row."""

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        self.problems = list(problems)
        files = sorted({p.file for p in problems})
        lines = [str(p) for p in problems]
        lines.append(
            f"{len(problems)} invalid row{'s' if len(problems) != 1 else ''} in {', '.join(files)}: "
            "nothing written (fix them, or pass --skip-invalid to import the valid rows)"
        )
        super().__init__("\n".join(lines))


class PageIndex:
    """The comments review checks rows against, found by id (and by ``doc`` when given)."""

    def __init__(self, threads: Iterable[Thread]) -> None:
        self.threads: dict[str, Thread] = {}
        self.by_id: dict[str, list[Comment]] = {}
        self._by_author: dict[str, dict[tuple[str, str], list[Comment]]] = {}  # doc -> (author, time) -> comments
        for t in threads:
            self.threads[t.doc] = t
            for c in t.comments:
                self.by_id.setdefault(c.id, []).append(c)

    @classmethod
    def read(cls, pages: str | Path | Iterable[str | Path]) -> PageIndex:
        return cls(iter_threads(pages))

    def find(self, comment_id: str, doc: str = "", author: str = "", timestamp: str = "") -> tuple[Comment | None, str]:
        """The comment, or None and why not. Ids hash the text, so an edited comment has a new
        id: when ``author`` and ``timestamp`` (CSV columns) still match exactly one comment of
        the page, the reason says that its text changed since it was flagged."""
        if doc:
            t = self.threads.get(doc)
            if t is None:
                return None, f"page {doc!r} (doc column) is not among the pages read"
            c = t.get(comment_id)
            if c:
                return c, ""
            same = self._same_author_and_time(t, author, timestamp) if author else []
            if len(same) == 1:
                return None, (f"comment text changed since it was flagged: the comment by {author} at "
                              f"{timestamp} on page {doc} now reads differently (its id is now {same[0].id}); "
                              "flag the page again")
            return None, f"unknown comment id {comment_id!r} on page {doc}"
        found = self.by_id.get(comment_id, [])
        if len(found) == 1:
            return found[0], ""
        if not found:
            return None, f"unknown comment id {comment_id!r}"
        return None, f"comment id {comment_id!r} is on several pages; give its doc column"

    def _same_author_and_time(self, t: Thread, author: str, timestamp: str) -> list[Comment]:
        # An index per page, built once: a sheet of many unknown ids stays linear.
        index = self._by_author.get(t.doc)
        if index is None:
            index = self._by_author[t.doc] = {}
            for x in t.comments:
                index.setdefault((x.author, x.timestamp), []).append(x)
        return index.get((author, timestamp), [])


def allowed_values(labels: str | Path) -> Allowed:
    """Values per task of the label schema: ``<labels>/schema.toml`` when the folder has one,
    else modkit's default schema; with its task registry (``.registry``)."""
    from modkit.labels.schema import load_schema

    root = Path(labels)
    schema = load_schema(root if root.is_dir() else None)  # None: the default schema
    return Allowed(Registry.from_schema(schema))


def _float(cell: str) -> float | None:
    try:
        return float(cell.replace(",", ".")) if cell.strip() else None
    except ValueError:
        return None


@dataclass(frozen=True)
class FlaggedItem:
    """A row of a flag CSV whose comment was found, unchanged, on the pages."""

    comment: Comment
    flags: tuple[str, ...]
    model: str
    scores: dict[str, float]
    file: str
    row: int
    cells: dict[str, str]

    def decide(
        self, decision: str, reviewer: str, allowed: Mapping[str, Sequence[str]], reject_code: str = "",
        corrections: Mapping[str, str] | None = None, note: str = "",
    ) -> Decision:
        """Validate one decision on this comment; raises ``ValueError(problem)`` when invalid."""
        corrections = dict(corrections or {})
        code = reject_code.strip().upper().replace(" ", "_").replace("-", "_")
        if decision not in (*DECISIONS, CORRECT, NOTE):
            raise ValueError(f"unknown decision {decision!r}: expected one of {', '.join(DECISIONS)} (or empty)")
        reg = _registry(allowed)
        codes = allowed.reject_codes if isinstance(allowed, Allowed) else REJECT_CODES
        if code and code not in codes:
            raise ValueError(f"unknown reject_code {code!r}: expected one of {', '.join(codes)}")
        if code and decision != "reject":
            raise ValueError(f"reject_code {code} given with decision {decision}: a reject_code goes with reject")
        check_corrections(corrections, allowed)
        if decision == "reject" and not corrections and not reg.reject_codes.get(code) and not any(
                (f := reg.flag(c)) is not None and f.task for c in self.flags):
            example = next((f"{t.name}={t.values[-1]}" for t in reg.tasks), "task=value")
            raise ValueError(f"reject of a comment with no flag: give a reject_code or labels (e.g. {example})")
        values = label_values(decision, self.flags, code, corrections, reg)
        unknown = [(t, v) for t, v in values.items() if t not in allowed or v not in allowed[t]]
        if unknown:  # the schema was changed so the review mapping no longer fits it
            t, v = unknown[0]
            have = ", ".join(k + ": " + "/".join(vs) for k, vs in allowed.items())
            raise ModkitError(f"review maps {decision} to {t}={v}, which the label schema does not have ({have})")
        c = self.comment
        return Decision(
            comment_id=c.id, doc=c.doc, decision=decision, reviewer=reviewer, reject_code=code,
            note=note.strip(), corrections=corrections, values=values, model=self.model, flags=self.flags,
            scores=self.scores, text_sha=text_sha(c.text), file=self.file, row=self.row,
        )


def check_corrections(corrections: Mapping[str, str], allowed: Mapping[str, Sequence[str]]) -> None:
    """Raise ``ValueError`` naming the first unknown task or value."""
    for t, v in corrections.items():
        if t not in allowed:
            raise ValueError(f"unknown task in correction '{t}={v}': expected one of {', '.join(allowed)}")
        if v not in allowed[t]:
            raise ValueError(f"unknown {t} {v!r} in labels: expected one of {', '.join(allowed[t])}")


def find_item(sheet: Sheet, number: int, cells: Mapping[str, str], pages: PageIndex) -> FlaggedItem:
    """The comment a row names, checked against the pages; raises ``ValueError(problem)``."""
    cid = cells.get("comment_id", "").strip()
    if not cid:
        raise ValueError("empty comment_id")
    comment, why = pages.find(cid, cells.get("doc", "").strip(), cells.get("author", "").strip(),
                              cells.get("timestamp", "").strip())
    if comment is None:
        raise ValueError(why)
    current = text_sha(comment.text)
    flagged_sha = cells.get("text_sha", "").strip()
    if flagged_sha and flagged_sha != current:
        raise ValueError(f"comment text changed since it was flagged (text_sha {flagged_sha} in the CSV, "
                         f"{current} on page {comment.doc}): flag it again")
    scores = {k: f for k, v in cells.items() if k.startswith("p_") and (f := _float(v)) is not None}
    return FlaggedItem(comment, parse_flags(cells.get("flags", "")), cells.get("model", "").strip(), scores,
                       sheet.path.name, number, dict(cells))


def flagged_items(sheet: Sheet, pages: PageIndex) -> tuple[list[FlaggedItem], list[RowProblem]]:
    """Every row's comment (for the interactive review), and the rows whose comment is unknown
    or changed since it was flagged."""
    items: list[FlaggedItem] = []
    problems: list[RowProblem] = []
    for number, cells in sheet.rows:
        try:
            items.append(find_item(sheet, number, cells, pages))
        except ValueError as exc:
            problems.append(RowProblem(str(sheet.path), number, cells.get("comment_id", "").strip(), str(exc)))
    return items, problems


def check_sheet(
    sheet: Sheet, reviewer: str, pages: PageIndex, allowed: Mapping[str, Sequence[str]],
) -> tuple[list[Decision], list[RowProblem], int]:
    """Validate every row: ``(decisions, problems, rows not reviewed)``. Writes nothing."""
    decisions: list[Decision] = []
    problems: list[RowProblem] = []
    unreviewed = 0
    decided: dict[str, tuple[int, str]] = {}
    for number, cells in sheet.rows:
        cid = cells.get("comment_id", "").strip()
        decision = cells.get("decision", "").strip().lower()
        code = cells.get("reject_code", "").strip()
        note = cells.get("note", "").strip()
        try:
            corrections = parse_corrections(cells.get("labels", ""))
            if not decision and not corrections:
                if code:
                    raise ValueError(f"reject_code {code} given but decision is empty: write reject (or clear the code)")
                if not note:
                    unreviewed += 1
                    continue
            if decision and decision not in DECISIONS:
                raise ValueError(f"unknown decision {decision!r}: expected one of {', '.join(DECISIONS)} (or empty)")
            decision = decision or (CORRECT if corrections else NOTE)
            # cheap checks first, so a row says what is wrong with its values before its comment
            check_corrections(corrections, allowed)
            item = find_item(sheet, number, cells, pages)
            d = item.decide(decision, reviewer, allowed, code, corrections, note)
        except ValueError as exc:
            problems.append(RowProblem(str(sheet.path), number, cid, str(exc)))
            continue
        if cid in decided:
            first_row, first_key = decided[cid]
            if first_key != d.key:
                problems.append(RowProblem(str(sheet.path), number, cid,
                                           f"comment decided twice with different decisions (rows {first_row} and {number})"))
            continue
        decided[cid] = (number, d.key)
        decisions.append(d)
    return decisions, problems, unreviewed


# --------------------------------------------------------------------------------------------
# The decision log
# --------------------------------------------------------------------------------------------
def decision_record(rec: dict, where: str) -> dict:
    """``rec`` if it is a decision-log record, else ValueError (readers and
    ``modkit labels check`` skip or report it)."""
    if "comment_id" not in rec or "decision" not in rec:
        raise ValueError("not a decision record: no comment_id or decision")
    return rec


class DecisionLog:
    """Append-only JSONL of moderation decisions (``labels/review/decisions.jsonl``).

    One JSON object per line (see :meth:`Decision.record`): ``key, time, reviewer, comment_id,
    doc, decision, reject_code, corrections, note, labels, system{model, flags, scores}, text_sha,
    file, row`` (and ``batch``: the journal batch it was written in). Appends lock the file,
    write whole lines in one call and fsync, like the label store; a torn last line is reported
    and skipped by readers, and so are the records of a batch not committed yet (a killed
    review, :mod:`modkit.labels.journal`).
    """

    def __init__(self, labels: str | Path) -> None:
        self.root = Path(labels)
        self.path = self.root / DECISION_LOG

    def append(self, records: Sequence[Mapping[str, object]]) -> int:
        """Append records as they are (no batch; :func:`record_decisions` writes through the
        journal instead, with the label events)."""
        from modkit.labels.journal import recover

        if not records:
            return 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        recover(self.root)
        lines = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records)
        append_durably(self.path, lines.encode("utf-8"))
        return len(records)

    def records(self, warnings: list[str] | None = None) -> Iterator[dict]:
        from modkit.labels.journal import pending

        if not self.path.is_file():
            return
        skip = pending(self.root)
        for rec in read_records(self.path, decision_record, warnings):
            if not (skip and rec.get("batch") in skip):
                yield rec

    def latest(self, warnings: list[str] | None = None, notes: bool = False) -> dict[tuple[str, str], dict]:
        """The latest decision per (reviewer, comment); notes (log-only records) left out
        unless ``notes``."""
        out: dict[tuple[str, str], dict] = {}
        for rec in self.records(warnings):
            if notes or rec["decision"] != NOTE:
                out[(str(rec.get("reviewer", "")), str(rec["comment_id"]))] = rec
        return out



# --------------------------------------------------------------------------------------------
# Import
# --------------------------------------------------------------------------------------------
@dataclass
class ReviewResult:
    """What an import did."""

    decisions: int = 0  #: decisions added to the log
    events: int = 0  #: label events added
    already: int = 0  #: decisions skipped because the log already holds them
    unreviewed: int = 0  #: rows with an empty decision
    skipped: list[RowProblem] = field(default_factory=list)  #: invalid rows (with skip_invalid)
    by_decision: Counter = field(default_factory=Counter)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def plan_review(
    files: Iterable[str | Path], reviewer: str, *, pages: str | Path | Iterable[str | Path],
    labels: str | Path,
) -> tuple[list[Decision], list[RowProblem], int]:
    """Read and validate review CSVs without writing: ``(decisions, problems, unreviewed)``."""
    check_annotator(reviewer)
    allowed = allowed_values(labels)
    index = pages if isinstance(pages, PageIndex) else PageIndex.read(pages)
    decisions: list[Decision] = []
    problems: list[RowProblem] = []
    unreviewed = 0
    for f in files:
        d, p, u = check_sheet(read_sheet(f), reviewer, index, allowed)
        decisions += d
        problems += p
        unreviewed += u
    return decisions, problems, unreviewed


def record_decisions(
    decisions: Sequence[Decision], labels: str | Path, time: str | None = None,
) -> ReviewResult:
    """Write validated decisions, all or nothing: the label events and the decision-log records
    in one journal transaction (module docstring, "Crash safety").

    A decision equal to the reviewer's latest decision on the same comment is skipped (a note
    equal to any earlier note of theirs on it). A decision that replaces an earlier one retracts
    (``value=None``) the labels the earlier one gave and the new one does not: the reviewer's
    latest decision alone says what their review labels are.
    """
    from modkit.labels.journal import transaction

    time = time or now_iso()
    log = DecisionLog(labels)
    store = LabelStore(labels)
    store.ensure_root()
    with transaction(labels, "review") as tx:
        result, label_events, records = _plan_records(decisions, log, time, tx.id)
        for path, lines in store.lines_by_file(label_events).items():
            tx.append(path, lines)
        if records:
            tx.append(log.path, [json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in records])
    result.events = len(label_events)
    result.decisions = len(records)
    return result


def _plan_records(decisions: Sequence[Decision], log: DecisionLog, time: str, batch: str
                  ) -> tuple[ReviewResult, list[LabelEvent], list[dict[str, object]]]:
    """What :func:`record_decisions` writes: ``(result, label events, decision records)``."""
    latest = log.latest(notes=False)
    notes = {(r.get("reviewer"), r["comment_id"], r.get("key")) for r in log.records() if r["decision"] == NOTE}
    result = ReviewResult()
    new: list[Decision] = []
    events: list[LabelEvent] = []
    for d in decisions:
        who = (d.reviewer, d.comment_id)
        if d.decision == NOTE:
            if (d.reviewer, d.comment_id, d.key) in notes:
                result.already += 1
                continue
            notes.add((d.reviewer, d.comment_id, d.key))
        else:
            prev = latest.get(who)
            if prev is not None and prev.get("key") == d.key:
                result.already += 1
                continue
            record = d.record(time)
            for task in sorted(set((prev or {}).get("labels") or {}) - set(d.values)):
                events.append(LabelEvent(d.comment_id, d.doc, task, None, d.reviewer, time, "review",
                                         f"review {d.decision}: retracts the earlier {prev['decision']}", d.text_sha,
                                         batch))
            latest[who] = record
        events.extend(d.events(time, batch))
        new.append(d)
    result.by_decision.update(d.decision for d in new)
    return result, events, [d.record(time, batch) for d in new]


def import_review(
    files: Iterable[str | Path], reviewer: str, *, pages: str | Path | Iterable[str | Path],
    labels: str | Path, skip_invalid: bool = False, time: str | None = None,
) -> ReviewResult:
    """Import moderators' decisions from flagged CSVs into ``labels`` (label events + decision log).

    ``pages`` are the page files the comments are checked against (default ``seeds/``). Every row
    is validated first; if any is invalid, raises :class:`ReviewError` (one problem per row) and
    writes nothing, unless ``skip_invalid``: then the valid rows are imported and the invalid ones
    are listed in ``result.skipped``.
    """
    decisions, problems, unreviewed = plan_review(files, reviewer, pages=pages, labels=labels)
    if problems and not skip_invalid:
        raise ReviewError(problems)
    result = record_decisions(decisions, labels, time)
    result.unreviewed = unreviewed
    result.skipped = problems
    return result


# --------------------------------------------------------------------------------------------
# Stats
# --------------------------------------------------------------------------------------------
@dataclass
class FlagStats:
    flag: str
    reviewed: int = 0
    approve: int = 0
    reject: int = 0
    escalate: int = 0
    corrections: Counter = field(default_factory=Counter)

    @property
    def precision(self) -> float | None:
        """Share of decided flags the moderators found right: reject / (approve + reject)."""
        n = self.approve + self.reject
        return self.reject / n if n else None


@dataclass
class ReviewStats:
    flags: dict[str, FlagStats]
    reviewers: dict[str, Counter]
    audit: list[dict]
    warnings: list[str]

    def to_dict(self) -> dict[str, object]:
        return {
            "flags": {
                k: {**{n: v for n, v in asdict(f).items() if n != "corrections"},
                    "precision": f.precision, "corrections": dict(f.corrections.most_common())}
                for k, f in self.flags.items()
            },
            "reviewers": {k: dict(v) for k, v in self.reviewers.items()},
            "audit": self.audit,
        }


def stats(labels: str | Path) -> ReviewStats:
    """Per flag: rows reviewed, approve/reject/escalate, precision, most common corrections
    (each reviewer's latest decision per comment counts; notes do not); per reviewer: latest
    decisions by kind, plus every note;
    the audit trail: every logged decision in order (who, what, when, which file and row)."""
    warnings: list[str] = []
    log = DecisionLog(labels)
    audit = list(log.records(warnings))
    flags: dict[str, FlagStats] = {}
    reviewers: dict[str, Counter] = {}
    for rec in log.latest().values():
        decision = str(rec["decision"])
        reviewers.setdefault(str(rec.get("reviewer", "")), Counter())[decision] += 1
        system = rec.get("system") or {}
        for flag in system.get("flags") or ["(none)"]:
            fs = flags.setdefault(flag, FlagStats(flag))
            fs.reviewed += 1
            if decision in ("approve", "reject", "escalate"):
                setattr(fs, decision, getattr(fs, decision) + 1)
            for task, value in (rec.get("corrections") or {}).items():
                fs.corrections[f"{task}={value}"] += 1
    for rec in audit:
        if rec["decision"] == NOTE:
            reviewers.setdefault(str(rec.get("reviewer", "")), Counter())[NOTE] += 1
    for c in reviewers.values():
        c["total"] = sum(c.values())
    return ReviewStats(dict(sorted(flags.items())), dict(sorted(reviewers.items())), audit, warnings)

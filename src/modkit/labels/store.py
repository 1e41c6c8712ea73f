"""The label store: append-only JSONL files in ``labels/``, one per annotator.

Each line is one :class:`LabelEvent`. The latest event for (comment, task, annotator) wins;
an undo is a new event whose ``value`` is ``null``, never a rewrite. Every append takes an
exclusive cross-process lock on the file (``filelock``: Linux, macOS, Windows; the lock file is
``.NAME.lock`` beside it), writes whole lines in one call, flushes and fsyncs, so a killed
process leaves at most one torn last line, which readers report and skip without losing any
earlier line; two writers at once lose nothing; a full disk leaves the file as it was.

Batches that must land whole (``labels import``, ``modkit review``: several files, or many
lines) go through :mod:`modkit.labels.journal`: their events carry the batch id (``batch``) and
readers leave out the events of a batch that is not committed yet; see that module.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from modkit.errors import ModkitError
from modkit.safeio import append_locked, os_error

T = TypeVar("T")

#: Where a label came from ("platform": a comment system's own moderation decision, imported
#: with ``modkit labels import SOURCE --from-status``).
SOURCES = ("manual", "import", "review", "adjudicated", "platform")

_ANNOTATOR_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


def text_sha(text: str) -> str:
    """Fingerprint of a comment's text, to notice a label whose comment changed since."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def check_annotator(name: str) -> str:
    if not _ANNOTATOR_RE.match(name or ""):
        raise ModkitError(
            f"annotator {name!r}: use 1-64 letters, digits, '.', '_', '@' or '-' (it names a file in labels/)"
        )
    return name


@dataclass(frozen=True, slots=True)
class LabelEvent:
    """One judgement (or, with ``value=None``, the retraction of one)."""

    comment_id: str
    doc: str
    task: str
    value: str | None
    annotator: str
    time: str = field(default_factory=now_iso)
    source: str = "manual"
    note: str = ""
    text_sha: str = ""
    batch: str = ""  #: the all-or-nothing batch it was written in (modkit.labels.journal); "" for none

    def to_json(self) -> str:
        d = asdict(self)
        if not d["batch"]:
            del d["batch"]  # lines outside a batch stay as they always were
        return json.dumps(d, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, d: dict[str, object], where: str) -> LabelEvent:
        try:
            ev = cls(
                comment_id=str(d["comment_id"]), doc=str(d.get("doc", "")), task=str(d["task"]),
                value=None if d.get("value") is None else str(d["value"]),
                annotator=str(d["annotator"]), time=str(d.get("time", "")),
                source=str(d.get("source", "manual")), note=str(d.get("note") or ""),
                text_sha=str(d.get("text_sha") or ""), batch=str(d.get("batch") or ""),
            )
        except KeyError as exc:
            raise ModkitError(f"{where}: missing field {exc.args[0]!r}") from None
        if ev.source not in SOURCES:
            raise ModkitError(f"{where}: unknown source {ev.source!r}: expected one of {', '.join(SOURCES)}")
        return ev


Key = tuple[str, str, str]  # (comment_id, task, annotator)


class LabelStore:
    """All label files under one folder (default ``labels/``)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    # -- writing ------------------------------------------------------------------------------
    def path_for(self, annotator: str) -> Path:
        return self.root / f"{check_annotator(annotator)}.jsonl"

    def lines_by_file(self, events: Iterable[LabelEvent]) -> dict[Path, list[str]]:
        """The JSON line of each event (no newline), grouped by the file it goes to."""
        by_file: dict[Path, list[str]] = {}
        for ev in events:
            if ev.source not in SOURCES:
                raise ModkitError(f"unknown label source {ev.source!r}: expected one of {', '.join(SOURCES)}")
            by_file.setdefault(self.path_for(ev.annotator), []).append(ev.to_json())
        return by_file

    def append(self, events: Iterable[LabelEvent]) -> int:
        """Append events durably (lock, one write per file, flush, fsync). Returns the count.

        A batch a killed process left half-written is completed first
        (:func:`modkit.labels.journal.recover`), so it never lands after a newer label.
        For events that must land all or nothing, see :meth:`append_batch`."""
        from modkit.labels.journal import recover

        by_file = self.lines_by_file(events)
        if not by_file:
            return 0
        self.ensure_root()
        recover(self.root)
        n = 0
        for path, lines in by_file.items():
            _append_lines(path, [line + "\n" for line in lines])
            n += len(lines)
        return n

    def append_batch(self, events: Iterable[LabelEvent], kind: str = "import") -> list[LabelEvent]:
        """Append events all or nothing, across files, through one journal transaction
        (:mod:`modkit.labels.journal`); returns them as written (``batch`` set)."""
        from modkit.labels.journal import transaction

        events = list(events)
        if not events:
            return []
        self.ensure_root()
        with transaction(self.root, kind) as tx:
            written = [_with_batch(ev, tx.id) for ev in events]
            for path, lines in self.lines_by_file(written).items():
                tx.append(path, lines)
        return written

    def ensure_root(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise os_error(self.root, exc) from None

    # -- reading ------------------------------------------------------------------------------
    def files(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.glob("*.jsonl") if _ANNOTATOR_RE.match(p.stem))

    def annotators(self) -> list[str]:
        return [p.stem for p in self.files()]

    def events(self, warnings: list[str] | None = None) -> Iterator[LabelEvent]:
        """Every event in every file, in file order. A torn or invalid line is skipped and
        reported in ``warnings`` (file and line), never fatal. Events of a batch that is not
        committed (:func:`modkit.labels.journal.pending`: a killed ``labels import`` or
        ``review``) are left out until a writer completes it."""
        from modkit.labels.journal import pending

        skip = pending(self.root)
        for path in self.files():
            for ev in read_events(path, warnings):
                if not (skip and ev.batch in skip):
                    yield ev

    def current(self, warnings: list[str] | None = None,
                texts: Mapping[str, str] | None = None) -> dict[Key, LabelEvent]:
        """The latest event per (comment, task, annotator), retractions removed.

        Adjudications are not an annotator's judgement and are left out (see
        :meth:`adjudications`). With ``texts`` (comment id -> :func:`text_sha` of its current
        text, see :func:`text_shas`), a label given to a different text of its comment (the
        page was re-scraped and the comment edited) is *stale*: reported in ``warnings`` and
        left out rather than silently reused."""
        latest: dict[Key, LabelEvent] = {}
        for ev in self.events(warnings):
            if ev.source != "adjudicated":
                latest[(ev.comment_id, ev.task, ev.annotator)] = ev
        return _drop_stale({k: ev for k, ev in latest.items() if ev.value is not None}, texts, warnings)

    def adjudications(self, warnings: list[str] | None = None,
                      texts: Mapping[str, str] | None = None) -> dict[tuple[str, str], LabelEvent]:
        """The latest ``adjudicated`` event per (comment, task), whoever recorded it;
        a retracted adjudication (value None) removes it."""
        latest: dict[tuple[str, str], LabelEvent] = {}
        for ev in sorted((e for e in self.events(warnings) if e.source == "adjudicated"), key=lambda e: e.time):
            latest[(ev.comment_id, ev.task)] = ev
        return _drop_stale({k: ev for k, ev in latest.items() if ev.value is not None}, texts, warnings)

    def resolved(self, warnings: list[str] | None = None,
                 texts: Mapping[str, str] | None = None) -> dict[tuple[str, str], Resolved]:
        """One value per (comment, task): an ``adjudicated`` event if any (latest wins), else the
        majority of annotators' current values; a tie gives ``value=None`` and ``tie=True``."""
        warns: list[str] = [] if warnings is None else warnings
        cur = self.current(warns, texts)
        adj = self.adjudications([], texts)  # same files: warnings already collected once
        groups: dict[tuple[str, str], list[LabelEvent]] = {}
        for (cid, task, _), ev in cur.items():
            groups.setdefault((cid, task), []).append(ev)
        for key in adj:
            groups.setdefault(key, [])
        out: dict[tuple[str, str], Resolved] = {}
        for key, evs in groups.items():
            if key in adj:
                best = adj[key]
                out[key] = Resolved(key[0], best.doc, key[1], best.value, (*evs, best), False, True)
                continue
            counts: dict[str, int] = {}
            for e in evs:
                counts[e.value or ""] = counts.get(e.value or "", 0) + 1
            top = max(counts.values())
            winners = [v for v, n in counts.items() if n == top]
            tie = len(winners) > 1
            out[key] = Resolved(key[0], evs[0].doc, key[1], None if tie else winners[0], tuple(evs), tie, False)
        return out


def _with_batch(ev: LabelEvent, batch: str) -> LabelEvent:
    return LabelEvent(ev.comment_id, ev.doc, ev.task, ev.value, ev.annotator, ev.time, ev.source, ev.note,
                      ev.text_sha, batch)


def text_shas(threads: Iterable[object]) -> dict[str, str]:
    """``comment id -> text_sha(text)`` for every comment of ``threads`` (``modkit.threads.Thread``)."""
    return {c.id: text_sha(c.text) for t in threads for c in t.comments}  # type: ignore[attr-defined]


def _drop_stale(found: dict, texts: Mapping[str, str] | None, warnings: list[str] | None) -> dict:
    if texts is None:
        return found
    kept = {}
    for k, ev in found.items():
        now = texts.get(ev.comment_id)
        if ev.text_sha and now is not None and now != ev.text_sha:
            if warnings is not None:
                warnings.append(
                    f"stale label: {ev.annotator}'s {ev.task}={ev.value} on {ev.comment_id} ({ev.doc}) was given "
                    f"to a different text (comment changed since, re-scraped page?); not used, label it again"
                )
            continue
        kept[k] = ev
    return kept


@dataclass(frozen=True)
class Resolved:
    """The value of one (comment, task). ``events``: the annotators' current labels behind it,
    then the adjudication event when there is one (``source == "adjudicated"``, last)."""

    comment_id: str
    doc: str
    task: str
    value: str | None  #: None when annotators tie
    events: tuple[LabelEvent, ...]
    tie: bool
    adjudicated: bool


def read_events(path: Path, warnings: list[str] | None = None) -> Iterator[LabelEvent]:
    """Events of one file; invalid or torn lines are reported in ``warnings`` and skipped."""
    return read_records(path, LabelEvent.from_dict, warnings)


def parse_lines(data: bytes, path: Path, convert: Callable[[dict, str], T]
                ) -> Iterator[tuple[int, bytes, dict | None, T | None, ValueError | ModkitError | None]]:
    """``(line, raw, obj, record, error)`` for each non-blank line of an append-only JSONL file's
    bytes: the JSON object and ``convert(obj, "path:line")``, or the error (ValueError or
    ModkitError) that a line which is not a JSON object, or which ``convert`` rejects, raised.
    :func:`read_records` and ``modkit labels check`` both read through it."""
    for i, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        d = None
        try:
            d = json.loads(raw)
            if not isinstance(d, dict):
                raise ValueError("not a JSON object")
            yield i, raw, d, convert(d, f"{path}:{i}"), None
        except (ValueError, ModkitError) as exc:
            yield i, raw, d if isinstance(d, dict) else None, None, exc


def read_records(path: Path, convert: Callable[[dict, str], T], warnings: list[str] | None = None) -> Iterator[T]:
    """Records of an append-only JSONL file, each JSON object passed to ``convert(obj, where)``.
    A line that is not a JSON object, or that ``convert`` rejects (ValueError or ModkitError),
    is skipped and reported in ``warnings`` (file and line; a torn last line is named as such).
    The label store and the review decision log both read this way."""
    with open(path, "rb") as fh:
        data = fh.read()
    last = data.count(b"\n") + 1
    for i, _raw, _d, rec, exc in parse_lines(data, path, convert):
        if exc is not None:
            if warnings is not None:
                torn = i == last and not data.endswith(b"\n")
                what = "torn last line (interrupted write?)" if torn else f"invalid line ({exc})"
                warnings.append(f"{path}:{i}: {what}; skipped")
            continue
        yield rec  # type: ignore[misc]


def _append_lines(path: Path, lines: list[str]) -> None:
    append_durably(path, "".join(lines).encode("utf-8"))


def append_durably(path: Path, payload: bytes) -> None:
    """Append whole lines to ``path`` under its cross-process lock (``filelock``, through
    :func:`modkit.safeio.locked`: ``.NAME.lock`` beside it), in one write loop, then fsync.
    The label store, the review decision log and the erasure log all write this way; a failed
    write (full disk) leaves the file as it was (:func:`modkit.safeio.append_unlocked`)."""
    append_locked(path, payload)

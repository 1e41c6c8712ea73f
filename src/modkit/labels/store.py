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
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, TypeVar

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
    def from_dict(cls, d: dict[str, object], where: str, memo: dict[str, str] | None = None) -> LabelEvent:
        """The event of one JSON object (``where``: ``file:line`` for the error messages).

        ``memo`` (a dict kept across the lines of a read) makes equal field values one string
        object: a store of a million events repeats the same few thousand comment ids, docs,
        annotators, times and fingerprints, and holding each once is what keeps
        :meth:`LabelStore.current` at a few hundred bytes per label."""
        try:
            cid = str(d["comment_id"])
            doc = str(d.get("doc", ""))
            task = str(d["task"])
            raw = d.get("value")
            value = None if raw is None else str(raw)
            who = str(d["annotator"])
        except KeyError as exc:
            raise ModkitError(f"{where}: missing field {exc.args[0]!r}") from None
        time, source = str(d.get("time", "")), str(d.get("source", "manual"))
        if source not in SOURCES:
            raise ModkitError(f"{where}: unknown source {source!r}: expected one of {', '.join(SOURCES)}")
        note, sha, batch = str(d.get("note") or ""), str(d.get("text_sha") or ""), str(d.get("batch") or "")
        if memo is not None:
            m = memo.setdefault
            cid, doc, task, who, time, source, sha = (m(cid, cid), m(doc, doc), m(task, task), m(who, who),
                                                     m(time, time), m(source, source), m(sha, sha))
            if value is not None:
                value = m(value, value)
            if batch:
                batch = m(batch, batch)
        return cls(cid, doc, task, value, who, time, source, note, sha, batch)


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
        ``review``) are left out until a writer completes it.

        Streams: each file is read line by line, so memory does not grow with the store (equal
        field values of one read share one string, see :meth:`LabelEvent.from_dict`)."""
        from modkit.labels.journal import pending

        skip = pending(self.root)
        memo: dict[str, str] = {}
        for path in self.files():
            for ev in read_events(path, warnings, memo):
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
        return self.scan(warnings, texts)[0]

    def adjudications(self, warnings: list[str] | None = None,
                      texts: Mapping[str, str] | None = None) -> dict[tuple[str, str], LabelEvent]:
        """The latest ``adjudicated`` event per (comment, task), whoever recorded it;
        a retracted adjudication (value None) removes it."""
        adjudicated = [e for e in self.events(warnings) if e.source == "adjudicated"]
        return _latest_adjudications(adjudicated, texts, warnings)

    def scan(self, warnings: list[str] | None = None, texts: Mapping[str, str] | None = None,
             ) -> tuple[dict[Key, LabelEvent], dict[tuple[str, str], LabelEvent]]:
        """``(current(warnings, texts), adjudications(None, texts))`` from one read of the files:
        what :meth:`resolved` and :func:`modkit.labels.compute_stats` need, at the cost of one
        read. Stale adjudications are left out without a warning (as ``adjudications(None)``)."""
        latest: dict[Key, LabelEvent] = {}
        adjudicated: list[LabelEvent] = []
        for ev in self.events(warnings):
            if ev.source != "adjudicated":
                latest[(ev.comment_id, ev.task, ev.annotator)] = ev
            else:
                adjudicated.append(ev)
        # in place, keeping the order of first appearance (no second dict of a million entries)
        for key in [k for k, ev in latest.items() if ev.value is None]:
            del latest[key]
        return _drop_stale(latest, texts, warnings), _latest_adjudications(adjudicated, texts, None)

    def resolved(self, warnings: list[str] | None = None,
                 texts: Mapping[str, str] | None = None) -> dict[tuple[str, str], Resolved]:
        """One value per (comment, task): an ``adjudicated`` event if any (latest wins), else the
        majority of annotators' current values; a tie gives ``value=None`` and ``tie=True``."""
        warns: list[str] = [] if warnings is None else warnings
        cur, adj = self.scan(warns, texts)  # one read: warnings collected once
        return resolve(cur, adj)


def resolve(cur: Mapping[Key, LabelEvent], adj: Mapping[tuple[str, str], LabelEvent]
            ) -> dict[tuple[str, str], Resolved]:
    """:meth:`LabelStore.resolved` of already read ``current`` labels and ``adjudications``."""
    groups: dict[tuple[str, str], list[LabelEvent]] = {}
    for (cid, task, _), ev in cur.items():
        group = groups.get((cid, task))
        if group is None:
            groups[(cid, task)] = [ev]
        else:
            group.append(ev)
    for key in adj:
        groups.setdefault(key, [])
    out: dict[tuple[str, str], Resolved] = {}
    for key, evs in groups.items():
        best = adj.get(key)
        if best is not None:
            out[key] = Resolved(key[0], best.doc, key[1], best.value, (*evs, best), False, True)
            continue
        if len(evs) == 1:  # most comments: one annotator, no counting
            out[key] = Resolved(key[0], evs[0].doc, key[1], evs[0].value or "", (evs[0],), False, False)
            continue
        counts: dict[str, int] = {}
        for e in evs:
            counts[e.value or ""] = counts.get(e.value or "", 0) + 1
        top = max(counts.values())
        winners = [v for v, n in counts.items() if n == top]
        tie = len(winners) > 1
        out[key] = Resolved(key[0], evs[0].doc, key[1], None if tie else winners[0], tuple(evs), tie, False)
    return out


def _latest_adjudications(adjudicated: list[LabelEvent], texts: Mapping[str, str] | None,
                          warnings: list[str] | None) -> dict[tuple[str, str], LabelEvent]:
    latest: dict[tuple[str, str], LabelEvent] = {}
    for ev in sorted(adjudicated, key=lambda e: e.time):
        latest[(ev.comment_id, ev.task)] = ev
    return _drop_stale({k: ev for k, ev in latest.items() if ev.value is not None}, texts, warnings)


def _with_batch(ev: LabelEvent, batch: str) -> LabelEvent:
    return LabelEvent(ev.comment_id, ev.doc, ev.task, ev.value, ev.annotator, ev.time, ev.source, ev.note,
                      ev.text_sha, batch)


def text_shas(threads: Iterable[object]) -> dict[str, str]:
    """``comment id -> text_sha(text)`` for every comment of ``threads`` (``modkit.threads.Thread``)."""
    return {c.id: text_sha(c.text) for t in threads for c in t.comments}  # type: ignore[attr-defined]


def _drop_stale(found: dict, texts: Mapping[str, str] | None, warnings: list[str] | None) -> dict:
    """``found`` without its stale labels (reported in ``warnings``), changed in place."""
    if texts is None:
        return found
    stale = []
    for k, ev in found.items():
        now = texts.get(ev.comment_id)
        if ev.text_sha and now is not None and now != ev.text_sha:
            if warnings is not None:
                warnings.append(
                    f"stale label: {ev.annotator}'s {ev.task}={ev.value} on {ev.comment_id} ({ev.doc}) was given "
                    f"to a different text (comment changed since, re-scraped page?); not used, label it again"
                )
            stale.append(k)
    for k in stale:
        del found[k]
    return found


@dataclass(frozen=True, slots=True)
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


def read_events(path: Path, warnings: list[str] | None = None, memo: dict[str, str] | None = None
                ) -> Iterator[LabelEvent]:
    """Events of one file; invalid or torn lines are reported in ``warnings`` and skipped.
    ``memo``: see :meth:`LabelEvent.from_dict`."""
    if memo is None:
        return read_records(path, LabelEvent.from_dict, warnings)
    return read_records(path, lambda d, where: LabelEvent.from_dict(d, where, memo), warnings)


def parse_lines(data: bytes, path: Path, convert: Callable[[dict, str], T]
                ) -> Iterator[tuple[int, bytes, dict | None, T | None, ValueError | ModkitError | None]]:
    """``(line, raw, obj, record, error)`` for each non-blank line of an append-only JSONL file's
    bytes: the JSON object and ``convert(obj, "path:line")``, or the error (ValueError or
    ModkitError) that a line which is not a JSON object, or which ``convert`` rejects, raised.
    :func:`read_records` and ``modkit labels check`` both read through it."""
    return _parse(enumerate(data.split(b"\n"), start=1), path, convert)


_DECODE = json.JSONDecoder().decode  # what json.loads calls for a str


def _loads(raw: bytes) -> object:
    """``json.loads(raw)``: a line that is plain UTF-8 (no BOM, no NUL in its first bytes, where
    ``json.detect_encoding`` would look for UTF-16/32) is decoded as loads decodes it, without
    the detection; any other line goes through ``json.loads`` itself."""
    if raw[:1] == b"\xef" or b"\x00" in raw[:4]:
        return json.loads(raw)
    return _DECODE(raw.decode("utf-8", "surrogatepass"))


def _parse(numbered: Iterable[tuple[int, bytes]], path: Path, convert: Callable[[dict, str], T]
           ) -> Iterator[tuple[int, bytes, dict | None, T | None, ValueError | ModkitError | None]]:
    loads = _loads
    for i, raw in numbered:
        if not raw.strip():
            continue
        d = None
        try:
            d = loads(raw)
            if not isinstance(d, dict):
                raise ValueError("not a JSON object")
            yield i, raw, d, convert(d, f"{path}:{i}"), None
        except (ValueError, ModkitError) as exc:
            yield i, raw, d if isinstance(d, dict) else None, None, exc


def _file_lines(fh: BinaryIO, state: list[bool]) -> Iterator[tuple[int, bytes]]:
    """``(number, line without its newline)`` of a binary file, a megabyte at a time, as
    ``data.split(b"\\n")`` gives them for ``data`` the file's bytes when it was opened (lines
    appended meanwhile are for the next read, as with one ``read()``); ``state[0]`` ends True
    when the last line has no newline (a torn last line, when it is not blank)."""
    left = os.fstat(fh.fileno()).st_size
    i, tail = 0, b""
    while left > 0:
        chunk = fh.read(min(left, 1 << 20))
        if not chunk:
            break
        left -= len(chunk)
        parts = (tail + chunk).split(b"\n") if tail else chunk.split(b"\n")
        tail = parts.pop()
        for raw in parts:
            i += 1
            yield i, raw
    state[0] = bool(tail)
    yield i + 1, tail


def read_records(path: Path, convert: Callable[[dict, str], T], warnings: list[str] | None = None) -> Iterator[T]:
    """Records of an append-only JSONL file, each JSON object passed to ``convert(obj, where)``.
    A line that is not a JSON object, or that ``convert`` rejects (ValueError or ModkitError),
    is skipped and reported in ``warnings`` (file and line; a torn last line is named as such).
    The label store and the review decision log both read this way, a line at a time."""
    with open(path, "rb") as fh:
        unfinished = [False]  # set once the last line turns out to have no newline
        for i, _raw, _d, rec, exc in _parse(_file_lines(fh, unfinished), path, convert):
            if exc is not None:
                if warnings is not None:
                    torn = unfinished[0]  # only ever true for the last line
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

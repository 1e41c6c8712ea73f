"""Erasure (GDPR Art. 17) and access requests (Art. 15) for one commenter.

>>> from modkit import privacy
>>> data = privacy.export_author("giggig", labels="labels", pages="seeds/")   # a JSON-ready dict
>>> result = privacy.forget("giggig", labels="labels", pages="seeds/", by="dpo")
>>> result.files_changed, result.records_scrubbed, result.tombstone

What modkit keeps under ``labels/`` that identifies a commenter. Label events hold comment ids,
not names, so the pages are needed to know which ids are the author's:

- **label events** (``labels/<annotator>.jsonl``, ``adjudicated`` ones included):
  ``comment_id`` is a hash over page, *author*, time and text (see the README, "Stable comment
  ids"), so it leads back to the author through the pages; ``text_sha`` is a hash of the text;
  ``note`` is free text in which annotators and review (``note=...`` of the moderator) quote
  comments and name their authors;
- **the review decision log** (``labels/review/decisions.jsonl``): ``comment_id``, ``note``,
  ``text_sha``, ``key`` (a hash over the comment id and the note), ``file`` and ``row`` of the
  flagged CSV (whose row holds the author and the text);
- **any other file there**: ``labels/GUIDELINES.md`` quotes seed comments, names their authors
  and cites their ids; exports someone saved into the folder.

:func:`forget` keeps every label event and decision (so counts, agreement and review precision
stay as they were) but cuts its link to the author: the author's comment ids become
pseudonyms (``erased-<erasure>-<n>``, random, one per comment, the same in every file), their
notes become ``[erased]``, their ``text_sha``, ``key`` and ``row`` are cleared; in every other
record and file the author's name, the texts of their comments (whole, by line, or quoted in
part) and their comment ids are replaced. Labels on pseudonymised comments still count in
``modkit labels stats`` and ``modkit review stats``; ``modkit train`` no longer finds their
comment and skips them, which is the point: the comment is no longer processed.

Each file is compacted by writing a new file and renaming it over the old one
(:func:`modkit.safeio.atomic_write`) under the lock the store's appenders take
(:func:`modkit.safeio.locked` on that file), so an append waits for the rename and a crash
leaves the old file or the new one; a crash between two files leaves some erased and the
others not, until ``forget`` runs again (the comments then get a second pseudonym in the files
the first run did not reach). A tombstone (``labels/privacy/erasures.jsonl``) records when,
by whom and how much, never what: neither the name nor a hash of it.

Not modified: the pages (the site's data: erase the comment at the source and scrape again),
flagged CSVs and HTML reports written elsewhere, trained models (retrain to drop the comment's
influence). This is pseudonymisation, not anonymity: whoever holds the pages and an old copy of
``labels/`` can still tell which comments lost their labels.
"""

from __future__ import annotations

import glob
import json
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modkit import __version__
from modkit.errors import ModkitError, not_found
from modkit.labels.store import LabelStore, append_durably, now_iso, read_records
from modkit.review import DECISION_LOG, DecisionLog
from modkit.safeio import locked, lock_path, write_bytes_atomic
from modkit.threads import Comment, iter_threads

#: What replaces an erased name, text or note.
REDACTED = "[erased]"
#: The tombstone log, relative to the labels folder (a sub-folder: the store reads
#: ``labels/*.jsonl`` as annotator files).
ERASURE_LOG = Path("privacy") / "erasures.jsonl"
#: Texts shorter than this ("ok", "lol") are not searched for in other people's records.
MIN_TEXT = 8
#: A line of a comment, or a quoted part of one, is searched for from this length on.
MIN_FRAGMENT = 12

# Fields that name staff or hold fixed vocabularies: never rewritten as free text.
_KEEP_FIELDS = frozenset({"annotator", "reviewer", "task", "value", "source", "time", "decision",
                          "reject_code", "doc", "comment_id"})
_QUOTES = (('"', '"'), ("'", "'"), ("\u201c", "\u201d"), ("\u2018", "\u2019"), ("\u00ab", "\u00bb"))
_ELLIPSIS = re.compile(r"^(?:\u2026|\.\.\.)+|(?:\u2026|\.\.\.)+$")


# --------------------------------------------------------------------------------------------
# The author and what gives them away
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Authored:
    """The author's comments found on the pages, with the title of each comment's page."""

    name: str
    comments: tuple[Comment, ...]
    titles: dict[str, str]  #: doc -> page title
    pages: tuple[str, ...]  #: the page files read
    similar: tuple[str, ...] = ()  #: other authors whose name differs only in case or spaces

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.comments]


def find_author(name: str, pages: str | Path | Iterable[str | Path]) -> Authored:
    """The comments of ``name`` (matched exactly, surrounding spaces ignored) on ``pages``.

    A page that cannot be read raises its :class:`ModkitError`: an erasure must not silently
    miss the author's comments on it."""
    name = _check_name(name)
    comments: list[Comment] = []
    titles: dict[str, str] = {}
    read: list[str] = []
    others: set[str] = set()
    folded = _fold(name)
    for t in iter_threads(pages):
        read.append(t.source)
        for c in t.comments:
            if c.author.strip() == name:
                comments.append(c)
                titles[t.doc] = t.title
            elif _fold(c.author) == folded:
                others.add(c.author)
    return Authored(name, tuple(comments), titles, tuple(dict.fromkeys(read)), tuple(sorted(others)))


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ModkitError("empty author name: give the commenter's name exactly as the pages show it")
    return name


def _fold(s: str) -> str:
    return " ".join(s.split()).casefold()


def _norm(s: str) -> str:
    """Lower case, whitespace collapsed, leading/trailing ellipsis and spaces dropped."""
    return _ELLIPSIS.sub("", " ".join(s.split()).casefold()).strip()


def _phrase(text: str) -> str:
    """A regex for ``text`` in free text or in a raw JSON line: any run of white space (or a
    JSON ``\\n``/``\\r``/``\\t`` escape) between its words, ``"`` possibly escaped; bounded by
    non-word characters where it starts or ends with a word character."""
    words = [re.escape(w).replace('"', r'\\?"') for w in text.split()]
    body = r"(?:\s|\\[nrt])+".join(words)
    start = r"(?<!\w)" if text[:1].isalnum() else ""
    end = r"(?!\w)" if text[-1:].isalnum() else ""
    return start + body + end


class Scrubber:
    """Finds and replaces, in any string, what identifies one author: the texts of their
    comments (whole, line by line, quoted in part), their name, their comment ids (replaced by
    their pseudonyms)."""

    def __init__(self, name: str, texts: Iterable[str], pseudonyms: Mapping[str, str]) -> None:
        self.pseudonyms = dict(pseudonyms)
        parts: set[str] = set()
        self._texts: list[str] = []
        for text in texts:
            text = text.strip()
            if len(text) >= MIN_TEXT:
                parts.add(text)
                self._texts.append(_norm(text))
            parts.update(ln.strip() for ln in text.splitlines() if len(ln.strip()) >= MIN_FRAGMENT)
        # longest first: a whole text goes before one of its lines, a text before the name in it
        ordered = sorted(parts, key=len, reverse=True)
        self._text_re = re.compile("|".join(_phrase(p) for p in ordered), re.I) if ordered else None
        self._name_re = re.compile(_phrase(name), re.I)
        ids = sorted(self.pseudonyms, key=len, reverse=True)
        # "-" counts as part of an id: "c3f0...-2" is another comment (the second exact repeat)
        alts = "|".join(map(re.escape, ids))
        self._id_re = re.compile(rf"(?<![\w-])(?:{alts})(?![\w-])") if ids else None

    def scrub(self, s: str) -> tuple[str, int]:
        """``s`` with every mention replaced, and how many were."""
        n = 0
        if self._text_re is not None:
            s, k = self._text_re.subn(REDACTED, s)
            n += k
        s, k = self._quoted(s)
        n += k
        s, k = self._name_re.subn(REDACTED, s)
        n += k
        if self._id_re is not None:
            s, k = self._id_re.subn(lambda m: self.pseudonyms[m.group(0)], s)
            n += k
        return s, n

    def mentions(self, s: str) -> bool:
        return self.scrub(s)[1] > 0

    def _quoted(self, s: str) -> tuple[str, int]:
        """Replace quoted parts (``'...'``, ``"..."``, curly quotes) of at least
        :data:`MIN_FRAGMENT` characters that occur in one of the author's texts."""
        if not self._texts:
            return s, 0
        spans: list[tuple[int, int]] = []
        for open_, close in _QUOTES:
            starts = [i for i, ch in enumerate(s) if ch == open_]
            for i in starts:
                j = s.find(close, i + 1)
                if j < 0:
                    continue
                frag = _norm(s[i + 1:j])
                if len(frag) >= MIN_FRAGMENT and any(frag in t for t in self._texts):
                    spans.append((i + 1, j))
        if not spans:
            return s, 0
        merged: list[tuple[int, int]] = []
        for a, b in sorted(spans):
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
            else:
                merged.append((a, b))
        for a, b in reversed(merged):
            s = s[:a] + REDACTED + s[b:]
        return s, len(merged)


def _scrub_value(value: Any, scrubber: Scrubber, key: str = "") -> tuple[Any, int]:
    """Scrub every string inside a JSON value, except the fields in ``_KEEP_FIELDS``."""
    if key in _KEEP_FIELDS:
        return value, 0
    if isinstance(value, str):
        return scrubber.scrub(value)
    if isinstance(value, list):
        out, n = [], 0
        for v in value:
            v2, k = _scrub_value(v, scrubber)
            out.append(v2)
            n += k
        return out, n
    if isinstance(value, dict):
        d, n = {}, 0
        for k_, v in value.items():
            v2, k = _scrub_value(v, scrubber, str(k_))
            d[k_] = v2
            n += k
        return d, n
    return value, 0


def _scrub_record(rec: dict, scrubber: Scrubber) -> tuple[dict, bool]:
    """One label event or decision record with the author removed; ``(record, changed)``."""
    rec = dict(rec)
    changed = False
    cid = rec.get("comment_id")
    if isinstance(cid, str) and cid in scrubber.pseudonyms:
        rec["comment_id"] = scrubber.pseudonyms[cid]
        for f, empty in (("note", REDACTED), ("text_sha", ""), ("key", ""), ("row", 0)):
            if rec.get(f):
                rec[f] = empty
        changed = True
    rec, n = _scrub_value(rec, scrubber)
    return rec, changed or n > 0


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------
def record_files(labels: str | Path) -> list[Path]:
    """The append-only files modkit writes under ``labels``: the annotator files and the review
    decision log (not the tombstone log, which holds no personal data)."""
    root = Path(labels)
    files = LabelStore(root).files()
    log = root / DECISION_LOG
    if log.is_file():
        files.append(log)
    return files


def _other_files(root: Path, records: Sequence[Path]) -> list[Path]:
    skip = {p.resolve() for p in records} | {(root / ERASURE_LOG).resolve()}
    skip |= {lock_path(p).resolve() for p in skip}
    skip |= {t.resolve() for p in records for t in _stale_temps(p)}  # deleted, not scrubbed
    out = []
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.is_symlink() and p.resolve() not in skip:
            out.append(p)
    return out


def _stale_temps(path: Path) -> list[Path]:
    """Temporary files :func:`~modkit.safeio.atomic_write` left beside ``path`` when its
    process was killed before the rename (they may hold a copy of the records)."""
    return sorted(path.parent.glob(f".{glob.escape(path.name)}.*.tmp"))


def _scrub_lines(data: bytes, scrubber: Scrubber) -> tuple[bytes, int]:
    """A JSONL file's bytes with each record scrubbed; unchanged lines keep their bytes, a torn
    or invalid line is scrubbed as text. Returns the new bytes and the lines changed."""
    out: list[bytes] = []
    changed = 0
    for raw in data.split(b"\n"):
        new = raw
        if raw.strip():
            try:
                rec = json.loads(raw)
            except ValueError:
                rec = None
            if isinstance(rec, dict):
                rec2, did = _scrub_record(rec, scrubber)
                if did:
                    new = json.dumps(rec2, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            else:
                text, n = scrubber.scrub(raw.decode("utf-8", "surrogateescape"))
                if n:
                    new = text.encode("utf-8", "surrogateescape")
        changed += new != raw
        out.append(new)
    return b"\n".join(out), changed


def _decode(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


# --------------------------------------------------------------------------------------------
# Forget
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FileChange:
    """What an erasure changed in one file."""

    path: Path
    kind: str  #: ``labels`` (annotator file), ``decisions`` (review log) or ``other``
    changed: int  #: records (lines) rewritten; for ``other`` files, mentions replaced


@dataclass
class ErasureResult:
    """What :func:`forget` did (or, with ``dry_run``, would do)."""

    comments: int  #: the author's comments found on the pages
    pages: tuple[str, ...]  #: the page files read
    changes: list[FileChange] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)  #: stale temporary files deleted
    leftovers: list[str] = field(default_factory=list)  #: files that still mention the author
    tombstone: dict[str, object] | None = None  #: the erasure record written (None: nothing done)
    similar: tuple[str, ...] = ()  #: authors whose name differs only in case or spacing
    dry_run: bool = False

    @property
    def files_changed(self) -> int:
        return len(self.changes) + len(self.removed)

    @property
    def records_scrubbed(self) -> int:
        """Label events and decisions rewritten."""
        return sum(c.changed for c in self.changes if c.kind != "other")

    @property
    def mentions_replaced(self) -> int:
        """Mentions replaced in files that are not modkit's records."""
        return sum(c.changed for c in self.changes if c.kind == "other")

    @property
    def noop(self) -> bool:
        return not self.changes and not self.removed


def _rewrite(path: Path, scrubber: Scrubber, kind: str, dry_run: bool,
             removed: list[Path]) -> FileChange | None:
    """Scrub one file: under its lock, a new file renamed over the old one (or nothing when
    nothing mentions the author); stale temporary copies beside a record file are deleted."""
    def scrubbed(data: bytes) -> tuple[bytes, int]:
        if kind != "other":
            return _scrub_lines(data, scrubber)
        text = _decode(data)
        if text is None:  # not text: only reported (leftovers)
            return data, 0
        new, n = scrubber.scrub(text)
        return new.encode("utf-8"), n

    if dry_run or kind == "other":
        _, n = scrubbed(path.read_bytes())  # a first look without the lock
        if dry_run:
            if kind != "other":
                removed.extend(_stale_temps(path))
            return FileChange(path, kind, n) if n else None
        if not n:
            return None  # no lock file beside every guideline that never mentions the author
    with locked(path):
        new, n = scrubbed(path.read_bytes())  # again under the lock: an append may have come in
        if n:
            write_bytes_atomic(path, new)
        if kind != "other":
            for tmp in _stale_temps(path):  # we hold the lock: no process is writing them
                tmp.unlink(missing_ok=True)
                removed.append(tmp)
    return FileChange(path, kind, n) if n else None


def forget(name: str, *, labels: str | Path, pages: str | Path | Iterable[str | Path], by: str,
           dry_run: bool = False, time: str | None = None) -> ErasureResult:
    """Erase one commenter from everything under ``labels`` (see the module docstring for what
    changes and what stays); ``pages`` say which comments are theirs. ``by`` (who did it) and
    the counts go to the tombstone log, appended only when something changed. With ``dry_run``
    nothing is written. Running it again finds nothing and changes nothing
    (``result.noop``)."""
    by = " ".join((by or "").split())
    if not by:
        raise ModkitError("who erases? give a name for the erasure record (--by)")
    root = Path(labels)
    if not root.is_dir():
        raise not_found(root, "label folder")
    author = find_author(name, pages)
    erasure = secrets.token_hex(4)
    pseudonyms = {cid: f"erased-{erasure}-{k}" for k, cid in enumerate(dict.fromkeys(author.ids), start=1)}
    scrubber = Scrubber(author.name, (c.text for c in author.comments), pseudonyms)
    result = ErasureResult(len(author.comments), author.pages, similar=author.similar, dry_run=dry_run)
    if not dry_run:  # a batch a killed import or review left lands first, so it is erased too
        from modkit.labels.journal import recover

        recover(root)
    records = record_files(root)
    log = root / DECISION_LOG
    for path in records:
        kind = "decisions" if path == log else "labels"
        ch = _rewrite(path, scrubber, kind, dry_run, result.removed)
        if ch:
            result.changes.append(ch)
    for path in _other_files(root, records):
        ch = _rewrite(path, scrubber, "other", dry_run, result.removed)
        if ch:
            result.changes.append(ch)
    if not dry_run and not result.noop:
        result.tombstone = {
            "event": "erasure", "id": erasure, "time": time or now_iso(), "by": scrubber.scrub(by)[0],
            "basis": "GDPR Art. 17", "files_changed": result.files_changed,
            "records_scrubbed": result.records_scrubbed,
            "label_events": sum(c.changed for c in result.changes if c.kind == "labels"),
            "decisions": sum(c.changed for c in result.changes if c.kind == "decisions"),
            "other_mentions": result.mentions_replaced, "comments": len(pseudonyms),
            "modkit_version": __version__,
        }
        (root / ERASURE_LOG).parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(result.tombstone, ensure_ascii=False, separators=(",", ":")) + "\n"
        append_durably(root / ERASURE_LOG, line.encode("utf-8"))
    if not dry_run:
        result.leftovers = leftovers(root, scrubber)
    return result


def leftovers(labels: str | Path, scrubber: Scrubber) -> list[str]:
    """Files under ``labels`` that still mention the author (every file, read as UTF-8, or as
    Latin-1 when it is not UTF-8)."""
    out = []
    for p in sorted(Path(labels).rglob("*")):
        if not p.is_file():
            continue
        data = p.read_bytes()
        text = _decode(data)
        if text is None:
            text = data.decode("latin-1")
        if scrubber.mentions(text):
            out.append(str(p))
    return out


def erasures(labels: str | Path, warnings: list[str] | None = None) -> list[dict]:
    """The tombstones of earlier erasures (``labels/privacy/erasures.jsonl``), oldest first."""
    path = Path(labels) / ERASURE_LOG
    if not path.is_file():
        return []
    return list(read_records(path, lambda d, where: d, warnings))


# --------------------------------------------------------------------------------------------
# Access request
# --------------------------------------------------------------------------------------------
def export_author(name: str, *, labels: str | Path,
                  pages: str | Path | Iterable[str | Path], time: str | None = None) -> dict[str, Any]:
    """Everything modkit holds about ``name`` under ``labels``, as a JSON-ready dict:

    - ``comments``: their comments on ``pages`` (id, page, title, position, reply-to, time, text);
    - ``labels``: every label event on those comments (history included, with its file and line),
      and ``resolved``: the value each task resolves to now;
    - ``decisions``: the review decision-log records on those comments;
    - ``mentions``: other records and files that name them or quote their comments (the field or
      line that does).
    """
    author = find_author(name, pages)
    ids = set(author.ids)
    root = Path(labels)
    scrubber = Scrubber(author.name, (c.text for c in author.comments), {i: i for i in ids})
    comments = [
        {"id": c.id, "doc": c.doc, "title": author.titles.get(c.doc, ""), "position": c.position,
         "parent_id": c.parent_id, "timestamp": c.timestamp, "author": c.author, "text": c.text}
        for c in author.comments
    ]
    warnings: list[str] = []
    events: list[dict[str, Any]] = []
    mentions: list[dict[str, Any]] = []
    store = LabelStore(root)
    for path in store.files():
        for line, rec in _numbered(path):
            if rec.get("comment_id") in ids:
                events.append({**rec, "file": str(path), "line": line})
            else:
                mentions.extend(_mentions(rec, scrubber, path, line))
    resolved: dict[str, dict[str, str | None]] = {}
    for (cid, task), r in store.resolved(warnings).items():
        if cid in ids:
            resolved.setdefault(cid, {})[task] = r.value
    decisions: list[dict[str, Any]] = []
    log = DecisionLog(root)
    if log.path.is_file():
        for line, rec in _numbered(log.path):
            if rec.get("comment_id") in ids:
                decisions.append({**rec, "log": str(log.path), "line": line})
            else:
                mentions.extend(_mentions(rec, scrubber, log.path, line))
    if root.is_dir():
        for path in _other_files(root, record_files(root)):
            text = _decode(path.read_bytes())
            for i, ln in enumerate((text or "").splitlines(), start=1):
                if scrubber.mentions(ln):
                    mentions.append({"file": str(path), "line": i, "text": ln})
    return {
        "author": author.name, "exported": time or now_iso(), "basis": "GDPR Art. 15",
        "modkit_version": __version__, "labels_dir": str(root), "pages": list(author.pages),
        "comments": comments, "labels": events, "resolved": resolved, "decisions": decisions,
        "mentions": mentions, "warnings": warnings,
        "not_included": "the pages themselves (the site's data), flagged CSVs and reports outside the "
                        "labels folder, trained models",
    }


def _numbered(path: Path) -> Iterator[tuple[int, dict]]:
    """``(line number, record)`` of a JSONL file; invalid lines skipped."""
    for i, raw in enumerate(path.read_bytes().split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw)
        except ValueError:
            continue
        if isinstance(rec, dict):
            yield i, rec


def _mentions(rec: dict, scrubber: Scrubber, path: Path, line: int) -> list[dict[str, Any]]:
    out = []
    for key, value in rec.items():
        if key not in _KEEP_FIELDS and isinstance(value, str) and scrubber.mentions(value):
            out.append({"file": str(path), "line": line, "comment_id": rec.get("comment_id", ""),
                        "field": key, "text": value})
    return out


__all__ = [
    "ERASURE_LOG", "REDACTED", "Authored", "ErasureResult", "FileChange", "Scrubber", "erasures",
    "export_author", "find_author", "forget", "leftovers", "record_files",
]

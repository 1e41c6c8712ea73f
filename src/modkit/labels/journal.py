"""All-or-nothing batches of appends to the files of a labels folder (an intent journal).

``labels import`` appends to one file per annotator, ``modkit review`` to the reviewer's label
file *and* the decision log (``labels/review/decisions.jsonl``). A process killed between two
appends, or in the middle of a long one, would leave labels without their decision, or half an
import. A :func:`transaction` makes the batch whole:

1. It takes the journal lock (``labels/.journal/.journal.lock``; one batch at a time) and first
   completes any batch a killed process left (step 5).
2. The caller plans under that lock (what is new is decided against files no other batch is
   changing) and hands over the lines per file. Every line carries the batch id (``"batch"``).
3. The intent record ``labels/.journal/<batch>.json`` (the batch id, and every line for every
   file) is written atomically: temporary file, fsync, rename, fsync of the folder. Before this
   point nothing has changed; from this point the batch will land whole.
4. With every file's append lock held (in name order), each file gets its lines in one fsynced
   append (:func:`modkit.safeio.append_unlocked`); then the intent record is removed. That
   removal is the commit as readers see it. A write that fails (a full disk) or Ctrl-C cuts the
   files back to their old size and removes the record: nothing was written.
5. Recovery (:func:`recover`, run by every writer of the folder before it writes: the next
   transaction, every label append, ``labels check --repair``) rolls a left-over batch
   *forward*: for each file, the lines of the batch it does not hold yet (a line counts as
   there when the file has it byte for byte) are appended, then the record is removed. It is
   idempotent: a crash during recovery is recovered again.

Readers (:meth:`~modkit.labels.LabelStore.events`, :meth:`modkit.review.DecisionLog.records`)
leave out lines whose batch still has an intent record (:func:`pending`), so a batch cut short
by a kill is invisible, in every file at once, until it is completed; labels and decisions never
disagree. A reader that starts while a live batch is being written may see part of it for the
few milliseconds the appends take; a kill at any point leaves the old state or the new one.

A torn line that a kill leaves in the middle of an append stays where it is (readers skip it,
``modkit labels check`` names it, ``--repair`` drops it); its whole line is appended again.

``MODKIT_TEST_COMMIT_PAUSE`` (seconds) makes a commit sleep after each step: the fault
injection tests and ``bench/kill_bench.py`` use it to land kills between the steps.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from modkit.errors import ModkitError
from modkit.safeio import append_unlocked, fsync_dir, locked, os_error, write_text_atomic

#: Where intent records live, relative to the labels folder (hidden: the store reads
#: ``labels/*.jsonl`` only, and the folder name is no annotator name).
JOURNAL_DIR = Path(".journal")
_LOCK_NAME = ".journal"  # locked(JOURNAL_DIR / ".journal") -> .journal/..journal.lock


def journal_dir(root: str | Path) -> Path:
    return Path(root) / JOURNAL_DIR


def intent_records(root: str | Path) -> list[Path]:
    """The intent records of the batches not committed yet (at most one: every batch completes
    the ones before it first)."""
    folder = journal_dir(root)
    try:
        return sorted(p for p in folder.iterdir() if p.suffix == ".json" and not p.name.startswith("."))
    except (FileNotFoundError, NotADirectoryError):
        return []


def pending(root: str | Path) -> set[str]:
    """Ids of the batches under ``root`` that are not committed yet (their intent record is
    there): readers leave their lines out."""
    return {p.stem for p in intent_records(root)}


def new_batch_id(kind: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{kind}-{stamp}-{secrets.token_hex(4)}"


def _pause() -> None:
    delay = os.environ.get("MODKIT_TEST_COMMIT_PAUSE")
    if delay:
        time.sleep(float(delay))


class Transaction:
    """The batch being planned inside :func:`transaction`: ``id`` to stamp on every line,
    :meth:`append` to hand over lines."""

    def __init__(self, root: Path, kind: str) -> None:
        self.root = root
        self.kind = kind
        self.id = new_batch_id(kind)
        self.files: dict[str, list[str]] = {}

    def append(self, path: str | Path, lines: list[str]) -> None:
        """Queue ``lines`` (JSON texts, each holding :attr:`id`; no newline) for ``path``, a file
        under the labels folder. Files are appended to in the order first given."""
        rel = _relative(self.root, Path(path))
        for line in lines:
            if "\n" in line or self.id not in line:
                raise ValueError(f"a journal line must be one line holding the batch id {self.id}")
        self.files.setdefault(rel, []).extend(lines)


def _relative(root: Path, path: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        raise ValueError(f"{path} is not under the labels folder {root}") from None


@contextlib.contextmanager
def transaction(root: str | Path, kind: str) -> Iterator[Transaction]:
    """Plan a batch under the journal lock, then write it all or nothing (module docstring).

    >>> with transaction("labels", "import") as tx:
    ...     tx.append("labels/ana.jsonl", [json.dumps({"comment_id": "c1", "batch": tx.id})])

    An exception inside the block writes nothing. Raises :class:`ModkitError` (one line ending
    in "nothing written") when a file cannot be written, e.g. a full disk: the files are cut
    back to what they held. A kill leaves the batch to :func:`recover`.
    """
    root = Path(root)
    folder = journal_dir(root)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise os_error(folder, exc) from None
    with locked(folder / _LOCK_NAME):
        _recover_locked(root)
        tx = Transaction(root, kind)
        yield tx
        if tx.files:
            _commit(root, tx)


def _commit(root: Path, tx: Transaction) -> None:
    record = journal_dir(root) / f"{tx.id}.json"
    try:
        write_text_atomic(record, json.dumps(
            {"batch": tx.id, "kind": tx.kind, "time": datetime.now(UTC).isoformat(timespec="seconds"),
             "files": tx.files}, ensure_ascii=False) + "\n")
    except ModkitError as exc:  # e.g. a full disk: the temporary file is gone, no file was touched
        raise ModkitError(f"{exc.message}; nothing written") from None
    _pause()
    paths = {rel: root / rel for rel in tx.files}
    done: list[tuple[Path, int]] = []
    # Every file's lock for the whole commit (in name order: no deadlock with another commit),
    # so a failed write can be cut back without cutting a line another process appended since.
    with contextlib.ExitStack() as stack:
        for rel in sorted(paths):
            _mkdir(paths[rel].parent)
            stack.enter_context(locked(paths[rel]))
        try:
            for rel, lines in tx.files.items():
                path = paths[rel]
                size = path.stat().st_size if path.exists() else -1
                append_unlocked(path, "".join(line + "\n" for line in lines).encode("utf-8"))
                done.append((path, size))
                _pause()
        except BaseException as exc:  # a full disk, Ctrl-C: undo, else leave it to recovery
            if not _roll_back(done):
                raise
            _remove(record)
            if isinstance(exc, ModkitError):
                raise ModkitError(f"{exc.message}; nothing written") from None
            raise
    _remove(record)


def _roll_back(done: list[tuple[Path, int]]) -> bool:
    """Cut the files appended to back to their old size (their locks are held); False when that
    fails, and the batch is left to be completed (rolled forward) instead."""
    try:
        for path, size in reversed(done):
            if size < 0:
                path.unlink()
            else:
                with open(path, "r+b") as fh:
                    fh.truncate(size)
                    os.fsync(fh.fileno())
    except OSError:
        return False
    return True


def recover(root: str | Path) -> list[str]:
    """Complete every batch a killed process left under ``root`` (roll forward); returns their
    ids. Cheap when there is none (one folder listing): every writer calls it first."""
    root = Path(root)
    if not intent_records(root):
        return []
    with locked(journal_dir(root) / _LOCK_NAME):
        return _recover_locked(root)


def _recover_locked(root: Path) -> list[str]:
    done = []
    folder = journal_dir(root)
    for stale in folder.glob(".*.json.*.tmp"):  # an intent record being written when killed
        with contextlib.suppress(OSError):
            stale.unlink()
    for record in intent_records(root):
        batch, files = read_record(record)
        for rel, lines in files.items():
            path = root / rel
            _mkdir(path.parent)
            with locked(path):
                missing = _missing(path, batch, lines)
                if missing:
                    append_unlocked(path, "".join(line + "\n" for line in missing).encode("utf-8"))
        _remove(record)
        done.append(batch)
    return done


def read_record(record: Path) -> tuple[str, dict[str, list[str]]]:
    """The batch id and the lines per file of an intent record."""
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
        batch, files = str(data["batch"]), data["files"]
        if not isinstance(files, dict) or not all(
                isinstance(k, str) and isinstance(v, list) and all(isinstance(x, str) for x in v)
                for k, v in files.items()):
            raise ValueError("files is not a mapping of file names to lines")
        if any(Path(k).is_absolute() or ".." in Path(k).parts for k in files):
            raise ValueError("a file outside the labels folder")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModkitError(f"{record}: unreadable journal record ({exc}); the batch it held cannot be "
                          "completed: move the file away to go on") from None
    return batch, files


def _missing(path: Path, batch: str, lines: list[str]) -> list[str]:
    """The lines of ``batch`` that ``path`` does not hold yet, byte for byte."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return list(lines)
    except OSError as exc:
        raise os_error(path, exc, "cannot read") from None
    marker = batch.encode("utf-8")
    have = Counter(raw for raw in data.split(b"\n") if marker in raw)
    out = []
    for line in lines:
        raw = line.encode("utf-8")
        if have[raw] > 0:
            have[raw] -= 1
        else:
            out.append(line)
    return out


def _mkdir(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise os_error(folder, exc) from None


def _remove(record: Path) -> None:
    try:
        record.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise os_error(record, exc, "cannot remove") from None
    fsync_dir(record.parent)

"""Crash-safe file writing and cross-platform locks, shared by every writer in modkit.

- :func:`atomic_write` writes to a temporary file beside the target, flushes and fsyncs it,
  then renames it over the target (and fsyncs the folder), so a crash, a kill or a full disk
  leaves either the old file or the new one, never a half-written one and never a stray
  temporary file when Python gets to clean up.
- :func:`locked` takes an exclusive lock (``filelock``: works on Linux, macOS and Windows) on a
  lock file beside ``path``.
- :func:`os_error` turns an ``OSError`` into one :class:`~modkit.errors.ModkitError` line naming
  the file ("No space left on device", "Permission denied", ...).
- :func:`check_writable` tells, before a long run, that an ``--out`` file cannot be written
  (missing or unwritable folder), so the work is not done for nothing.
- :func:`append_locked` appends whole lines to an append-only file under :func:`locked`, in one
  write loop, then fsyncs (the label store, the review decision log, the erasure log).

>>> with atomic_write("out.csv") as fh:
...     fh.write("a,b\\n")
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from filelock import FileLock

from modkit.errors import ModkitError

#: How long a writer waits for another process's lock before giving up, in seconds.
LOCK_TIMEOUT = 60.0


def os_error(path: str | Path, exc: OSError, doing: str = "cannot write") -> ModkitError:
    """One user-facing line for an OS-level failure on ``path``."""
    reason = exc.strerror or str(exc)
    return ModkitError(f"{path}: {doing}: {reason}")


def fsync_dir(folder: str | Path) -> None:
    """Make a rename in ``folder`` durable (a no-op where folders cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(
    path: str | Path, mode: str = "w", *, encoding: str | None = "utf-8", newline: str | None = None
) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path`` for writing; on a clean exit fsync it and rename it
    over ``path``. On any exception the temporary file is removed and ``path`` is untouched.

    ``mode`` is ``"w"`` (text) or ``"wb"`` (bytes). OS errors (missing or unwritable folder,
    full disk) become one :class:`ModkitError` naming ``path``.
    """
    path = Path(path)
    if "b" in mode:
        encoding = None
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ModkitError(f"{path}: cannot write: folder {folder} does not exist")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise os_error(path, exc) from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            with contextlib.suppress(OSError):
                os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            with contextlib.suppress(OSError):
                os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        fsync_dir(folder)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise os_error(path, exc) from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def check_writable(path: str | Path, *, folder_ok: bool = False) -> Path:
    """Fail early, before a long run, when ``path`` (an ``--out`` file) cannot be written:
    its folder is missing, is not a folder, or refuses a new file (permissions, read-only
    disk, no inode left). Creates and removes one empty temporary file there to find out.
    ``path`` itself may exist (it is replaced); an existing folder at ``path`` is refused
    unless ``folder_ok`` (outputs that are folders, such as a ConvoKit corpus).

    A full disk can still strike later, while writing: :func:`atomic_write` then removes its
    temporary file and raises one line. Returns ``path`` as a :class:`Path`.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir() and not folder_ok:
        raise ModkitError(f"{path}: cannot write: is a folder (give a file name)")
    if not folder.exists():
        raise ModkitError(f"{path}: cannot write: folder {folder} does not exist")
    if not folder.is_dir():
        raise ModkitError(f"{path}: cannot write: {folder} is not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise os_error(path, exc) from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return path


def write_text_atomic(path: str | Path, text: str, *, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` through :func:`atomic_write`."""
    with atomic_write(path, "w", encoding=encoding, newline="") as fh:
        fh.write(text)


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through :func:`atomic_write`."""
    with atomic_write(path, "wb") as fh:
        fh.write(data)


def lock_path(path: str | Path) -> Path:
    """The lock file that guards ``path``: ``.NAME.lock`` beside it."""
    path = Path(path)
    return path.with_name(f".{path.name}.lock")


@contextlib.contextmanager
def locked(path: str | Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold an exclusive, cross-process lock on ``path`` (through ``.NAME.lock`` beside it).

    The empty lock file stays when released: removing it would let a writer waiting on the old
    file and one opening a new file both think they hold the lock. Not re-entrant across
    :class:`FileLock` objects: never take it twice in one process (the second one waits)."""
    lock = FileLock(str(lock_path(path)), timeout=timeout)
    try:
        lock.acquire(poll_interval=0.005)  # appends are short: waiters need not sleep 50 ms
    except TimeoutError:
        raise ModkitError(f"{path}: another modkit process holds its lock for over {timeout:.0f} s") from None
    except OSError as exc:
        raise os_error(path, exc, "cannot lock") from None
    try:
        yield
    finally:
        lock.release()


def append_locked(path: str | Path, payload: bytes, timeout: float = LOCK_TIMEOUT) -> None:
    """Append whole lines (``payload`` ends with a newline) to ``path`` under :func:`locked`,
    then fsync. See :func:`append_unlocked`."""
    with locked(path, timeout):
        append_unlocked(path, payload)


def append_unlocked(path: str | Path, payload: bytes) -> None:
    """Append ``payload`` to ``path``; the caller holds :func:`locked` on it.

    The file is opened after the lock is taken (a rewrite renamed over it meanwhile is the file
    appended to) with ``O_APPEND``, written in one loop and fsynced. A torn last line left by a
    killed writer gets a newline first, so it cannot swallow the first new line. When the write
    fails (a full disk), the file is cut back to its old size, and a file this call created is
    removed: the old content stays as it was. OS errors become one :class:`ModkitError` line.
    """
    path = Path(path)
    existed = path.exists()
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError as exc:
        raise os_error(path, exc) from None
    size = 0
    try:
        size = os.fstat(fd).st_size
        if size:
            os.lseek(fd, size - 1, os.SEEK_SET)
            if os.read(fd, 1) != b"\n":
                payload = b"\n" + payload
        view = memoryview(payload)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, size)
            os.fsync(fd)
        os.close(fd)
        if not existed:
            with contextlib.suppress(OSError):
                path.unlink()
        raise os_error(path, exc) from None
    os.close(fd)
    if not existed:
        fsync_dir(path.parent if str(path.parent) else ".")

"""Run ``modkit flag`` and ``modkit threads`` on a Dask cluster (``--engine dask``).

>>> from modkit.distributed import flag_dask, threads_dask
>>> r = flag_dask(["big/"], "models/default", "flags/", csv="flagged.csv")   # a LocalCluster here
>>> r = flag_dask(["/shared/big/"], "/shared/models/default", "/shared/flags/",
...               scheduler="tcp://10.0.0.5:8786")                          # an existing cluster
>>> t = threads_dask(["big/"], "threads/")                                   # one row per comment

The work per partition is the local path's: a partition is a list of page files (the chunks of
:func:`modkit.flag.flag`, about ``chunk_bytes`` of files each, never a part of a page, as the
thread features read the whole page), scored by :func:`modkit.flag._chunk_job` (which calls the
pure :func:`modkit.flag.score_batch`). ``dask.bag.from_sequence(partitions)`` maps it on the
workers; each worker loads the model once (a per-process cache keyed by the model folder's path
and its sha256) and writes its partition to ``OUT/part-NNNNN.parquet``, named by the
partition's index, through a temporary name and a rename: a task that runs again after its
worker died overwrites its part instead of adding a second copy, and a reader never sees half
a part. Parts left from an earlier, larger run are removed at the end.

The moderators' CSV (``csv=``) is merged from the parts on the client in the local path's
order, so it is the CSV ``modkit flag`` writes with the same options, row for row.

Needs ``dask[distributed]`` and ``pyarrow`` (``pip install 'modkit[scale]'``); without them
each function raises one :class:`~modkit.errors.ModkitError` line, :data:`NEEDS_DASK`. This
module imports neither until a function runs, so ``modkit`` starts without them.
"""

from __future__ import annotations

import contextlib
import heapq
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modkit.errors import ModkitError, UsageError
from modkit.parallel import resolve_jobs

if TYPE_CHECKING:
    from modkit.flag import PageSummary
    from modkit.model import TrainedModel

#: The one line ``--engine dask`` prints when dask is not installed.
NEEDS_DASK = "--engine dask needs dask[distributed]: pip install 'modkit[scale]'"
NEEDS_PYARROW = "--engine dask needs pyarrow to write Parquet: pip install 'modkit[scale]'"
#: Part files: ``part-00000.parquet`` ..., by partition index.
PART_NAME = "part-{:05d}.parquet"
_PART_RE = re.compile(r"part-(\d{5,})\.parquet")
#: Column of a flag part holding the key the CSV merge orders by (priority, or uncertainty with
#: ``queue``, rounded to 6 decimals as the local merge rounds it), highest first.
SORT_KEY = "sort_key"
#: Where the workers leave their sorted CSV runs for the client's merge (removed after it).
RUNS_DIR = ".runs"


class Engine(str, Enum):
    """Where ``modkit flag`` and ``modkit threads`` do their work."""

    local = "local"  #: this machine's processes (joblib, ``--jobs``)
    dask = "dask"  #: a dask.distributed cluster: a LocalCluster, or ``--scheduler ADDRESS``


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------
@dataclass
class DaskFlagResult:
    """What :func:`flag_dask` did: the attributes of :class:`modkit.flag.FlagResult` (``pages``,
    ``problems``, ``flags``, ``removed``, ``top``, ``comments``), plus where it wrote."""

    out: Path  #: the Parquet folder
    parts: list[Path] = field(default_factory=list)  #: ``part-NNNNN.parquet``, by partition index
    rows: int = 0  #: rows in the parts (with ``queue``: each part's ``queue`` least certain)
    comments: int = 0
    csv: Path | None = None  #: the moderators' CSV, when asked for
    csv_rows: int = 0
    pages: list[PageSummary] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    flags: tuple[str, ...] = ()
    removed: int = 0
    top: list[tuple[str, str, str, float, str, str]] = field(default_factory=list)
    workers: int = 0  #: workers of the cluster when the run started


@dataclass
class DaskThreadsResult:
    """What :func:`threads_dask` did."""

    out: Path  #: the Parquet folder
    parts: list[Path] = field(default_factory=list)
    pages: int = 0  #: threads read
    comments: int = 0  #: rows written
    files: int = 0
    empty: list[str] = field(default_factory=list)  #: sources of pages without a comment section
    warnings: list[str] = field(default_factory=list)  #: the pages' problems, file by file
    errors: list[str] = field(default_factory=list)  #: files that could not be read
    workers: int = 0


# --------------------------------------------------------------------------------------------
# The cluster
# --------------------------------------------------------------------------------------------
def require_dask() -> None:
    """Raise :data:`NEEDS_DASK` (or :data:`NEEDS_PYARROW`) unless both can be imported."""
    try:
        import dask.bag  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        raise ModkitError(NEEDS_DASK) from None
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise ModkitError(NEEDS_PYARROW) from None


@contextlib.contextmanager
def connect(scheduler: str | None = None, client: Any = None, n_workers: int = 0) -> Iterator[Any]:
    """A ``distributed.Client``: ``client`` itself when given; else one connected to the
    scheduler at ``scheduler`` (``tcp://host:8786``); else a new ``LocalCluster`` of
    ``n_workers`` worker processes (0: one per core), one thread each, closed afterwards."""
    require_dask()
    from distributed import Client, LocalCluster

    if client is not None:
        yield client
        return
    if scheduler:
        try:
            c = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise ModkitError(f"--scheduler {scheduler}: cannot connect to a Dask scheduler there ({exc})") from None
        with c:
            yield c
        return
    import logging

    n = resolve_jobs(n_workers)
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.CRITICAL) as cluster, \
            Client(cluster) as c:
        yield c


def _run(client: Any, work: Callable[..., dict[str, Any]], partitions: list[tuple[int, list[str]]],
         progress: Callable[[int], None] | None, *args: Any) -> list[dict[str, Any]]:
    """Map ``work(partition, *args)`` over ``partitions`` as a dask bag on ``client``; the
    results in partition order. ``progress(files)`` after each partition."""
    import dask.bag as db
    from distributed import as_completed

    if not partitions:
        return []
    bag = db.from_sequence(partitions, npartitions=len(partitions)).map(work, *args)
    futures = client.compute(bag.to_delayed())  # one future per partition, each a list of one result
    index = {f.key: k for k, f in enumerate(futures)}
    results: list[dict[str, Any] | None] = [None] * len(futures)
    for fut in as_completed(futures):
        (r,) = fut.result()  # a worker's ModkitError is raised here, with its one line
        results[index[fut.key]] = r
        if progress:
            progress(r["files"])
    return [r for r in results if r is not None]


def _absolute(path: str | Path, remote: bool) -> str:
    """``path`` as workers need it: as given on a LocalCluster (same working folder, so messages
    name files as the local path does), absolute on a cluster of other machines."""
    return str(Path(path).absolute()) if remote else str(path)


def _prepare_out(out: str | Path) -> Path:
    """The Parquet folder ``out``, created if missing (its parent must exist), checked writable."""
    from modkit.safeio import check_writable

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ModkitError(f"{out}: cannot write Parquet parts: is a file (give a folder)")
    if not out.exists():
        check_writable(out, folder_ok=True)
        try:
            out.mkdir()
        except OSError as exc:
            raise ModkitError(f"{out}: cannot create the folder: {exc.strerror or exc}") from None
    check_writable(out / PART_NAME.format(0))
    return out


def _finish_parts(out: Path, n: int) -> list[Path]:
    """Remove parts of an earlier run past index ``n`` and temporary files of killed tasks; the
    parts of this run."""
    for p in out.iterdir():
        m = _PART_RE.fullmatch(p.name)
        stale = (m is not None and int(m.group(1)) >= n) or (p.name.startswith(".part-") and p.name.endswith(".tmp"))
        if stale:
            with contextlib.suppress(OSError):
                p.unlink()
    return [out / PART_NAME.format(k) for k in range(n)]


def write_part(table: Any, out_dir: str | Path, k: int) -> Path:
    """Write the pyarrow ``table`` as ``out_dir/part-<k>.parquet``: to a temporary name beside
    it, fsynced, then renamed over it (a rerun of the task overwrites; a reader never sees half
    a part)."""
    import pyarrow.parquet as pq

    from modkit.safeio import fsync_dir, os_error

    target = Path(out_dir) / PART_NAME.format(k)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        pq.write_table(table, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise os_error(target, exc) from None
    fsync_dir(target.parent)
    return target


def check_options(engine: Engine, out: Path | None, scheduler: str | None = None,
                  csv: Path | None = None) -> None:
    """The CLI's ``--engine``, ``--scheduler``, ``--csv`` and ``--out`` agree, or one
    :class:`~modkit.errors.UsageError` line (exit 2) says how."""
    if engine is Engine.local:
        for name, value in (("--scheduler", scheduler), ("--csv", csv)):
            if value is not None:
                raise UsageError(f"{name} needs --engine dask")
        return
    if out is None or out.suffix.lower() in (".csv", ".jsonl"):
        raise UsageError(f"--engine dask writes Parquet parts to a folder: give it with --out DIR (got "
                         f"{out or 'none'}); the moderators' CSV is --csv FILE")


def _plain(exc: ModkitError) -> ModkitError:
    # a subclass with its own __init__ (ParseError) does not unpickle on the client: send the line
    return ModkitError(exc.message)


# --------------------------------------------------------------------------------------------
# flag on Dask
# --------------------------------------------------------------------------------------------
#: Per worker process: (model folder, sha256) -> the model, loaded once.
_MODELS: dict[tuple[str, str], TrainedModel] = {}


def worker_model(path: str, sha256: str, allow_pickle: bool = False) -> TrainedModel:
    """The model at ``path``, loaded once per process (hash-checked by
    :func:`modkit.model.load_model`) and cached by path and sha256; refused when the file there
    is not the one the client loaded (another model under the same path on this worker)."""
    key = (path, sha256)
    if key not in _MODELS:
        from modkit.model import load_model

        m = load_model(path, allow_pickle=allow_pickle)
        got = str(m.card.get("sha256", ""))
        if got != sha256:
            import socket

            raise ModkitError(f"{path} on worker {socket.gethostname()}: model sha256 {got[:12]}... is not the "
                              f"client's {sha256[:12]}...: give every worker the same model folder")
        _MODELS[key] = m
    return _MODELS[key]


@dataclass(frozen=True)
class _FlagJob:
    """What every flag partition needs (sent once with the task graph)."""

    model: str
    sha256: str
    allow_pickle: bool
    profile: str
    thresholds: dict[str, float] | None
    keep: str
    queue: int | None
    rescore: bool
    band: float
    include_removed: bool
    out: str
    runs: str = ""  #: a folder for the partition's sorted CSV run (kept for the client's merge), or ""


def _flag_columns(m: TrainedModel, rescore: bool) -> tuple[list[str], set[str]]:
    """The flag CSV's columns and those that are numbers (with ``depth``: the types of
    ``modkit flag --format parquet``)."""
    from modkit.flag import csv_columns

    cols = list(csv_columns(m.registry, stage=rescore))
    floats = {f.column for f in m.registry.model_flags} | {"priority"}
    return cols, floats


def _flag_schema(cols: list[str], floats: set[str]) -> Any:
    import pyarrow as pa

    def kind(c: str) -> Any:
        return pa.int64() if c == "depth" else pa.float64() if c in floats else pa.string()

    return pa.schema([(SORT_KEY, pa.float64()), *((c, kind(c)) for c in cols)])


def _flag_partition(item: tuple[int, list[str]], job: _FlagJob) -> dict[str, Any]:
    """One partition on a worker: :func:`modkit.flag._chunk_job` (the local path's work),
    its sorted rows turned into a typed Parquet part."""
    import pyarrow as pa

    from modkit import flag as flag_mod

    k, paths = item
    try:
        m = worker_model(job.model, job.sha256, job.allow_pickle)
        cols, floats = _flag_columns(m, job.rescore)
        data: dict[str, list[Any]] = {SORT_KEY: [], **{c: [] for c in cols}}
        with contextlib.ExitStack() as stack:
            run_dir = job.runs or stack.enter_context(tempfile.TemporaryDirectory(prefix="modkit-dask-"))
            r = flag_mod._chunk_job(paths, m, job.profile, job.thresholds, job.keep, job.queue, run_dir, k,
                                    job.rescore, job.band, job.include_removed)
            run = r.pop("run")
            for neg_key, cells in flag_mod._read_run(run):
                data[SORT_KEY].append(-neg_key)
                for c, cell in zip(cols, cells, strict=True):
                    data[c].append(_typed(c, cell, floats))
            if job.runs:  # the client merges the runs as flag() does (named by partition: a rerun overwrites)
                r["run"] = run
        r["part"] = str(write_part(pa.table(data, schema=_flag_schema(cols, floats)), job.out, k))
    except ModkitError as exc:
        raise _plain(exc) from None
    return r


def _typed(col: str, cell: str, floats: set[str]) -> Any:
    """A CSV cell as the Parquet value: depth an int, scores and priority floats (the CSV's
    4 decimals), text as written (not neutralised for spreadsheets)."""
    from modkit.csvsafe import unneutralise

    if col == "depth":
        return int(cell)
    if col in floats:
        v = float(cell)
        if f"{v:.4f}" != cell:  # the CSV is rebuilt from the part: it must come back the same
            raise RuntimeError(f"modkit.distributed: {col} cell {cell!r} does not round-trip")
        return v
    return unneutralise(cell)


def flag_dask(sources: Sequence[str | Path], model: TrainedModel | str | Path, out: str | Path,
              csv: str | Path | None = None, scheduler: str | None = None, client: Any = None,
              n_workers: int = 0, all: bool = False, profile: str = "balanced",
              thresholds: dict[str, float] | None = None, queue: int | None = None,
              chunk_bytes: int = 4 << 20, rescore: bool = False, band: float = 0.1,
              allow_pickle: bool = False, include_removed: bool = False, force: bool = False,
              progress: Callable[[int, int], None] | None = None) -> DaskFlagResult:
    """:func:`modkit.flag.flag` on a Dask cluster: the flagged comments of ``sources`` as
    Parquet parts in the folder ``out`` and, with ``csv``, the moderators' CSV that
    ``flag(sources, model, csv, ...)`` writes with the same options, row for row.

    The cluster: ``client`` (a ``distributed.Client``), else the scheduler at ``scheduler``,
    else a new LocalCluster of ``n_workers`` processes (0: one per core). Every worker must
    import modkit and read the same model folder and page files under the same paths (relative
    paths are made absolute for a scheduler's cluster). Each part holds the CSV's columns
    (those of ``modkit flag --format parquet``), typed (``depth`` an integer, scores and
    ``priority`` floats as rounded in the CSV, texts not neutralised), in the CSV's order
    within the part, plus :data:`SORT_KEY`. ``progress(files_done, files)`` after each partition.
    The other options are :func:`modkit.flag.flag`'s.
    """
    require_dask()
    from modkit import flag as flag_mod
    from modkit.model import load_model
    from modkit.safeio import atomic_write, check_writable
    from modkit.sources import resolve_sources
    from modkit.tasks import PROFILES

    if profile not in PROFILES:
        raise ModkitError(f"unknown profile {profile!r}: expected one of {', '.join(PROFILES)}")
    if csv is not None:
        csv = check_writable(csv)
        if not force:
            flag_mod.refuse_reviewed(csv)
    loaded = model if not isinstance(model, (str, Path)) else load_model(model, allow_pickle=allow_pickle)
    if not loaded.path:
        raise UsageError("flag_dask: the model must be loaded from a folder (load_model) so workers can load it")
    flag_mod.check_model_options(loaded, rescore, thresholds)
    paths = resolve_sources(sources)
    out_dir = _prepare_out(out)
    result = DaskFlagResult(out=out_dir, flags=tuple(f.code for f in loaded.registry.flags))
    with connect(scheduler, client, n_workers) as c:
        remote = client is None and bool(scheduler)
        result.workers = len(c.scheduler_info().get("workers", {}))
        partitions = [(k, [_absolute(p, remote) for p in chunk])
                      for k, chunk in enumerate(flag_mod._chunks(paths, chunk_bytes))]
        job = _FlagJob(model=str(Path(loaded.path).absolute()), sha256=str(loaded.card.get("sha256", "")),
                       allow_pickle=allow_pickle, profile=profile, thresholds=thresholds,
                       keep="all" if all else "flagged", queue=queue, rescore=rescore, band=band,
                       include_removed=include_removed, out=str(out_dir.absolute()),
                       runs=str((out_dir / RUNS_DIR).absolute()) if csv is not None else "")
        if job.runs:
            shutil.rmtree(job.runs, ignore_errors=True)  # runs of an earlier, killed client
            Path(job.runs).mkdir()
        done = [0]

        def tick(files: int) -> None:
            done[0] += files
            if progress:
                progress(done[0], len(paths))

        results = _run(c, _flag_partition, partitions, tick, job)
    for r in results:  # in partition order, as flag() gathers them
        result.pages.extend(r["pages"])
        result.problems.extend(r["problems"])
        result.removed += r.get("removed", 0)
        result.top = heapq.nlargest(flag_mod.TOP_SHOWN, [*result.top, *r["top"]], key=lambda t: t[3])
        result.rows += r["rows"]
    result.comments = sum(p.comments for p in result.pages)
    result.parts = _finish_parts(out_dir, len(partitions))
    if csv is not None:
        # The workers' sorted CSV runs, merged line by line as flag() merges its own (flat memory,
        # the same cells); the Parquet parts stay the typed output.
        n = 0
        try:
            with atomic_write(csv, encoding=flag_mod.CSV_ENCODING, newline="") as fh:
                writer = flag_mod.write_header(fh, loaded.registry, stage=rescore)
                merged = heapq.merge(*(flag_mod._read_run(r["run"]) for r in results), key=lambda kv: kv[0])
                for _, row in merged:
                    if queue and n >= queue:
                        break
                    writer.writerow(row)
                    n += 1
        finally:
            shutil.rmtree(job.runs, ignore_errors=True)
        result.csv, result.csv_rows = csv, n
    return result


# --------------------------------------------------------------------------------------------
# threads on Dask
# --------------------------------------------------------------------------------------------
def _threads_partition(item: tuple[int, list[str]], out: str, options: dict[str, object] | None) -> dict[str, Any]:
    """One partition on a worker: read its files, write their comments as a Parquet part."""
    from modkit.threads.registry import read_file
    from modkit.threads.render import comment_table

    k, paths = item
    threads: list[Any] = []
    empty: list[str] = []
    warnings: list[str] = []
    errors: list[str] = []
    pages = 0
    for p in paths:
        try:
            found = read_file(p, options)
        except ModkitError as exc:
            errors.append(exc.message)
            continue
        for t in found:
            pages += 1
            for prob in t.problems:
                if prob.kind == "no_comment_section":
                    empty.append(t.source)
                else:
                    warnings.append(prob.message)
            threads.append(t)
    table = comment_table(threads)  # the rows and types of the local `modkit threads --format parquet`
    try:
        part = write_part(table, out, k)
    except ModkitError as exc:
        raise _plain(exc) from None
    return {"part": str(part), "pages": pages, "comments": table.num_rows, "empty": empty, "warnings": warnings,
            "errors": errors, "files": len(paths)}


def threads_dask(sources: Sequence[str | Path], out: str | Path, scheduler: str | None = None,
                 client: Any = None, n_workers: int = 0, keep_types: Sequence[str] | None = None,
                 chunk_bytes: int = 4 << 20, progress: Callable[[int, int], None] | None = None
                 ) -> DaskThreadsResult:
    """Rebuild the threads of ``sources`` on a Dask cluster: one row per comment
    (:data:`modkit.threads.COMMENT_FIELDS`, :func:`modkit.threads.render.comment_schema`: the
    local ``--format parquet`` file's) in Parquet parts in the
    folder ``out``, in page order. Files that cannot be read are listed in ``errors`` (the
    others still go through); the pages' problems in ``warnings``. The cluster as for
    :func:`flag_dask`; ``keep_types``: WordPress comment types to keep (``modkit threads
    --keep-type``)."""
    require_dask()
    from modkit.flag import _chunks
    from modkit.sources import resolve_sources

    paths = resolve_sources(sources)
    out_dir = _prepare_out(out)
    result = DaskThreadsResult(out=out_dir, files=len(paths))
    options: dict[str, object] | None = {"keep_types": tuple(keep_types)} if keep_types else None
    with connect(scheduler, client, n_workers) as c:
        remote = client is None and bool(scheduler)
        result.workers = len(c.scheduler_info().get("workers", {}))
        partitions = [(k, [_absolute(p, remote) for p in chunk]) for k, chunk in enumerate(_chunks(paths, chunk_bytes))]
        done = [0]

        def tick(files: int) -> None:
            done[0] += files
            if progress:
                progress(done[0], len(paths))

        results = _run(c, _threads_partition, partitions, tick, str(out_dir.absolute()), options)
    for r in results:
        result.pages += r["pages"]
        result.comments += r["comments"]
        result.empty.extend(r["empty"])
        result.warnings.extend(r["warnings"])
        result.errors.extend(r["errors"])
    result.parts = _finish_parts(out_dir, len(partitions))
    return result


def read_parts(out: str | Path) -> Any:
    """The Parquet parts in ``out`` as one pandas DataFrame, in partition order (tests, notebooks;
    ``pandas.read_parquet(out)`` reads the folder as well)."""
    require_dask()
    import pandas as pd
    import pyarrow.parquet as pq

    parts = sorted((p for p in Path(out).iterdir() if _PART_RE.fullmatch(p.name)), key=lambda p: p.name)
    frames = [pq.read_table(p).to_pandas() for p in parts]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


__all__ = [
    "NEEDS_DASK",
    "PART_NAME",
    "SORT_KEY",
    "DaskFlagResult",
    "DaskThreadsResult",
    "Engine",
    "check_options",
    "connect",
    "flag_dask",
    "read_parts",
    "require_dask",
    "threads_dask",
    "worker_model",
    "write_part",
]

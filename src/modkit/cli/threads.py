"""`modkit threads`: rebuild and show reply trees."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from modkit import threads as threads_api
from modkit.cli.app import app, command, data_stdout, err, out, warn
from modkit.distributed import Engine, check_options
from modkit.errors import ModkitError, UsageError
from modkit.parallel import resolve_jobs
from modkit.safeio import atomic_write, check_writable
from modkit.safetext import visible
from modkit.tables import require_pyarrow
from modkit.threads import render


class ThreadFormat(str, Enum):
    tree = "tree"
    jsonl = "jsonl"
    csv = "csv"
    convokit = "convokit"
    parquet = "parquet"  # last: the choices read tree|jsonl|csv|convokit as before, plus this one


#: Formats written row by row, which --jobs spreads over worker processes.
_ROWS = (ThreadFormat.jsonl, ThreadFormat.csv, ThreadFormat.parquet)

@command(app, "threads")
def threads_cmd(
    sources: Annotated[list[str], typer.Argument(
        metavar="SOURCE",
        help="Page files (.txt scraped pages, .csv/.jsonl exports with id/parent_id, comment-system exports: "
             "Disqus/WordPress .xml, Coral/Reddit/Hacker News/Discourse .json/.jsonl), folders, "
             "or unique prefixes such as seeds/004.")],
    fmt: Annotated[ThreadFormat, typer.Option(
        "--format", "-f",
        help="tree: reply tree per page with a summary line; jsonl/csv: one comment per row; "
             "convokit: a ConvoKit corpus folder (needs --out); parquet: the jsonl/csv rows, typed, in a "
             "Parquet file (needs --out and pyarrow: pip install 'modkit[scale]').")] = ThreadFormat.tree,
    out_path: Annotated[Path | None, typer.Option(
        "--out", "-o",
        help="Write jsonl/csv to this file instead of stdout; the parquet file; for convokit, the corpus folder to write.")] = None,
    keep_type: Annotated[list[str] | None, typer.Option(
        "--keep-type", metavar="TYPE",
        help="WordPress exports: also read comments of this comment_type (pingback, trackback, note...; "
             "repeat), which are skipped as not reader comments.")] = None,
    jobs: Annotated[int, typer.Option(
        "--jobs", "-j", min=0,
        help="jsonl/csv/parquet: worker processes reading the files (whole files each, results in file "
             "order, the same rows as --jobs 1); 0 = one per core. tree and convokit read in one process.")] = 0,
    engine: Annotated[Engine, typer.Option(
        "--engine", help="local: this machine's processes (--jobs); dask: a Dask cluster writing Parquet parts "
                         "to the folder --out DIR (needs --format parquet; pip install 'modkit[scale]').")] = Engine.local,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="With --engine dask: a running Dask scheduler (tcp://host:8786); default: a "
                            "LocalCluster of --jobs processes (0: one per core).")] = None,
) -> None:
    """Rebuild the reply tree of every comment section: who replied to whom, depth, author, time, text.

    Problems on a page (count mismatch, undecodable bytes, a truncated page...) are warnings on
    stderr. A file that cannot be read gets one error line; the other files still go through
    and the command exits 1 at the end.
    """
    check_options(engine, out_path, scheduler)
    if engine is Engine.dask:
        return _threads_dask(sources, fmt, out_path, scheduler, keep_type, jobs)
    if fmt is ThreadFormat.convokit and out_path is None:
        raise ModkitError("--format convokit writes a corpus folder: give it with --out PATH")
    if fmt is ThreadFormat.parquet:
        require_pyarrow("--format parquet")
        if out_path is None:
            raise ModkitError("--format parquet writes a binary file: give it with --out FILE")
    if out_path is not None and fmt is not ThreadFormat.tree:
        check_writable(out_path, folder_ok=fmt is ThreadFormat.convokit)  # before reading every page
    errors: list[ModkitError] = []
    options = {"keep_types": tuple(keep_type)} if keep_type else None
    if fmt in _ROWS and resolve_jobs(jobs) > 1:
        # workers read whole files and render their rows; they are written here, in file order
        parts = render.render_parts(sources, fmt.value, jobs=jobs, options=options)
        _wrote(_write_parts(_reporting_parts(parts, errors), fmt, out_path), out_path)
    else:
        _one_process(sources, fmt, out_path, options, errors)
    if errors:
        err.print(f"{len(errors)} file(s) could not be read", highlight=False)
        raise typer.Exit(1)


def _one_process(sources: list[str], fmt: ThreadFormat, out_path: Path | None,
                 options: dict[str, object] | None, errors: list[ModkitError]) -> None:
    """Read the files here, one at a time, and write each page as it comes."""
    tree = fmt is ThreadFormat.tree
    # The tree view says "no comment section" on stdout with the page; row formats on stderr.
    pages = _reporting(threads_api.iter_threads(sources, errors=errors, options=options), errors, note_empty=not tree)
    if tree:
        for t in pages:
            if t.comments:
                # indentation stops where about 60 columns are left for the label (4 per level)
                out.print(render.tree(t, max_indent=max(2, (out.width - 60) // 4)), crop=False)
            else:
                out.print(render.summary_line(t), highlight=False, markup=False)
    elif fmt is ThreadFormat.convokit:
        assert out_path is not None
        try:
            n = render.write_convokit(pages, out_path)
        except OSError as exc:
            raise ModkitError(f"{out_path}: cannot write the corpus folder: {exc.strerror or exc}") from None
        err.print(f"wrote a ConvoKit corpus of {n} utterances to {out_path}/", highlight=False, markup=False)
    elif fmt is ThreadFormat.parquet:
        assert out_path is not None
        _wrote(render.write_parquet(pages, out_path), out_path)  # temporary file, fsync, rename
    else:
        writer = render.write_jsonl if fmt is ThreadFormat.jsonl else render.write_csv
        if out_path is None:
            n = writer(pages, data_stdout())
        else:
            with atomic_write(out_path, newline="") as fh:  # fsync + rename: never half-written
                n = writer(pages, fh)
        _wrote(n, out_path)


def _wrote(n: int, out_path: Path | None) -> None:
    if out_path is not None:
        err.print(f"wrote {n} comments to {out_path}", highlight=False, markup=False)


def _reporting(
    pages: Iterable[threads_api.Thread], errors: list[ModkitError], note_empty: bool = True
) -> Iterator[threads_api.Thread]:
    """Pass pages through, telling stderr about each page's problems and each unreadable file
    as it comes (so messages stay next to the page they concern)."""
    shown = 0
    for t in pages:
        shown = _errors_since(errors, shown)
        _report_page(t.source, t.problems, note_empty)
        yield t
    _errors_since(errors, shown)


def _report_page(source: str, problems: Iterable[threads_api.Problem], note_empty: bool = True) -> None:
    for p in problems:
        if p.kind == "no_comment_section":
            if note_empty:
                err.print(f"{visible(source)}: no comment section", highlight=False, markup=False)
        else:
            warn(p.message)


def _reporting_parts(parts: Iterable[render.RenderedPart], errors: list[ModkitError]) -> Iterator[render.RenderedPart]:
    """:func:`_reporting` for rows rendered by workers: each part's messages, in file order,
    before its rows are written (the same lines, in the same order, as with --jobs 1)."""
    for part in parts:
        for event in part.events:
            if isinstance(event, str):
                errors.append(ModkitError(event))
                _errors_since(errors, len(errors) - 1)
            else:
                _report_page(event.source, event.problems)
        yield part


def _write_parts(parts: Iterable[render.RenderedPart], fmt: ThreadFormat, out_path: Path | None) -> int:
    """Write rendered parts one after the other: to stdout or through a temporary file renamed
    over ``out_path`` (a Parquet file in row groups); the number of rows."""
    n = 0
    if fmt is ThreadFormat.parquet:
        assert out_path is not None
        from modkit import tables

        with tables.parquet_sink(out_path, render.comment_schema()) as sink:
            for part in parts:
                sink.write_table(part.data)
        return sink.rows
    with contextlib.ExitStack() as stack:
        fh = data_stdout() if out_path is None else stack.enter_context(atomic_write(out_path, newline=""))
        if fmt is ThreadFormat.csv:
            render.write_csv((), fh)  # the header, as write_csv writes it
        for part in parts:
            fh.write(part.data)
            n += part.rows
    return n


def _threads_dask(sources: list[str], fmt: ThreadFormat, out_path: Path | None, scheduler: str | None,
                  keep_type: list[str] | None, jobs: int) -> None:
    """--engine dask: :func:`modkit.distributed.threads_dask`, then its messages."""
    from modkit.distributed import threads_dask

    if fmt.value != "parquet" or out_path is None:
        raise UsageError("--engine dask writes Parquet parts: give --format parquet --out DIR")
    r = threads_dask(sources, out_path, scheduler=scheduler, n_workers=jobs, keep_types=keep_type)
    for source in r.empty:
        err.print(f"{visible(source)}: no comment section", highlight=False, markup=False)
    for message in r.warnings:
        warn(message)
    _errors_since([ModkitError(m) for m in r.errors], 0)
    err.print(f"wrote {r.comments} comments to {out_path}/ as {len(r.parts)} Parquet parts on {r.workers} Dask "
              "workers", highlight=False, markup=False)
    if r.errors:
        err.print(f"{len(r.errors)} file(s) could not be read", highlight=False)
        raise typer.Exit(1)


def _errors_since(errors: list[ModkitError], shown: int) -> int:
    for exc in errors[shown:]:
        err.print("[red]error:[/] ", end="", markup=True)
        err.out(visible(exc.message), highlight=False)
    return len(errors)

"""`modkit threads`: rebuild and show reply trees."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from modkit import threads as threads_api
from modkit.cli.app import app, command, data_stdout, err, out, warn
from modkit.errors import ModkitError
from modkit.safeio import atomic_write, check_writable
from modkit.safetext import visible
from modkit.threads import render


class ThreadFormat(str, Enum):
    tree = "tree"
    jsonl = "jsonl"
    csv = "csv"
    convokit = "convokit"


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
             "convokit: a ConvoKit corpus folder (needs --out).")] = ThreadFormat.tree,
    out_path: Annotated[Path | None, typer.Option(
        "--out", "-o",
        help="Write jsonl/csv to this file instead of stdout; for convokit, the corpus folder to write.")] = None,
    keep_type: Annotated[list[str] | None, typer.Option(
        "--keep-type", metavar="TYPE",
        help="WordPress exports: also read comments of this comment_type (pingback, trackback, note...; "
             "repeat), which are skipped as not reader comments.")] = None,
) -> None:
    """Rebuild the reply tree of every comment section: who replied to whom, depth, author, time, text.

    Problems on a page (count mismatch, undecodable bytes, a truncated page...) are warnings on
    stderr. A file that cannot be read gets one error line; the other files still go through
    and the command exits 1 at the end.
    """
    if fmt is ThreadFormat.convokit and out_path is None:
        raise ModkitError("--format convokit writes a corpus folder: give it with --out PATH")
    if out_path is not None and fmt is not ThreadFormat.tree:
        check_writable(out_path, folder_ok=fmt is ThreadFormat.convokit)  # before reading every page
    errors: list[ModkitError] = []
    tree = fmt is ThreadFormat.tree
    # The tree view says "no comment section" on stdout with the page; row formats on stderr.
    options = {"keep_types": tuple(keep_type)} if keep_type else None
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
    else:
        writer = render.write_jsonl if fmt is ThreadFormat.jsonl else render.write_csv
        if out_path is None:
            n = writer(pages, data_stdout())
        else:
            with atomic_write(out_path, newline="") as fh:  # fsync + rename: never half-written
                n = writer(pages, fh)
            err.print(f"wrote {n} comments to {out_path}", highlight=False, markup=False)
    if errors:
        err.print(f"{len(errors)} file(s) could not be read", highlight=False)
        raise typer.Exit(1)


def _reporting(
    pages: Iterable[threads_api.Thread], errors: list[ModkitError], note_empty: bool = True
) -> Iterator[threads_api.Thread]:
    """Pass pages through, telling stderr about each page's problems and each unreadable file
    as it comes (so messages stay next to the page they concern)."""
    shown = 0
    for t in pages:
        shown = _errors_since(errors, shown)
        for p in t.problems:
            if p.kind == "no_comment_section":
                if note_empty:
                    err.print(f"{visible(t.source)}: no comment section", highlight=False, markup=False)
            else:
                warn(p.message)
        yield t
    _errors_since(errors, shown)


def _errors_since(errors: list[ModkitError], shown: int) -> int:
    for exc in errors[shown:]:
        err.print("[red]error:[/] ", end="", markup=True)
        err.out(visible(exc.message), highlight=False)
    return len(errors)

"""`modkit threads`: rebuild and show reply trees."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from modkit import threads as threads_api
from modkit.cli.app import app, command, err, out, warn
from modkit.errors import ModkitError
from modkit.threads import render


class ThreadFormat(str, Enum):
    tree = "tree"
    jsonl = "jsonl"
    csv = "csv"


@command(app, "threads")
def threads_cmd(
    sources: Annotated[list[str], typer.Argument(help="Page files, folders or unique prefixes (seeds/004).")],
    fmt: Annotated[ThreadFormat, typer.Option("--format", "-f", help="tree: reply tree in the terminal; jsonl/csv: one comment per row.")] = ThreadFormat.tree,
    out_path: Annotated[Path | None, typer.Option("--out", "-o", help="Write to this file instead of stdout.")] = None,
) -> None:
    """Rebuild the reply tree of every comment section: who replied to whom, depth, author, time, text."""
    errors: list[ModkitError] = []
    pages = threads_api.iter_threads(sources, errors=errors)
    if fmt is ThreadFormat.tree:
        for t in pages:
            _report(t)
            if t.comments:
                out.print(render.tree(t))
            elif t.has_comment_section:
                out.print(render.summary_line(t))
    else:
        fh = open(out_path, "w", encoding="utf-8", newline="") if out_path else sys.stdout
        try:
            writer = render.write_jsonl if fmt is ThreadFormat.jsonl else render.write_csv
            n = writer(_reporting(pages), fh)
        finally:
            if out_path:
                fh.close()
        if out_path:
            err.print(f"wrote {n} comments to {out_path}")
    for exc in errors:
        err.print(f"[red]error:[/] {exc.message}", markup=True, highlight=False)
    if errors:
        raise typer.Exit(1)


def _reporting(pages):
    for t in pages:
        _report(t)
        yield t


def _report(t: threads_api.Thread) -> None:
    for p in t.problems:
        if p.kind == "no_comment_section":
            err.print(f"{t.source}: no comment section", highlight=False)
        else:
            warn(p.message)

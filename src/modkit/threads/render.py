"""Writers for threads: a rich reply tree for the terminal, JSONL and CSV rows."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import IO

from rich.console import Group
from rich.markup import escape
from rich.text import Text
from rich.tree import Tree

from modkit.threads import COMMENT_FIELDS, to_records
from modkit.threads.model import Thread


def summary_line(t: Thread) -> str:
    """``found/declared, depth, authors`` for one page, in plain words."""
    if not t.has_comment_section:
        return f"{t.doc}: no comment section"
    declared = "?" if t.declared is None else str(t.declared)
    mark = "" if not t.count_mismatch else "  (fewer than declared)" if t.found < (t.declared or 0) else "  (more than declared)"
    return (
        f"{t.doc}: {t.found}/{declared} comments found/declared, "
        f"max depth {max(t.max_depth, 0)}, {len(t.authors)} authors{mark}"
    )


def tree(t: Thread, width: int = 100) -> Tree:
    """The page's reply tree as a rich Tree (each comment: author, time, first line of text)."""
    root = Tree(Text.assemble((t.title or t.doc, "bold"), ("  " + summary_line(t), "dim")))
    nodes: dict[str, Tree] = {}
    for c in t.walk():
        first = c.text.split("\n", 1)[0] if c.text else "(empty)"
        if len(first) > width:
            first = first[: width - 1] + "\u2026"
        label = Text.assemble(
            (f"{c.position}. ", "dim"), (c.author or "(no author)", "cyan"),
            (f"  {c.timestamp or 'no time'}  ", "dim"), (c.id, "magenta"), "\n", first,
        )
        parent = nodes.get(c.parent_id, root)
        nodes[c.id] = parent.add(label)
    return root


def write_jsonl(threads: Iterable[Thread], fh: IO[str]) -> int:
    n = 0
    for rec in to_records(threads):
        fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        n += 1
    return n


def write_csv(threads: Iterable[Thread], fh: IO[str]) -> int:
    writer = csv.DictWriter(fh, fieldnames=list(COMMENT_FIELDS), lineterminator="\n")
    writer.writeheader()
    n = 0
    for rec in to_records(threads):
        writer.writerow(rec)
        n += 1
    return n


__all__ = ["summary_line", "tree", "write_jsonl", "write_csv", "Group", "escape"]

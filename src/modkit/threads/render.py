"""Writers for threads: a rich reply tree for the terminal, JSONL and CSV rows."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from rich.text import Text
from rich.tree import Tree

from modkit.threads import COMMENT_FIELDS, to_records
from modkit.threads.model import Thread


def summary_line(t: Thread) -> str:
    """``found/declared, depth, authors`` for one page, in plain words."""
    if not t.has_comment_section:
        return f"{t.doc}: no comment section"
    if t.declared is None:  # an export declares no count
        counts = f"{t.found} comments"
    else:
        counts = f"{t.found}/{t.declared} comments found/declared"
    mark = "" if not t.count_mismatch else "  (fewer than declared)" if t.found < (t.declared or 0) else "  (more than declared)"
    return f"{t.doc}: {counts}, max depth {max(t.max_depth, 0)}, {len(t.authors)} authors{mark}"


def tree(t: Thread, width: int = 100) -> Tree:
    """The page's reply tree as a rich Tree (each comment: author, time, first line of text)."""
    root = Tree(Text.assemble((summary_line(t), "bold"), "\n", (t.title or "(no title)", "dim")))
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


#: Files of a ConvoKit corpus folder, as ``convokit.Corpus.dump`` writes them.
CONVOKIT_FILES = ("utterances.jsonl", "speakers.json", "conversations.json", "corpus.json", "index.json")
NO_AUTHOR = "(no author)"


def _unix(iso: str) -> int | None:
    # The page gives no zone: the wall-clock time is stored as if it were UTC.
    if not iso:
        return None
    return int(datetime.strptime(iso, "%Y-%m-%dT%H:%M").replace(tzinfo=UTC).timestamp())


def write_convokit(threads: Iterable[Thread], out_dir: str | os.PathLike[str], name: str = "modkit") -> int:
    """Write a ConvoKit corpus folder that ``convokit.Corpus(filename=out_dir)`` loads.

    One utterance per comment (its id is the modkit id; ``reply_to`` the parent's id or null;
    ``timestamp`` Unix seconds of the page's wall-clock time read as UTC), one speaker per author,
    one conversation per top-level comment (ConvoKit's convention: a conversation is a reply tree
    with one root, its id is the root's id). Page facts go in conversation meta (``doc``,
    ``title``, ``source``, ``sha256``) and in utterance meta (``doc``, ``depth``, ``position``,
    ``timestamp_iso``, ``modkit_id``). Ids are modkit's; an export whose ids repeat an id
    of an earlier doc gets ``doc/id`` ids for that doc. Streams: one page in memory at a time. Returns the number of utterances.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    speakers: dict[str, dict] = {}
    conversations: dict[str, dict] = {}
    docs: list[str] = []
    seen: set[str] = set()
    n = 0
    tmp = out / "utterances.jsonl.tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        for t in threads:
            docs.append(t.doc)
            # Page ids are unique corpus-wide (the doc is hashed in); export ids may repeat
            # across docs, and ConvoKit needs unique ids: such a doc's ids become "doc/id".
            clash = any(c.id in seen for c in t.comments)
            uid = (lambda i, d=t.doc: f"{d}/{i}") if clash else (lambda i: i)
            seen.update(uid(c.id) for c in t.comments)
            root: dict[str, str] = {}
            for c in t.comments:
                if not c.parent_id:
                    root[c.id] = c.id
                    conversations[uid(c.id)] = {
                        "meta": {"doc": t.doc, "title": t.title, "source": t.source, "sha256": t.sha256},
                        "vectors": [],
                    }
                elif c.id not in root:
                    top = (t.ancestors(c) or [c])[0]
                    root[c.id] = top.id
            for c in t.comments:
                speaker = c.author or NO_AUTHOR
                speakers.setdefault(speaker, {"meta": {}, "vectors": []})
                rec = {
                    "id": uid(c.id), "conversation_id": uid(root[c.id]), "text": c.text, "speaker": speaker,
                    "meta": {"doc": c.doc, "modkit_id": c.id, "depth": c.depth, "position": c.position,
                             "timestamp_iso": c.timestamp},
                    "reply_to": uid(c.parent_id) if c.parent_id else None, "timestamp": _unix(c.timestamp),
                    "vectors": [],
                }
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
                n += 1
    os.replace(tmp, out / "utterances.jsonl")
    s, i = "<class 'str'>", "<class 'int'>"
    files = {
        "speakers.json": speakers,
        "conversations.json": conversations,
        "corpus.json": {"name": name, "docs": docs},
        "index.json": {
            "utterances-index": {"doc": [s], "modkit_id": [s], "depth": [i], "position": [i], "timestamp_iso": [s]},
            "speakers-index": {},
            "conversations-index": {"doc": [s], "title": [s], "source": [s], "sha256": [s]},
            "overall-index": {"name": [s], "docs": ["<class 'list'>"]},
            "version": 1,
            "vectors": [],
        },
    }
    for fname, data in files.items():
        with open(out / fname, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False)
    return n


__all__ = ["CONVOKIT_FILES", "summary_line", "tree", "write_convokit", "write_csv", "write_jsonl"]

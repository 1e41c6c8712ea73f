"""Hacker News items as the official API gives them (``/v0/item/{id}.json``): one JSON object
per line, a JSON array of them, or a single item.

A story and a comment::

    {"id": 8863, "type": "story", "by": "dhouston", "time": 1175714200, "title": "My YC app", "kids": [9224]}
    {"id": 9224, "type": "comment", "by": "ann", "parent": 8863, "time": 1175727286,
     "text": "Nice.<p>See <a href=\"https:&#x2F;&#x2F;example.com\">https:&#x2F;&#x2F;example.com</a>"}

How it maps: a story (or a job, a poll) is the thread: its ``doc`` is the story's id, its title
the ``title``, its ``text`` (Ask HN) the article. Every comment belongs to the story its chain of
``parent`` links leads to. A comment's id is ``id``, its parent ``parent`` (the story itself makes
it top-level), its author ``by``, its time ``time`` (Unix seconds), its text ``text`` (HTML) as
text. Status: ``deleted`` deleted, ``dead`` (killed by moderators or flags) rejected, else
approved. Poll options are not comments: left out.

A comment whose chain ends at an item the file does not hold is read under that item's id
(its top comment an ``orphan``); reply links that loop are broken (``cycle``). Comments usually
come after their parent (item ids grow with time); which story each is under is kept in a
:class:`~modkit.threads.formats._common.Index` and the comments grouped by story in a
:class:`~modkit.threads.formats._common.Spool`, both on disk past a few ten thousand
comments: memory stays flat in the file's size.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from modkit.threads.formats._common import (
    Index, Row, Spool, bad_time, build_thread, cell, file_sha256, has_key, is_json_lines, json_head, json_records,
    no_id, timestamp, where_json,
)
from modkit.threads.formats.html import html_to_text
from modkit.threads.model import Problem, Thread

NAME = "hackernews"
DESCRIPTION = "Hacker News API items (JSON objects or lines with id, type, by, time, text, parent)"
TYPES = ("story", "comment", "job", "poll", "pollopt")
_STORIES = ("story", "job", "poll")
_TYPE = re.compile(r'"type"\s*:\s*"(?:story|comment|job|poll|pollopt)"')


def sniff(head: bytes) -> bool:
    first, text = json_head(head)
    if first is not None:
        return first.get("type") in TYPES and any(k in first for k in ("by", "time", "kids", "parent"))
    return bool(_TYPE.search(text)) and has_key(text, "by", "time", "kids")


def read_hackernews(path: str | Path) -> Iterator[Thread]:
    """The threads of a file of Hacker News items, one story at a time (see the module doc)."""
    path = Path(path)
    sha = file_sha256(path)
    spool = Spool()
    root = Index()  # item id -> the story it is under
    stories: dict[str, tuple[str, str]] = {}
    problems: dict[str, list[Problem]] = {}
    decode: list[Problem] = []
    late: dict[str, tuple[str, Row]] = {}  # comments met before their parent: id -> (parent, row)
    lines = is_json_lines(path)
    where = where_json(path, lines)
    try:
        for line, rec in json_records(path, decode, lines):
            kind = cell(rec.get("type"))
            iid = cell(rec.get("id"))
            if not iid:
                raise no_id(path, lines, line, "item")
            if kind in _STORIES or (not kind and "title" in rec):
                stories.setdefault(iid, (str(rec.get("title") or ""), html_to_text(str(rec.get("text") or ""))))
                root[iid] = iid
                continue
            if kind == "pollopt":
                continue
            parent = cell(rec.get("parent"))
            raw = rec.get("time")
            when = timestamp(raw)
            if when is None:
                problems.setdefault(iid, []).append(bad_time(where(line), raw, iid, line if lines else 0))
                when = ""
            status = "deleted" if rec.get("deleted") else "rejected" if rec.get("dead") else "approved"
            row = (line, iid, parent, cell(rec.get("by")), when, html_to_text(str(rec.get("text") or "")), status, "")
            top = root.get(parent) if parent else ""
            if top is None:
                late[iid] = (parent, row)
                continue
            root[iid] = top
            spool.add(top, row)
        for iid, top in _settle(late, root).items():
            root[iid] = top
            spool.add(top, late[iid][1])
        for i, (sid, rows) in enumerate(spool.groups()):
            doc = sid or path.stem
            extra = (decode if i == 0 else []) + ([p for r in rows for p in problems.get(r[1], ())] if problems else [])
            if not sid:
                extra.append(Problem("orphan", f"{where(rows[0][0])}: {len(rows)} comment(s) without a parent; "
                                     f"read under doc {doc!r}", rows[0][0] if lines else 0))
            if sid in stories:  # replies to the story itself are its top-level comments
                rows = [r if r[2] != sid else (*r[:2], "", *r[3:]) for r in rows]
            title, article = stories.get(sid, ("", ""))
            yield build_thread(doc, rows, path=path, sha=sha, fmt=NAME, title=title, article=article, problems=extra,
                               where=where, lines=lines)
    finally:
        spool.close()
        root.close()


def _settle(late: dict[str, tuple[str, Row]], root: Index) -> dict[str, str]:
    """The story of each comment met before its parent: follow its parents to one whose story
    is known, else to the first item missing from the file (its id names the thread), else
    (a loop) to the loop's first comment met."""
    found: dict[str, str] = {}
    for iid in late:
        walk: list[str] = []
        on_walk: set[str] = set()
        cur = iid
        while True:
            if cur in found:
                top = found[cur]
                break
            if cur not in late:
                top = (root.get(cur) or cur) if cur else ""
                break
            if cur in on_walk:
                top = cur
                break
            walk.append(cur)
            on_walk.add(cur)
            cur = late[cur][0]
        for x in walk:
            found[x] = top
    return found

"""Reddit comment dumps: NDJSON, one comment per line, as the public archives ship them
(Pushshift-style ``RC_*`` files, once decompressed; a JSON array is read too).

A comment (the dumps carry many more fields, ignored)::

    {"id": "c2", "parent_id": "t1_c1", "link_id": "t3_abc", "author": "ann", "created_utc": "1425124482",
     "body": "I &gt; you, see [the wiki](https://en.wikipedia.org/)", "subreddit": "news"}

How it maps: the submission (``link_id``, ``t3_...``) is the thread: its ``doc`` is the
``link_id`` as given. A comment's id is ``id`` (without the ``t1_`` prefix), its parent the
``parent_id``'s comment (``t1_x`` is comment ``x``; ``t3_...``, the submission itself, makes it
top-level), its author ``author``, its time ``created_utc`` (Unix seconds, a number or a
string), its text ``body`` (Markdown: entities decoded, ``[text](url)`` as ``text (url)``).
Status: a body of ``[removed]`` (taken down by a moderator or Reddit) is rejected, ``[deleted]``
(by its author) deleted, anything else unknown (""): the dumps say nothing of approval.
Submission records in the same file (``title``, no ``parent_id``) give their thread's title and
``selftext`` as its article (a file of submissions alone gives no thread). Comments are grouped by submission through
:class:`~modkit.threads.formats._common.Spool`: memory stays flat in the file's size.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from modkit.threads.formats._common import (
    Spool, bad_time, build_thread, cell, file_sha256, has_key, is_json_lines, json_head, json_records, no_id,
    timestamp, where_json,
)
from modkit.threads.formats.html import markdown_to_text
from modkit.threads.model import Problem, Thread

NAME = "reddit"
DESCRIPTION = "Reddit comment dump (NDJSON with id, parent_id t1_/t3_, link_id, body, created_utc)"
_PREFIXED = re.compile(r'"(?:parent_id|link_id)"\s*:\s*"t[13]_')


def sniff(head: bytes) -> bool:
    first, text = json_head(head)
    if first is not None:
        pid, lid = cell(first.get("parent_id")), cell(first.get("link_id"))
        return pid.startswith(("t1_", "t3_")) or lid.startswith("t3_") or (
            "subreddit" in first and ("body" in first or "title" in first))
    return bool(_PREFIXED.search(text)) or (has_key(text, "subreddit") and has_key(text, "body", "selftext"))


def _bare(value: str, prefix: str) -> str:
    return value[len(prefix):] if value.startswith(prefix) else value


def _is_submission(rec: dict[str, Any]) -> bool:
    return "title" in rec and "parent_id" not in rec and "body" not in rec


def read_reddit(path: str | Path) -> Iterator[Thread]:
    """The threads of a Reddit comment dump, one submission at a time (see the module doc)."""
    path = Path(path)
    sha = file_sha256(path)
    spool = Spool()
    titles: dict[str, tuple[str, str]] = {}
    problems: dict[str, list[Problem]] = {}
    decode: list[Problem] = []
    lines = is_json_lines(path)
    where = where_json(path, lines)
    try:
        for line, rec in json_records(path, decode, lines):
            if _is_submission(rec):
                key = "t3_" + _bare(cell(rec.get("id")) or _bare(cell(rec.get("name")), "t3_"), "t3_")
                titles.setdefault(key, (str(rec.get("title") or ""), markdown_to_text(str(rec.get("selftext") or ""))))
                continue
            cid = _bare(cell(rec.get("id")) or cell(rec.get("name")), "t1_")
            if not cid:
                raise no_id(path, lines, line, "comment")
            parent = cell(rec.get("parent_id"))
            link = cell(rec.get("link_id")) or (parent if parent.startswith("t3_") else "")
            raw = rec.get("created_utc", rec.get("created"))
            when = timestamp(raw)
            if when is None:
                problems.setdefault(link, []).append(bad_time(where(line), raw, cid, line if lines else 0))
                when = ""
            body = str(rec.get("body") or "")
            status = "rejected" if body == "[removed]" else "deleted" if body == "[deleted]" else ""
            spool.add(link, (line, cid, "" if parent.startswith("t3_") else _bare(parent, "t1_"),
                             cell(rec.get("author")), when, markdown_to_text(body), status, ""))
        for i, (link, rows) in enumerate(spool.groups()):
            doc = link or path.stem
            extra = (decode if i == 0 else []) + problems.get(link, [])
            if not link:
                extra.append(Problem("orphan", f"{where(rows[0][0])}: {len(rows)} comment(s) without a link_id; "
                                     f"read under doc {doc!r}", rows[0][0] if lines else 0))
            title, article = titles.get(link, ("", ""))
            yield build_thread(doc, rows, path=path, sha=sha, fmt=NAME, title=title, article=article, problems=extra,
                               where=where, lines=lines)
    finally:
        spool.close()

"""Coral Talk tenant dump: the ``comments`` and ``stories`` collections as JSON lines
(``mongoexport`` writes one document per line; a JSON array is read too).

A comment and a story look like this (``createdAt`` may also be ``{"$date": ...}``)::

    {"id": "c2", "parentID": "c1", "storyID": "s1", "authorID": "u7", "createdAt": "2021-03-04T10:11:12.000Z",
     "status": "REJECTED", "rejectionReason": {"code": "ABUSIVE"},
     "revisions": [{"id": "r1", "body": "<p>first draft</p>"}, {"id": "r2", "body": "<p>edited</p>"}]}
    {"id": "s1", "url": "https://news.example/story", "metadata": {"title": "The story"}}

How it maps: each story with comments is one :class:`~modkit.threads.model.Thread`: ``doc`` the
``storyID``, title ``metadata.title``. A comment's id is ``id``, its parent ``parentID`` (null:
top-level), its author ``authorID`` (the dump names users by id; their names and e-mail
addresses are in another collection, never read), its time ``createdAt`` (UTC), its text the
last revision's ``body`` as text. Status: ``APPROVED`` (and ``NONE``, published without a
moderator's decision) approved, ``PREMOD`` and ``SYSTEM_WITHHELD`` pending, ``REJECTED``
rejected, a ``deletedAt`` deleted; ``status_reason`` is ``rejectionReason.code`` when the dump
has one (``ABUSIVE``, ``SPAM``, ``OFFENSIVE``, ``HATE_SPEECH``...). Talk 4's field names
(``asset_id``, ``parent_id``, ``author_id``, ``body``, ``created_at``, ``ACCEPTED``) are read too.

Give the two files as one SOURCE, their folder: the comments file finds the stories file beside
it (a JSON file whose name holds ``stories``); read alone, comments have no titles. The stories
file on its own gives no thread. Comments are grouped by story through
:class:`~modkit.threads.formats._common.Spool`: memory stays flat in the file's size.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from modkit.errors import ParseError
from modkit.threads.formats._common import (
    Spool, bad_time, build_thread, cell, file_sha256, has_key, is_json_lines, json_head, json_records, no_id,
    timestamp, where_json,
)
from modkit.threads.formats.html import html_to_text
from modkit.threads.model import Problem, Thread

NAME = "coral"
DESCRIPTION = "Coral Talk dump (JSON lines of comments with storyID, revisions; stories with url, metadata)"
#: Coral's comment status -> modkit's.
STATUS = {"APPROVED": "approved", "ACCEPTED": "approved", "NONE": "approved", "PREMOD": "pending",
          "SYSTEM_WITHHELD": "pending", "REJECTED": "rejected"}
_COMMENT_KEYS = ("storyID", "asset_id", "revisions")
_JSON = (".json", ".jsonl", ".ndjson")


def sniff(head: bytes) -> bool:
    first, text = json_head(head)
    if first is not None:
        return any(k in first for k in _COMMENT_KEYS) or ("tenantID" in first and "url" in first)
    return has_key(text, "storyID") or (has_key(text, "tenantID") and has_key(text, "url"))


def _is_comment(rec: dict[str, Any]) -> bool:
    return any(k in rec for k in _COMMENT_KEYS) or "body" in rec


def _story(rec: dict[str, Any]) -> tuple[str, str, str]:
    meta = rec.get("metadata") if isinstance(rec.get("metadata"), dict) else {}
    return cell(rec.get("id")), str(meta.get("title") or rec.get("title") or ""), str(meta.get("description") or "")


def _stories_beside(path: Path) -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    try:
        siblings = sorted(p for p in path.parent.iterdir()
                          if p != path and p.suffix.lower() in _JSON and "stories" in p.name.lower() and p.is_file())
    except OSError:
        return found
    for p in siblings:
        try:
            for _, rec in json_records(p, []):
                if not _is_comment(rec):
                    sid, title, about = _story(rec)
                    if sid:
                        found.setdefault(sid, (title, about))
        except ParseError:
            continue  # reported when that file is read itself
    return found


def _comments_beside(path: Path) -> bool:
    try:
        return any(p != path and p.suffix.lower() in _JSON and "stories" not in p.name.lower() and p.is_file()
                   and _sniff_file(p) for p in path.parent.iterdir())
    except OSError:
        return False


def _sniff_file(p: Path) -> bool:
    with open(p, "rb") as fh:
        first, text = json_head(fh.read(1 << 16))
    return (first is not None and any(k in first for k in _COMMENT_KEYS)) or has_key(text, "storyID")


def _body(rec: dict[str, Any]) -> str:
    revisions = rec.get("revisions")
    if isinstance(revisions, list) and revisions and isinstance(revisions[-1], dict):
        return str(revisions[-1].get("body") or "")
    return str(rec.get("body") or "")


def _reason(rec: dict[str, Any]) -> str:
    why = rec.get("rejectionReason")
    if isinstance(why, dict):
        why = why.get("code")
    return cell(why).upper()


def read_coral(path: str | Path) -> Iterator[Thread]:
    """The threads of a Coral comments dump, one story at a time (see the module doc)."""
    path = Path(path)
    sha = file_sha256(path)
    spool = Spool()
    stories: dict[str, tuple[str, str]] = {}
    problems: dict[str, list[Problem]] = {}
    decode: list[Problem] = []
    first_line: dict[str, int] = {}
    lines = is_json_lines(path)
    where = where_json(path, lines)
    try:
        for line, rec in json_records(path, decode, lines):
            if not _is_comment(rec):
                sid, title, about = _story(rec)
                if sid:
                    stories.setdefault(sid, (title, about))
                continue
            oid = rec.get("_id")
            cid = cell(rec.get("id") or (oid.get("$oid") if isinstance(oid, dict) else oid))
            if not cid:
                raise no_id(path, lines, line, "comment")
            story = cell(rec.get("storyID") or rec.get("asset_id"))
            raw = rec.get("createdAt", rec.get("created_at"))
            when = timestamp(raw)
            if when is None:
                problems.setdefault(story, []).append(bad_time(where(line), raw, cid, line if lines else 0))
                when = ""
            status = "deleted" if rec.get("deletedAt") else STATUS.get(cell(rec.get("status")).upper(), "")
            first_line.setdefault(story, line)
            spool.add(story, (line, cid, cell(rec.get("parentID") or rec.get("parent_id")),
                              cell(rec.get("authorID") or rec.get("author_id")), when, html_to_text(_body(rec)),
                              status, _reason(rec)))
        if not len(spool):
            if stories and _comments_beside(path):
                return  # the stories half of a dump: read with its comments file
            if stories:
                raise ParseError(path, None, "holds Coral stories but no comments: give the comments file, "
                                 "or the folder holding both")
        if len(spool):
            for sid, about in _stories_beside(path).items():
                stories.setdefault(sid, about)
        for i, (sid, rows) in enumerate(spool.groups()):
            doc = sid or path.stem
            extra = (decode if i == 0 else []) + problems.get(sid, [])
            if not sid:
                extra.append(Problem("orphan", f"{where(first_line[sid])}: {len(rows)} comment(s) without a storyID; "
                                     f"read under doc {doc!r}", first_line[sid] if lines else 0))
            title, about = stories.get(sid, ("", ""))
            yield build_thread(doc, rows, path=path, sha=sha, fmt=NAME, title=title,
                               article=html_to_text(about), problems=extra, where=where, lines=lines)
    finally:
        spool.close()

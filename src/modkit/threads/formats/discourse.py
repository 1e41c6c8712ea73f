"""Discourse topics as the JSON API gives them (``/t/{id}.json``, one topic per file).

A topic (trimmed; Discourse sends many more fields, ignored)::

    {"id": 42, "title": "Comments on: the story", "posts_count": 3,
     "post_stream": {"stream": [101, 102, 103], "posts": [
       {"id": 101, "post_number": 1, "username": "newsroom", "created_at": "2024-05-01T08:00:00.000Z", "cooked": "<p>The story</p>"},
       {"id": 102, "post_number": 2, "reply_to_post_number": null, "username": "ann", "cooked": "<p>Hi</p>", ...},
       {"id": 103, "post_number": 3, "reply_to_post_number": 2, "username": "bob", "hidden": true, ...}]}}

How it maps: the topic is the :class:`~modkit.threads.model.Thread`: ``doc`` the topic's ``id``,
title its ``title``, article its first post (``post_number`` 1: the story the comments are
on, as a site that embeds Discourse comments creates it). Every other post is a comment: id its
``id``, parent the post whose ``post_number`` is its ``reply_to_post_number`` (a *number* within
the topic, mapped to that post's id; none, or the first post, makes it top-level), author
``username``, time ``created_at`` (UTC), text the ``cooked`` HTML as text. Status: a
``deleted_at`` (or ``user_deleted``) deleted, ``hidden`` (by flags or a moderator) rejected,
else approved. Small-action posts ("closed the topic") are not comments: skipped.

A reply to a post number the file does not hold is read as top-level (``orphan``, its parent
shown as ``#<number>``). Discourse sends the first 20 posts of a topic with it and only the ids
of the others (``post_stream.stream``): a ``truncated`` problem says how many are missing. A
post without an ``id`` makes the file unreadable (one error naming the post).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from modkit.errors import ParseError
from modkit.threads.formats._common import (
    bad_time, build_thread, cell, file_sha256, has_key, json_head, load_json, timestamp,
)
from modkit.threads.formats.html import html_to_text
from modkit.threads.model import Problem, Thread

NAME = "discourse"
DESCRIPTION = "Discourse topic JSON (/t/{id}.json with post_stream.posts)"
#: Discourse post types: 1 regular, 2 moderator action, 3 small action, 4 whisper.
SMALL_ACTION = 3
#: ``hidden_reason_id`` -> code, for ``status_reason``.
HIDDEN_REASONS = {1: "FLAG_THRESHOLD_REACHED", 2: "FLAG_THRESHOLD_REACHED_AGAIN", 3: "NEW_USER_SPAM_THRESHOLD_REACHED",
                  4: "FLAGGED_BY_TL3_USER", 5: "EMAIL_SPAM_HEADER_FOUND", 6: "FLAGGED_BY_TL4_USER",
                  7: "EMAIL_AUTHENTICATION_RESULT_HEADER", 8: "IMPORTED_AS_UNLISTED"}


def sniff(head: bytes) -> bool:
    return has_key(json_head(head)[1], "post_stream")


def read_discourse(path: str | Path) -> Iterator[Thread]:
    """The one thread of a Discourse topic JSON file (see the module doc)."""
    path = Path(path)
    data = load_json(path)
    stream = data.get("post_stream") if isinstance(data, dict) else None
    posts = stream.get("posts") if isinstance(stream, dict) else None
    if not isinstance(posts, list):
        raise ParseError(path, None, "not a Discourse topic: expected an object with post_stream.posts, a list of posts")

    def at(n: int) -> str:
        return f"{path}: post_stream.posts[{n - 1}]"

    number: dict[int, str] = {}
    for i, p in enumerate(posts):
        if not isinstance(p, dict):
            raise ParseError(path, None, f"post_stream.posts[{i}]: expected a JSON object")
        pid = cell(p.get("id"))
        if not pid:
            raise ParseError(path, None, f"post_stream.posts[{i}] (post number {p.get('post_number', '?')}): "
                             "no id: every post needs an id")
        if isinstance(p.get("post_number"), int):
            number.setdefault(p["post_number"], pid)
    problems: list[Problem] = []
    rows = []
    article = ""
    small = 0
    for i, p in enumerate(posts, start=1):
        pid = cell(p.get("id"))
        if p.get("post_number") == 1:
            article = html_to_text(str(p.get("cooked") or ""))
            continue
        if p.get("post_type") == SMALL_ACTION:
            small += 1
            continue
        to = p.get("reply_to_post_number")
        parent = "" if to in (None, "", 1) else number.get(to, f"#{to}") if isinstance(to, int) else f"#{to}"
        raw = p.get("created_at")
        when = timestamp(raw)
        if when is None:
            problems.append(bad_time(at(i), raw, pid, 0))
            when = ""
        if p.get("deleted_at") or p.get("user_deleted"):
            status, reason = "deleted", ""
        elif p.get("hidden"):
            status, reason = "rejected", HIDDEN_REASONS.get(p.get("hidden_reason_id"), "") if isinstance(
                p.get("hidden_reason_id"), int) else ""
        else:
            status, reason = "approved", ""
        rows.append((i, pid, parent, cell(p.get("username") or p.get("name")), when,
                     html_to_text(str(p.get("cooked") or "")), status, reason))
    ids = stream.get("stream")
    if isinstance(ids, list) and len(ids) > len(posts):
        problems.append(Problem("truncated", f"{path}: the topic has {len(ids)} posts, the file holds {len(posts)}: "
                                "Discourse sends the others as ids only (post_stream.stream); fetch them with "
                                "/t/{id}/posts.json?post_ids[]=...", 0))
    if small:
        problems.append(Problem("skipped", f"{path}: skipped {small} small-action post(s) (topic closed, pinned...): "
                                "not comments", 0))
    doc = cell(data.get("id")) or path.stem
    title = str(data.get("title") or data.get("fancy_title") or "")
    thread = build_thread(doc, rows, path=path, sha=file_sha256(path), fmt=NAME, title=title, article=article,
                          problems=problems, where=at, lines=False)
    yield thread

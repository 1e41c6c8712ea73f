"""Disqus XML export (Admin > Moderation > Export): every thread of a forum and every post.

The layout (namespace ``http://disqus.com``, ids in ``dsq:id`` attributes)::

    <disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">
      <thread dsq:id="2231495813"><id/><link>https://site/a</link><title>A</title>...</thread>
      <post dsq:id="11"><message><![CDATA[<p>Hi</p>]]></message><createdAt>2013-05-28T11:22:00Z</createdAt>
        <isDeleted>false</isDeleted><isSpam>false</isSpam>
        <author><email>...</email><name>Ann</name><username>ann</username></author>
        <ipAddress>...</ipAddress><thread dsq:id="2231495813"/><parent dsq:id="10"/></post>
    </disqus>

How it maps: each ``<thread>`` with posts is one :class:`~modkit.threads.model.Thread`; its
``doc`` is the thread's ``dsq:id`` and its title the ``<title>``. A post's id is its ``dsq:id``,
its parent the ``<parent dsq:id>`` (none: top-level), its author ``author/username`` (else
``author/name``), its time ``createdAt`` (UTC), its text the ``<message>`` HTML as text. Status:
``isSpam`` true is ``spam``, ``isDeleted`` true ``deleted``, ``isApproved`` false (when present)
``pending``, else ``approved``. ``email`` and ``ipAddress`` are never read.

Threads may have an empty ``<id>`` (the site's own identifier): the ``dsq:id`` is used. A post
that names a thread the export does not hold is read under that thread's id (an ``orphan``
problem says so), one that names no thread under the file's name; a post whose parent is not
in its thread is read as top-level (``orphan``), reply links that loop are broken (``cycle``).
A post without a ``dsq:id`` makes the file unreadable (one error naming the line).

The file is streamed (defusedxml, elements dropped once read) and the posts grouped by thread
through :class:`~modkit.threads.formats._common.Spool`: memory stays flat in the file's size.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from modkit.errors import ParseError
from modkit.threads.formats._common import (
    Spool, attr, bad_time, build_thread, child, child_text, children, file_sha256, iter_xml, text_of, timestamp,
    xml_root,
)
from modkit.threads.formats.html import html_to_text
from modkit.threads.model import Problem, Thread

NAME = "disqus"
DESCRIPTION = "Disqus XML export (<disqus> root, <thread> and <post> elements)"


def sniff(head: bytes) -> bool:
    return xml_root(head)[0] == "disqus"


def _true(value: str) -> bool:
    return value.strip().lower() in ("true", "1")


def read_disqus(path: str | Path) -> Iterator[Thread]:
    """The threads of a Disqus XML export, one at a time (see the module doc)."""
    path = Path(path)
    sha = file_sha256(path)
    spool = Spool()
    meta: dict[str, tuple[str, str]] = {}  # thread dsq:id -> (title, article)
    first_line: dict[str, int] = {}
    try:
        problems: dict[str, list[Problem]] = {}  # per thread
        for el, line, _ in iter_xml(path, 1, "disqus"):
            name = el.tag.rpartition("}")[2]
            if name == "thread":
                tid = attr(el, "id") or child_text(el, "id") or child_text(el, "link")
                if tid and tid not in meta:
                    message = child(el, "message")
                    meta[tid] = (child_text(el, "title"), html_to_text(message.text if message is not None else ""))
            elif name == "post":
                pid = attr(el, "id")
                if not pid:
                    raise ParseError(path, line, "<post> without a dsq:id: every comment needs an id")
                kids = children(el)
                ref, par, who = kids.get("thread"), kids.get("parent"), kids.get("author")
                tid = attr(ref, "id") if ref is not None else ""
                parent = attr(par, "id") if par is not None else ""
                author = (child_text(who, "username") or child_text(who, "name")) if who is not None else ""
                raw = text_of(kids.get("createdAt"))
                when = timestamp(raw)
                if when is None:
                    problems.setdefault(tid, []).append(bad_time(f"{path}:{line}", raw, pid, line))
                    when = ""
                message = kids.get("message")
                text = html_to_text(message.text if message is not None else "")
                if _true(text_of(kids.get("isSpam"))):
                    status = "spam"
                elif _true(text_of(kids.get("isDeleted"))):
                    status = "deleted"
                elif text_of(kids.get("isApproved")).lower() == "false":
                    status = "pending"
                else:
                    status = "approved"
                first_line.setdefault(tid, line)
                spool.add(tid, (line, pid, parent, author, when, text, status, ""))
        for tid, rows in spool.groups():
            doc = tid or path.stem
            extra = problems.get(tid, [])
            if not tid:
                extra.append(Problem("orphan", f"{path}:{first_line[tid]}: {len(rows)} post(s) name no thread; "
                                     f"read under doc {doc!r}", first_line[tid]))
            elif tid not in meta:
                extra.append(Problem("orphan", f"{path}:{first_line[tid]}: {len(rows)} post(s) belong to thread "
                                     f"{tid!r}, which is not in the export; read without a title", first_line[tid]))
            title, article = meta.get(tid, ("", ""))
            yield build_thread(doc, rows, path=path, sha=sha, fmt=NAME, title=title, article=article, problems=extra)
    finally:
        spool.close()

"""WordPress eXtended RSS (WXR 1.0 to 1.2: Tools > Export): posts and pages with their comments.

The layout (RSS 2.0 with the ``wp:`` namespace ``http://wordpress.org/export/1.2/``)::

    <rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/" ...><channel>
      <item><title>Hello</title><link>https://site/hello/</link><wp:post_id>1</wp:post_id>
        <content:encoded><![CDATA[<p>The article</p>]]></content:encoded>
        <wp:comment><wp:comment_id>7</wp:comment_id><wp:comment_parent>0</wp:comment_parent>
          <wp:comment_author>Ann</wp:comment_author><wp:comment_date_gmt>2024-01-01 10:00:00</wp:comment_date_gmt>
          <wp:comment_content>Hi</wp:comment_content><wp:comment_approved>1</wp:comment_approved>
          <wp:comment_type>comment</wp:comment_type></wp:comment>
      </item></channel></rss>

How it maps: each ``<item>`` with comments is one :class:`~modkit.threads.model.Thread`:
``doc`` its ``wp:post_id``, title its ``<title>``, article its ``content:encoded`` as text. A
comment's id is ``comment_id``, its parent ``comment_parent`` (``0``: top-level), its author
``comment_author``, its time ``comment_date_gmt`` (UTC; an old export's ``0000-00-00`` falls back
to ``comment_date``, the site's local time), its text ``comment_content`` (stored as typed, so
line breaks count as WordPress shows them). Status from ``comment_approved``: ``1`` approved,
``0`` pending, ``spam`` spam, ``trash``/``post-trashed`` deleted. The author's e-mail, URL and IP
are never read.

Reader comments have ``comment_type`` ``''`` or ``comment``. Pingbacks, trackbacks and
WordPress 6.9's editorial ``note``s (and other plugin types such as WooCommerce order notes)
are not: skipped, with one ``skipped`` problem per item saying how many; ``keep_types`` (``modkit
threads --keep-type pingback``) keeps the types named. WordPress numbers comments per site, but
a merged or multisite export may repeat a ``comment_id`` in another item: such an item's ids
are scoped, ``<post_id>/<comment_id>`` (a ``duplicate_id`` problem says so).
Items are streamed one at a time: memory holds one item.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from modkit.errors import ParseError
from modkit.threads.formats._common import (
    bad_time, build_thread, child_text, children, file_sha256, iter_xml, local, text_of, timestamp, xml_root,
)
from modkit.threads.formats.html import html_to_text
from modkit.threads.model import Problem, Thread

NAME = "wordpress"
DESCRIPTION = "WordPress WXR export (<rss> with the wp: namespace, <item> and <wp:comment>)"
#: ``comment_type`` values of reader comments.
READER_TYPES = frozenset({"", "comment"})
#: ``comment_approved`` -> status.
STATUS = {"1": "approved", "approve": "approved", "0": "pending", "hold": "pending", "spam": "spam",
          "trash": "deleted", "post-trashed": "deleted"}
_CONTENT_NS = "purl.org/rss/1.0/modules/content/"


def sniff(head: bytes) -> bool:
    root, text = xml_root(head)
    return root == "rss" and "wordpress.org/export/" in text


class _Seen:
    """Comment ids seen in earlier items: a bit per number (WordPress ids are numbers), so ids
    up to a million cost 125 KB; other ids (and numbers past 2**27) in a set."""

    def __init__(self) -> None:
        self.bits = bytearray()
        self.other: set[str] = set()

    def add(self, cid: str) -> None:
        n = _number(cid)
        if n < 0:
            self.other.add(cid)
            return
        if n // 8 >= len(self.bits):
            self.bits.extend(bytes(max(n // 8 + 1 - len(self.bits), len(self.bits))))
        self.bits[n // 8] |= 1 << (n % 8)

    def __contains__(self, cid: str) -> bool:
        n = _number(cid)
        if n < 0:
            return cid in self.other
        return n // 8 < len(self.bits) and bool(self.bits[n // 8] & (1 << (n % 8)))


def _number(cid: str) -> int:
    if cid.isascii() and cid.isdigit() and len(cid) < 10:
        n = int(cid)
        return n if n < 1 << 27 else -1
    return -1


def _plural(n: int, word: str) -> str:
    return f"{n} {word or 'untyped'}{'s' if n != 1 else ''}"


def read_wxr(path: str | Path, keep_types: Iterable[str] = ()) -> Iterator[Thread]:
    """The threads of a WordPress WXR export, one item at a time (see the module doc)."""
    path = Path(path)
    sha = file_sha256(path)
    keep = {t.strip().lower() for t in keep_types}
    seen = _Seen()
    n_item = 0
    for el, line, lines in iter_xml(path, 2, "rss"):
        if local(el.tag) != "item":
            continue
        n_item += 1
        comments = [c for c in el if local(c.tag) == "comment"]
        if not comments:
            continue
        doc = child_text(el, "post_id") or child_text(el, "post_name") or f"{path.stem}-item{n_item}"
        content = next((c for c in el if local(c.tag) == "encoded" and _CONTENT_NS in c.tag), None)
        article = html_to_text(content.text if content is not None else "", newlines=True)
        rows = []
        problems: list[Problem] = []
        skipped: Counter[str] = Counter()
        for c in comments:
            at = lines.get(id(c), line)
            kids = children(c)
            kind = text_of(kids.get("comment_type")).lower()
            if kind not in READER_TYPES and kind not in keep:
                skipped[kind] += 1
                continue
            cid = text_of(kids.get("comment_id"))
            if not cid:
                raise ParseError(path, at, f"<wp:comment> without a comment_id (item {doc!r}): every comment needs an id")
            parent = text_of(kids.get("comment_parent"))
            raw = text_of(kids.get("comment_date_gmt"))
            if not raw or raw.startswith("0000-00-00"):
                raw = text_of(kids.get("comment_date"))
            when = timestamp(raw)
            if when is None:
                problems.append(bad_time(f"{path}:{at}", raw, cid, at))
                when = ""
            body = kids.get("comment_content")
            text = html_to_text(body.text if body is not None else "", newlines=True)
            status = STATUS.get(text_of(kids.get("comment_approved")).lower(), "")
            rows.append((at, cid, "" if parent in ("", "0") else parent, text_of(kids.get("comment_author")),
                         when, text, status, ""))
        if any(r[1] in seen for r in rows):
            problems.append(Problem("duplicate_id", f"{path}:{line}: item {doc!r} repeats comment ids of an earlier "
                                    f"item; its comments are read as {doc}/<comment_id>", line))
            for r in rows:
                seen.add(r[1])
            rows = [(r[0], f"{doc}/{r[1]}", f"{doc}/{r[2]}" if r[2] else "", *r[3:]) for r in rows]
        else:
            for r in rows:
                seen.add(r[1])
        if skipped:
            what = ", ".join(_plural(n, k) for k, n in sorted(skipped.items()))
            problems.append(Problem("skipped", f"{path}:{line}: item {doc!r}: skipped {what}: not reader comments "
                                    "(modkit threads --keep-type TYPE keeps them)", line))
        yield build_thread(doc, rows, path=path, sha=sha, fmt=NAME, title=child_text(el, "title"),
                           article=article, problems=problems)

"""The thread data model: immutable ``Comment`` records on a ``Thread`` (one page).

Trees are never stored twice: each comment keeps only its ``parent_id``; children, depth checks
and the reply tree are derived from it. Problems found while reading a page (a count mismatch,
a missing timestamp, an undecodable byte...) are returned as data on the thread, not printed, so
the CLI, the tests and the reports each show them their own way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from modkit.errors import MAX_LINE, clip


@dataclass(frozen=True, slots=True)
class Comment:
    """One comment of a page's comment section."""

    id: str  #: stable id, see :func:`comment_id`
    doc: str  #: the page's id (its file name without the ending)
    parent_id: str  #: id of the comment it replies to; "" for a top-level comment
    depth: int  #: 0 for a top-level comment, parent's depth + 1 for a reply
    position: int  #: 1-based order of the comment on the page
    author: str
    timestamp: str  #: ISO 8601 ``YYYY-MM-DDTHH:MM`` (the page gives no zone); "" if missing
    text: str  #: body, paragraphs separated by a blank line; may be ""
    line: int = 0  #: line of the comment's header in its source file (0 if unknown)
    status: str = ""  #: the platform's moderation decision (see :data:`STATUSES`); "" when unknown
    status_reason: str = ""  #: the platform's reason code when it gives one (Coral: ABUSIVE, SPAM...)

    @property
    def is_reply(self) -> bool:
        return bool(self.parent_id)


#: A platform's moderation decisions, as the export readers give them in ``Comment.status``
#: (:mod:`modkit.threads.formats`): published, awaiting moderation, marked as spam, deleted (by
#: its author or a moderator), rejected by a moderator or a filter. "" means the source says nothing.
STATUSES = ("approved", "pending", "spam", "deleted", "rejected")
#: Statuses of comments the platform has already taken down: ``modkit flag`` skips them.
REMOVED_STATUSES = frozenset({"spam", "deleted", "rejected"})

#: Problem kinds found while reading a page.
PROBLEM_KINDS = (
    "no_comment_section",  # the page has no comment section at all
    "count_mismatch",  # found fewer (or more) comments than the page declares
    "truncated",  # the comment section never reaches its end marker
    "missing_timestamp",  # a comment with no timestamp line
    "skipped_level",  # a reply indented more than one level below its parent
    "decode",  # bytes that are not UTF-8; decoded with replacements or as Latin-1
    "orphan",  # a reply whose parent id is not on the page (CSV/JSONL input)
    "cycle",  # parent links that loop (CSV/JSONL input)
    "bad_row",  # text where none was expected, kept in the comment above
    "duplicate_id",  # a second row with an id already seen; skipped (CSV/JSONL input)
    "bad_timestamp",  # a timestamp that cannot be read; left empty (CSV/JSONL input)
    "skipped",  # records of an export that are not reader comments (WordPress pingbacks...)
)


@dataclass(frozen=True, slots=True)
class Problem:
    """Something worth telling the user about a page; never fatal on its own."""

    kind: str
    message: str
    line: int = 0  #: line in the source file, 0 when it concerns the whole page

    def __post_init__(self) -> None:
        if len(self.message) > MAX_LINE:  # a hostile file's 10 MB id stays out of the warning
            object.__setattr__(self, "message", clip(self.message))

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Thread:
    """A page: its article and the reply tree of its comment section."""

    doc: str  #: the page's id: file name without the ending
    source: str  #: path of the file read
    sha256: str  #: of the file's bytes
    title: str
    article: str  #: article text with site boilerplate stripped
    declared: int | None  #: comment count the page declares; None if it declares none
    comments: tuple[Comment, ...] = ()
    problems: tuple[Problem, ...] = ()
    has_comment_section: bool = True
    format: str = "seed"  #: name of the reader that produced it
    _index: dict[str, Comment] = field(default_factory=dict, init=False, repr=False, compare=False)
    # Replies by parent id, built on the first call of children(): one call per comment stays linear.
    _kids: dict[str, list[Comment]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._index.update((c.id, c) for c in self.comments)

    # -- derived facts ------------------------------------------------------------------------
    @property
    def found(self) -> int:
        return len(self.comments)

    @property
    def max_depth(self) -> int:
        """Deepest reply level (0 = only top-level comments; -1 = no comments)."""
        return max((c.depth for c in self.comments), default=-1)

    @property
    def authors(self) -> list[str]:
        """Distinct authors in order of first appearance."""
        return list(dict.fromkeys(c.author for c in self.comments))

    @property
    def count_mismatch(self) -> bool:
        return self.declared is not None and self.declared != self.found

    def get(self, comment_id: str) -> Comment | None:
        return self._index.get(comment_id)

    def __getitem__(self, comment_id: str) -> Comment:
        return self._index[comment_id]

    def __contains__(self, comment_id: object) -> bool:
        return comment_id in self._index

    def children(self, comment_id: str = "") -> list[Comment]:
        """Direct replies to ``comment_id`` ("" for the top-level comments), in page order."""
        if not self._kids and self.comments:
            for c in self.comments:
                self._kids.setdefault(c.parent_id, []).append(c)
        return list(self._kids.get(comment_id, ()))

    def parent(self, comment: Comment) -> Comment | None:
        return self._index.get(comment.parent_id) if comment.parent_id else None

    def ancestors(self, comment: Comment) -> list[Comment]:
        """The chain of parents from the top-level comment down to the direct parent."""
        chain: list[Comment] = []
        seen = {comment.id}
        current = self.parent(comment)
        while current is not None and current.id not in seen:
            chain.append(current)
            seen.add(current.id)
            current = self.parent(current)
        return chain[::-1]

    def walk(self) -> Iterator[Comment]:
        """Comments in tree order (depth first, page order among siblings)."""
        kids: dict[str, list[Comment]] = {}
        for c in self.comments:
            kids.setdefault(c.parent_id if c.parent_id in self._index else "", []).append(c)
        stack = list(reversed(kids.get("", [])))
        seen: set[str] = set()
        while stack:
            c = stack.pop()
            if c.id in seen:
                continue
            seen.add(c.id)
            yield c
            stack.extend(reversed(kids.get(c.id, [])))


def _norm_text(text: str) -> str:
    # Identity must survive a CRLF re-save or trailing white space; nothing else is folded.
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip()


def content_key(doc: str, author: str, timestamp: str, text: str, normalized: bool = False) -> str:
    """The hash part of a comment id: 12 hex digits of BLAKE2b over the page id and content.

    ``normalized=True`` says ``text`` is already normalised (as the page reader's texts are),
    which saves the work; the result is the same."""
    payload = "\x1f".join((doc, author.strip(), timestamp.strip(), text if normalized else _norm_text(text)))
    return hashlib.blake2b(payload.encode("utf-8"), digest_size=6).hexdigest()


def comment_id(doc: str, author: str, timestamp: str, text: str, repeat: int = 1, normalized: bool = False) -> str:
    """A comment's stable id.

    Rule (labels point at these ids, so it never changes without a migration):
    ``c`` + 12 hex digits of BLAKE2b-48 over ``doc``, author, timestamp and text (line endings
    and trailing spaces normalised). The n-th exact repeat (same page, author, timestamp and
    text) in page order gets the suffix ``-n`` (``-2``, ``-3``...). Position and parent are not
    part of the id, so a re-scrape of the same page that adds comments keeps every old id.
    """
    base = "c" + content_key(doc, author, timestamp, text, normalized)
    return base if repeat <= 1 else f"{base}-{repeat}"


class IdAssigner:
    """Hands out ids for one page, applying the exact-repeat rule of :func:`comment_id`."""

    def __init__(self, doc: str) -> None:
        self.doc = doc
        self._seen: dict[str, int] = {}

    def __call__(self, author: str, timestamp: str, text: str, normalized: bool = False) -> str:
        base = comment_id(self.doc, author, timestamp, text, normalized=normalized)
        n = self._seen.get(base, 0) + 1
        self._seen[base] = n
        return base if n == 1 else f"{base}-{n}"


def resolve_replies(order: list[str], parent: dict[str, str], first: Callable[[str], int] | None = None
                    ) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Depths of a reply tree given ``parent[id]`` (``""``: top-level) for the ids in ``order``
    (file order, each parent among them or ``""``), in linear time and without recursion.

    Reply loops are broken where they are found: a walk up from a comment that comes back to a
    comment of its own walk has found a loop, broken at the loop's comment that comes first in
    ``order`` (or lowest by ``first``, e.g. its line in the file); its ``parent`` is set to ``""``,
    in place. Returns ``(depth, loops)``, each loop
    as ``(head, shown)``: the id made top-level and the loop written ``a -> b -> a`` (long
    loops elided, ids that are not printable shown as repr, so a message stays one line)."""
    if first is None:
        first = {cid: i for i, cid in enumerate(order)}.__getitem__
    loops: list[tuple[str, str]] = []
    state: dict[str, int] = {}  # 1 = on the current walk, 2 = known to reach a root
    for cid in order:
        walk: list[str] = []
        cur = cid
        while cur and state.get(cur, 0) == 0:
            state[cur] = 1
            walk.append(cur)
            cur = parent[cur]
        if cur and state.get(cur) == 1:
            loop = walk[walk.index(cur):]
            head = min(loop, key=first)
            parent[head] = ""
            ring = [i if i.isprintable() else repr(i) for i in (loop if len(loop) <= 6 else [*loop[:3], *loop[-2:]])]
            shown = " -> ".join([*ring, ring[0]] if len(loop) <= 6 else [*ring[:3], "...", *ring[3:], ring[0]])
            loops.append((head, shown))
        for i in walk:
            state[i] = 2
    depth: dict[str, int] = {}
    for cid in order:
        chain = []
        cur = cid
        while cur and cur not in depth:
            chain.append(cur)
            cur = parent[cur]
        base = depth[cur] if cur else -1
        for i in reversed(chain):
            base += 1
            depth[i] = base
    return depth, loops

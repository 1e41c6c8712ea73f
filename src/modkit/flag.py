"""Score comments with a trained model, choose flags and reasons, write the moderator's CSV.

>>> from modkit import flag, model, threads
>>> m = model.load_model()                            # models/default, hash-checked
>>> df = flag.score(threads.read("seeds/"), m)         # one row per comment
>>> flag.flag(["seeds/"], m, out="flagged.csv")        # the CSV a moderator works through

Flags (fixed list, :data:`FLAGS`): ABUSIVE, UNCIVIL, OFF_TOPIC from the model's calibrated
probabilities and the thresholds of a profile; REPEAT_POST, LINKS, SHOUTING, EMPTY from rules.
"""

from __future__ import annotations

import csv
import heapq
import io
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.pipeline import FeatureUnion

from modkit.csvsafe import neutralise
from modkit.errors import ModkitError
from modkit.features import (
    STAT_NAMES,
    STOP_WORDS,
    TextStats,
    TextTfidf,
    ThreadContext,
    comment_frame,
    count_tokens,
    lexicon_hits,
)
from modkit.labels import text_sha
from modkit.model import MODEL_FLAGS, TrainedModel, load_model

#: Flag code -> (severity, meaning). Severity orders the CSV (higher first).
FLAGS: dict[str, tuple[int, str]] = {
    "ABUSIVE": (4, "attack on a person or group, slur or threat: p_abusive >= the profile's threshold"),
    "UNCIVIL": (3, "rude, insulting, profane or dismissive: p_uncivil >= threshold (not set with ABUSIVE)"),
    "OFF_TOPIC": (2, "shares little with its article and its parent: p_offtopic >= threshold"),
    "REPEAT_POST": (2, "same or nearly the same text as an earlier comment on the page (cosine >= 0.9)"),
    "LINKS": (1, "contains a link (http://, https://, www.)"),
    "SHOUTING": (1, "mostly capital letters (over 70% of at least 12 letters)"),
    "EMPTY": (1, "no text"),
}

#: Columns of the flag CSV, in order. The last four are left empty for the moderator.
CSV_COLUMNS = (
    "comment_id", "doc", "parent_id", "depth", "author", "timestamp", "text", "context", "flags",
    "p_abusive", "p_uncivil", "p_offtopic", "stance", "reasons", "priority", "model", "text_sha",
    "decision", "reject_code", "note", "labels",
)
#: Columns of :func:`score`.
SCORE_COLUMNS = (
    "comment_id", "doc", "p_abusive", "p_uncivil", "p_offtopic", "stance", "flags", "reasons",
    "priority", "uncertainty",
)
#: The flag CSV is UTF-8 with a byte-order mark: Excel needs the BOM to read UTF-8 when a CSV is
#: double-clicked, LibreOffice recognises it; rows end in CRLF (RFC 4180), fields with a comma,
#: quote or line break are quoted, quotes doubled.
CSV_ENCODING = "utf-8-sig"
NEAR_REPEAT = 0.9
CONTEXT_CHARS = 160



# --------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------
def _parts(m: TrainedModel) -> dict[str, Any]:
    civ = m.pipelines["civility"]
    text_tf: TextTfidf = civ.named_steps["features"].transformer_list[0][1]
    civ_stats: TextStats = civ.named_steps["features"].transformer_list[1][1]
    top = m.pipelines["topic"]
    ctx: ThreadContext = top.named_steps["features"].transformer_list[0][1]
    top_stats: TextStats = top.named_steps["features"].transformer_list[1][1]
    clf = civ.named_steps["clf"]
    est = clf.calibrated_classifiers_[0].estimator if hasattr(clf, "calibrated_classifiers_") else clf
    return {"civ": civ, "tf": text_tf, "civ_stats": civ_stats, "top": top, "ctx": ctx,
            "top_stats": top_stats, "coef": getattr(est, "coef_", None),
            "coef_classes": [str(c) for c in getattr(est, "classes_", [])], "n_words": len(text_tf.words_),
            "words": list(text_tf.words_)}


def score(threads: Iterable[Any] | pd.DataFrame, model: TrainedModel | str | Path | None = None,
          profile: str = "balanced", thresholds: dict[str, float] | None = None,
          explain: str = "flagged") -> pd.DataFrame:
    """Score every comment: one row per comment with :data:`SCORE_COLUMNS` (plus the frame's
    thread columns), in page order.

    ``threads``: Thread objects or a frame from :func:`modkit.features.comment_frame`.
    ``explain``: write ``reasons`` for ``"flagged"`` rows (default), ``"all"`` or ``"none"``.
    ``thresholds`` overrides the profile's per flag (``{"ABUSIVE": 0.6}``).
    """
    m = model if isinstance(model, TrainedModel) else load_model(model or "models/default")
    frame = threads if isinstance(threads, pd.DataFrame) else comment_frame(threads)
    frame = frame.reset_index(drop=True)
    thr = {f: m.threshold(f, profile, thresholds) for f in MODEL_FLAGS}
    n = len(frame)
    if n == 0:
        return pd.DataFrame(columns=[*SCORE_COLUMNS, "parent_id", "depth", "author", "timestamp", "text",
                                     "article", "parent_text"])
    parts = _parts(m)
    texts = frame["text"].fillna("").astype(str).tolist()
    # civility: the pipeline's own steps, run by hand so the features are computed once
    counts = count_tokens(texts)  # tokenised once, shared by every transformer
    W, C = parts["tf"].blocks_counts(*counts)
    X_text = W  # the word block: what the reasons read
    raw_civ = parts["civ_stats"]._raw(texts, counts)
    civ_clf = parts["civ"].named_steps["clf"]
    P = _predict_proba_blocks(civ_clf, [W, C, parts["civ_stats"].scale_dense(raw_civ)])
    cls = [str(c) for c in civ_clf.classes_]
    zero = np.zeros(n)
    p_abusive = P[:, cls.index("abusive")] if "abusive" in cls else zero
    p_uncivil = p_abusive + (P[:, cls.index("uncivil")] if "uncivil" in cls else zero)
    # topic: thread context + surface statistics
    ctx = parts["ctx"].context(frame, counts)
    raw_top = _raw_like(parts["top_stats"], texts, counts, raw_civ, parts["civ_stats"].lexicon)
    top_clf = parts["top"].named_steps["clf"]
    tcls = [str(c) for c in top_clf.classes_]
    P_top = _predict_proba_blocks(top_clf, [ctx.to_numpy(dtype=np.float64), parts["top_stats"].scale_dense(raw_top)])
    p_off = P_top[:, tcls.index("off")] if "off" in tcls else zero
    stance = _stance(m, frame, texts, counts, raw_civ, parts["civ_stats"].lexicon)

    stats = pd.DataFrame(raw_civ, columns=list(_stat_names()))
    probs = {"ABUSIVE": p_abusive, "UNCIVIL": p_uncivil, "OFF_TOPIC": p_off}
    on = {f: probs[f] >= thr[f] for f in probs}
    on["UNCIVIL"] &= ~on["ABUSIVE"]
    rules = {
        "REPEAT_POST": ctx["near_repeat"].to_numpy() >= NEAR_REPEAT,
        "LINKS": stats["links"].to_numpy() > 0,
        "SHOUTING": stats["shouting"].to_numpy() > 0,
        "EMPTY": stats["empty"].to_numpy() > 0,
    }
    empty = rules["EMPTY"]
    for f in probs:  # an empty comment is only EMPTY: nothing to judge
        on[f] &= ~empty
    flags_on = {**on, **rules}
    order = sorted(FLAGS, key=lambda f: -FLAGS[f][0])
    flag_lists = [[] for _ in range(n)]
    for f in order:
        for i in np.flatnonzero(flags_on[f]):
            flag_lists[i].append(f)
    flags = [";".join(fl) for fl in flag_lists]
    # priority: severity of the worst flag, then how far past its threshold; unflagged
    # comments get how close they come to a threshold (below 1)
    ratio = np.max(np.stack([np.clip(probs[f] / max(thr[f], 1e-9), 0, 1) for f in probs]), axis=0) * 0.999
    priority = np.where(empty, 0.0, ratio)
    for f in reversed(order):
        sev = FLAGS[f][0]
        if f in probs:
            margin = np.clip((probs[f] - thr[f]) / max(1 - thr[f], 1e-9), 0, 1) * 0.999
            val = sev + margin
        else:
            val = np.full(n, float(sev))
        priority = np.where(flags_on[f] & (val > priority), val, priority)
    unc = np.where(empty, 0.0, class_margin_uncertainty(P))

    reasons = [""] * n
    if explain != "none":
        rows = range(n) if explain == "all" else [i for i in range(n) if flags[i]]
        reasons_for(rows, reasons, texts, X_text, stats, ctx, probs, on, flag_lists, parts, m)
    out = pd.DataFrame({
        "comment_id": frame["comment_id"], "doc": frame["doc"],
        "p_abusive": np.round(p_abusive, 4), "p_uncivil": np.round(p_uncivil, 4),
        "p_offtopic": np.round(p_off, 4), "stance": np.asarray(stance, dtype=object),
        "flags": flags, "reasons": reasons, "priority": np.round(priority, 4),
        "uncertainty": np.round(unc, 4),
    })
    for col in ("parent_id", "depth", "author", "timestamp", "text", "article", "parent_text"):
        out[col] = frame[col].to_numpy()
    return out


def _raw_like(stats: TextStats, texts: list[str], counts: Any, raw: np.ndarray, lexicon: tuple[str, ...]) -> np.ndarray:
    """``stats._raw(texts, counts)``, reusing ``raw`` (the same texts' statistics with
    ``lexicon``) when it gives the same numbers: same lexicon, or none (then the two lexicon
    columns are 0 and every other column is the same)."""
    if tuple(stats.lexicon) == tuple(lexicon):
        return raw
    if not stats.lexicon:
        out = raw.copy()
        out[:, [_LEX_HITS, _LEX_SHARE]] = 0.0
        return out
    return stats._raw(texts, counts)


def _stance(m: TrainedModel, frame: pd.DataFrame, texts: list[str], counts: Any, raw: np.ndarray,
            lexicon: tuple[str, ...]) -> np.ndarray:
    pipe = m.pipelines.get("stance")
    if pipe is None:
        return np.full(len(frame), "", dtype=object)
    feats = pipe.named_steps["features"]
    if isinstance(feats, FeatureUnion) and all(isinstance(t, (TextTfidf, TextStats)) for _, t in feats.transformer_list):
        blocks: list[Any] = []
        for _, t in feats.transformer_list:
            blocks.extend(t.blocks_counts(*counts) if isinstance(t, TextTfidf)
                          else [t.scale_dense(_raw_like(t, texts, counts, raw, lexicon))])
        clf = pipe.named_steps["clf"]
        dec = _decision_blocks(clf, blocks)
        if dec is not None:
            # LinearClassifierMixin.predict: the class with the highest decision value
            idx = (dec > 0).astype(int) if dec.ndim == 1 else dec.argmax(axis=1)
            return np.asarray(clf.classes_)[idx]
        return clf.predict(sp.hstack([sp.csr_matrix(b) for b in blocks], format="csr"))
    return pipe.predict(frame)


def _decision_blocks(est: Any, blocks: Sequence[Any]) -> np.ndarray | None:
    """A linear estimator's ``decision_function`` over the column blocks of its input, without
    stacking them into one matrix (``X @ coef.T`` summed block by block: the same numbers up to
    floating-point rounding). ``None`` when ``est`` is not a plain linear model."""
    coef = getattr(est, "coef_", None)
    intercept = getattr(est, "intercept_", None)
    if coef is None or intercept is None or sp.issparse(coef):
        return None
    coef = np.asarray(coef)
    if coef.shape[1] != sum(b.shape[1] for b in blocks):
        return None
    dec = np.zeros((blocks[0].shape[0], coef.shape[0]))
    start = 0
    for b in blocks:
        w = coef[:, start:start + b.shape[1]]
        start += b.shape[1]
        dec += b @ w.T if sp.issparse(b) else np.asarray(b) @ w.T
    dec += np.asarray(intercept)
    return dec.ravel() if coef.shape[0] == 1 else dec


def _predict_proba_blocks(clf: Any, blocks: Sequence[Any]) -> np.ndarray:
    """``clf.predict_proba`` of the column-stacked ``blocks`` without stacking them: for a
    ``CalibratedClassifierCV`` over a linear model (modkit's civility and topic classifiers) the
    decision values are summed block by block and calibrated as sklearn does (sigmoid or
    isotonic per class, normalised; mean over the calibrated classifiers). Anything else falls
    back to stacking and ``clf.predict_proba``."""
    cals = getattr(clf, "calibrated_classifiers_", None)
    if cals:
        classes = np.asarray(clf.classes_)
        n_classes = len(classes)
        mean = np.zeros((blocks[0].shape[0], n_classes))
        for cal in cals:
            dec = _decision_blocks(cal.estimator, blocks)
            if dec is None or getattr(cal, "method", None) not in ("sigmoid", "isotonic"):
                break
            dec = dec.reshape(-1, 1) if dec.ndim == 1 else dec
            pos = np.searchsorted(classes, np.asarray(cal.estimator.classes_))
            proba = np.zeros_like(mean)
            for class_idx, pred, calibrator in zip(pos, dec.T, cal.calibrators):
                if n_classes == 2:
                    class_idx += 1
                proba[:, class_idx] = calibrator.predict(pred)
            if n_classes == 2:
                proba[:, 0] = 1.0 - proba[:, 1]
            else:
                den = np.sum(proba, axis=1)[:, np.newaxis]
                proba = np.divide(proba, den, out=np.full_like(proba, 1 / n_classes), where=den != 0)
            mean += proba
        else:
            return mean / len(cals)
    return clf.predict_proba(sp.hstack([sp.csr_matrix(b) for b in blocks], format="csr"))


_LEX_HITS, _LEX_SHARE = STAT_NAMES.index("lexicon_hits"), STAT_NAMES.index("lexicon_share")


def _stat_names() -> tuple[str, ...]:
    from modkit.features import STAT_NAMES

    return STAT_NAMES


def reasons_for(rows: Iterable[int], reasons: list[str], texts: list[str], X_text: sp.csr_matrix,
                stats: pd.DataFrame, ctx: pd.DataFrame, probs: dict[str, np.ndarray],
                on: dict[str, np.ndarray], flag_lists: list[list[str]], parts: dict[str, Any],
                m: TrainedModel) -> None:
    """Human-readable reasons: the words that pushed the civility score most, lexicon words,
    capitals, links, and the thread similarities behind an off-topic score."""
    coef = parts["coef"]
    ccls = parts["coef_classes"]
    n_words = parts["n_words"]
    words = parts["words"]
    lex = frozenset(m.lexicon)
    W = X_text[:, :n_words].tocsr()
    caps_a, loglen_a, links_a = (stats[c].to_numpy() for c in ("caps_ratio", "log_length", "links"))
    sim_a, simp_a, reply_a, exact_a, near_a, selfr_a = (ctx[c].to_numpy() for c in (
        "sim_article", "sim_parent", "is_reply", "exact_repeat", "near_repeat", "self_reply"))
    rows_abusive = coef[ccls.index("abusive")][:n_words] if coef is not None and "abusive" in ccls else None
    rows_uncivil = coef[ccls.index("uncivil")][:n_words] if coef is not None and "uncivil" in ccls else None
    for i in rows:
        bits: list[str] = []
        fl = flag_lists[i]
        if "EMPTY" in fl:
            reasons[i] = "no text"
            continue
        civ_flag = "ABUSIVE" if "ABUSIVE" in fl else "UNCIVIL" if "UNCIVIL" in fl else None
        w = rows_abusive if civ_flag == "ABUSIVE" else rows_uncivil
        if w is not None and civ_flag:
            start, end = W.indptr[i], W.indptr[i + 1]
            idx, val = W.indices[start:end], W.data[start:end]
            contrib = val * w[idx]
            top = [words[idx[k]] for k in np.argsort(-contrib)
                   if contrib[k] > 0.05 and words[idx[k]] not in STOP_WORDS and len(words[idx[k]]) > 2][:3]
            if top:
                label = "abusive terms" if civ_flag == "ABUSIVE" else "uncivil terms"
                bits.append(f"{label}: " + ", ".join(f'"{t}"' for t in top))
        hits = lexicon_hits(texts[i], lex)
        if hits:
            bits.append("lexicon: " + ", ".join(f'"{h}"' for h in hits[:4]))
        if civ_flag:
            key = "ABUSIVE" if civ_flag == "ABUSIVE" else "UNCIVIL"
            bits.append(f"p_{key.lower()} {probs[key][i]:.2f}")
        caps = caps_a[i]
        if caps > 0.5 and loglen_a[i] > 2.5:
            bits.append(f"capitals {caps:.0%}")
        if links_a[i] > 0:
            bits.append(f"links {int(links_a[i])}")
        if "OFF_TOPIC" in fl or probs["OFF_TOPIC"][i] >= 0.3:
            s = f"similarity to article {sim_a[i]:.2f}"
            if reply_a[i] > 0:
                s += f", to parent {simp_a[i]:.2f}"
            bits.append(s)
        if exact_a[i] > 0:
            bits.append("exact repeat of an earlier comment on the page")
        elif near_a[i] >= NEAR_REPEAT:
            bits.append(f"near repeat of an earlier comment (cosine {near_a[i]:.2f})")
        if selfr_a[i] > 0:
            bits.append("reply to own comment")
        reasons[i] = "; ".join(bits)


def class_margin_uncertainty(P: np.ndarray) -> np.ndarray:
    """Class-margin uncertainty of class probabilities ``P`` (one row per comment):
    ``1 - (p_first - p_second)``, the gap between the two likeliest classes taken from 1.
    1 when the two likeliest civility values tie, 0 when the model is certain."""
    P = np.asarray(P, dtype=np.float64)
    if P.ndim != 2 or P.shape[1] < 2:
        return np.zeros(len(P))
    top = np.partition(P, P.shape[1] - 2, axis=1)
    return np.clip(1.0 - (top[:, -1] - top[:, -2]), 0.0, 1.0)


def uncertainty(threads: Iterable[Any], model: TrainedModel | str | Path | None = None,
                profile: str = "balanced") -> pd.Series:
    """How unsure the model is about each comment, by comment id, by **class margin**: one minus
    the gap between the probabilities of the two likeliest civility values (civil, uncivil,
    abusive). 1 when the two likeliest values tie, 0 when the model is certain (and for empty
    comments). The labeler's ``--order uncertain`` and ``modkit flag --queue N`` show the
    highest first: labels there teach the model most. (In an active-learning simulation,
    ``bench/active_learning.py``, this beat random review order where the distance of
    p_abusive/p_uncivil to their flag thresholds did not.) ``profile`` does not change it."""
    df = score(threads, model, profile, explain="none")
    return pd.Series(df["uncertainty"].to_numpy(), index=df["comment_id"].to_numpy(), name="uncertainty")


# --------------------------------------------------------------------------------------------
# The CSV
# --------------------------------------------------------------------------------------------
def _context(parent_text: str, article: str) -> str:
    src = parent_text if parent_text else article
    s = " ".join(str(src).split())
    return s if len(s) <= CONTEXT_CHARS else s[:CONTEXT_CHARS - 1].rstrip() + "…"


def csv_rows(scored: pd.DataFrame, model_label: str) -> Iterator[list[str]]:
    """CSV rows (lists of cells, neutralised) for scored comments, in the frame's order."""
    for r in scored.itertuples(index=False):
        cells = [
            r.comment_id, r.doc, r.parent_id, str(int(r.depth)), r.author, r.timestamp, r.text,
            _context(r.parent_text, r.article), r.flags, f"{r.p_abusive:.4f}", f"{r.p_uncivil:.4f}",
            f"{r.p_offtopic:.4f}", str(r.stance), r.reasons, f"{r.priority:.4f}", model_label,
            text_sha(str(r.text)), "", "", "", "",
        ]
        yield [neutralise(str(c)) for c in cells]


def open_csv(path: str | Path) -> tuple[io.TextIOBase, Any]:
    """Open ``path`` for a flag CSV and write the header; the caller closes the file."""
    fh = open(path, "w", encoding=CSV_ENCODING, newline="")  # noqa: SIM115 - returned to the caller
    writer = csv.writer(fh, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    return fh, writer


def read_csv(path: str | Path) -> pd.DataFrame:
    """Read a flag CSV back (BOM handled, every cell a string)."""
    return pd.read_csv(path, encoding=CSV_ENCODING, dtype=str, keep_default_na=False)


# --------------------------------------------------------------------------------------------
# flag(): pages in, CSV out, streaming
# --------------------------------------------------------------------------------------------
@dataclass
class PageSummary:
    doc: str
    source: str
    comments: int
    flagged: int
    per_flag: dict[str, int]
    has_comment_section: bool = True


@dataclass
class FlagResult:
    out: Path
    rows: int
    comments: int
    pages: list[PageSummary] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def summary_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"page": p.doc, "comments": p.comments, "flagged": p.flagged,
                              **{f: p.per_flag.get(f, 0) for f in FLAGS}} for p in self.pages])


_WORKER_MODELS: dict[str, TrainedModel] = {}


def _worker_model(model: TrainedModel | str) -> TrainedModel:
    if isinstance(model, TrainedModel):
        return model
    if model not in _WORKER_MODELS:
        _WORKER_MODELS[model] = load_model(model)
    return _WORKER_MODELS[model]


def _chunk_job(paths: list[str], model: TrainedModel | str, profile: str, thresholds: dict[str, float] | None,
               keep: str, queue: int | None, run_dir: str, k: int) -> dict[str, Any]:
    """Score one chunk of pages; write its rows, sorted, to a run file. Runs in a worker."""
    from modkit import threads as threads_api

    m = _worker_model(model)
    threads = []
    problems: list[str] = []
    for p in paths:
        try:
            threads.append(threads_api.read_thread(Path(p)))
        except ModkitError as exc:
            problems.append(exc.message)
    scored = score(threads, m, profile, thresholds, explain="all" if (queue or keep == "all") else "flagged")
    pages = []
    tally: dict[str, dict[str, int]] = {}
    for doc, fl in zip(scored["doc"].tolist(), scored["flags"].tolist()):
        if fl:
            d = tally.setdefault(doc, {"": 0})
            d[""] += 1
            for f in fl.split(";"):
                d[f] = d.get(f, 0) + 1
    for t in threads:
        d = tally.get(t.doc, {})
        per = {f: d[f] for f in FLAGS if d.get(f)}  # non-zero only: one small record per page
        pages.append(PageSummary(t.doc, t.source, len(t.comments), d.get("", 0), per, t.has_comment_section))
    if queue:
        scored = scored.sort_values("uncertainty", ascending=False, kind="stable").head(queue)
        key = scored["uncertainty"].to_numpy()
    else:
        if keep != "all":
            scored = scored[scored["flags"] != ""]
        key = scored["priority"].to_numpy()
    scored = scored.assign(_key=key).sort_values("_key", ascending=False, kind="stable")
    run = Path(run_dir) / f"run{k:06d}.csv"
    with open(run, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        for key_val, row in zip(scored["_key"].to_numpy(), csv_rows(scored, m.label)):
            w.writerow([f"{key_val:.6f}", *row])
    return {"run": str(run), "rows": len(scored), "pages": pages, "problems": problems}


def _chunks(paths: list[Path], target_bytes: int) -> list[list[str]]:
    out: list[list[str]] = []
    cur: list[str] = []
    size = 0
    for p in paths:
        cur.append(str(p))
        size += p.stat().st_size
        if size >= target_bytes:
            out.append(cur)
            cur, size = [], 0
    if cur:
        out.append(cur)
    return out


def _read_run(path: str) -> Iterator[tuple[float, list[str]]]:
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.reader(fh):
            yield -float(row[0]), row[1:]


def flag(sources: Sequence[str | Path], model: TrainedModel | str | Path | None = None,
         out: str | Path = "flagged.csv", all: bool = False, profile: str = "balanced",
         thresholds: dict[str, float] | None = None, queue: int | None = None, jobs: int = 0,
         chunk_bytes: int = 4 << 20, progress: Callable[[int, int], None] | None = None) -> FlagResult:
    """Flag the comments of ``sources`` and write the CSV ``out``.

    One row per flagged comment (every comment with ``all``; the ``queue`` comments the model
    is least sure about with ``queue``), sorted by priority (or uncertainty). Pages are scored
    in chunks (about ``chunk_bytes`` of page files each), in ``jobs`` processes (0: one per core,
    used when there is more than one chunk), each chunk's rows written to a sorted run file that is
    merged at the end: memory stays flat in the number of comments. The CSV is written to a
    temporary file and renamed, so a failed run never leaves a half-written CSV.
    """
    from modkit.sources import resolve_sources

    if jobs <= 0:  # auto: every core, used only when there is more than one chunk of pages
        jobs = os.cpu_count() or 1
    if profile not in ("balanced", "strict", "lenient"):
        raise ModkitError(f"unknown profile {profile!r}: expected one of balanced, strict, lenient")
    loaded = model if isinstance(model, TrainedModel) else load_model(model or "models/default")
    m: TrainedModel | str = loaded
    if jobs > 1 and loaded.path:  # workers load it once each (hash-checked) instead of unpickling it per chunk
        m = str(Path(loaded.path))
        _WORKER_MODELS[m] = loaded
    if thresholds:
        unknown = sorted(set(thresholds) - set(MODEL_FLAGS))
        if unknown:
            raise ModkitError(f"unknown flag {unknown[0]!r} in thresholds: expected one of {', '.join(MODEL_FLAGS)}")
    paths = resolve_sources(sources)
    chunks = _chunks(paths, chunk_bytes)
    out = Path(out)
    result = FlagResult(out=out, rows=0, comments=0)
    keep = "all" if all else "flagged"
    with tempfile.TemporaryDirectory(prefix="modkit-flag-") as run_dir:
        args = [(c, m, profile, thresholds, keep, queue, run_dir, k) for k, c in enumerate(chunks)]
        if jobs > 1 and len(chunks) > 1:
            from joblib import Parallel, delayed

            results = Parallel(n_jobs=jobs, return_as="generator")(delayed(_chunk_job)(*a) for a in args)
        else:
            results = (_chunk_job(*a) for a in args)
        runs: list[str] = []
        done = 0
        for r in results:
            runs.append(r["run"])
            result.pages.extend(r["pages"])
            result.problems.extend(r["problems"])
            done += len(r["pages"])
            if progress:
                progress(done, len(paths))
        result.comments = sum(p.comments for p in result.pages)
        tmp = out.with_name(out.name + ".tmp")
        out.parent.mkdir(parents=True, exist_ok=True)
        fh, writer = open_csv(tmp)
        n = 0
        try:
            merged = heapq.merge(*(_read_run(r) for r in runs), key=lambda kv: kv[0])
            for _, row in merged:
                if queue and n >= queue:
                    break
                writer.writerow(row)
                n += 1
        finally:
            fh.close()
        os.replace(tmp, out)
    result.rows = n
    return result


__all__ = [
    "CSV_COLUMNS",
    "CSV_ENCODING",
    "FLAGS",
    "SCORE_COLUMNS",
    "FlagResult",
    "PageSummary",
    "class_margin_uncertainty",
    "flag",
    "neutralise",
    "read_csv",
    "score",
    "uncertainty",
]

"""Score comments with a trained model, choose flags and reasons, write the moderator's CSV.

>>> from modkit import flag, model, threads
>>> from modkit.features import comment_frame
>>> m = model.load_model("models/default")             # hash-checked
>>> df = flag.score_batch(comment_frame(threads.read("seeds/")), m)   # pure: one row per comment
>>> flag.flag(["seeds/"], m, out="flagged.csv")         # the CSV a moderator works through

The flags are the model's (:attr:`modkit.tasks.Registry.flags`, from the label schema it was
trained with): model flags (ABUSIVE, UNCIVIL, OFF_TOPIC in the default schema) from each task
pipeline's own calibrated ``predict_proba`` and the thresholds of a profile, and the rule flags
REPEAT_POST, LINKS, SHOUTING, EMPTY.
"""

from __future__ import annotations

import csv
import functools
import heapq
import io
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modkit import csvsafe
from modkit.csvsafe import neutralise
from modkit.errors import ModkitError
from modkit.features import STOP_WORDS, TextStats, TextTfidf, comment_frame, fitted_cache, lexicon_hits
from modkit.identity import NEVER_A_REASON
from modkit.labels import text_sha
from modkit.model import TrainedModel, align_proba, flag_scores, load_model
from modkit.parallel import resolve_jobs
from modkit.safeio import atomic_write, check_writable, os_error
from modkit.tasks import PROFILES, Registry, default_registry
from modkit.threads.model import REMOVED_STATUSES

NEAR_REPEAT = 0.9
CONTEXT_CHARS = 160
#: The flag CSV is UTF-8 with a byte-order mark: Excel needs the BOM to read UTF-8 when a CSV is
#: double-clicked, LibreOffice recognises it; rows end in CRLF (RFC 4180), fields with a comma,
#: quote or line break are quoted, quotes doubled.
CSV_ENCODING = "utf-8-sig"
#: Columns of the flag CSV before the score columns, and after them (the last four are left
#: empty for the moderator). The score columns come from the model's registry.
CSV_HEAD = ("comment_id", "doc", "parent_id", "depth", "author", "timestamp", "text", "context", "flags")
CSV_TAIL = ("reasons", "priority", "model", "text_sha", "decision", "reject_code", "note", "labels")


def csv_columns(registry: Registry, stage: bool = False) -> tuple[str, ...]:
    """The flag CSV's columns for a model of ``registry``: ``CSV_HEAD``, one ``p_<flag>`` per
    model flag and one ``<task>`` per task without model flags, (with ``stage``: which stage
    decided, ``fast`` or ``e5``), then ``CSV_TAIL``."""
    return (*CSV_HEAD, *registry.score_columns, *(("stage",) if stage else ()), *CSV_TAIL)


def score_columns(registry: Registry) -> tuple[str, ...]:
    """Columns of :func:`score_batch`, first the ones every model gives."""
    return ("comment_id", "doc", *registry.score_columns, "flags", "reasons", "priority", "uncertainty")


#: The flags and columns of a model trained on the default schema (documentation, tests).
FLAGS: dict[str, tuple[int, str]] = {f.code: (f.severity, f.meaning) for f in default_registry().flags}
CSV_COLUMNS = csv_columns(default_registry())
SCORE_COLUMNS = score_columns(default_registry())


# --------------------------------------------------------------------------------------------
# Scoring: one pure function
# --------------------------------------------------------------------------------------------
def score_batch(frame: pd.DataFrame, model: TrainedModel, profile: str = "balanced",
                thresholds: dict[str, float] | None = None, explain: str = "flagged",
                rescore: bool = False, band: float = 0.1) -> pd.DataFrame:
    """Score a batch of comments: one row per row of ``frame`` (a
    :func:`modkit.features.comment_frame`; a page's comments must all be in the same batch,
    as the thread features read their page), with :func:`score_columns` plus the frame's
    thread columns, in the frame's order.

    Pure: reads no file and writes none; it is the unit ``--jobs`` distributes. Each task's
    probabilities are its pipeline's own ``predict_proba`` (any scikit-learn classifier can be
    plugged in). ``explain``: write ``reasons`` for ``"flagged"`` rows (default), ``"all"`` or
    ``"none"``. ``thresholds`` overrides the profile's per flag (``{"ABUSIVE": 0.6}``).

    ``rescore``: comments whose score of a flag lies within ``band`` of its threshold are scored
    again by the task's e5 second stage (``model.rescorers``, :mod:`modkit.rescore`), whose
    probabilities then decide; the ``stage`` column says ``e5`` for them, ``fast`` otherwise.
    """
    reg = model.registry
    frame = frame.reset_index(drop=True)
    n = len(frame)
    if n == 0:
        return pd.DataFrame(columns=[*score_columns(reg), "parent_id", "depth", "author", "timestamp", "text",
                                     "article", "parent_text"])
    thr = {f.code: model.threshold(f.code, profile, thresholds) for f in reg.model_flags}
    probs = model.task_probabilities(frame)
    scores = flag_scores(reg, probs, n)
    stage = np.full(n, "fast", dtype=object)
    if rescore:
        if not model.rescorers:
            raise ModkitError(f"model {model.name} has no e5 second stage: train one with `modkit train --rescorer`")
        from modkit.rescore import uncertain_rows

        for task, pipe in model.rescorers.items():
            spec = reg.task(task)
            rows = np.flatnonzero(uncertain_rows(scores, thr, {f.code: f.column for f in spec.model_flags}, band))
            if not len(rows):
                continue
            classes, P = probs[task]
            P = P.copy()
            P[rows] = align_proba(np.asarray(pipe.predict_proba(frame.iloc[rows])), pipe.classes_, classes)
            probs[task] = (classes, P)
            stage[rows] = "e5"
        scores = flag_scores(reg, probs, n)
    texts = frame["text"].fillna("").astype(str).tolist()
    stats = TextStats(lexicon=model.lexicon).raw(texts)
    ctx = (model.context.context(frame) if model.context is not None
           else pd.DataFrame(0.0, index=range(n), columns=["near_repeat", "exact_repeat"]))
    rules = {
        "REPEAT_POST": ctx["near_repeat"].to_numpy() >= NEAR_REPEAT,
        "LINKS": stats["links"].to_numpy() > 0,
        "SHOUTING": stats["shouting"].to_numpy() > 0,
        "EMPTY": stats["empty"].to_numpy() > 0,
    }
    empty = rules["EMPTY"]
    on: dict[str, np.ndarray] = {}
    for t in reg.tasks:  # within a task only its most severe firing flag is set (UNCIVIL not with ABUSIVE)
        taken = np.zeros(n, dtype=bool)
        for f in sorted(t.model_flags, key=lambda f: -f.severity):
            on[f.code] = (scores[f.column] >= thr[f.code]) & ~taken & ~empty  # an empty comment is only EMPTY
            taken |= on[f.code]
    for f in reg.flags:
        if f.rule:
            on[f.code] = rules[f.rule]
    order = [f.code for f in reg.flags]
    flag_lists: list[list[str]] = [[] for _ in range(n)]
    for code in order:
        for i in np.flatnonzero(on[code]):
            flag_lists[i].append(code)
    flags = [";".join(fl) for fl in flag_lists]
    priority = _priority(reg, scores, thr, on, empty, n)
    unc = np.where(empty, 0.0, _uncertainty(reg, probs, n))
    reasons = [""] * n
    if explain != "none":
        rows = list(range(n)) if explain == "all" else [i for i in range(n) if flags[i]]
        if rows:
            _reasons(rows, reasons, model, texts, stats, ctx, scores, on, flag_lists)
    # Text columns stay object arrays of the same str objects (pandas' default Arrow string dtype
    # would copy every text in here and out again when the CSV is written).
    def obj(v: Any) -> pd.Series:
        return pd.Series(np.asarray(v, dtype=object), dtype=object, copy=False)

    cols: dict[str, Any] = {"comment_id": obj(frame["comment_id"].to_numpy(dtype=object)),
                            "doc": obj(frame["doc"].to_numpy(dtype=object))}
    for col in reg.score_columns:
        v = scores[col]
        cols[col] = v if v.dtype.kind == "f" else obj(v)  # unrounded: the CSV rounds
    cols["flags"] = obj(flags)
    cols["reasons"] = obj(reasons)
    cols["priority"] = priority
    cols["uncertainty"] = unc
    if rescore:
        cols["stage"] = obj(stage)
    for col in ("parent_id", "depth", "author", "timestamp", "text", "article", "parent_text"):
        v = frame[col].to_numpy()
        cols[col] = v if v.dtype.kind in "iuf" else obj(frame[col].to_numpy(dtype=object))
    return pd.DataFrame(cols)


def score(threads: Iterable[Any] | pd.DataFrame, model: TrainedModel | str | Path, profile: str = "balanced",
          thresholds: dict[str, float] | None = None, explain: str = "flagged") -> pd.DataFrame:
    """:func:`score_batch` of Thread objects (or a comment frame), loading ``model`` when it is a
    path."""
    m = model if isinstance(model, TrainedModel) else load_model(model)
    frame = threads if isinstance(threads, pd.DataFrame) else comment_frame(threads)
    return score_batch(frame, m, profile, thresholds, explain)


def _priority(reg: Registry, scores: dict[str, np.ndarray], thr: dict[str, float], on: dict[str, np.ndarray],
              empty: np.ndarray, n: int) -> np.ndarray:
    """Severity of the worst flag, then how far past its threshold; unflagged comments get how
    close they come to a threshold (below 1)."""
    mf = reg.model_flags
    if mf:
        ratio = np.max(np.stack([np.clip(scores[f.column] / max(thr[f.code], 1e-9), 0, 1) for f in mf]), axis=0) * 0.999
    else:
        ratio = np.zeros(n)
    priority = np.where(empty, 0.0, ratio)
    for f in reversed(reg.flags):
        if f.rule:
            val = np.full(n, float(f.severity))
        else:
            margin = np.clip((scores[f.column] - thr[f.code]) / max(1 - thr[f.code], 1e-9), 0, 1) * 0.999
            val = f.severity + margin
        priority = np.where(on[f.code] & (val > priority), val, priority)
    return priority


def _uncertainty(reg: Registry, probs: dict[str, tuple[list[str], np.ndarray]], n: int) -> np.ndarray:
    """Class-margin uncertainty of the task whose flags are the most severe (civility in the
    default schema): the order ``--queue`` and the labeler's ``--order uncertain`` use."""
    tasks = [t for t in reg.tasks if t.model_flags] or list(reg.tasks)
    if not tasks:
        return np.zeros(n)
    lead = max(tasks, key=lambda t: max((f.severity for f in t.model_flags), default=0))
    return class_margin_uncertainty(probs[lead.name][1])


def _text_parts(pipe: Any) -> tuple[TextTfidf, np.ndarray, list[str]] | None:
    """The TextTfidf of a task pipeline and its linear classifier's word weights (rows: the
    classifier's classes; binary: one row for the second class), or None when the pipeline
    has no word features or no linear classifier. Reads only public attributes: the
    FeatureUnion's transformers, ``get_feature_names_out`` widths, ``calibrated_classifiers_``
    and ``coef_``."""
    feats = pipe.named_steps.get("features")
    if feats is None or not hasattr(feats, "transformer_list"):
        return None
    offset = 0
    tf = None
    for _, t in feats.transformer_list:
        if isinstance(t, TextTfidf):
            tf = t
            break
        offset += len(t.get_feature_names_out())
    if tf is None:
        return None
    clf = pipe.named_steps["clf"]
    cals = getattr(clf, "calibrated_classifiers_", None)
    est = cals[0].estimator if cals else clf
    coef = getattr(est, "coef_", None)
    if coef is None:
        return None
    coef = np.asarray(coef)[:, offset:offset + len(tf.words_)]
    return tf, coef, [str(c) for c in est.classes_]


def _word_weights(parts: tuple[TextTfidf, np.ndarray, list[str]], values: Sequence[str]) -> np.ndarray:
    _, coef, classes = parts
    if coef.shape[0] == 1:  # binary: the row is for classes[1]
        return coef[0] if classes[1] in values else -coef[0]
    return sum(coef[classes.index(v)] for v in values if v in classes)


def _reasons(rows: list[int], reasons: list[str], m: TrainedModel, texts: list[str], stats: pd.DataFrame,
             ctx: pd.DataFrame, scores: dict[str, np.ndarray], on: dict[str, np.ndarray],
             flag_lists: list[list[str]]) -> None:
    """Reasons a moderator can check: the words of *this* comment that pushed each raised
    flag's score up most (linear contributions; never a word that only names a group of
    people, :data:`modkit.identity.NEVER_A_REASON`), lexicon words, capitals, links, and the
    thread evidence (similarity to article and parent, repeats) for a task reading the thread."""
    reg = m.registry
    lex = frozenset(m.lexicon)
    rows_a = np.asarray(rows)
    word_blocks: dict[str, Any] = {}
    parts_of: dict[str, Any] = {}
    vocab_lists: dict[str, list[str]] = {}
    explainable: dict[str, np.ndarray] = {}
    for t in reg.tasks:
        if t.model_flags and "text" in t.features:
            parts = _text_parts(m.pipelines[t.name])
            if parts is not None:
                parts_of[t.name] = parts
                # the whole batch's word block (its tokens and token maps are memoised), then the rows
                word_blocks[t.name] = parts[0].word_block(texts).tocsr()[rows_a]
                only = span_words() | frozenset(m.lexicon) if _trained_on_civility_corpora(m, t.name) else None
                vocab_lists[t.name], explainable[t.name] = _vocabulary(parts[0], only)
    thread_tasks = [t for t in reg.tasks if "thread" in t.features and t.model_flags]
    thread_flags = [f for t in thread_tasks for f in t.model_flags]
    caps_a, loglen_a, links_a, lex_a = (stats[c].to_numpy() for c in ("caps_ratio", "log_length", "links", "lexicon_hits"))
    has = set(ctx.columns)
    col = {c: ctx[c].to_numpy() for c in ("sim_article", "sim_parent", "is_reply", "exact_repeat",
                                           "near_repeat", "self_reply") if c in has}
    weights = {f.code: _word_weights(parts_of[f.task], f.values) for f in reg.model_flags if f.task in parts_of}
    model_flags = reg.model_flags
    for k, i in enumerate(rows):
        fl = flag_lists[i]
        if "EMPTY" in fl:
            reasons[i] = "no text"
            continue
        bits: list[str] = []
        raised = [f for f in model_flags if on[f.code][i]]
        for f in raised:
            if f.code in weights:
                w = weights[f.code]
                W = word_blocks[f.task]
                start, end = W.indptr[k], W.indptr[k + 1]
                idx = W.indices[start:end]
                contrib = W.data[start:end] * w[idx]
                ok = np.flatnonzero((contrib > 0.05) & explainable[f.task][idx])
                words = vocab_lists[f.task]
                top = [words[idx[j]] for j in ok[np.argsort(-contrib[ok], kind="stable")[:3]]]
                if top:
                    bits.append(f"{f.code.lower().replace('_', ' ')} terms: " + ", ".join(f'"{w}"' for w in top))
                else:  # say so, rather than name whatever topic word leans the same way
                    bits.append(f"{f.code.lower().replace('_', ' ')}: no hostile word, the wording as a whole")
            bits.append(f"{f.column} {scores[f.column][i]:.2f}")
        hits = lexicon_hits(texts[i], lex) if lex_a[i] > 0 else []  # the statistics counted them
        if hits:
            bits.append("lexicon: " + ", ".join(f'"{h}"' for h in hits[:4]))
        if caps_a[i] > 0.5 and loglen_a[i] > 2.5:
            bits.append(f"capitals {caps_a[i]:.0%}")
        if links_a[i] > 0:
            bits.append(f"links {int(links_a[i])}")
        if "is_reply" in col and any(on[f.code][i] or scores[f.column][i] >= 0.3 for f in thread_flags):
            s = f"similarity to article {col['sim_article'][i]:.2f}"
            if col["is_reply"][i] > 0:
                s += f", to parent {col['sim_parent'][i]:.2f}"
            bits.append(s)
        if col["exact_repeat"][i] > 0:
            bits.append("exact repeat of an earlier comment on the page")
        elif col["near_repeat"][i] >= NEAR_REPEAT:
            bits.append(f"near repeat of an earlier comment (cosine {col['near_repeat'][i]:.2f})")
        if "self_reply" in col and col["self_reply"][i] > 0:
            bits.append("reply to own comment")
        reasons[i] = "; ".join(bits)


def _vocabulary(tf: TextTfidf, only: frozenset[str] | None = None) -> tuple[list[str], np.ndarray]:
    """A fitted TextTfidf's words in column order and which of them may be shown as a reason
    (:func:`_explains`, and in ``only`` when it is given), computed once per fitted vocabulary
    and ``only`` (:func:`modkit.features.fitted_cache`)."""

    def build() -> tuple[list[str], np.ndarray]:
        words = list(tf.words_)  # words_ maps word -> column, in column order
        ok = (_explains(w) and (only is None or w in only) for w in words)
        return words, np.fromiter(ok, dtype=bool, count=len(words))

    return fitted_cache(tf, (tf.words_,), (only,), build, name="reasons")


#: The public corpora whose civility labels make a task's word weights lean on topic words
#: (its reasons are then only :func:`span_words` and lexicon words): a news corpus of once-toxic comments teaches
#: "countries" a weight.
CIVILITY_CORPORA = ("civil-comments-toxic-spans", "davidson-2017")


def _trained_on_civility_corpora(m: TrainedModel, task: str) -> bool:
    counts = (m.card.get("counts") or {}).get(task) or {}
    return any(src in CIVILITY_CORPORA for src in counts)


@functools.cache
def span_words() -> frozenset[str]:
    """The words raters of the Civil Comments toxic spans set marked as the toxic part of a news
    comment (``resources/span_words/span_words.tsv``, built by ``scripts/build_span_words.py``)."""
    path = Path(__file__).resolve().parent / "resources" / "span_words" / "span_words.tsv"
    with open(path, encoding="utf-8") as fh:
        next(fh)
        return frozenset(line.split("\t", 1)[0] for line in fh if line.strip())


def _explains(word: str) -> bool:
    """A word a moderator can take as a reason: not a function word, not too short, not a word
    that only names a group of people."""
    return len(word) > 2 and word not in STOP_WORDS and word not in NEVER_A_REASON


def class_margin_uncertainty(P: np.ndarray) -> np.ndarray:
    """Class-margin uncertainty of class probabilities ``P`` (one row per comment):
    ``1 - (p_first - p_second)``, the gap between the two likeliest classes taken from 1.
    1 when the two likeliest values tie, 0 when the model is certain."""
    P = np.asarray(P, dtype=np.float64)
    if P.ndim != 2 or P.shape[1] < 2:
        return np.zeros(len(P))
    top = np.partition(P, P.shape[1] - 2, axis=1)
    return np.clip(1.0 - (top[:, -1] - top[:, -2]), 0.0, 1.0)


def uncertainty(threads: Iterable[Any], model: TrainedModel | str | Path, profile: str = "balanced") -> pd.Series:
    """How unsure the model is about each comment, by comment id, by **class margin** of the
    task with the most severe flags (civility in the default schema): one minus the gap between
    the probabilities of its two likeliest values. 1 when they tie, 0 when the model is certain
    (and for empty comments). The labeler's ``--order uncertain`` and ``modkit flag --queue N``
    show the highest first: labels there teach the model most. (In an active-learning
    simulation, ``bench/active_learning.py``, this beat random review order.) ``profile`` does
    not change it."""
    df = score(threads, model, profile, explain="none")
    return pd.Series(df["uncertainty"].to_numpy(), index=df["comment_id"].to_numpy(), name="uncertainty")


# --------------------------------------------------------------------------------------------
# The CSV
# --------------------------------------------------------------------------------------------
def _context(parent_text: str, article: str) -> str:
    src = parent_text if parent_text else article
    s = " ".join(str(src).split())
    return s if len(s) <= CONTEXT_CHARS else s[:CONTEXT_CHARS - 1].rstrip() + "…"


def csv_rows(scored: pd.DataFrame, model_label: str, registry: Registry) -> Iterator[list[str]]:
    """CSV rows (lists of cells, neutralised) for scored comments, in the frame's order."""
    cols = registry.score_columns
    score_cells = [
        [f"{v:.4f}" for v in scored[c].to_numpy()] if scored[c].dtype.kind == "f" else [str(v) for v in scored[c]]
        for c in cols
    ]
    stages = [[str(v) for v in scored["stage"]]] if "stage" in scored.columns else []
    for k, r in enumerate(scored.itertuples(index=False)):
        cells = [
            r.comment_id, r.doc, r.parent_id, str(int(r.depth)), r.author, r.timestamp, r.text,
            _context(r.parent_text, r.article), r.flags, *(sc[k] for sc in score_cells),
            *(st[k] for st in stages), r.reasons,
            f"{r.priority:.4f}", model_label, text_sha(str(r.text)), "", "", "", "",
        ]
        yield [neutralise(str(c)) for c in cells]


def open_csv(path: str | Path, registry: Registry, stage: bool = False) -> tuple[io.TextIOBase, Any]:
    """Open ``path`` for a flag CSV and write the header; the caller closes the file."""
    fh = open(path, "w", encoding=CSV_ENCODING, newline="")  # noqa: SIM115 - returned to the caller
    return fh, write_header(fh, registry, stage)


def write_header(fh: Any, registry: Registry, stage: bool = False) -> Any:
    """Write the flag CSV's header to ``fh`` (opened with ``newline=""``); returns the csv writer."""
    writer = csv.writer(fh, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(csv_columns(registry, stage))
    return writer


#: Columns of a flag CSV that hold a moderator's work (left empty by ``modkit flag``).
MODERATOR_COLUMNS = ("decision", "reject_code", "note", "labels")


def reviewed_rows(path: str | Path) -> int:
    """Rows of the flag CSV at ``path`` in which a moderator filled a decision, reject code, note
    or correction; 0 when there is no such file or it is no flag CSV."""
    path = Path(path)
    if not path.is_file():
        return 0
    # review's reader, the one that reads a sheet back from Excel or LibreOffice (BOM, ";",
    # UTF-16); imported here, not at the top, as review comes after flag in the data flow
    from modkit.review import read_sheet

    try:
        sheet = read_sheet(path)
    except ModkitError:
        return 0
    return sum(1 for _, cells in sheet.rows if any(cells.get(c, "").strip() for c in MODERATOR_COLUMNS))


def refuse_reviewed(out: str | Path) -> None:
    """Raise :class:`ModkitError` when ``out`` is a flag CSV holding a moderator's decisions
    (:func:`reviewed_rows`): writing over it would lose them without a word."""
    n = reviewed_rows(out)
    if n:
        raise ModkitError(
            f"{out}: {n} row{'s hold' if n != 1 else ' holds'} a moderator's decisions; not overwriting them: import "
            f"them first (modkit review {out} --reviewer NAME), write elsewhere (--out), or pass --force")


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
    flags: tuple[str, ...] = ()  #: the model's flag codes, in the order of the flags column
    removed: int = 0  #: comments the platform had already removed (spam, deleted, rejected): not scored
    top: list[tuple[str, str, str, float, str, str]] = field(default_factory=list)
    """The most urgent flagged comments: (comment_id, doc, flags, priority, text, reasons)."""

    def summary_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"page": p.doc, "comments": p.comments, "flagged": p.flagged,
                              **{f: p.per_flag.get(f, 0) for f in self.flags}} for p in self.pages])


_WORKER_MODELS: dict[str, TrainedModel] = {}


def _worker_model(model: TrainedModel | str) -> TrainedModel:
    if isinstance(model, TrainedModel):
        return model
    if model not in _WORKER_MODELS:
        _WORKER_MODELS[model] = load_model(model)
    return _WORKER_MODELS[model]


#: How many of the most urgent flagged comments :class:`FlagResult` keeps for the terminal.
TOP_SHOWN = 5
#: Comments per call of :func:`score_batch` inside a chunk (whole pages; bounds memory).
BATCH_COMMENTS = 20_000


def _batches(threads: list[Any], size: int = BATCH_COMMENTS) -> Iterator[list[Any]]:
    cur: list[Any] = []
    n = 0
    for t in threads:
        cur.append(t)
        n += len(t.comments)
        if n >= size:
            yield cur
            cur, n = [], 0
    if cur:
        yield cur


def _chunk_job(paths: list[str], model: TrainedModel | str, profile: str, thresholds: dict[str, float] | None,
               keep: str, queue: int | None, run_dir: str, k: int, rescore: bool = False,
               band: float = 0.1, include_removed: bool = False) -> dict[str, Any]:
    """Score one chunk of files (each one page, or an export holding many threads); write its
    rows, sorted, to a run file. Runs in a worker. Comments the platform removed are left out
    unless ``include_removed`` (they still give their replies the parent's text as context)."""
    from modkit.threads.registry import read_file

    m = _worker_model(model)
    threads: list[Any] = []
    problems: list[str] = []
    for p in paths:
        try:
            found = read_file(Path(p))
        except ModkitError as exc:
            problems.append(exc.message)
            continue
        for t in found:
            too_long = _oversized(t)
            if too_long:
                problems.append(too_long)
            else:
                threads.append(t)
    explain = "all" if (queue or keep == "all") else "flagged"
    removed = 0 if include_removed else sum(c.status in REMOVED_STATUSES for t in threads for c in t.comments)
    parts = [score_batch(_frame(b, include_removed), m, profile, thresholds, explain, rescore, band)
             for b in _batches(threads)]
    scored = pd.concat(parts, ignore_index=True) if len(parts) > 1 else (
        parts[0] if parts else score_batch(comment_frame([]), m, profile, thresholds, explain))
    if rescore and "stage" not in scored.columns:
        scored["stage"] = "fast"
    pages = []
    tally: dict[str, dict[str, int]] = {}
    for doc, fl in zip(scored["doc"].tolist(), scored["flags"].tolist()):
        if fl:
            d = tally.setdefault(doc, {"": 0})
            d[""] += 1
            for f in fl.split(";"):
                d[f] = d.get(f, 0) + 1
    codes = [f.code for f in m.registry.flags]
    for t in threads:
        d = tally.get(t.doc, {})
        per = {f: d[f] for f in codes if d.get(f)}  # non-zero only: one small record per page
        n = len(t.comments) if include_removed or not removed else sum(
            c.status not in REMOVED_STATUSES for c in t.comments)
        pages.append(PageSummary(t.doc, t.source, n, d.get("", 0), per, t.has_comment_section))
    if queue:
        scored = scored.sort_values("uncertainty", ascending=False, kind="stable").head(queue)
        key = scored["uncertainty"].to_numpy()
    else:
        if keep != "all":
            scored = scored[scored["flags"] != ""]
        key = scored["priority"].to_numpy()
    scored = scored.assign(_key=key).sort_values("_key", ascending=False, kind="stable")
    top = [(str(r.comment_id), str(r.doc), str(r.flags), float(r.priority), str(r.text), str(r.reasons))
           for r in scored[scored["flags"] != ""].head(TOP_SHOWN).itertuples(index=False)]
    run = Path(run_dir) / f"run{k:06d}.csv"
    try:
        with open(run, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            for key_val, row in zip(scored["_key"].to_numpy(), csv_rows(scored, m.label, m.registry)):
                w.writerow([f"{key_val:.6f}", *row])
    except OSError as exc:  # the temporary folder's disk is full
        raise os_error(run, exc) from None
    return {"run": str(run), "rows": len(scored), "pages": pages, "problems": problems, "top": top,
            "files": len(paths), "removed": removed}


def _frame(threads: list[Any], include_removed: bool) -> pd.DataFrame:
    """The comment frame of ``threads`` without the comments the platform removed (unless
    ``include_removed``); a reply to one keeps its text as parent context."""
    frame = comment_frame(threads)
    if include_removed:
        return frame
    gone = [c.status in REMOVED_STATUSES for t in threads for c in t.comments]  # the frame's row order
    if not any(gone):
        return frame
    return frame[~np.asarray(gone, dtype=bool)].reset_index(drop=True)


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
        for _, row in csvsafe.rows(fh, path):  # cells up to MAX_CELL: _chunk_job skips pages with more
            yield -float(row[0]), row[1:]


def _oversized(t: Any) -> str:
    """A problem line for a thread holding a comment too long for a CSV cell ("" if none does)."""
    for c in t.comments:
        if len(c.text) > csvsafe.MAX_CELL:
            where = f"{t.source}:{c.line}" if c.line else t.source
            return (f"{where}: comment {c.id} holds {len(c.text):,} characters, more than a CSV cell of modkit "
                    f"holds ({csvsafe.MAX_CELL:,}); page skipped")
    return ""


def check_model_options(loaded: TrainedModel, rescore: bool, thresholds: dict[str, float] | None) -> None:
    """Refuse, in one line, options the model cannot serve: ``rescore`` without an e5 second
    stage, a threshold for a flag it does not raise."""
    if rescore and not loaded.rescorers:
        raise ModkitError(f"model {loaded.name} has no e5 second stage: train one with `modkit train --rescorer`")
    if thresholds:
        codes = [f.code for f in loaded.registry.model_flags]
        unknown = sorted(set(thresholds) - set(codes))
        if unknown:
            raise ModkitError(f"unknown flag {unknown[0]!r} in thresholds: expected one of {', '.join(codes)}")


def flag(sources: Sequence[str | Path], model: TrainedModel | str | Path | None = None,
         out: str | Path = "flagged.csv", all: bool = False, profile: str = "balanced",
         thresholds: dict[str, float] | None = None, queue: int | None = None, jobs: int = 0,
         chunk_bytes: int = 4 << 20, progress: Callable[[int, int], None] | None = None,
         rescore: bool = False, band: float = 0.1, allow_pickle: bool = False,
         include_removed: bool = False, force: bool = False, fmt: str = "csv") -> FlagResult:
    """Flag the comments of ``sources`` and write the CSV ``out``.

    One row per flagged comment (every comment with ``all``; the ``queue`` comments the model
    is least sure about with ``queue``), sorted by priority (or uncertainty). Pages are scored
    in chunks (about ``chunk_bytes`` of page files each), in ``jobs`` processes (0: one per core,
    used when there is more than one chunk), each chunk's rows written to a sorted run file that is
    merged at the end: memory stays flat in the number of comments. The CSV is written to a
    temporary file, fsynced and renamed (:func:`modkit.safeio.atomic_write`), so a failed or
    killed run never leaves a half-written CSV; an unwritable ``out`` fails before the scoring.
    An ``out`` in which a moderator has filled decisions is not overwritten unless ``force``
    (:func:`refuse_reviewed`). ``rescore``:
    the e5 second stage decides the comments within ``band`` of a threshold (a ``stage`` column).
    ``allow_pickle``: a pickle model (``model.joblib``) may be loaded (see :func:`load_model`).
    Comments an export marks as removed by the platform (``status`` spam, deleted or rejected)
    are not scored unless ``include_removed``; :attr:`FlagResult.removed` counts them.
    ``fmt="parquet"``: the same rows and columns in a Parquet file (scores and priority as
    floats, depth as an integer, text as written, not neutralised; needs pyarrow), see
    :func:`write_parquet_rows`.
    """
    from modkit.sources import resolve_sources

    jobs = resolve_jobs(jobs)  # 0: every core, used only when there is more than one chunk of pages
    if profile not in PROFILES:
        raise ModkitError(f"unknown profile {profile!r}: expected one of {', '.join(PROFILES)}")
    out = check_writable(out)  # before the scoring, not after it
    _check_out_format(fmt)
    if not force:
        refuse_reviewed(out)
    loaded = model if isinstance(model, TrainedModel) else load_model(model, allow_pickle=allow_pickle)
    check_model_options(loaded, rescore, thresholds)
    m: TrainedModel | str = loaded
    if jobs > 1 and loaded.path and not allow_pickle:  # workers load it once each (hash-checked) instead of unpickling it per chunk
        m = str(Path(loaded.path))
        _WORKER_MODELS[m] = loaded
    paths = resolve_sources(sources)
    chunks = _chunks(paths, chunk_bytes)
    result = FlagResult(out=out, rows=0, comments=0, flags=tuple(f.code for f in loaded.registry.flags))
    keep = "all" if all else "flagged"
    with tempfile.TemporaryDirectory(prefix="modkit-flag-") as run_dir:
        args = [(c, m, profile, thresholds, keep, queue, run_dir, k, rescore, band, include_removed)
                for k, c in enumerate(chunks)]
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
            result.removed += r.get("removed", 0)
            result.top = heapq.nlargest(TOP_SHOWN, [*result.top, *r["top"]], key=lambda t: t[3])
            done += r["files"]
            if progress:
                progress(done, len(paths))
        result.comments = sum(p.comments for p in result.pages)
        n = 0
        from itertools import islice

        merged = heapq.merge(*(_read_run(r) for r in runs), key=lambda kv: kv[0])
        rows = islice((row for _, row in merged), queue or None)
        if fmt == "parquet":
            n = write_parquet_rows(rows, out, loaded.registry, stage=rescore)
        else:
            # temporary file, fsync, rename: a failed or killed run leaves the old CSV, never half a new one
            with atomic_write(out, encoding=CSV_ENCODING, newline="") as fh:
                writer = write_header(fh, loaded.registry, stage=rescore)
                for row in rows:
                    writer.writerow(row)
                    n += 1
    result.rows = n
    return result


# --------------------------------------------------------------------------------------------
# The flag rows as a Parquet file (``modkit flag --format parquet``)
# --------------------------------------------------------------------------------------------
#: Output formats of :func:`flag`.
OUT_FORMATS = ("csv", "parquet")


def _check_out_format(fmt: str) -> None:
    if fmt not in OUT_FORMATS:
        raise ModkitError(f"unknown output format {fmt!r}: expected one of {', '.join(OUT_FORMATS)}")
    if fmt == "parquet":
        from modkit.tables import require_pyarrow

        require_pyarrow("--format parquet")


def parquet_kinds(registry: Registry, stage: bool = False) -> dict[str, str]:
    """The flag file's columns (:func:`csv_columns`) with their Parquet types: ``depth`` a whole
    number, each model flag's score (``p_<flag>``) and ``priority`` decimals, the rest text."""
    floats = {f.column for f in registry.model_flags} | {"priority"}
    return {c: "int64" if c == "depth" else "float64" if c in floats else "string"
            for c in csv_columns(registry, stage)}


def write_parquet_rows(rows: Iterable[Sequence[str]], out: str | Path, registry: Registry,
                       stage: bool = False) -> int:
    """Write flag CSV rows (lists of cells, neutralised, as :func:`csv_rows` makes them) to the
    Parquet file ``out`` with :func:`parquet_kinds`: cells are taken back from their
    neutralised form (:func:`~modkit.csvsafe.unneutralise`), numbers parsed (an empty cell is
    null). Whole or not at all (a temporary file renamed over ``out``), in row groups: memory
    holds one. Returns the number of rows."""
    from modkit import tables

    kinds = parquet_kinds(registry, stage)
    names = list(kinds)
    convert: list[Callable[[str], Any]] = [
        _to_int if kinds[c] == "int64" else _to_float if kinds[c] == "float64" else csvsafe.unneutralise
        for c in names]
    batch_rows = 8192
    with tables.parquet_sink(out, tables.schema(kinds)) as sink:
        cols: list[list[Any]] = [[] for _ in names]
        for row in rows:
            for col, conv, cell in zip(cols, convert, row):
                col.append(conv(cell))
            if len(cols[0]) >= batch_rows:
                sink.write_rows(dict(zip(names, cols)))
                cols = [[] for _ in names]
        sink.write_rows(dict(zip(names, cols)))
        return sink.rows


def _to_int(cell: str) -> int | None:
    cell = csvsafe.unneutralise(cell)
    return int(cell) if cell else None


def _to_float(cell: str) -> float | None:
    cell = csvsafe.unneutralise(cell)
    return float(cell) if cell else None


__all__ = [
    "CSV_COLUMNS",
    "CSV_ENCODING",
    "FLAGS",
    "OUT_FORMATS",
    "SCORE_COLUMNS",
    "FlagResult",
    "PageSummary",
    "check_model_options",
    "class_margin_uncertainty",
    "csv_columns",
    "flag",
    "neutralise",
    "parquet_kinds",
    "read_csv",
    "score",
    "score_batch",
    "score_columns",
    "uncertainty",
    "write_parquet_rows",
]

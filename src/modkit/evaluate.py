"""Measure a trained model on a team's own labeled comments, before trusting it.

>>> from modkit import evaluate, model
>>> m = model.load_model("models/default")
>>> ev = evaluate.evaluate(m, ["seeds/"], labels="labels")          # resolved labels of a label store
>>> ev = evaluate.evaluate(m, ["seeds/"], labeled_csv="ours.csv")   # or a CSV: comment_id + task columns
>>> ev = evaluate.evaluate(m, [], labeled_csv="texts.csv")          # a CSV with a text column: no pages
>>> ev.to_dict()["flags"]["UNCIVIL"]["profiles"]["balanced"]["precision"]
>>> print("\\n".join(ev.lines()))

The labeled comments are scored with :func:`modkit.flag.score_batch` with their whole threads in
the batch (the thread features read the page), then only the labeled rows are kept. Per task of
the model: ROC-AUC and PR-AUC of each value (one-vs-rest on the pipeline's own probabilities),
the confusion matrix (arg-max) and macro-F1 (:func:`modkit.model.class_metrics`); per model
flag: ROC-AUC and PR-AUC of its score ``p_<flag>`` against "the true value is one the flag
stands for", and precision, recall and F1 at each profile's threshold
(:func:`modkit.model.binary_metrics`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modkit.errors import EXIT_USAGE, ModkitError, not_found
from modkit.features import FRAME_COLUMNS, comment_frame
from modkit.flag import score_batch
from modkit.model import TrainedModel, binary_metrics, class_metrics
from modkit.tasks import PROFILES, Registry

#: Columns of a labeled CSV that are never a task: a label export's and a thread export's own.
NOT_TASKS = frozenset({*FRAME_COLUMNS, "annotator", "note", "time", "source", "text_sha", "ties",
                       "adjudicated", "annotators", "id", "title", "sha256", "declared", "found"})


class UsageError(ModkitError):
    """Labels given both ways, or neither; pages missing for a CSV without texts."""

    exit_code = EXIT_USAGE


@dataclass
class Evaluation:
    """The figures of one model on one set of labeled comments (see :func:`evaluate`)."""

    model: str  #: the model's label, ``NAME@VERSION+SHA8``
    labels: str  #: where the labels came from
    comments: int  #: comments scored (whole threads)
    labeled: int  #: comments with at least one label used
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)  #: task -> class_metrics(...)
    flags: dict[str, dict[str, Any]] = field(default_factory=dict)  #: flag code -> figures
    no_labels: list[str] = field(default_factory=list)  #: the model's tasks without any label here
    not_in_model: dict[str, int] = field(default_factory=dict)  #: label task the model lacks -> labels
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "labels": self.labels, "comments": self.comments, "labeled": self.labeled,
                "tasks": self.tasks, "flags": self.flags, "no_labels": list(self.no_labels),
                "not_in_model": dict(self.not_in_model), "warnings": list(self.warnings)}

    def lines(self) -> list[str]:
        """The evaluation as plain text lines (what ``modkit evaluate`` shows, without tables)."""
        out = [f"model {self.model} on {self.labels}: {self.labeled} labeled comments of {self.comments} scored"]
        for name, t in self.tasks.items():
            out.append(f"== {name}: n={t['n']} macro-F1={_f(t.get('macro_f1'))}")
            for v, c in t["per_class"].items():
                out.append(f"    {v:<10} support={c['support']:<5} P={_f(c['precision'])} R={_f(c['recall'])} "
                           f"F1={_f(c['f1'])} ROC-AUC={_f(c['roc_auc'])} PR-AUC={_f(c['pr_auc'])}")
            out.append(f"    confusion (rows true, columns predicted: {', '.join(t['classes'])}): "
                       f"{t['confusion_matrix']}")
            if t.get("never_predicted"):
                out.append(f"    the model has no class {', '.join(t['never_predicted'])}: it never predicts it")
            for code, fl in self.flags.items():
                if fl["task"] != name:
                    continue
                out.append(f"  flag {code} ({' or '.join(fl['values'])}): n={fl['n']} positives={fl['positives']} "
                           f"ROC-AUC={_f(fl['roc_auc'])} PR-AUC={_f(fl['pr_auc'])}")
                for prof, p in fl["profiles"].items():
                    out.append(f"    {prof:<9} threshold={_f(p['threshold'])} flagged={p['flagged']} "
                               f"P={_f(p['precision'])} R={_f(p['recall'])} F1={_f(p['f1'])}")
        out.extend(f"== {name}: no labels" for name in self.no_labels)
        out.extend(f"== {name}: {n} labels, but the model has no {name} task (not trained on it)"
                   for name, n in self.not_in_model.items())
        return out


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------
def evaluate(model: TrainedModel, sources: Sequence[str | Path] | str | Path = (), labels: str | Path | None = None,
             labeled_csv: str | Path | None = None, profiles: Iterable[str] = PROFILES) -> Evaluation:
    """Score the labeled comments of ``sources`` with ``model`` and compare with the labels.

    Labels come from a label store folder (``labels``: its resolved labels, with the folder's
    schema) or from a labeled CSV (``labeled_csv``: ``comment_id``, optional ``doc``, one column
    per task, an empty cell meaning no label). A CSV with a ``text`` column and no ``sources``
    is its own set of comments, without thread context (no article, no parent). Reads files,
    writes none. Raises one :class:`ModkitError` naming the file and row for bad input."""
    if isinstance(sources, (str, Path)):
        sources = [sources]
    sources = list(sources)
    if (labels is None) == (labeled_csv is None):
        raise UsageError("give labels either as a label folder (--labels DIR) or as a labeled CSV (--csv FILE)")
    warnings: list[str] = []
    if labels is not None:
        if not sources:
            raise UsageError(f"{labels}: give the pages (SOURCE) the labels belong to")
        frame, gold, other, where = _from_store(Path(labels), sources, model.registry, warnings)
        trained_on = model.card.get("labels_dir")
        if trained_on and Path(trained_on).resolve() == Path(labels).resolve():
            warnings.append(f"{model.name} was trained on the labels of {labels} (its model card says so): "
                            "these figures are on its own training labels, an upper bound, not a test")
    else:
        frame, gold, other, where = _from_csv(Path(labeled_csv), sources, model.registry, warnings)
    return _measure(model, frame, gold, other, where, tuple(profiles), warnings)


def _measure(model: TrainedModel, frame: pd.DataFrame, gold: dict[str, dict[str, str]], other: dict[str, int],
             where: str, profiles: tuple[str, ...], warnings: list[str]) -> Evaluation:
    """``gold``: task -> {row position in ``frame`` (as str) -> value}."""
    reg = model.registry
    frame = frame.reset_index(drop=True)
    labeled_rows = sorted({int(i) for by in gold.values() for i in by})
    ev = Evaluation(model=model.label, labels=where, comments=len(frame), labeled=len(labeled_rows),
                    not_in_model=other, warnings=warnings)
    if not labeled_rows:
        ev.no_labels = list(reg.names)
        return ev
    scored = score_batch(frame, model, explain="none")  # whole threads: the thread features read the page
    probs = model.task_probabilities(frame)
    for spec in reg.tasks:
        by = gold.get(spec.name, {})
        known = {i: v for i, v in by.items() if v in spec.values}
        if len(known) < len(by):
            odd = sorted({v for v in by.values() if v not in spec.values})
            warnings.append(f"{spec.name}: {len(by) - len(known)} labels with values the model does not know "
                            f"({', '.join(odd)}; it knows {', '.join(spec.values)}): left out")
        if not known:
            ev.no_labels.append(spec.name)
            continue
        rows = np.array(sorted(int(i) for i in known))
        y = np.array([known[str(i)] for i in rows], dtype=object)
        classes, P = probs[spec.name]
        # Columns in the schema's value order; a value the pipeline has no class for scores 0.
        order = [*spec.values, *(c for c in classes if c not in spec.values)]
        Pv = np.column_stack([P[rows, classes.index(v)] if v in classes else np.zeros(len(rows)) for v in order])
        rep = class_metrics(y, Pv, order)
        missing = [v for v in order if v not in classes]
        for v in missing:  # a score of 0 for every comment measures nothing
            rep["per_class"][v]["roc_auc"] = rep["per_class"][v]["pr_auc"] = None
        if missing:
            rep["never_predicted"] = missing
        ev.tasks[spec.name] = rep
        for f in spec.model_flags:
            positive = np.isin(y, f.values)
            score = scored[f.column].to_numpy(dtype=float)[rows]
            per = {p: binary_metrics(positive, score, model.threshold(f.code, p)) for p in profiles}
            first = next(iter(per.values()))
            ev.flags[f.code] = {
                "task": spec.name, "values": list(f.values), "column": f.column, "n": first["n"],
                "positives": first["positives"], "roc_auc": first["roc_auc"], "pr_auc": first["pr_auc"],
                "profiles": {p: {"threshold": m["threshold"], "flagged": int((score >= model.threshold(f.code, p)).sum()),
                                 "precision": m["precision"], "recall": m["recall"], "f1": m["f1"]}
                             for p, m in per.items()},
            }
    return ev


# --------------------------------------------------------------------------------------------
# Where the labels come from
# --------------------------------------------------------------------------------------------
def _read_threads(sources: Sequence[str | Path]) -> list[Any]:
    from modkit import threads

    return threads.read(sources)


def _from_store(root: Path, sources: Sequence[str | Path], reg: Registry, warnings: list[str]
                ) -> tuple[pd.DataFrame, dict[str, dict[str, str]], dict[str, int], str]:
    from modkit.data import seed_examples
    from modkit.labels import schema_for

    if not root.is_dir():
        raise not_found(root, "label folder")
    schema = schema_for(root)
    pages = _read_threads(sources)
    frame = comment_frame(pages)
    examples, _ = seed_examples(root, pages, schema, warnings)
    pos = _positions(frame)
    gold: dict[str, dict[str, str]] = {}
    for task in schema.task_names:
        for cid, doc, value in zip(examples["comment_id"], examples["doc"], examples[task]):
            if value:
                gold.setdefault(task, {})[str(pos[(str(doc), str(cid))])] = str(value)
    other = {t: len(gold.pop(t)) for t in list(gold) if t not in reg.names}
    return frame, gold, other, f"the labels of {root}"


def _positions(frame: pd.DataFrame) -> dict[tuple[str, str], int]:
    """(doc, comment_id) -> first row of ``frame``."""
    out: dict[tuple[str, str], int] = {}
    for i, key in enumerate(zip(frame["doc"].astype(str), frame["comment_id"].astype(str))):
        out.setdefault(key, i)
    return out


def _from_csv(path: Path, sources: Sequence[str | Path], reg: Registry, warnings: list[str]
              ) -> tuple[pd.DataFrame, dict[str, dict[str, str]], dict[str, int], str]:
    from modkit.labels import read_table

    table = read_table(path)
    csv_like = path.suffix.lower() in (".csv", ".tsv")
    # "row N" is the spreadsheet's row number (the header is row 1); a JSONL file's line number.
    rows = [(k + 2 if csv_like else line, row) for k, (line, row) in enumerate(table)]
    columns = list(table[0][1]) if table else _header(path)
    if "comment_id" not in columns:
        raise ModkitError(f"{path}: no comment_id column (columns: {', '.join(c for c in columns if c) or 'none'})")
    tasks = [c for c in columns if c in reg.names]
    other_cols = [c for c in columns if c not in reg.names and c not in NOT_TASKS and c != "__extra__"]
    if not tasks:
        raise ModkitError(f"{path}: no column names a task of the model: expected one of {', '.join(reg.names)}")
    with_text = "text" in columns and not sources
    if not sources and not with_text:
        raise UsageError(f"{path}: no text column, so the comments must come from pages: give SOURCE")
    if "text" in columns and sources:
        warnings.append(f"{path}: the text column is not used: the comments come from SOURCE")

    seen: dict[tuple[str, str], int] = {}
    labeled: list[tuple[int, dict[str, str], dict[str, object]]] = []
    other = {c: 0 for c in other_cols}
    for n, row in rows:
        if "__extra__" in row:
            raise ModkitError(f"{path}: row {n}: more cells than the header has columns")
        cid = _cell(row.get("comment_id"))
        if not cid:
            raise ModkitError(f"{path}: row {n}: column comment_id: empty")
        doc = _cell(row.get("doc"))
        key = (doc, cid)
        if key in seen:
            raise ModkitError(f"{path}: row {n}: comment {cid} is already labeled on row {seen[key]}")
        seen[key] = n
        values: dict[str, str] = {}
        for task in tasks:
            v = _cell(row.get(task))
            if not v:
                continue
            spec = reg.task(task)
            if v not in spec.values:
                raise ModkitError(f"{path}: row {n}: unknown {task} {v!r}: expected one of {', '.join(spec.values)}")
            values[task] = v
        for c in other_cols:
            other[c] += bool(_cell(row.get(c)))
        labeled.append((n, values, row))

    if with_text:
        frame = _text_frame(labeled)
        gold = _gold({str(i): values for i, (_, values, _) in enumerate(labeled)})
        where = f"{path} (its own texts, without thread context)"
    else:
        frame = comment_frame(_read_threads(sources))
        pos = _positions(frame)
        by_id: dict[str, int] = {}
        for (d, c), i in pos.items():
            by_id.setdefault(c, i)
        found: dict[str, dict[str, str]] = {}
        missing = 0
        for n, values, row in labeled:
            cid, doc = _cell(row.get("comment_id")), _cell(row.get("doc"))
            i = pos.get((doc, cid)) if doc else by_id.get(cid)
            if i is None:
                missing += 1
                continue
            found[str(i)] = values
        if missing:
            warnings.append(f"{path}: {missing} of {len(labeled)} rows name comments not on the pages read; skipped")
        gold = _gold(found)
        where = str(path)
    return frame, gold, {c: k for c, k in other.items() if k}, where


def _header(path: Path) -> list[str]:
    from modkit import csvsafe

    with open(path, encoding="utf-8-sig", newline="") as fh:
        return next((cells for _, cells in csvsafe.rows(fh, path)), [])


def _cell(v: object) -> str:
    return "" if v is None else str(v).strip()


def _gold(per_row: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    gold: dict[str, dict[str, str]] = {}
    for i, values in per_row.items():
        for task, v in values.items():
            gold.setdefault(task, {})[i] = v
    return gold


def _text_frame(labeled: list[tuple[int, dict[str, str], dict[str, object]]]) -> pd.DataFrame:
    """The CSV's rows as comments of their own: no article, no parent; each its own page unless
    the CSV gives a ``doc``."""
    n = len(labeled)
    ids = [_cell(r.get("comment_id")) for _, _, r in labeled]
    return pd.DataFrame({
        "comment_id": ids, "doc": [_cell(r.get("doc")) or cid for (_, _, r), cid in zip(labeled, ids)],
        "parent_id": [""] * n, "depth": np.zeros(n, dtype=np.int64), "position": np.arange(1, n + 1, dtype=np.int64),
        "author": [_cell(r.get("author")) for _, _, r in labeled], "timestamp": [""] * n,
        "text": [str(r.get("text") or "") for _, _, r in labeled],
        "article": [""] * n, "parent_text": [""] * n, "parent_author": [""] * n,
    }, columns=list(FRAME_COLUMNS))


__all__ = ["Evaluation", "UsageError", "evaluate"]

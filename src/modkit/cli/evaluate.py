"""`modkit evaluate`: a thin layer over :mod:`modkit.evaluate`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from modkit.cli.app import DEFAULT_MODEL, AllowPickle, app, command, err, model_path, warn, warn_if_pickle
from modkit.safeio import check_writable, write_text_atomic


@command(app, "evaluate")
def evaluate_cmd(
    sources: Annotated[list[str] | None, typer.Argument(
        metavar="SOURCE",
        help="Pages or exports holding the labeled comments (files, folders or unique prefixes); "
             "may be left out with --csv when the CSV has a text column.")] = None,
    labels: Annotated[Path | None, typer.Option(
        "--labels", help="Label folder: its resolved labels and its schema.toml (default labels/ when --csv is not given).")] = None,
    csv_file: Annotated[Path | None, typer.Option(
        "--csv", help="Labeled CSV: comment_id, optional doc and text, one column per task (empty cell = no label).")] = None,
    model: Annotated[Path, typer.Option("--model", help="Model folder or its model.skops (a model.joblib pickle needs --allow-pickle).")] = DEFAULT_MODEL,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the figures as JSON to this file.")] = None,
    allow_pickle: AllowPickle = False,
) -> None:
    """Measure a model on your own labeled comments: ROC-AUC, PR-AUC, confusion matrix, precision per profile."""
    from modkit.evaluate import evaluate
    from modkit.model import load_model

    if labels is None and csv_file is None:
        labels = Path("labels")
    if json_out is not None:
        check_writable(json_out)  # before the scoring
    warn_if_pickle(model_path(model), allow_pickle)
    ev = evaluate(load_model(model_path(model), allow_pickle=allow_pickle), sources or [], labels=labels, labeled_csv=csv_file)
    for w in ev.warnings:
        warn(w)
    _show(ev)
    if json_out is not None:
        write_text_atomic(json_out, json.dumps(ev.to_dict(), indent=2, ensure_ascii=False) + "\n")
        err.print(f"wrote {json_out}", highlight=False)


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _table(title: str) -> Table:
    return Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), collapse_padding=True,
                 show_edge=False)


def _show(ev) -> None:
    err.print(f"model {ev.model} on {ev.labels}: {ev.labeled} labeled comments of {ev.comments} scored",
              highlight=False, markup=False)
    for name, t in ev.tasks.items():
        table = _table(f"{name}: n={t['n']}, macro-F1 {_f(t.get('macro_f1'))}; confusion matrix: rows true, "
                       "columns predicted")
        for col in ("true", *(f"→{c}" for c in t["classes"]), "n", "P", "R", "F1", "ROC-AUC", "PR-AUC"):
            table.add_column(col, justify="left" if col == "true" else "right", no_wrap=True)
        for v, row in zip(t["classes"], t["confusion_matrix"]):
            c = t["per_class"][v]
            table.add_row(v, *map(str, row), str(c["support"]), _f(c["precision"]), _f(c["recall"]), _f(c["f1"]),
                          _f(c["roc_auc"]), _f(c["pr_auc"]))
        err.print(table)
        if t.get("never_predicted"):
            err.print(f"the model has no class {', '.join(t['never_predicted'])}: it never predicts it", highlight=False)
        flags = {code: f for code, f in ev.flags.items() if f["task"] == name}
        if flags:
            ft = _table(f"{name} flags: " + "; ".join(f"{code} = {' or '.join(f['values'])}" for code, f in flags.items())
                        + " (pos: labeled comments it should catch; P, R, F1 at the profile's threshold)")
            for col in ("flag", "pos", "ROC-AUC", "PR-AUC", "profile", "thresh", "flagged", "P", "R", "F1"):
                ft.add_column(col, justify="left" if col in ("flag", "profile") else "right", no_wrap=True)
            for code, f in flags.items():
                for k, (prof, p) in enumerate(f["profiles"].items()):
                    head = (code, str(f["positives"]), _f(f["roc_auc"]), _f(f["pr_auc"])) if k == 0 else ("",) * 4
                    ft.add_row(*head, prof, _f(p["threshold"]), str(p["flagged"]), _f(p["precision"]),
                               _f(p["recall"]), _f(p["f1"]))
            err.print(ft)
    for name in ev.no_labels:
        err.print(f"{name}: no labels", highlight=False, markup=False)
    for name, n in ev.not_in_model.items():
        err.print(f"{name}: {n} labels, but the model has no {name} task (not trained on it)", highlight=False, markup=False)

"""`modkit evaluate`: the shipped model measured on the seeds' gold labels, through the real CLI,
checked against sklearn computed here on the same scores."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, precision_score, roc_auc_score

from modkit import threads
from modkit.evaluate import evaluate
from modkit.features import comment_frame
from modkit.flag import score_batch
from modkit.labels import LabelStore
from modkit.model import load_model

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "default"
LABELS = ROOT / "labels"
TASKS = ("civility", "topic", "stance")


@pytest.fixture(scope="module")
def model():
    return load_model(MODEL)


@pytest.fixture(scope="module")
def gold() -> dict[tuple[str, str], dict[str, str]]:
    """(doc, comment_id) -> task -> resolved value, read straight from the label store."""
    out: dict[tuple[str, str], dict[str, str]] = {}
    for (cid, task), r in LabelStore(LABELS).resolved().items():
        if r.value is not None:
            out.setdefault((r.doc, cid), {})[task] = r.value
    return out


@pytest.fixture(scope="module")
def store_json(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("ev") / "ev.json"
    from tests.conftest import run_modkit

    res = run_modkit("evaluate", "seeds/", "--labels", str(LABELS), "--model", str(MODEL), "--json", str(out))
    assert res.returncode == 0, res.stderr
    return json.loads(out.read_text(encoding="utf-8"))


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_uncivil_flag_figures_match_sklearn_on_the_same_scores(store_json, model, gold, seeds):
    frame = comment_frame(threads.read(seeds))
    scored = score_batch(frame, model)
    keep = [i for i, (d, c) in enumerate(zip(frame["doc"], frame["comment_id"])) if "civility" in gold.get((d, c), {})]
    y = np.array([gold[(frame["doc"][i], frame["comment_id"][i])]["civility"] in ("uncivil", "abusive") for i in keep])
    score = scored["p_uncivil"].to_numpy()[keep]
    fl = store_json["flags"]["UNCIVIL"]
    assert fl["n"] == len(keep) == 37
    assert fl["positives"] == int(y.sum()) == 14
    assert fl["roc_auc"] == pytest.approx(roc_auc_score(y, score), abs=1e-4)
    assert fl["pr_auc"] == pytest.approx(average_precision_score(y, score), abs=1e-4)
    for prof in ("strict", "balanced", "lenient"):
        thr = model.threshold("UNCIVIL", prof)
        got = fl["profiles"][prof]
        assert got["threshold"] == pytest.approx(thr, abs=1e-4)
        assert got["flagged"] == int((score >= thr).sum())
        assert got["precision"] == pytest.approx(precision_score(y, score >= thr, zero_division=0), abs=1e-4)


def test_civility_value_figures_are_one_vs_rest_on_the_pipeline_probabilities(store_json, model, gold, seeds):
    frame = comment_frame(threads.read(seeds))
    classes, P = model.task_probabilities(frame)["civility"]
    keep = [i for i, (d, c) in enumerate(zip(frame["doc"], frame["comment_id"])) if "civility" in gold.get((d, c), {})]
    y = np.array([gold[(frame["doc"][i], frame["comment_id"][i])]["civility"] for i in keep])
    civ = store_json["tasks"]["civility"]
    assert civ["classes"] == ["civil", "uncivil", "abusive"]
    for v in ("civil", "uncivil"):
        assert civ["per_class"][v]["support"] == int((y == v).sum())
        assert civ["per_class"][v]["roc_auc"] == pytest.approx(roc_auc_score(y == v, P[keep, classes.index(v)]), abs=1e-4)
    pred = np.array(classes)[P[keep].argmax(axis=1)]
    cm = civ["confusion_matrix"]
    for a, t in enumerate(civ["classes"]):
        for b, p in enumerate(civ["classes"]):
            assert cm[a][b] == int(((y == t) & (pred == p)).sum())
    assert sum(map(sum, cm)) == civ["n"] == 37


def test_json_has_each_flags_precision_at_each_profile(store_json):
    assert set(store_json["flags"]) == {"ABUSIVE", "UNCIVIL", "OFF_TOPIC"}
    for code, fl in store_json["flags"].items():
        assert set(fl["profiles"]) == {"strict", "balanced", "lenient"}, code
        for p in fl["profiles"].values():
            assert 0.0 <= p["precision"] <= 1.0
    assert store_json["tasks"]["stance"]["never_predicted"] == ["neutral"]  # the model left neutral out


def test_labeled_csv_with_the_same_labels_gives_the_same_figures(tmp_path, modkit, gold, store_json):
    rows = [[cid, doc, *(v.get(t, "") for t in TASKS)] for (doc, cid), v in sorted(gold.items())]
    path = _write_csv(tmp_path / "ours.csv", ["comment_id", "doc", *TASKS], rows)
    out = tmp_path / "csv.json"
    res = modkit("evaluate", "seeds/", "--csv", str(path), "--model", str(MODEL), "--json", str(out))
    assert res.returncode == 0, res.stderr
    got = json.loads(out.read_text(encoding="utf-8"))
    assert got["tasks"] == store_json["tasks"]
    assert got["flags"] == store_json["flags"]


def test_csv_of_texts_without_pages_scores_the_rows_themselves(tmp_path, model, gold, seeds):
    """civility reads only the comment's own text, so its figures do not need the pages."""
    texts = {(c.doc, c.id): c.text for t in threads.read(seeds) for c in t.comments}
    rows = [[cid, texts[(doc, cid)], v["civility"]] for (doc, cid), v in sorted(gold.items()) if "civility" in v]
    path = _write_csv(tmp_path / "texts.csv", ["comment_id", "text", "civility"], rows)
    ev = evaluate(model, [], labeled_csv=path)
    by_store = evaluate(model, [seeds], labels=LABELS)
    assert ev.tasks["civility"] == by_store.tasks["civility"]
    assert ev.flags["UNCIVIL"] == by_store.flags["UNCIVIL"]
    assert ev.no_labels == ["topic", "stance"]
    assert "topic: no labels" in "\n".join(ev.lines())


def test_csv_with_an_unknown_value_fails_with_one_line_naming_file_and_row(tmp_path, modkit):
    path = _write_csv(tmp_path / "bad.csv", ["comment_id", "civility"],
                      [["c30d209835984", "civil"], ["cd6e10b388724", "rude"]])
    res = modkit("evaluate", "seeds/", "--csv", str(path), "--model", str(MODEL))
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert lines == [f"modkit: error: {path}: row 3: unknown civility 'rude': expected one of civil, uncivil, abusive"]


@pytest.mark.parametrize("header,rows,problem", [
    (["id", "civility"], [["c30d209835984", "civil"]], "no comment_id column"),
    (["comment_id", "mood"], [["c30d209835984", "happy"]], "no column names a task of the model"),
    (["comment_id", "civility"], [["c30d209835984", "civil"], ["c30d209835984", "uncivil"]],
     "row 3: comment c30d209835984 is already labeled on row 2"),
])
def test_bad_labeled_csv_names_the_file_and_what_is_wrong(tmp_path, model, seeds, header, rows, problem):
    from modkit.errors import ModkitError

    path = _write_csv(tmp_path / "bad.csv", header, rows)
    with pytest.raises(ModkitError) as exc:
        evaluate(model, [seeds], labeled_csv=path)
    assert exc.value.message.startswith(f"{path}: ")
    assert problem in exc.value.message


def test_a_label_task_the_model_lacks_gets_one_line(tmp_path, model, seeds):
    labels = tmp_path / "labels"
    shutil.copytree(LABELS, labels)
    schema = labels / "schema.toml"
    schema.write_text(schema.read_text(encoding="utf-8") + """
[tasks.spam]
question = "Is the comment spam?"
values = [
  { name = "yes", key = "y", definition = "Advertises or scams." },
  { name = "no", key = "x", definition = "Anything else." },
]
""", encoding="utf-8")
    first = next(c for t in threads.read(seeds) for c in t.comments)
    (labels / "spammer.jsonl").write_text(json.dumps({
        "comment_id": first.id, "doc": first.doc, "task": "spam", "value": "no", "annotator": "spammer",
        "time": "2026-01-01T00:00:00+00:00", "source": "manual", "note": "", "text_sha": ""}) + "\n", encoding="utf-8")
    ev = evaluate(model, [seeds], labels=labels)
    assert ev.not_in_model == {"spam": 1}
    assert "== spam: 1 labels, but the model has no spam task (not trained on it)" in ev.lines()
    assert set(ev.tasks) == {"civility", "topic", "stance"}


def test_csv_without_text_and_without_pages_is_a_usage_error(tmp_path, modkit):
    path = _write_csv(tmp_path / "ids.csv", ["comment_id", "civility"], [["c30d209835984", "civil"]])
    res = modkit("evaluate", "--csv", str(path), "--model", str(MODEL))
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert f"{path}: no text column" in res.stderr

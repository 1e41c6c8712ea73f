"""Training, evaluation, the model card, save/load checks, and the corpus importers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modkit import data, model
from modkit.errors import ModkitError
from modkit.features import TextStats, TextTfidf, ThreadContext, comment_frame
from modkit.labels import LabelEvent, LabelStore, schema_for
from modkit.threads import read

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "models" / "default"


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_grouped_folds_never_put_a_group_on_both_sides(seed):
    rng = np.random.default_rng(seed)
    groups = np.array([f"page{g}" for g in rng.integers(0, 60, 900)])
    y = rng.choice(["civil", "uncivil", "abusive"], size=900, p=[0.5, 0.4, 0.1])
    folds = model.grouped_folds(y, groups, n_splits=5, seed=seed)
    assert len(folds) == 5
    seen = np.zeros(900, dtype=int)
    for train, test in folds:
        assert not set(groups[train]) & set(groups[test])
        seen[test] += 1
    assert (seen == 1).all()  # every row is tested exactly once


def test_grouped_folds_keep_the_seed_pages_whole_in_the_real_training_data():
    td = model.gather(schema_for("labels"), "labels", ["seeds"], limit=300, seed=0)
    for task in ("civility", "topic"):
        df = td.examples[task]
        y, g = df[task].to_numpy(), df["group"].to_numpy()
        for train, test in model.grouped_folds(y, g, seed=0):
            assert not set(g[train]) & set(g[test])
    # every synthetic placement lives in the group of the page it was placed on
    top = td.examples["topic"]
    syn = top[top["synthetic"]]
    assert len(syn) and (syn["group"] == "page:" + syn["doc"]).all()


def test_short_replies_are_placed_on_topic_and_never_off():
    from modkit import threads

    pages = threads.read(["seeds"])
    public = data.load_corpora(["civil-comments-toxic-spans", "davidson-2017"])
    df = data.topic_placements(public, pages, "topic", ("on", "off"), seed=0)
    n_words = df["text"].map(lambda t: len(data._content_words(t)))
    short = df[n_words < data.MIN_SUBJECT_WORDS]
    assert len(short) > 0 and (short["topic"] == "on").all()
    assert (short["parent_id"] != "").all()  # it answers a comment
    on = df[df["topic"] == "on"]
    assert len(short) <= data.SHORT_REPLY_SHARE * len(on) + 1
    off = df[df["topic"] == "off"]
    assert (n_words[off.index] >= data.MIN_SUBJECT_WORDS).all()


def test_excluded_comments_are_never_trained_on(tmp_path):
    cc = data.load_civil_comments()
    held = set(cc["comment_id"].iloc[:50])
    ids = tmp_path / "held.txt"
    ids.write_text("# held out\n" + "\n".join(sorted(held)) + "\n\n", encoding="utf-8")
    assert model.read_id_list(ids) == held
    csv_ids = tmp_path / "held.csv"
    csv_ids.write_text("comment_id,text\n" + "".join(f"{i},x\n" for i in sorted(held)), encoding="utf-8")
    assert model.read_id_list(csv_ids) == held
    td = model.gather(schema_for("labels"), "labels", ["seeds"], data=["civil-comments-toxic-spans", "placements"],
                      exclude=held)
    civ, top = td.examples["civility"], td.examples["topic"]
    assert not set(civ["comment_id"]) & held
    assert not {f"syn-{i}" for i in held} & set(top["comment_id"])  # nor placed under a page
    assert len(civ) == len(cc) - 50 + (civ["source"] == "seed-labels").sum()
    with pytest.raises(ModkitError, match="held-missing.txt: no such file"):
        model.read_id_list(tmp_path / "held-missing.txt")
    broken = tmp_path / "broken.csv"
    broken.write_text('comment_id,text\n"cc-1,x\ncc-2,y\n', encoding="utf-8")  # a stray quote would swallow rows
    with pytest.raises(ModkitError, match=r"broken.csv:2: unterminated quote"):
        model.read_id_list(broken)


def test_importers_map_onto_the_tasks_and_keep_the_source():
    cc = data.load_civil_comments()
    assert set(cc["civility"]) == {"civil", "uncivil", "abusive"}
    assert (cc["source"] == "civil-comments-toxic-spans").all() and cc["source_id"].is_unique
    assert (cc.loc[cc["civility"] == "civil", "share_not_toxic"] > 0.5).all()
    dv = data.load_davidson()
    assert set(dv["civility"]) == {"civil", "uncivil", "abusive"}
    assert not dv["text"].str.contains(r"^RT @|&amp;", regex=True).any()
    assert "topic" not in dv.columns and "stance" not in dv.columns  # says nothing about them


def test_evaluation_only_and_unknown_corpora_are_refused():
    with pytest.raises(ModkitError, match="evaluation only"):
        data.load_corpora(["identity-madlibs"])
    with pytest.raises(ModkitError, match="unknown corpus"):
        data.load_corpora(["reddit"])


def test_seed_labels_resolve_from_the_label_store_with_their_sources():
    td = model.gather(schema_for("labels"), "labels", ["seeds"], limit=50)
    civ = td.examples["civility"]
    seeds = civ[civ["source"] == "seed-labels"]
    assert len(seeds) >= 30  # the gold labels of the seed comments
    assert td.label_sources.get("manual", 0) > 0


def test_transformers_follow_sklearn_conventions():
    from sklearn.base import clone

    frame = comment_frame(read("seeds"))
    for t in (TextTfidf(max_words=50, max_chars=80, min_df=1), TextStats(lexicon=("idiot",)), ThreadContext()):
        c = clone(t)
        assert c.get_params() == t.get_params()
        X = c.fit(frame).transform(frame)
        assert X.shape == (len(frame), len(c.get_feature_names_out()))


def test_text_tfidf_matches_sklearn_char_wb_tfidf():
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = ["Hello there, stupid!", "hello HELLO world", "the world is big", "big, bigger, biggest!!"]
    ours = TextTfidf(max_words=1000, max_chars=1000, char_ngram_range=(2, 4), min_df=1).fit(texts)
    ref = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True).fit(texts)
    X = ours.transform(texts)[:, len(ours.words_):].toarray()
    names = [n[5:] for n in ours.get_feature_names_out()[len(ours.words_):]]
    R = ref.transform(texts).toarray()
    order = [ref.vocabulary_[n] for n in names]
    assert sorted(names) == sorted(ref.vocabulary_)
    assert np.allclose(X, R[:, order])


def test_an_unknown_label_value_stops_training_with_one_line(modkit, tmp_path):
    shutil.copytree(ROOT / "labels", tmp_path / "labels")
    cid = read("seeds/000")[0].comments[0].id
    LabelStore(tmp_path / "labels").append([LabelEvent(cid, "000", "civility", "rude", "zed", source="adjudicated")])
    r = modkit("train", "--labels", str(tmp_path / "labels"), "--limit", "100", "--small", "--no-eval",
               "--out", str(tmp_path / "m"))
    assert r.returncode == 1
    lines = [ln for ln in r.stderr.splitlines() if "error" in ln]
    assert len(lines) == 1 and "unknown civility 'rude'" in lines[0] and "zed.jsonl" in lines[0], r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "m").exists()


def test_train_prints_the_evaluation_and_writes_a_complete_card(modkit, tmp_path):
    r1 = modkit("train", "--limit", "150", "--small", "--seed", "3", "--out", str(tmp_path / "a"))
    assert r1.returncode == 0, r1.stderr
    card = json.loads((tmp_path / "a" / "model_card.json").read_text(encoding="utf-8"))
    for key in ("sha256", "python_version", "sklearn_version", "modkit_version", "counts", "metrics",
                "thresholds", "profiles", "tasks", "data_sources", "label_events_by_source", "synthetic"):
        assert key in card, key
    tasks = {t["name"]: t for t in card["tasks"]}
    assert tasks["civility"]["values"] == ["civil", "uncivil", "abusive"]
    assert [f["code"] for f in tasks["civility"]["flags"]] == ["ABUSIVE", "UNCIVIL"]
    civ = card["metrics"]["civility"]
    assert {"all", "by_source", "flags", "mean_score_of_negatives_by_source"} <= set(civ)
    assert "seed-labels" in civ["by_source"] and "no_lexicon_word" in civ["flags"]["UNCIVIL"]
    assert civ["all"]["confusion_matrix"] and civ["all"]["per_class"]["abusive"]["pr_auc"] is not None
    assert "real" in card["metrics"]["topic"]
    bias = card["metrics"]["bias_identity_madlibs"]["flags"]["UNCIVIL"]
    assert bias["lowest"]["bpsn_auc"]["term"] and {"subgroup_auc", "bpsn_auc", "bnsp_auc"} <= set(bias["per_term"]["gay"])
    assert card["counts"]["civility"]["seed-labels"]
    assert "source seed-labels" in r1.stderr and "identity-madlibs" in r1.stderr
    m = model.load_model(tmp_path / "a")
    assert m.card["sha256"] == card["sha256"]
    t = m.thresholds
    assert t["strict"]["UNCIVIL"] <= t["balanced"]["UNCIVIL"] <= t["lenient"]["UNCIVIL"]


def test_the_same_seed_gives_a_byte_identical_model_file(tmp_path):
    for name in ("a", "b"):
        m = model.train(labels="labels", pages=["seeds"], limit=120, small=True, evaluate=False, seed=5, name="x")
        model.save(m, tmp_path / name)
    assert (tmp_path / "a" / "model.skops").read_bytes() == (tmp_path / "b" / "model.skops").read_bytes()


def test_balanced_weights_give_each_class_and_source_equal_weight():
    y = pd.Series(["civil"] * 10 + ["uncivil"] * 90 + ["civil"] * 50 + ["uncivil"] * 50)
    s = pd.Series(["tweets"] * 100 + ["news"] * 100)
    w = model.balanced_weights(y, s, cap=1e9)
    df = pd.DataFrame({"y": y, "s": s, "w": w})
    cells = df.groupby(["y", "s"])["w"].sum()
    assert np.allclose(cells, cells.iloc[0])


def test_choose_threshold_reaches_the_target_precision_at_equal_priors():
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(200), np.zeros(800)]
    score = np.r_[rng.uniform(0.3, 1, 200), rng.uniform(0, 0.7, 800)]
    t, met = model.choose_threshold(y, score, 0.9)
    assert met
    w = np.where(y == 1, 0.5 / 200, 0.5 / 800)
    pred = score >= t
    assert (w[pred & (y == 1)].sum() / w[pred].sum()) >= 0.9


def test_choose_threshold_holds_its_precision_at_the_flags_prevalence():
    rng = np.random.default_rng(1)
    y = np.r_[np.ones(600), np.zeros(400)]  # a training mix where most examples are positive
    score = np.r_[rng.uniform(0.3, 1, 600), rng.uniform(0, 0.8, 400)]
    t_equal, _ = model.choose_threshold(y, score, 0.75)
    t, met = model.choose_threshold(y, score, 0.75, prevalence=0.1)
    assert met and t > t_equal  # one positive in ten: the same precision needs a higher threshold
    pred = score >= t
    w = np.where(y == 1, 0.1 / 600, 0.9 / 400)
    assert w[pred & (y == 1)].sum() / w[pred].sum() >= 0.75


def test_choose_threshold_falls_back_to_its_surest_flags_when_the_target_is_out_of_reach():
    rng = np.random.default_rng(2)
    y = np.r_[np.ones(500), np.zeros(500)]
    score = rng.normal(0, 1, 1000) + 0.2 * y  # little signal: 0.95 precision at 1% is out of reach
    t, met = model.choose_threshold(y, score, 0.95, prevalence=0.01)
    assert not met
    assert (score[y == 1] >= t).mean() >= 0.05  # still finds the required share of the positives
    with pytest.raises(ValueError, match="prevalence"):
        model.choose_threshold(y, score, 0.9, prevalence=1.5)


def test_the_shipped_model_is_small_and_loads(tmp_path):
    assert (SHIPPED / "model.skops").stat().st_size < 15_000_000
    m = model.load_model(SHIPPED)
    assert {"civility", "topic"} <= set(m.pipelines)
    assert m.card["metrics"]["bias_identity_madlibs"]["flags"]["UNCIVIL"]["roc_auc"] > 0.5
    assert [f.code for f in m.registry.flags][:3] == ["ABUSIVE", "UNCIVIL", "OFF_TOPIC"]


def test_identity_swaps_copy_examples_naming_a_group_with_the_group_swapped():
    df = pd.DataFrame({"comment_id": ["a", "b", "c"], "text": ["Gay people are fine", "nothing to see",
                                                            "The African American vote and Muslim voters"],
                       "civility": ["civil", "uncivil", "civil"], "source": "x", "group": ["g1", "g2", "g3"]})
    out = model.identity_swaps(df, "civility", copies=3, seed=1)
    orig, extra = out[~out["augmented"]], out[out["augmented"]]
    assert orig[["comment_id", "text"]].equals(df[["comment_id", "text"]])
    assert len(extra) == 6 and set(extra["group"]) == {"g1", "g3"}  # same group: never across folds
    assert (extra.groupby("group")["civility"].first() == pd.Series({"g1": "civil", "g3": "civil"})).all()
    for t in extra[extra["group"] == "g3"]["text"]:
        assert "African American" not in t and "Muslim" not in t and t.endswith("voters")


def test_training_figures_count_the_original_rows_not_the_swapped_copies(tmp_path):
    m = model.train(labels="labels", pages=["seeds"], limit=150, small=True, seed=2, tune_reg=False,
                    identity_copies=4)
    civ = m.card["metrics"]["civility"]
    n_real = sum(sum(v.values()) for v in m.card["counts"]["civility"].values())
    assert civ["all"]["n"] == n_real and m.card["identity_swap_copies"] == 4


def test_weights_at_moves_balanced_weights_towards_equal():
    w = np.array([1.0, 1.0, 10.0, 10.0])
    assert np.allclose(model.weights_at(w, 1.0), w / w.mean())
    half = model.weights_at(w, 0.5)
    assert np.isclose(half.mean(), 1.0) and np.isclose(half[2] / half[0], np.sqrt(10))
    assert np.allclose(model.weights_at(w, 0.0), 1.0)


def test_tune_chooses_the_regularisation_and_the_weight_power_on_grouped_folds():
    td = model.gather(schema_for("labels"), "labels", ["seeds"], data=["civil-comments-toxic-spans"], limit=600, seed=0)
    df = td.examples["civility"]
    spec = __import__("modkit.tasks", fromlist=["Registry"]).Registry.from_schema(schema_for("labels")).task("civility")
    y = df["civility"].to_numpy().astype(str)
    w = model.balanced_weights(df["civility"], df["source"])
    got = model.tune(spec, data.load_lexicon(), df, y, w, df["group"].to_numpy(), seed=0, small=True)
    assert got["weight_power"] in model.WEIGHT_POWERS and got["reg"] in model.GRIDS[spec.classifier]
    assert len(got["grid"]) == len(model.GRIDS[spec.classifier]) * len(model.WEIGHT_POWERS)
    assert got["score"] == max(v for v in got["grid"].values() if v == v)  # NaN-safe: the best point won
    one = model.tune(spec, data.load_lexicon(), df, y, w, df["group"].to_numpy(), seed=0, small=True, powers=(1.0,))
    assert one["weight_power"] == 1.0 and len(one["grid"]) == len(model.GRIDS[spec.classifier])

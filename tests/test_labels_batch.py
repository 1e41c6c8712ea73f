"""Batch label commands over the real seeds: --set, import, export, stats, adjudicate."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import pytest

from modkit.errors import ModkitError
from modkit.labels import (
    Corpus,
    LabelEvent,
    LabelStore,
    RowErrors,
    cohen_kappa,
    compute_stats,
    export_rows,
    import_labels,
    krippendorff_alpha,
    load_schema,
    set_labels,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return Corpus.read(ROOT / "seeds")


@pytest.fixture
def schema():
    return load_schema(None)


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


# -- modkit label --set ------------------------------------------------------------------------


def test_set_writes_one_event_per_task_with_text_fingerprint(modkit, tmp_path, corpus):
    it = corpus.items[3]
    r = modkit("label", "--labels", str(tmp_path), "--annotator", "ann", "--set", it.id,
               "civility=abusive", "topic=off", "--note", "shouting")
    assert r.returncode == 0, r.stderr
    evs = lines(tmp_path / "ann.jsonl")
    assert [(e["task"], e["value"]) for e in evs] == [("civility", "abusive"), ("topic", "off")]
    assert all(e["comment_id"] == it.id and e["doc"] == it.comment.doc and e["note"] == "shouting"
               and e["source"] == "manual" and e["text_sha"] == it.sha for e in evs)


@pytest.mark.parametrize("args,message", [
    (["civility=rude"], "unknown civility 'rude': expected one of civil, uncivil, abusive"),
    (["spam=yes"], "unknown task 'spam': expected one of civility, topic, stance"),
    (["civility"], "'civility': expected TASK=VALUE"),
    ([], "nothing to set: give TASK=VALUE pairs"),
])
def test_set_rejects_bad_values_in_one_line_and_writes_nothing(modkit, tmp_path, corpus, args, message):
    r = modkit("label", "--labels", str(tmp_path), "--annotator", "ann", "--set", corpus.items[0].id, *args)
    assert r.returncode == 1
    assert message in r.stderr and r.stderr.strip().count("\n") == 0
    assert not (tmp_path / "ann.jsonl").exists()


def test_set_rejects_an_unknown_comment_id_naming_the_pages(modkit, tmp_path):
    r = modkit("label", "--labels", str(tmp_path), "--annotator", "ann", "--set", "cdeadbeef0000", "civility=civil", "seeds/003")
    assert r.returncode == 1
    assert "unknown comment id 'cdeadbeef0000': not a comment of the pages read (003_6e66906c4c1cbafa)" in r.stderr


def test_label_without_a_terminal_says_so_and_exits_2(modkit, tmp_path):
    r = modkit("label", "seeds/", "--labels", str(tmp_path), "--annotator", "ann", input="")
    assert r.returncode == 2
    assert r.stderr.strip() == (
        "modkit label needs an interactive terminal (stdin and stdout are not a TTY); in scripts use "
        "`modkit label --set COMMENT_ID TASK=VALUE...` or `modkit labels import FILE`")


def test_annotator_defaults_to_the_environment(modkit, tmp_path, corpus):
    r = modkit("label", "--labels", str(tmp_path), "--set", corpus.items[0].id, "topic=on",
               env={"MODKIT_ANNOTATOR": "from-env"})
    assert r.returncode == 0 and (tmp_path / "from-env.jsonl").exists()


# -- import ------------------------------------------------------------------------------------


def test_import_reports_every_bad_row_by_number_and_writes_nothing(tmp_path, corpus, schema):
    ids = corpus.ids()
    f = tmp_path / "in.csv"
    f.write_text(
        "comment_id,civility,topic,annotator\n"
        f"{ids[0]},civil,on,ann\n"            # line 2 ok
        f"{ids[1]},rude,on,ann\n"             # line 3 bad value
        "cnothere00000,civil,on,ann\n"         # line 4 unknown id
        f"{ids[2]},civil,on,\n"               # line 5 no annotator
        f"{ids[3]},,,ann\n"                   # line 6 no label
        f"{ids[4]},civil,sideways,ann\n"      # line 7 bad topic
    )
    store = LabelStore(tmp_path / "labels")
    with pytest.raises(RowErrors) as exc:
        import_labels(f, store, schema, corpus)
    msg = exc.value.message.splitlines()
    assert msg == [
        f"{f}:3: unknown civility 'rude': expected one of civil, uncivil, abusive",
        f"{f}:4: unknown comment id 'cnothere00000': not a comment of the pages read",
        f"{f}:5: no annotator (add an annotator column or pass --annotator)",
        f"{f}:6: no label: fill at least one of civility, topic, stance",
        f"{f}:7: unknown topic 'sideways': expected one of on, off",
        f"{f}: 5 bad row(s) of 6; nothing imported",
    ]
    assert not (tmp_path / "labels").exists()


def test_import_jsonl_long_form_and_twice_adds_nothing(tmp_path, corpus, schema, modkit):
    ids = corpus.ids()
    f = tmp_path / "in.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in [
        {"comment_id": ids[0], "task": "civility", "value": "uncivil", "note": "mocking"},
        {"comment_id": ids[0], "topic": "on", "stance": "agree"},
        {"comment_id": ids[1], "civility": "civil", "annotator": "other"},
    ]) + "\n")
    first = modkit("labels", "import", str(f), "--annotator", "imp", "--labels", str(tmp_path / "L"))
    assert first.returncode == 0, first.stderr
    assert "3 rows, imported 4 labels, 0 already current" in first.stderr
    again = modkit("labels", "import", str(f), "--annotator", "imp", "--labels", str(tmp_path / "L"))
    assert "imported 0 labels, 4 already current (skipped)" in again.stderr
    evs = lines(tmp_path / "L" / "imp.jsonl")
    assert len(evs) == 3 and all(e["source"] == "import" for e in evs)
    assert evs[0]["note"] == "mocking"
    assert len(lines(tmp_path / "L" / "other.jsonl")) == 1


def test_import_bad_json_line_is_reported_with_its_number(modkit, tmp_path):
    f = tmp_path / "in.jsonl"
    f.write_text('{"comment_id": "x"}\n{oops\n')
    r = modkit("labels", "import", str(f), "--labels", str(tmp_path / "L"))
    assert r.returncode == 1
    assert f"{f}:2: not valid JSON" in r.stderr and "nothing imported" in r.stderr


# -- export and stats on a small known fixture -------------------------------------------------

# civility of 10 seed comments by two annotators: 8 agreements; each used civil 5, uncivil 3,
# abusive 2 times. By hand: p_o = 8/10, p_e = (5*5 + 3*3 + 2*2)/100 = 0.38,
# kappa = (0.8 - 0.38) / (1 - 0.38) = 0.42 / 0.62 = 0.677419...
# Krippendorff's alpha (nominal): coincidences n_civil = 10, n_uncivil = 6, n_abusive = 4 (n = 20),
# 4 disagreeing pairable values: D_o = 4/20 = 0.2,
# D_e = 2 * (10*6 + 10*4 + 6*4) / (20 * 19) = 248/380, alpha = 1 - 0.2 * 380/248 = 0.693548...
A = ["civil", "civil", "civil", "civil", "civil", "uncivil", "uncivil", "uncivil", "abusive", "abusive"]
B = ["civil", "civil", "civil", "civil", "uncivil", "uncivil", "uncivil", "civil", "abusive", "abusive"]


def test_cohen_kappa_and_alpha_match_hand_computation():
    assert cohen_kappa(A, B) == pytest.approx(0.42 / 0.62)
    units = [{"a": x, "b": y} for x, y in zip(A, B)]
    assert krippendorff_alpha(units, ["a", "b"]) == pytest.approx(1 - 0.2 * 380 / 248)
    assert math.isnan(cohen_kappa(["civil"] * 3, ["civil"] * 3))  # chance agreement 1: undefined


@pytest.fixture
def two_annotators(tmp_path, corpus, schema):
    store = LabelStore(tmp_path / "labels")
    ids = corpus.ids()[:10]
    for who, vals in (("ann-a", A), ("ann-b", B)):
        for cid, v in zip(ids, vals):
            set_labels(store, schema, corpus, cid, [f"civility={v}", "topic=on"], annotator=who)
    return store, ids


def test_stats_counts_coverage_agreement_and_disagreements(two_annotators, corpus, schema):
    store, ids = two_annotators
    st = compute_stats(store, schema, corpus)
    assert dict(st.counts["civility"]) == {"civil": 10, "uncivil": 6, "abusive": 4}
    assert st.per_annotator == {"ann-a": {"civility": 10, "topic": 10, "stance": 0},
                                "ann-b": {"civility": 10, "topic": 10, "stance": 0}}
    ag = st.agreement["civility"]
    assert ag.items == 10 and ag.percent == pytest.approx(0.8)
    assert ag.kappa[("ann-a", "ann-b")] == (pytest.approx(0.42 / 0.62), 10)
    assert ag.alpha == pytest.approx(1 - 0.2 * 380 / 248)
    assert math.isnan(st.agreement["topic"].alpha)  # one value only: undefined, not 1.0
    assert [(d.comment_id, d.values) for d in st.disagreements] == [
        (ids[4], {"ann-a": "civil", "ann-b": "uncivil"}), (ids[7], {"ann-a": "uncivil", "ann-b": "civil"})]
    # coverage: nobody labeled stance, so no comment is fully labeled
    assert st.coverage[0] == ("000_0ea86afeb990cb41", 6, {"ann-a": 0, "ann-b": 0})


def test_stats_command_prints_counts_and_kappa(two_annotators, modkit, tmp_path):
    r = modkit("labels", "stats", "--labels", str(tmp_path / "labels"))
    assert r.returncode == 0, r.stderr
    row = next(line for line in r.stdout.splitlines() if "│ civility" in line and "80.0" in line)
    assert [c.strip() for c in row.strip("│ ").split("│")] == ["civility", "2", "10", "80.0", "0.677", "0.694"]
    assert "Disagreements: 2" in r.stdout


def test_export_per_annotator_and_resolved_with_ties_then_adjudication(two_annotators, modkit, tmp_path, corpus):
    store, ids = two_annotators
    per = modkit("labels", "export", "--labels", str(tmp_path / "labels"))
    rows = list(csv.DictReader(io.StringIO(per.stdout)))
    assert len(rows) == 20 and list(rows[0]) == ["comment_id", "doc", "annotator", "civility", "topic", "stance", "note"]
    assert rows[0]["comment_id"] == ids[0] and rows[0]["stance"] == ""
    res = modkit("labels", "export", "--resolved", "--format", "jsonl", "--labels", str(tmp_path / "labels"))
    got = {r["comment_id"]: r for r in map(json.loads, res.stdout.splitlines())}
    assert got[ids[4]]["civility"] == "" and got[ids[4]]["ties"] == "civility"
    assert got[ids[0]]["civility"] == "civil" and got[ids[0]]["annotators"] == "2"
    adj = modkit("labels", "adjudicate", "--labels", str(tmp_path / "labels"), "--annotator", "lead",
                 "--set", ids[4], "civility=uncivil", "--note", "mocking")
    assert adj.returncode == 0, adj.stderr
    out = tmp_path / "res.csv"
    modkit("labels", "export", "--resolved", "--out", str(out), "--labels", str(tmp_path / "labels"))
    got = {r["comment_id"]: r for r in csv.DictReader(out.open())}
    assert got[ids[4]]["civility"] == "uncivil" and got[ids[4]]["adjudicated"] == "civility"
    assert got[ids[4]]["ties"] == ""
    # the adjudication is not an annotator's vote: agreement is unchanged
    st = compute_stats(store, load_schema(None), corpus)
    assert st.agreement["civility"].kappa[("ann-a", "ann-b")][0] == pytest.approx(0.42 / 0.62)
    assert st.adjudicated == 1 and "lead" not in st.per_annotator


def test_export_leaves_out_stale_labels_and_warns(tmp_path, corpus, schema):
    store = LabelStore(tmp_path)
    it = corpus.items[0]
    store.append([LabelEvent(it.id, it.comment.doc, "civility", "civil", "ann", text_sha="0" * 16)])
    warnings: list[str] = []
    assert export_rows(store, schema, texts=corpus.texts(), warnings=warnings) == []
    assert "stale label" in warnings[0]


def test_export_import_round_trip(two_annotators, tmp_path, corpus, schema, modkit):
    out = tmp_path / "all.csv"
    modkit("labels", "export", "--out", str(out), "--labels", str(tmp_path / "labels"))
    fresh = LabelStore(tmp_path / "copy")
    res = import_labels(out, fresh, schema, corpus)
    assert len(res.written) == 40
    assert {k: e.value for k, e in fresh.current().items()} == {
        k: e.value for k, e in two_annotators[0].current().items()}


def test_set_with_a_unique_prefix_and_an_ambiguous_one(tmp_path, corpus, schema):
    store = LabelStore(tmp_path)
    it = corpus.items[0]
    evs = set_labels(store, schema, corpus, it.id[:8], ["topic=on"], annotator="ann")
    assert evs[0].comment_id == it.id
    with pytest.raises(ModkitError, match="unknown comment id 'c'"):
        set_labels(store, schema, corpus, "c", ["topic=on"], annotator="ann")


def test_only_unlabeled_with_nothing_left_says_so_without_a_terminal(modkit, tmp_path):
    (tmp_path / "gold-a.jsonl").write_bytes((ROOT / "labels" / "gold-a.jsonl").read_bytes())
    r = modkit("label", "--annotator", "gold-a", "--only-unlabeled", "--labels", str(tmp_path))
    assert r.returncode == 0
    assert "gold-a: nothing left to label (38 comments, all labeled on civility, topic, stance)" in r.stderr


def test_adjudicate_without_a_terminal_points_to_set(modkit, tmp_path):
    r = modkit("labels", "adjudicate", "--annotator", "lead", "--labels", str(tmp_path), input="")
    assert r.returncode == 2 and "--set COMMENT_ID TASK=VALUE" in r.stderr


def test_committed_gold_labels_cover_every_seed_comment_on_every_task(corpus, schema):
    store = LabelStore(ROOT / "labels")
    warnings: list[str] = []
    cur = store.current(warnings, corpus.texts())
    assert warnings == []
    gold = {(c, t): e.value for (c, t, w), e in cur.items() if w == "gold-a"}
    assert len(gold) == 38 * 3
    for (cid, task), value in gold.items():
        schema.check(task, value)
    # spot checks of GUIDELINES.md's worked examples
    assert gold[("c2a04e9409aeb", "topic")] == "off"  # 000:2 empty comment
    assert gold[("c895ed9e9b6dd", "topic")] == "off"  # 001:17 site complaint
    assert gold[("c90977f701d9b", "civility")] == "abusive"  # 001:14 attack via nationality
    assert gold[("c9fc63dbb9092", "stance")] == "agree"  # 001:18 self-reply, judged vs the article
    assert {t: gold[("cc368ccacb4b5", t)] for t in schema.task_names} == \
        {t: gold[("cfef8c64b785d", t)] for t in schema.task_names}  # 001:13/15 repost


README = (ROOT / "README.md").read_text(encoding="utf-8")
SECTION = README[README.index("<!-- section:labels -->"):README.index("<!-- /section:labels -->")]


@pytest.mark.parametrize("command", ["label", "labels import", "labels export", "labels stats",
                                     "labels adjudicate", "labels schema"])
def test_every_labels_command_has_help_and_a_readme_example(modkit, command):
    r = modkit(*command.split(), "--help")
    assert r.returncode == 0 and "Usage:" in r.stdout
    assert f"modkit {command} " in SECTION


def test_alpha_with_four_annotators_and_missing_labels_matches_krippendorffs_example():
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", nominal example: 0.743
    rows = {
        "A": "1 2 3 3 2 1 4 1 2 . . .", "B": "1 2 3 3 2 2 4 1 2 5 . 3",
        "C": ". 3 3 3 2 3 4 2 2 5 1 .", "D": "1 2 3 3 2 4 4 1 2 5 1 .",
    }
    cells = {w: r.split() for w, r in rows.items()}
    units = [{w: f"v{cells[w][j]}" for w in rows if cells[w][j] != "."} for j in range(12)]
    assert krippendorff_alpha(units, list(rows)) == pytest.approx(0.743, abs=5e-4)


def test_stats_with_three_annotators_gives_every_pair_and_one_alpha(tmp_path, corpus, schema):
    store = LabelStore(tmp_path)
    ids = corpus.ids()[:4]
    votes = {"x": ["on", "on", "off", "on"], "y": ["on", "off", "off", "on"], "z": ["on", "on", "off", "off"]}
    for who, vals in votes.items():
        for cid, v in zip(ids, vals):
            set_labels(store, schema, corpus, cid, [f"topic={v}"], annotator=who)
    ag = compute_stats(store, schema, corpus).agreement["topic"]
    assert set(ag.kappa) == {("x", "y"), ("x", "z"), ("y", "z")}
    assert ag.kappa[("x", "y")] == (pytest.approx(cohen_kappa(votes["x"], votes["y"])), 4)
    assert ag.items == 4 and ag.percent == pytest.approx(0.5)
    assert -1 <= ag.alpha <= 1


def test_stats_warns_about_values_the_schema_no_longer_has(tmp_path, corpus, schema):
    store = LabelStore(tmp_path)
    it = corpus.items[0]
    store.append([LabelEvent(it.id, it.comment.doc, "topic", "offtopic", "ann", text_sha=it.sha)])
    st = compute_stats(store, schema, corpus)
    assert st.warnings == ["ann: topic value 'offtopic' is not in the schema (renamed or removed?); "
                           "expected one of on, off"]

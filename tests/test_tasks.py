"""The task registry: a task added to the schema goes through label, train, flag, review and
report with no code change; the pure scorer equals each pipeline's own predict_proba; no module
outside the schema names a task."""

from __future__ import annotations

import ast
import asyncio
import csv
import io
import json
import shutil
import tokenize
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from textual.widgets import Static

from modkit import flag as flag_api
from modkit import model, threads
from modkit.errors import ModkitError
from modkit.features import FRAME_COLUMNS, comment_frame
from modkit.labels import Corpus, LabelStore, load_schema, parse_schema, schema_for
from modkit.labels.schema import DEFAULT_SCHEMA_TOML
from modkit.tasks import Registry

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "models" / "default"
SPAM_TASK = '''
[tasks.spam]
question = "Is the comment spam: advertising, a scam, or links for clicks?"
values = [
  { name = "yes", key = "y", definition = "Advertises, scams or posts links for clicks." },
  { name = "no", key = "x", definition = "Anything else." },
]
features = ["text", "stats"]
min_examples = 5
flags = [ { code = "SPAM", values = ["yes"], severity = 5, meaning = "advertising, scam or link farm", reject_codes = ["ADVERT"] } ]
'''


def spam_schema(tmp_path: Path) -> Path:
    labels = tmp_path / "labels"
    shutil.copytree(ROOT / "labels", labels)
    text = (labels / "schema.toml").read_text(encoding="utf-8")
    head, sep, tail = text.partition("# The labeler's navigation keys")
    (labels / "schema.toml").write_text(head + SPAM_TASK.lstrip() + "\n" + sep + tail, encoding="utf-8")
    return labels


def read_csv_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline=""))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


# --------------------------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------------------------
def test_the_default_schema_is_the_three_default_tasks_and_their_flags():
    reg = Registry.from_schema(parse_schema(DEFAULT_SCHEMA_TOML))
    assert reg.names == ("civility", "topic", "stance")
    assert [f.code for f in reg.flags] == ["ABUSIVE", "UNCIVIL", "OFF_TOPIC", "REPEAT_POST", "EMPTY", "LINKS", "SHOUTING"]
    assert reg.score_columns == ("p_abusive", "p_uncivil", "p_offtopic", "stance")
    assert {t.name: t.fine for t in reg.tasks} == {"civility": "civil", "topic": "on", "stance": None}
    uncivil = reg.flag("UNCIVIL")
    assert uncivil.values == ("uncivil", "abusive") and uncivil.label == "uncivil" and uncivil.bias
    assert reg.task("civility").severity("abusive") > reg.task("civility").severity("uncivil") > 0
    assert [f.code for f in reg.reject_codes["HATE_SPEECH"]] == ["ABUSIVE"]
    assert flag_api.csv_columns(reg) == flag_api.CSV_COLUMNS


@pytest.mark.parametrize(("flag", "message"), [
    ('{ code = "SPAM", values = ["maybe"] , meaning = "m" }', r"tasks\.spam\.flags\[1\]\.values: unknown spam value 'maybe'"),
    ('{ code = "spam", values = ["yes"], meaning = "m" }', r"tasks\.spam\.flags\[1\]\.code: 'spam': a flag code is an upper-case word"),
    ('{ code = "SPAM", values = ["yes"] }', r"tasks\.spam\.flags\[1\]\.meaning: missing"),
    ('{ code = "SPAM", values = ["yes"], meaning = "m", precision = { balanced = 1.5 } }', r"precision\.balanced: 1\.5: a target precision above 0\.5"),
    ('{ code = "SPAM", values = ["yes"], meaning = "m", colour = "red" }', r"flags\[1\]\.colour: unknown field"),
    ('{ code = "ABUSIVE", values = ["yes"], meaning = "m" }', r"flag code 'ABUSIVE' is already used by task civility"),
    ('{ code = "SPAM", values = ["yes", "no"], meaning = "m" }', r"cannot stand for every value"),
])
def test_a_bad_flag_in_the_schema_is_one_message_naming_the_field(flag, message):
    text = DEFAULT_SCHEMA_TOML.replace("# The labeler's navigation keys", f'''[tasks.spam]
question = "spam?"
values = [ {{ name = "yes", key = "y", definition = "d" }}, {{ name = "no", key = "x", definition = "d" }} ]
flags = [ {flag} ]

# The labeler's navigation keys''')
    with pytest.raises(ModkitError, match=message):
        parse_schema(text, "schema.toml")


def test_unknown_features_and_classifier_are_refused():
    bad = DEFAULT_SCHEMA_TOML.replace('features = ["thread", "stats"]', 'features = ["thread", "vibes"]')
    with pytest.raises(ModkitError, match=r"tasks\.topic\.features: unknown feature set 'vibes'"):
        parse_schema(bad, "schema.toml")
    bad = DEFAULT_SCHEMA_TOML.replace('classifier = "linear-svm"', 'classifier = "bert"')
    with pytest.raises(ModkitError, match=r"tasks\.civility\.classifier: 'bert'"):
        parse_schema(bad, "schema.toml")


def test_no_module_but_the_schema_and_the_corpus_declarations_names_a_task():
    """Training, scoring, review, the report and the CLI loop over the registry: a string
    naming a default task appears only where a task is declared (the default schema, and the
    public corpora that say which task they label)."""
    allowed = {Path("labels/schema.py"), Path("data.py")}
    found = []
    for p in sorted((ROOT / "src" / "modkit").rglob("*.py")):
        rel = p.relative_to(ROOT / "src" / "modkit")
        with open(p, "rb") as fh:
            for tok in tokenize.tokenize(fh.readline):
                if tok.type != tokenize.STRING:
                    continue
                try:
                    value = ast.literal_eval(tok.string)
                except (ValueError, SyntaxError):
                    continue
                if isinstance(value, str) and value in ("civility", "topic", "stance") and rel not in allowed:
                    found.append(f"{rel}:{tok.start[0]} {value!r}")
    assert not found, found


# --------------------------------------------------------------------------------------------
# The pure scorer
# --------------------------------------------------------------------------------------------
def _check_equal(m, frame: pd.DataFrame) -> None:
    df = flag_api.score_batch(frame, m)
    for spec in m.registry.tasks:
        pipe = m.pipelines[spec.name]
        P = pipe.predict_proba(frame)
        classes = [str(c) for c in pipe.classes_]
        for f in spec.model_flags:
            expected = sum(P[:, classes.index(v)] for v in f.values)
            assert np.abs(df[f.column].to_numpy() - expected).max() < 1e-9, f.code
        if not spec.model_flags:
            assert list(df[spec.name]) == list(np.asarray(classes, dtype=object)[P.argmax(axis=1)])


def test_score_batch_equals_each_pipelines_own_predict_proba_on_the_seeds():
    m = model.load_model(SHIPPED)
    _check_equal(m, comment_frame(threads.read(ROOT / "seeds")))


def test_score_batch_equals_each_pipelines_own_predict_proba_on_10000_real_comments():
    """Real news comments (civil-comments-toxic-spans, CC0), 10 to a page under articles made of
    other comments: a vocabulary the seeds never had."""
    m = model.load_model(SHIPPED)
    texts = pd.read_csv(ROOT / "data" / "civil-comments-toxic-spans" / "comments.csv")["comment_text"]
    texts = texts.fillna("").astype(str).iloc[:10_000].tolist()
    n = len(texts)
    docs = [f"page{i // 10}" for i in range(n)]
    frame = pd.DataFrame({
        "comment_id": [f"r{i}" for i in range(n)], "doc": docs,
        "parent_id": ["" if i % 10 == 0 else f"r{i - 1 - (i % 3 == 0)}" for i in range(n)],
        "depth": [0 if i % 10 == 0 else 1 for i in range(n)], "position": [i % 10 + 1 for i in range(n)],
        "author": [f"a{i % 37}" for i in range(n)], "timestamp": "", "text": texts,
        "article": [texts[(i // 10 * 7 + 3) % n] for i in range(n)],
    })
    by_id = dict(zip(frame["comment_id"], frame["text"]))
    frame["parent_text"] = [by_id.get(p, "") for p in frame["parent_id"]]
    frame["parent_author"] = [f"a{int(p[1:]) % 37}" if p else "" for p in frame["parent_id"]]
    _check_equal(m, frame[list(FRAME_COLUMNS)])


def test_score_batch_reads_and_writes_no_file(tmp_path, monkeypatch):
    m = model.load_model(SHIPPED)
    frame = comment_frame(threads.read(ROOT / "seeds"))
    monkeypatch.chdir(tmp_path)
    import builtins

    def no_open(*a, **k):
        raise AssertionError(f"score_batch opened a file: {a[:1]}")

    monkeypatch.setattr(builtins, "open", no_open)
    df = flag_api.score_batch(frame, m)
    assert len(df) == len(frame) and not list(tmp_path.iterdir())


# --------------------------------------------------------------------------------------------
# Every SOURCE the threads reader reads
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_flag_on_a_multi_doc_export_gives_the_rows_of_the_separate_pages(modkit, tmp_path, fmt):
    export = tmp_path / f"all.{fmt}"
    r = modkit("threads", "seeds/", "-f", fmt, "-o", str(export))
    assert r.returncode == 0, r.stderr
    r1 = modkit("flag", str(export), "--all", "-o", str(tmp_path / "a.csv"))
    assert r1.returncode == 0, r1.stderr
    r2 = modkit("flag", "seeds/", "--all", "-o", str(tmp_path / "b.csv"))
    assert r2.returncode == 0, r2.stderr
    _, a = read_csv_rows(tmp_path / "a.csv")
    _, b = read_csv_rows(tmp_path / "b.csv")
    assert len(a) == len(b) == 38
    key = lambda r: r["comment_id"]  # noqa: E731
    assert sorted(a, key=key) == sorted(b, key=key)


# --------------------------------------------------------------------------------------------
# A task added to the schema, all the way through
# --------------------------------------------------------------------------------------------
def test_a_task_with_too_few_labels_is_left_out_with_one_line(modkit, tmp_path):
    labels = spam_schema(tmp_path)
    cids = [c.id for t in threads.read(ROOT / "seeds") for c in t.comments]
    for cid in cids[:3]:
        assert modkit("label", "--labels", str(labels), "--annotator", "ann", "--set", cid, "spam=yes").returncode == 0
    for cid in cids[3:10]:
        assert modkit("label", "--labels", str(labels), "--annotator", "ann", "--set", cid, "spam=no").returncode == 0
    r = modkit("train", "--labels", str(labels), "--limit", "100", "--small", "--no-eval", "--out", str(tmp_path / "m"))
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("spam: too few labels")]
    assert len(lines) == 1, r.stderr
    assert "yes 3, no 7" in lines[0] and "at least 5 of each of two values" in lines[0]
    m = model.load_model(tmp_path / "m")
    assert "spam" not in m.registry.names and "spam" in m.card["skipped"]
    assert "p_spam" not in flag_api.csv_columns(m.registry)


def test_a_spam_task_added_to_the_schema_goes_through_label_train_flag_review_and_report(modkit, tmp_path):
    labels = spam_schema(tmp_path)
    # modkit label shows the task with its keys
    corpus = Corpus.read(ROOT / "seeds")
    from modkit.tui.labeler import LabelerApp

    app = LabelerApp(corpus, LabelStore(labels), load_schema(labels), "ann")

    async def look() -> str:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            for _ in range(3):  # to the fourth task
                await pilot.press("down")
            await pilot.pause()
            text = "\n".join(str(w.content) for w in app.query(Static) if w.display)
            await pilot.press("q")
            return text

    screen = asyncio.run(look())
    assert "spam" in screen and "[y]yes" in screen and "[x]no" in screen

    comments = [c for t in threads.read(ROOT / "seeds") for c in t.comments]
    # spam = the longest comments (an arbitrary but learnable rule: a few labels teach it)
    ranked = sorted(comments, key=lambda c: -len(c.text))
    yes, no = ranked[:8], ranked[-12:]
    for c in yes:
        r = modkit("label", "--labels", str(labels), "--annotator", "ann", "--set", c.id, "spam=yes")
        assert r.returncode == 0, r.stderr
    for c in no:
        assert modkit("label", "--labels", str(labels), "--annotator", "ann", "--set", c.id, "spam=no").returncode == 0
    r = modkit("train", "--labels", str(labels), "--limit", "120", "--small", "--out", str(tmp_path / "m"))
    assert r.returncode == 0, r.stderr
    assert "== spam: 5-fold cross-validation" in r.stderr
    card = json.loads((tmp_path / "m" / "model_card.json").read_text(encoding="utf-8"))
    assert "spam" in card["metrics"] and "SPAM" in card["thresholds"]["balanced"]
    assert card["counts"]["spam"]["seed-labels"] == {"yes": 8, "no": 12}

    # modkit flag writes p_spam, and the SPAM flag at the severity the schema gives it
    r = modkit("flag", "seeds/", "--model", str(tmp_path / "m"), "--all", "-o", str(tmp_path / "all.csv"))
    assert r.returncode == 0, r.stderr
    header, rows = read_csv_rows(tmp_path / "all.csv")
    assert header.index("p_spam") == header.index("p_offtopic") + 1  # model flags in schema order, then stance
    p_yes = max(float(r["p_spam"]) for r in rows if r["comment_id"] in {c.id for c in yes})
    r = modkit("flag", "seeds/", "--model", str(tmp_path / "m"), "--threshold", f"SPAM={p_yes - 1e-4:.4f}",
               "-o", str(tmp_path / "f.csv"))
    assert r.returncode == 0, r.stderr
    _, rows = read_csv_rows(tmp_path / "f.csv")
    spam_rows = [row for row in rows if "SPAM" in row["flags"].split(";")]
    assert spam_rows and spam_rows[0] is rows[0]  # severity 5: above ABUSIVE's 4, first in the CSV
    assert rows[0]["flags"].split(";")[0] == "SPAM" and "p_spam" in rows[0]["reasons"]
    assert "SPAM" in r.stderr  # the per-page table has its column

    # modkit review: an approve (the flag was wrong) and a correction
    target = spam_rows[0]["comment_id"]
    other = next(row["comment_id"] for row in rows if row["comment_id"] != target)
    text = (tmp_path / "f.csv").read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    out_rows = []
    for row in reader:
        if row["comment_id"] == target:
            row["decision"] = "approve"
        elif row["comment_id"] == other:
            row["labels"] = "spam=yes"
        out_rows.append(row)
    with open(tmp_path / "reviewed.csv", "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=reader.fieldnames, lineterminator="\r\n")
        w.writeheader()
        w.writerows(out_rows)
    r = modkit("review", str(tmp_path / "reviewed.csv"), "--reviewer", "mod", "--labels", str(labels))
    assert r.returncode == 0, r.stderr
    ev = [json.loads(x) for x in (labels / "mod.jsonl").read_text(encoding="utf-8").splitlines()]
    spam = {(e["comment_id"], e["value"]) for e in ev if e["task"] == "spam"}
    assert (target, "no") in spam and (other, "yes") in spam
    assert all(e["source"] == "review" for e in ev)

    # modkit report: the SPAM badge and filter, the p_spam score
    r = modkit("report", "seeds/", "--flags", str(tmp_path / "f.csv"), "-o", str(tmp_path / "r.html"))
    assert r.returncode == 0, r.stderr
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert '<option value="SPAM">SPAM (' in page and 'title="p_spam"' in page
    assert 'class="badge flag flag-spam">SPAM<' in page


def test_the_reviewed_spam_labels_train_the_next_model(tmp_path):
    """review -> labels -> train: a reject code the schema declares (ADVERT) confirms SPAM."""
    from modkit.review import label_values

    reg = Registry.from_schema(load_schema(spam_schema(tmp_path)))
    assert label_values("reject", ("UNCIVIL",), "ADVERT", None, reg) == {"civility": "uncivil", "spam": "yes"}
    assert label_values("approve", ("SPAM",), "", None, reg) == {"spam": "no"}
    assert label_values("approve", ("LINKS",), "", None, reg) == {"civility": "civil", "topic": "on", "spam": "no"}
    assert label_values("reject", ("ABUSIVE", "UNCIVIL"), "", None, reg) == {"civility": "abusive"}
    assert schema_for(tmp_path / "labels").task("spam").names == ("yes", "no")


def test_profiles_mean_what_they_say_strict_does_not_flag_everything(modkit, tmp_path):
    """At equal priors a threshold of 0 has precision 0.5, so a target of 0.5 flags every
    comment: the schema refuses targets of 0.5 or less, and strict flags fewer than all 38."""
    counts = {}
    for prof in ("strict", "balanced", "lenient"):
        r = modkit("flag", "seeds/", "--profile", prof, "-o", str(tmp_path / f"{prof}.csv"))
        assert r.returncode == 0, r.stderr
        counts[prof] = len(read_csv_rows(tmp_path / f"{prof}.csv")[1])
    assert counts["lenient"] <= counts["balanced"] <= counts["strict"] < 38, counts


def test_a_task_can_read_meaning_features_and_the_scorer_still_equals_its_pipeline(tmp_path):
    """``features = ["meaning", "meaning_context"]``: the shipped static embedding (no
    transformer at run time) as a feature set of any task."""
    from dataclasses import replace

    schema = load_schema(spam_schema(tmp_path))
    topic = schema.task("topic")
    schema = replace(schema, tasks=(replace(topic, features=("thread", "stats", "meaning_context")),
                                    replace(schema.task("stance"), features=("meaning", "stats"), min_examples=5)))
    m = model.train(labels=tmp_path / "labels", pages=[ROOT / "seeds"], schema=schema, limit=100, small=True,
                    evaluate=False, tune_reg=False, data=["civil-comments-toxic-spans", "placements"])
    names = [n for n, _ in m.pipelines["topic"].named_steps["features"].transformer_list]
    assert names == ["thread", "stats", "meaning_context"]
    _check_equal(m, comment_frame(threads.read(ROOT / "seeds")))

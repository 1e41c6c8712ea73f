"""`modkit flag` with the shipped model: the CSV contract, safety, the empty page, bad models,
and that comments anyone would flag are flagged."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest

from modkit import flag as flag_api
from modkit import threads
from modkit.labels import text_sha
from modkit.model import load_model

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "models" / "default"

EXPECTED_COLUMNS = [
    "comment_id", "doc", "parent_id", "depth", "author", "timestamp", "text", "context", "flags",
    "p_abusive", "p_uncivil", "p_offtopic", "stance", "reasons", "priority", "model", "text_sha",
    "decision", "reject_code", "note", "labels",
]

ABUSIVE = "You are a worthless piece of garbage and a stupid idiot. Go kill yourself, you disgusting moron."
OFF_TOPIC = ("My grandmother's apple pie recipe: bake the crust at 375 degrees for twenty minutes, then add "
             "cinnamon, sliced apples and a pinch of nutmeg. Lovely with vanilla ice cream!")
FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"click\")", "+1+2", "-3+4 is what I think", "@SUM(A1:A2)",
            "\tindented with a tab"]


def add_comments(page: Path, comments: list[tuple[str, str]]) -> None:
    """Append top-level comments to a seed-format page, before its "Post a comment" footer."""
    text = page.read_text(encoding="utf-8")
    n = 50
    block = ""
    for author, body in comments:
        n += 1
        lines = body.split("\n")
        block += f"  {n}. {author}\n\n" + "".join(f"    {ln}\n" for ln in lines) + \
            "\n    February 8, 2013 at 4:17 am | Reply\n"
    head, sep, tail = text.partition("Post a comment")
    assert sep, "seed page layout changed"
    page.write_text(head.rstrip("\n") + "\n" + block + "\n" + sep + tail, encoding="utf-8")


@pytest.fixture
def page_with_two_bad_comments(tmp_path: Path, seeds: Path) -> Path:
    src = next(seeds.glob("003_*.txt"))
    dst = tmp_path / src.name
    shutil.copy(src, dst)
    add_comments(dst, [("Troll99", ABUSIVE), ("Chef Anna", OFF_TOPIC)])
    return dst


def read_rows(path: Path) -> tuple[bytes, list[dict[str, str]], list[str]]:
    raw = path.read_bytes()
    reader = csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline=""))
    rows = list(reader)
    return raw, rows, list(reader.fieldnames or [])


def test_the_csv_has_exactly_the_documented_columns_one_row_per_comment_with_all(modkit, tmp_path):
    r = modkit("flag", "seeds/", "--all", "--out", str(tmp_path / "f.csv"))
    assert r.returncode == 0, r.stderr
    raw, rows, header = read_rows(tmp_path / "f.csv")
    assert header == EXPECTED_COLUMNS == list(flag_api.CSV_COLUMNS)
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw  # BOM for Excel, CRLF rows
    assert len(rows) == 38
    pages = {t.doc: t for t in threads.read("seeds/")}
    comments = {c.id: c for t in pages.values() for c in t.comments}
    for row in rows:
        c = comments[row["comment_id"]]
        assert row["doc"] == c.doc and row["parent_id"] == c.parent_id and int(row["depth"]) == c.depth
        assert row["text_sha"] == text_sha(c.text)
        assert row["model"].startswith("default@")
        assert row["decision"] == row["reject_code"] == row["note"] == row["labels"] == ""
        for p in ("p_abusive", "p_uncivil", "p_offtopic"):
            assert 0.0 <= float(row[p]) <= 1.0
        assert float(row["p_uncivil"]) >= float(row["p_abusive"]) - 1e-4  # uncivil = uncivil or abusive
        assert set(filter(None, row["flags"].split(";"))) <= set(flag_api.FLAGS)
        if row["flags"] and "EMPTY" not in row["flags"]:
            assert row["reasons"], row
    priorities = [float(r["priority"]) for r in rows]
    assert priorities == sorted(priorities, reverse=True)
    assert "flags per page" in r.stderr and "total" in r.stderr
    # a newline inside a comment survives the round trip
    multi = [c for c in comments.values() if "\n" in c.text]
    assert multi and all(next(r for r in rows if r["comment_id"] == c.id)["text"] == c.text for c in multi)


def test_without_all_only_flagged_comments_are_written_most_severe_first(modkit, tmp_path):
    r = modkit("flag", "seeds/", "--out", str(tmp_path / "f.csv"))
    assert r.returncode == 0, r.stderr
    _, rows, _ = read_rows(tmp_path / "f.csv")
    assert 0 < len(rows) < 38
    assert all(row["flags"] for row in rows)
    sev = [max(flag_api.FLAGS[f][0] for f in row["flags"].split(";")) for row in rows]
    assert sev == sorted(sev, reverse=True)


@pytest.mark.parametrize("cell", FORMULAS + ["\rcarriage return"])
def test_a_cell_that_a_spreadsheet_would_run_gets_a_leading_apostrophe(cell):
    assert flag_api.neutralise(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["plain", "", "1.5", "'quoted", " =space first", "a=b"])
def test_other_cells_are_left_alone(cell):
    assert flag_api.neutralise(cell) == cell


def test_formula_comments_and_authors_are_neutralised_in_the_written_csv(modkit, tmp_path, seeds):
    page = tmp_path / next(seeds.glob("003_*.txt")).name
    shutil.copy(next(seeds.glob("003_*.txt")), page)
    bodies = FORMULAS[:4]  # a leading tab cannot survive the page layout: see the next test
    add_comments(page, [(f"=cmd{i}", body) for i, body in enumerate(bodies)])
    r = modkit("flag", str(page), "--all", "--out", str(tmp_path / "f.csv"))
    assert r.returncode == 0, r.stderr
    _, rows, _ = read_rows(tmp_path / "f.csv")
    mine = [row for row in rows if row["author"].startswith("'=cmd")]
    assert len(mine) == len(bodies)
    for row in mine:
        assert row["text"].startswith("'") and row["text"][1:] in bodies
    for row in rows:  # no cell anywhere starts a formula
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (row["comment_id"], value)


def test_tab_and_carriage_return_cells_are_neutralised_by_the_csv_writer(seeds):
    from modkit.features import comment_frame

    frame = comment_frame(threads.read(next(seeds.glob("000_*.txt"))))
    frame.loc[0, "text"] = "\tTAB=1"
    frame.loc[1, "text"] = "\r=2"
    frame.loc[2, "author"] = "@admin"
    scored = flag_api.score(frame, load_model(SHIPPED), explain="all")
    rows = list(flag_api.csv_rows(scored, "m", load_model(SHIPPED).registry))
    col = list(flag_api.CSV_COLUMNS)
    texts = {r[col.index("comment_id")]: r for r in rows}
    assert texts[frame.loc[0, "comment_id"]][col.index("text")] == "'\tTAB=1"
    assert texts[frame.loc[1, "comment_id"]][col.index("text")] == "'\r=2"
    assert texts[frame.loc[2, "comment_id"]][col.index("author")] == "'@admin"


def test_a_page_without_comments_gives_one_line_and_a_header_only_csv(modkit, tmp_path):
    out = tmp_path / "f.csv"
    r = modkit("flag", "seeds/004", "--out", str(out))
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "no comments" in lines[0] and "004" in lines[0]
    raw, rows, header = read_rows(out)
    assert rows == [] and header == EXPECTED_COLUMNS
    assert raw.decode("utf-8-sig").count("\r\n") == 1


@pytest.mark.parametrize("make_bad, message", [
    (lambda d: shutil.rmtree(d), "no model file"),
    (lambda d: (d / "model.skops").write_bytes((d / "model.skops").read_bytes() + b"x"), "tampered"),
    (lambda d: (d / "model_card.json").write_text(
        (d / "model_card.json").read_text().replace('"sklearn_version": "', '"sklearn_version": "0.'),
        encoding="utf-8"), "retrain"),
    (lambda d: (d / "model_card.json").unlink(), "model card missing"),
])
def test_a_missing_tampered_or_mismatched_model_is_refused_in_one_line(modkit, tmp_path, make_bad, message):
    model = tmp_path / "m"
    shutil.copytree(SHIPPED, model)
    make_bad(model)
    out = tmp_path / "f.csv"
    r = modkit("flag", "seeds/", "--model", str(model), "--out", str(out))
    assert r.returncode == (2 if not model.exists() else 1)  # a --model naming nothing is bad usage
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and message in lines[0], r.stderr
    assert "Traceback" not in r.stderr and not out.exists()


def test_a_corrupt_model_whose_card_matches_is_refused(modkit, tmp_path):
    import hashlib

    model = tmp_path / "m"
    shutil.copytree(SHIPPED, model)
    (model / "model.skops").write_bytes(b"not a pickle at all")
    card = (model / "model_card.json").read_text(encoding="utf-8")
    old = load_model(SHIPPED).card["sha256"]
    (model / "model_card.json").write_text(
        card.replace(old, hashlib.sha256(b"not a pickle at all").hexdigest()), encoding="utf-8")
    r = modkit("flag", "seeds/", "--model", str(model), "--out", str(tmp_path / "f.csv"))
    assert r.returncode == 1 and "corrupt model file" in r.stderr and "Traceback" not in r.stderr


def test_an_unknown_profile_or_flag_override_is_one_line(modkit, tmp_path):
    r = modkit("flag", "seeds/", "--profile", "harsh", "--out", str(tmp_path / "f.csv"))
    assert r.returncode == 2 and "harsh" in r.stderr
    r = modkit("flag", "seeds/", "--threshold", "RUDE=0.4", "--out", str(tmp_path / "f.csv"))
    assert r.returncode == 1 and "unknown flag 'RUDE'" in r.stderr


def test_the_shipped_model_flags_a_clearly_abusive_and_a_clearly_off_topic_comment(
        modkit, tmp_path, page_with_two_bad_comments):
    out = tmp_path / "f.csv"
    r = modkit("flag", str(page_with_two_bad_comments), "--out", str(out))
    assert r.returncode == 0, r.stderr
    _, rows, _ = read_rows(out)
    by_author = {row["author"]: row for row in rows}
    assert "Troll99" in by_author and "Chef Anna" in by_author, [row["author"] for row in rows]
    abusive = by_author["Troll99"]
    # ABUSIVE's precision target is out of reach at its prevalence (model card), so the balanced
    # profile raises the attack as UNCIVIL, with the hostile words as its reason
    assert {"ABUSIVE", "UNCIVIL"} & set(abusive["flags"].split(";")), abusive
    assert "idiot" in abusive["reasons"] or "moron" in abusive["reasons"]
    off = by_author["Chef Anna"]
    assert "OFF_TOPIC" in off["flags"].split(";"), off
    assert "similarity to article" in off["reasons"]
    assert rows[0]["author"] == "Troll99"  # the most severe comes first


def test_every_profile_orders_thresholds_strict_below_lenient():
    m = load_model(SHIPPED)
    for f in ("ABUSIVE", "UNCIVIL", "OFF_TOPIC"):
        assert m.threshold(f, "strict") <= m.threshold(f, "balanced") <= m.threshold(f, "lenient")
    assert m.card["thresholds"] == m.thresholds
    assert set(m.card["profiles"]) == {"strict", "balanced", "lenient"}


def test_stricter_profiles_flag_at_least_as_many_comments(tmp_path):
    m = load_model(SHIPPED)
    counts = {}
    for prof in ("lenient", "balanced", "strict"):
        res = flag_api.flag(["seeds/"], m, tmp_path / f"{prof}.csv", profile=prof)
        counts[prof] = res.rows
    assert counts["lenient"] <= counts["balanced"] <= counts["strict"]


def test_score_and_uncertainty_library_api(seeds):
    m = load_model(SHIPPED)
    pages = threads.read(seeds)
    df = flag_api.score(pages, m)
    assert list(df.columns[:len(flag_api.SCORE_COLUMNS)]) == list(flag_api.SCORE_COLUMNS)
    assert len(df) == 38 and df["comment_id"].is_unique
    u = flag_api.uncertainty(pages, m)
    assert len(u) == 38 and u.between(0, 1).all()
    empty = df.loc[df["flags"].str.contains("EMPTY"), "comment_id"]
    assert (u[empty] == 0).all()


def test_queue_writes_the_n_least_certain_comments(modkit, tmp_path):
    out = tmp_path / "q.csv"
    r = modkit("flag", "seeds/", "--queue", "5", "--out", str(out))
    assert r.returncode == 0, r.stderr
    _, rows, _ = read_rows(out)
    assert len(rows) == 5
    u = flag_api.uncertainty(threads.read("seeds/"), load_model(SHIPPED))
    top = set(u.sort_values(ascending=False).index[:5])
    assert {row["comment_id"] for row in rows} == top


def test_two_jobs_write_the_same_csv_as_one(tmp_path, seeds):
    src = tmp_path / "pages"
    src.mkdir()
    for i in range(6):
        for p in seeds.glob("00[013]_*.txt"):
            shutil.copy(p, src / f"{i}{p.name}")
    m = load_model(SHIPPED)
    flag_api.flag([src], m, tmp_path / "one.csv", all=True, jobs=1, chunk_bytes=20_000)
    flag_api.flag([src], SHIPPED, tmp_path / "two.csv", all=True, jobs=2, chunk_bytes=20_000)
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "two.csv").read_bytes()


def test_class_margin_uncertainty_values():
    import numpy as np

    P = np.array([[0.5, 0.3, 0.2], [1.0, 0.0, 0.0], [0.4, 0.4, 0.2], [0.1, 0.2, 0.7]])
    u = flag_api.class_margin_uncertainty(P)
    assert np.allclose(u, [0.8, 0.0, 1.0, 0.5])


def test_score_equals_the_pipelines_own_predictions(seeds):
    """score() computes the features once and runs the linear models block by block: the
    numbers must be those of each task's sklearn pipeline run on its own."""
    import numpy as np

    from modkit.features import comment_frame

    m = load_model(SHIPPED)
    frame = comment_frame(threads.read(seeds))
    df = flag_api.score(frame, m)
    civ = m.pipelines["civility"]
    P = civ.predict_proba(frame)
    cls = [str(c) for c in civ.classes_]
    p_abusive = P[:, cls.index("abusive")]
    p_uncivil = p_abusive + P[:, cls.index("uncivil")]
    assert np.abs(df["p_abusive"].to_numpy() - p_abusive).max() < 6e-5  # score rounds to 4 decimals
    assert np.abs(df["p_uncivil"].to_numpy() - p_uncivil).max() < 6e-5
    top = m.pipelines["topic"]
    p_off = top.predict_proba(frame)[:, [str(c) for c in top.classes_].index("off")]
    assert np.abs(df["p_offtopic"].to_numpy() - p_off).max() < 6e-5
    assert list(df["stance"]) == [str(s) for s in m.pipelines["stance"].predict(frame)]
    top2 = np.sort(P, axis=1)[:, -2:]
    expected_u = np.where(df["flags"].str.contains("EMPTY"), 0.0, 1 - (top2[:, 1] - top2[:, 0]))
    assert np.abs(df["uncertainty"].to_numpy() - expected_u).max() < 6e-5


def test_civility_reasons_name_only_words_people_mark_as_hostile():
    """The shipped civility model leans on topic words ("countries", "world") learned from the
    news corpus; a reason must never name one: only words raters marked inside toxic spans, or
    lexicon words, and never a word that names a group."""
    import re

    from modkit import threads
    from modkit.flag import score, span_words
    from modkit.identity import NEVER_A_REASON
    from modkit.model import load_model

    root = Path(__file__).resolve().parent.parent
    m = load_model(root / "models" / "default")
    allowed = span_words() | frozenset(m.lexicon)
    assert "idiot" in allowed and "countries" not in allowed and not allowed & {"russia", "muslim", "israel"}
    page = threads.read([root / "seeds"])
    df = score(page, m, "strict", thresholds={"UNCIVIL": 0.3, "ABUSIVE": 0.2}, explain="all")  # many raised
    named = [w for r in df["reasons"] for part in r.split("; ") if re.match(r"(abusive|uncivil) terms: ", part)
             for w in re.findall(r'"([^"]+)"', part)]
    assert named, "no civility reason named a word on the seeds"
    assert set(named) <= allowed, set(named) - allowed
    assert not set(named) & NEVER_A_REASON

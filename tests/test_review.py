"""`modkit review`: moderators' CSVs (as spreadsheets save them) back into labels and the decision log."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modkit import review, threads
from modkit.labels import LabelStore, text_sha

#: The flag CSV columns, in the order `modkit flag` writes them (the contract in the preamble).
FLAG_COLUMNS = ["comment_id", "doc", "parent_id", "depth", "author", "timestamp", "text", "context", "flags", "p_abusive", "p_uncivil", "p_offtopic", "stance", "reasons", "priority", "model", "text_sha", "decision", "reject_code", "note", "labels"]


def flag_rows(pages: Path) -> list[dict[str, str]]:
    """One row per seed comment as `modkit flag` would write it; a few of them flagged."""
    rows = []
    for t in threads.read(pages):
        for c in t.comments:
            rows.append({
                "comment_id": c.id, "doc": c.doc, "parent_id": c.parent_id, "depth": str(c.depth),
                "author": c.author, "timestamp": c.timestamp, "text": c.text, "context": "",
                "flags": "", "p_abusive": "0.10", "p_uncivil": "0.20", "p_offtopic": "0.30", "stance": "",
                "reasons": "", "priority": "0.1", "model": "default@1234", "text_sha": text_sha(c.text),
                "decision": "", "reject_code": "", "note": "", "labels": "",
            })
    return rows


def write_sheet(path: Path, rows: list[dict[str, str]], *, delimiter: str = ",", bom: bool = False,
                crlf: bool = False, columns: list[str] | None = None, encoding: str = "utf-8") -> Path:
    """Write rows the way a spreadsheet program saves them (neutralised cells, BOM, CRLF...)."""
    columns = columns or list(FLAG_COLUMNS)
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=columns, delimiter=delimiter, lineterminator="\r\n" if crlf else "\n",
                       extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({k: review.neutralise(str(r.get(k, ""))) for k in columns})
    path.write_bytes(("\ufeff" if bom else "").encode(encoding) + buf.getvalue().encode(encoding))
    return path


@pytest.fixture
def work(tmp_path: Path, seeds: Path) -> Path:
    shutil.copytree(seeds, tmp_path / "seeds")
    return tmp_path


@pytest.fixture
def rows(work: Path) -> list[dict[str, str]]:
    return flag_rows(work / "seeds")


def decide(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """A reviewed sheet: rows 2..6 decided (spreadsheet numbering), the rest left empty."""
    rows[0].update(flags="UNCIVIL", decision="approve")
    rows[1].update(flags="ABUSIVE", decision="reject", reject_code="HATE_SPEECH")
    rows[2].update(flags="off-topic", decision="Reject")
    rows[3].update(flags="UNCIVIL;OFF_TOPIC", decision="escalate", note="=ask legal\nsecond line")
    rows[4].update(labels="civility=uncivil topic=on")
    return rows


def events(labels: Path) -> list:
    warnings: list[str] = []
    evs = list(LabelStore(labels).events(warnings))
    assert warnings == []
    return evs


def log(labels: Path) -> list[dict]:
    return list(review.DecisionLog(labels).records())


# -- reading what spreadsheets save ---------------------------------------------------------------
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize("bom,crlf", [(False, False), (True, True), (True, False)])
def test_spreadsheet_saves_are_read_whatever_the_delimiter_bom_and_line_ends(work, rows, delimiter, bom, crlf):
    decide(rows)
    # reordered columns, an extra column, deleted rows
    columns = ["decision", "comment_id", "my notes", *[c for c in FLAG_COLUMNS if c not in ("decision", "comment_id")]]
    kept = rows[:5] + rows[10:]
    f = write_sheet(work / "back.csv", kept, delimiter=delimiter, bom=bom, crlf=crlf, columns=columns)
    result = review.import_review([f], "ana", pages=work / "seeds", labels=work / "labels")
    assert result.decisions == 5
    assert result.unreviewed == len(kept) - 5
    assert dict(result.by_decision) == {"approve": 1, "reject": 2, "escalate": 1, "correct": 1}
    got = {(e.comment_id, e.task): e.value for e in events(work / "labels")}
    assert got == {
        (rows[0]["comment_id"], "civility"): "civil",
        (rows[1]["comment_id"], "civility"): "abusive",
        (rows[2]["comment_id"], "topic"): "off",
        (rows[4]["comment_id"], "civility"): "uncivil",
        (rows[4]["comment_id"], "topic"): "on",
    }
    esc = next(r for r in log(work / "labels") if r["decision"] == "escalate")
    assert esc["note"] == "=ask legal\nsecond line"  # newline kept, neutralisation undone
    assert esc["row"] == 5


def test_excel_windows_1252_and_utf16_saves_are_decoded(work, rows):
    rows[0].update(decision="approve", note="café – ok")
    f1 = write_sheet(work / "ansi.csv", rows[:1], delimiter=";", encoding="cp1252")
    f2 = write_sheet(work / "unicode.txt", rows, delimiter="\t", encoding="utf-16")
    assert review.read_sheet(f1).rows[0][1]["note"] == "café – ok"
    assert review.read_sheet(f2).rows[0][1]["note"] == "café – ok"
    assert review.read_sheet(f2).delimiter == "\t"


def test_label_events_carry_reviewer_source_model_and_text_sha(work, rows):
    decide(rows)
    f = write_sheet(work / "back.csv", rows)
    review.import_review([f], "ana", pages=work / "seeds", labels=work / "labels", time="2026-01-02T03:04:05+00:00")
    ev = next(e for e in events(work / "labels") if e.comment_id == rows[1]["comment_id"])
    assert (ev.annotator, ev.source, ev.time) == ("ana", "review", "2026-01-02T03:04:05+00:00")
    assert "model=default@1234" in ev.note and "HATE_SPEECH" in ev.note and "flags=ABUSIVE" in ev.note
    assert ev.text_sha == rows[1]["text_sha"]
    assert (work / "labels" / "ana.jsonl").is_file()


def test_decision_log_keeps_system_flags_apart_from_the_human_decision(work, rows):
    decide(rows)
    review.import_review([write_sheet(work / "b.csv", rows)], "ana", pages=work / "seeds", labels=work / "labels")
    rec = next(r for r in log(work / "labels") if r["comment_id"] == rows[1]["comment_id"])
    assert rec["system"] == {"model": "default@1234", "flags": ["ABUSIVE"],
                             "scores": {"p_abusive": 0.1, "p_uncivil": 0.2, "p_offtopic": 0.3}}
    assert (rec["reviewer"], rec["decision"], rec["reject_code"]) == ("ana", "reject", "HATE_SPEECH")
    assert rec["labels"] == {"civility": "abusive"}
    assert (rec["file"], rec["row"]) == ("b.csv", 3)
    # the log lives outside the label store's annotator files
    assert LabelStore(work / "labels").annotators() == ["ana"]


@pytest.mark.parametrize("decision,flags,code,corrections,expected", [
    ("approve", ("UNCIVIL",), "", {}, {"civility": "civil"}),
    ("approve", ("ABUSIVE", "OFF_TOPIC"), "", {}, {"civility": "civil", "topic": "on"}),
    ("approve", (), "", {}, {"civility": "civil", "topic": "on"}),
    ("reject", ("UNCIVIL", "ABUSIVE"), "", {}, {"civility": "abusive"}),
    ("reject", ("OFF_TOPIC",), "", {}, {"topic": "off"}),
    ("reject", ("UNCIVIL",), "HARASSMENT", {}, {"civility": "abusive"}),
    ("reject", ("ABUSIVE",), "OFFENSIVE", {}, {"civility": "abusive"}),
    ("reject", ("UNCIVIL",), "SPAM", {}, {"civility": "uncivil", "topic": "off"}),
    ("reject", ("UNCIVIL",), "OTHER", {}, {"civility": "uncivil"}),
    ("reject", ("ABUSIVE",), "", {"civility": "uncivil"}, {"civility": "uncivil"}),
    ("escalate", ("ABUSIVE",), "", {}, {}),
    ("correct", ("ABUSIVE",), "", {"topic": "off"}, {"topic": "off"}),
])
def test_decisions_map_onto_label_values(decision, flags, code, corrections, expected):
    assert review.label_values(decision, flags, code, corrections) == expected


# -- formula neutralisation -----------------------------------------------------------------------
@pytest.mark.parametrize("cell,expected", [
    ("'=SUM(A1:A3)", "=SUM(A1:A3)"), ("'+1", "+1"), ("'-fine", "-fine"), ("'@user", "@user"),
    ("'\tx", "\tx"), ("'\rx", "\rx"), ("'quoted'", "'quoted'"), ("'", "'"), ("plain", "plain"), ("", ""),
])
def test_formula_neutralisation_is_undone(cell, expected):
    assert review.unneutralise(cell) == expected


@given(st.text().filter(lambda s: not s.startswith("'")))
def test_neutralise_then_unneutralise_gives_the_cell_back(s):
    assert review.unneutralise(review.neutralise(s)) == s


def test_neutralised_cells_in_the_csv_come_back_unneutralised(work, rows):
    rows[0].update(decision="reject", reject_code="SPAM", note="@moderators -> +1 =check")
    f = write_sheet(work / "b.csv", rows, delimiter=";")
    assert "'@moderators" in f.read_text(encoding="utf-8")
    review.import_review([f], "ana", pages=work / "seeds", labels=work / "labels")
    assert log(work / "labels")[0]["note"] == "@moderators -> +1 =check"


# -- validation -----------------------------------------------------------------------------------
def test_every_bad_row_gets_one_message_with_its_row_number_and_nothing_is_written(work, rows, modkit):
    decide(rows)
    rows[5].update(decision="aprove")
    rows[6].update(comment_id="cdeadbeef0000", author="Nobody", decision="approve")
    rows[7].update(decision="reject", reject_code="RUDE")
    rows[8].update(decision="approve", labels="civility=rude")
    rows[9].update(decision="approve", text_sha="0000000000000000")
    rows[10].update(decision="approve", labels="tone=nice")
    rows[11].update(decision="reject")  # no flag, no code, no correction: nothing to learn
    f = write_sheet(work / "back.csv", rows, delimiter=";", bom=True, crlf=True)
    r = modkit("review", "back.csv", "--reviewer", "ana", "--pages", "seeds", cwd=work)
    assert r.returncode == 1, r.stderr
    lines = r.stderr.strip().splitlines()
    assert "Traceback" not in r.stderr
    assert len(lines) == 8, r.stderr
    expected = [
        (7, "unknown decision 'aprove'"), (8, "unknown comment id 'cdeadbeef0000'"),
        (9, "unknown reject_code 'RUDE'"), (10, "unknown civility 'rude'"), (11, "text changed"),
        (12, "unknown task"), (13, "reject of a comment with no flag"),
    ]
    for line, (row, what) in zip(lines, expected):
        assert line.startswith(f"back.csv: row {row} "), line
        assert what in line, line
    assert "7 invalid rows" in lines[-1] and "nothing written" in lines[-1]
    assert not (work / "labels").exists() or not any((work / "labels").rglob("*.jsonl"))
    assert f.is_file()


def test_a_comment_whose_text_changed_since_flagging_is_refused(work, rows):
    rows[0].update(decision="approve")
    f = write_sheet(work / "b.csv", rows)
    page = next((work / "seeds").glob("000_*.txt"))
    page.write_text(page.read_text(encoding="utf-8").replace("help full", "helpful"), encoding="utf-8")
    with pytest.raises(review.ReviewError) as exc:
        review.import_review([f], "ana", pages=work / "seeds", labels=work / "labels")
    [p] = exc.value.problems
    assert p.row == 2 and "text changed since it was flagged" in p.problem


def test_skip_invalid_imports_the_valid_rows_and_says_what_it_skipped(work, rows, modkit):
    decide(rows)
    rows[5].update(decision="maybe")
    rows[6].update(comment_id="cnothere", decision="approve")
    write_sheet(work / "back.csv", rows)
    r = modkit("review", "back.csv", "-r", "ana", "--skip-invalid", cwd=work)
    assert r.returncode == 0, r.stderr
    assert "skipped back.csv: row 7" in r.stderr and "skipped back.csv: row 8" in r.stderr
    assert "5 decisions" in r.stderr and "2 invalid rows skipped" in r.stderr
    assert len(log(work / "labels")) == 5


def test_conflicting_decisions_on_one_comment_in_one_file_are_refused(work, rows):
    rows[0].update(decision="approve")
    dup = dict(rows[0], decision="reject", reject_code="SPAM")
    f = write_sheet(work / "b.csv", [rows[0], rows[1], dup])
    with pytest.raises(review.ReviewError) as exc:
        review.import_review([f], "ana", pages=work / "seeds", labels=work / "labels")
    assert "rows 2 and 4" in str(exc.value)


@pytest.mark.parametrize("content,message", [
    ("", "empty file"),
    ("id;verdict\nc1;approve\n", "missing columns comment_id, decision"),
    ("comment_id,decision,decision\nx,approve,approve\n", "appears twice"),
])
def test_unusable_files_get_one_line_naming_the_file(work, modkit, content, message):
    (work / "bad.csv").write_text(content, encoding="utf-8")
    r = modkit("review", "bad.csv", "-r", "ana", cwd=work)
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "bad.csv" in r.stderr and message in r.stderr, r.stderr


def test_review_without_reviewer_is_a_usage_error(work, rows, modkit):
    write_sheet(work / "b.csv", rows)
    r = modkit("review", "b.csv", cwd=work)
    assert r.returncode == 2 and "--reviewer" in r.stderr and r.stderr.count("\n") == 1


# -- idempotence ----------------------------------------------------------------------------------
def test_importing_the_same_file_twice_adds_nothing(work, rows, modkit):
    decide(rows)
    write_sheet(work / "back.csv", rows, delimiter=";", bom=True)
    first = modkit("review", "back.csv", "-r", "ana", cwd=work)
    assert first.returncode == 0, first.stderr
    before = {p.name: p.read_bytes() for p in (work / "labels").rglob("*.jsonl")}
    second = modkit("review", "back.csv", "-r", "ana", cwd=work)
    assert second.returncode == 0 and "0 decisions" in second.stderr and "5 already imported" in second.stderr
    assert {p.name: p.read_bytes() for p in (work / "labels").rglob("*.jsonl")} == before
    # the same decisions re-saved by another program (other delimiter, rows reordered) add nothing either
    write_sheet(work / "again.csv", rows[::-1], delimiter="\t", crlf=True)
    review.import_review([work / "again.csv"], "ana", pages=work / "seeds", labels=work / "labels")
    assert {p.name: p.read_bytes() for p in (work / "labels").rglob("*.jsonl")} == before


def test_a_changed_mind_is_recorded_and_the_latest_decision_wins(work, rows):
    row = dict(rows[0], flags="UNCIVIL")
    labels = work / "labels"
    for decision in ("approve", "reject", "approve"):
        f = write_sheet(work / f"{decision}.csv", [dict(row, decision=decision)])
        review.import_review([f], "ana", pages=work / "seeds", labels=labels)
    assert [r["decision"] for r in log(labels)] == ["approve", "reject", "approve"]
    [cur] = LabelStore(labels).current().values()
    assert cur.value == "civil"
    # another reviewer's identical decision is a decision of its own
    review.import_review([work / "approve.csv"], "ben", pages=work / "seeds", labels=labels)
    assert len(log(labels)) == 4


# -- stats ----------------------------------------------------------------------------------------
def test_stats_give_precision_per_flag_corrections_reviewers_and_audit(work, rows, modkit):
    labels = work / "labels"
    for i, r in enumerate(rows[:8]):
        r.update(flags="UNCIVIL", decision="reject" if i < 3 else "approve")
    rows[3]["labels"] = "topic=off"
    rows[4]["labels"] = "topic=off"
    rows[8].update(flags="ABUSIVE", decision="escalate")
    review.import_review([write_sheet(work / "a.csv", rows[:5])], "ana", pages=work / "seeds", labels=labels)
    review.import_review([write_sheet(work / "b.csv", rows[5:9])], "ben", pages=work / "seeds", labels=labels)
    s = review.stats(labels)
    un = s.flags["UNCIVIL"]
    assert (un.reviewed, un.reject, un.approve, un.escalate) == (8, 3, 5, 0)
    assert un.precision == pytest.approx(3 / 8)
    assert un.corrections.most_common(1) == [("topic=off", 2)]
    assert s.flags["ABUSIVE"].precision is None and s.flags["ABUSIVE"].escalate == 1
    assert s.reviewers["ana"]["total"] == 5 and s.reviewers["ben"]["approve"] == 3
    assert [a["reviewer"] for a in s.audit] == ["ana"] * 5 + ["ben"] * 4
    r = modkit("review", "stats", "--json", cwd=work)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["flags"]["UNCIVIL"]["precision"] == pytest.approx(0.375)
    assert len(data["audit"]) == 9
    table = modkit("review", "stats", cwd=work)
    assert table.returncode == 0 and "UNCIVIL" in table.stdout and "38%" in table.stdout and "ben" in table.stdout


def test_stats_on_an_empty_log_says_so(work, modkit):
    r = modkit("review", "stats", cwd=work)
    assert r.returncode == 0 and "no review decisions" in r.stderr


def test_a_torn_last_line_of_the_decision_log_is_reported_and_skipped(work, rows):
    rows[0].update(decision="approve")
    labels = work / "labels"
    review.import_review([write_sheet(work / "b.csv", rows)], "ana", pages=work / "seeds", labels=labels)
    path = labels / review.DECISION_LOG
    with open(path, "ab") as fh:
        fh.write(b'{"key":"abc","comment_id":"x"')
    s = review.stats(labels)
    assert len(s.audit) == 1 and "torn last line" in s.warnings[0]
    rows[1].update(decision="approve")
    review.import_review([write_sheet(work / "c.csv", rows)], "ana", pages=work / "seeds", labels=labels)
    assert len(list(review.DecisionLog(labels).records())) == 2


def test_a_later_decision_retracts_labels_the_earlier_one_gave(work, rows):
    labels = work / "labels"
    row = dict(rows[0])  # no flag: approve means civility=civil and topic=on
    review.import_review([write_sheet(work / "a.csv", [dict(row, decision="approve")])], "ana",
                         pages=work / "seeds", labels=labels)
    assert {k[1]: e.value for k, e in LabelStore(labels).current().items()} == {"civility": "civil", "topic": "on"}
    review.import_review([write_sheet(work / "b.csv", [dict(row, decision="reject", reject_code="SPAM")])], "ana",
                         pages=work / "seeds", labels=labels)
    assert {k[1]: e.value for k, e in LabelStore(labels).current().items()} == {"topic": "off"}
    review.import_review([write_sheet(work / "c.csv", [dict(row, decision="escalate")])], "ana",
                         pages=work / "seeds", labels=labels)
    assert LabelStore(labels).current() == {}


def test_notes_are_logged_but_do_not_replace_a_decision(work, rows):
    labels = work / "labels"
    row = dict(rows[0], flags="UNCIVIL")
    review.import_review([write_sheet(work / "a.csv", [dict(row, decision="reject")])], "ana",
                         pages=work / "seeds", labels=labels)
    note = write_sheet(work / "n.csv", [dict(row, note="ask Ben")])
    assert review.import_review([note], "ana", pages=work / "seeds", labels=labels).decisions == 1
    assert review.import_review([note], "ana", pages=work / "seeds", labels=labels).already == 1
    s = review.stats(labels)
    assert s.flags["UNCIVIL"].reject == 1 and s.reviewers["ana"]["note"] == 1 and len(s.audit) == 2
    [cur] = LabelStore(labels).current().values()
    assert cur.value == "uncivil"


@pytest.mark.parametrize("cell,expected", [
    ("ABUSIVE;OFF_TOPIC", ("ABUSIVE", "OFF_TOPIC")),
    ("uncivil, off-topic", ("UNCIVIL", "OFF_TOPIC")),
    ("offtopic|REPEAT_POST  LINKS", ("OFF_TOPIC", "REPEAT_POST", "LINKS")),
    ("", ()), ("ABUSIVE;ABUSIVE", ("ABUSIVE",)),
])
def test_flag_cells_are_read_whatever_their_separator_and_case(cell, expected):
    assert review.parse_flags(cell) == expected


@pytest.mark.parametrize("flags,decision,code,ok", [
    ("SHOUTING", "reject", "", False), ("SHOUTING", "reject", "OTHER", False),
    ("SHOUTING", "reject", "OFFENSIVE", True), ("REPEAT_POST", "reject", "", True), ("LINKS", "approve", "", True),
])
def test_a_reject_must_say_something_about_a_label(work, rows, flags, decision, code, ok):
    rows[0].update(flags=flags, decision=decision, reject_code=code)
    f = write_sheet(work / "b.csv", rows[:1])
    decisions, problems, _ = review.plan_review([f], "ana", pages=work / "seeds", labels=work / "labels")
    assert (len(decisions), len(problems)) == ((1, 0) if ok else (0, 1))


# no lone CR: Python's csv writer leaves a cell holding "\r" unquoted when rows end in "\n", which
# no reader can tell from a line end (spreadsheets quote it)
cell_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=30)


@given(
    cells=st.lists(st.tuples(cell_text, cell_text), min_size=1, max_size=8),
    delimiter=st.sampled_from([",", ";", "\t"]), bom=st.booleans(), crlf=st.booleans(),
)
def test_any_cells_survive_a_spreadsheet_round_trip(tmp_path_factory, cells, delimiter, bom, crlf):
    """Whatever the cells hold (delimiters, quotes, newlines, formula starts), read_sheet gives them back."""
    cells = [(a, b) for a, b in cells if (a + b).strip() and not a.startswith("'") and not b.startswith("'")]
    path = tmp_path_factory.mktemp("sheet") / "s.csv"
    rows = [{"comment_id": a, "decision": "x", "note": b} for a, b in cells]
    write_sheet(path, rows, delimiter=delimiter, bom=bom, crlf=crlf, columns=["comment_id", "decision", "note"])
    sheet = review.read_sheet(path)
    assert sheet.delimiter == delimiter
    assert [(c["comment_id"], c["note"]) for _, c in sheet.rows] == [(a, b) for a, b in cells]


def test_excels_sep_hint_line_sets_the_delimiter_and_is_not_a_row(work, rows):
    rows[0].update(decision="approve", note="a, b; c")
    f = write_sheet(work / "b.csv", rows[:2], delimiter=";", crlf=True)
    f.write_bytes(b"sep=;\r\n" + f.read_bytes())
    sheet = review.read_sheet(f)
    assert sheet.delimiter == ";" and sheet.rows[0][0] == 2 and sheet.rows[0][1]["note"] == "a, b; c"


def test_a_file_that_starts_as_utf16_but_is_broken_is_one_line_not_a_traceback(modkit, tmp_path):
    bad = tmp_path / "broken-utf16.csv"
    bad.write_bytes(b"\xff\xfe" + "comment_id\tdecision\n".encode("utf-16-le") + b"x")  # an odd byte at the end
    r = modkit("review", str(bad), "--reviewer", "ana", "--labels", str(tmp_path / "labels"), "--pages", "seeds")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "broken-utf16.csv: starts as UTF-16 but is not valid UTF-16" in r.stderr
    assert not (tmp_path / "labels" / "ana.jsonl").exists()


@pytest.mark.parametrize("encoding,prefix,delimiter", [
    ("utf-8", "", ","), ("utf-8-sig", "", ";"), ("utf-8", "sep=;\r\n", ";"), ("cp1252", "", ","), ("utf-16", "", "\t"),
])
def test_streamed_sheet_rows_equal_read_sheet(tmp_path, encoding, prefix, delimiter):
    from modkit.review import iter_sheet_rows, read_sheet

    d = delimiter
    text = (prefix + f"Comment_ID{d}decision{d}note\r\n" + f"c1{d}approve{d}\"two\r\nlines, café\"\r\n"
            + f"{d}{d}\r\n" + f"c2{d}reject{d}'=SUM(A1)\r\n")
    path = tmp_path / "sheet.csv"
    path.write_bytes(text.encode(encoding))
    rows = list(iter_sheet_rows(path))
    assert rows == list(read_sheet(path).rows)
    assert [n for n, _ in rows] == [2, 4] and rows[0][1]["note"] == "two\r\nlines, café"


def test_streamed_sheet_rows_give_read_sheets_errors(tmp_path):
    from modkit.errors import ModkitError
    from modkit.review import iter_sheet_rows

    bad = tmp_path / "bad.csv"
    bad.write_text('comment_id,decision\nc1,"approve\n', encoding="utf-8")
    with pytest.raises(ModkitError, match="unterminated quote"):
        list(iter_sheet_rows(bad))
    with pytest.raises(ModkitError, match="missing column"):
        (tmp_path / "h.csv").write_text("id,decision\nc1,approve\n", encoding="utf-8")
        list(iter_sheet_rows(tmp_path / "h.csv"))

"""The whole loop on a copy of the seeds: flag with the shipped model, edit the CSV as a
spreadsheet would, review, retrain, and the new model card counts the reviewed labels."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from modkit import review
from modkit.labels import LabelStore

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_MODEL = ROOT / "models" / "default"


@pytest.fixture
def work(tmp_path: Path, seeds: Path) -> Path:
    shutil.copytree(seeds, tmp_path / "seeds")
    shutil.copytree(ROOT / "labels", tmp_path / "labels")  # schema, guidelines, the gold labels
    return tmp_path


def flag(modkit, work: Path, out: str = "flagged.csv", model: Path = SHIPPED_MODEL) -> list[dict[str, str]]:
    """`modkit flag --all` with a model; the CSV's raw cells (still neutralised), as a spreadsheet sees them."""
    # a low UNCIVIL threshold so that the moderator's pass below has enough flags to decide on
    r = modkit("flag", "seeds", "--model", str(model), "--all", "--threshold", "UNCIVIL=0.6", "--out", out, cwd=work)
    assert r.returncode == 0, r.stderr
    raw = (work / out).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def save_as_spreadsheet(path: Path, rows: list[dict[str, str]], columns: list[str]) -> None:
    """What LibreOffice does with "Save as CSV, field delimiter ;": BOM, CRLF, `;`, quoted newlines;
    the cells keep the apostrophe modkit put before a formula."""
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=columns, delimiter=";", lineterminator="\r\n", extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    path.write_bytes(b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8"))


def moderate(rows: list[dict[str, str]]) -> tuple[list[dict[str, str]], dict[str, dict[str, str]]]:
    """A moderator's pass: decide some rows, correct one, annotate one, delete two, add a column."""
    by_flag = {f: [r for r in rows if f in r["flags"].split(";")] for f in ("UNCIVIL", "OFF_TOPIC", "EMPTY")}
    unflagged = [r for r in rows if not r["flags"]]
    decided: dict[str, dict[str, str]] = {}

    def decide(r: dict[str, str], **cells: str) -> None:
        r.update(cells)
        decided[r["comment_id"]] = cells

    uncivil = by_flag["UNCIVIL"]
    assert len(uncivil) >= 4 and by_flag["OFF_TOPIC"] and unflagged, "the shipped model flags too little to test"
    decide(uncivil[0], decision="reject", reject_code="OFFENSIVE")
    decide(uncivil[1], decision="approve")
    decide(uncivil[2], decision="Approve", note="=sarcasm, not rude")  # typed by hand: a formula-looking note
    decide(uncivil[3], decision="reject", reject_code="harassment", labels="topic=on")
    decide(by_flag["OFF_TOPIC"][0], decision="escalate", note="legal?\nask the editor")
    decide(unflagged[0], decision="", labels="civility=uncivil stance=disagree")
    for r in rows:
        r["moderator notes"] = "seen" if r["comment_id"] in decided else ""
    kept = [r for r in rows if r["comment_id"] in decided] + [r for r in rows if r["comment_id"] not in decided][2:]
    return kept, decided


def test_flag_edit_review_retrain_and_the_card_counts_the_reviewed_labels(work, modkit):
    rows = flag(modkit, work)
    assert any("\n" in r["text"] for r in rows)
    kept, decided = moderate(rows)
    columns = ["decision", "reject_code", "labels", "note", "moderator notes", *[c for c in rows[0] if c not in (
        "decision", "reject_code", "labels", "note", "moderator notes")]][::-1]  # reordered, one added
    save_as_spreadsheet(work / "flagged-reviewed.csv", kept, columns)

    r = modkit("review", "flagged-reviewed.csv", "--reviewer", "mod1", cwd=work)
    assert r.returncode == 0, r.stderr
    assert "6 decisions (2 approve, 1 correct, 1 escalate, 2 reject)" in r.stderr, r.stderr
    assert f"{len(kept) - 6} rows not reviewed" in r.stderr

    store = LabelStore(work / "labels")
    mine = [e for e in store.events() if e.annotator == "mod1"]
    assert {e.source for e in mine} == {"review"}
    got = {(e.comment_id, e.task): e.value for e in mine}
    ids = list(decided)
    assert got[(ids[0], "civility")] == "uncivil"  # reject OFFENSIVE of an UNCIVIL flag
    assert got[(ids[1], "civility")] == "civil" and got[(ids[2], "civility")] == "civil"
    assert got[(ids[3], "civility")] == "abusive" and got[(ids[3], "topic")] == "on"  # HARASSMENT + correction
    assert not any(cid == ids[4] for cid, _ in got)  # escalate: no label
    assert got[(ids[5], "civility")] == "uncivil" and got[(ids[5], "stance")] == "disagree"
    model_label = rows[0]["model"]
    assert model_label.startswith(SHIPPED_MODEL.name + "@")
    assert all(f"model={model_label}" in e.note for e in mine)
    log = list(review.DecisionLog(work / "labels").records())
    assert [x["note"] for x in log if x["comment_id"] == ids[2]] == ["=sarcasm, not rude"]
    assert [x["note"] for x in log if x["comment_id"] == ids[4]] == ["legal?\nask the editor"]

    again = modkit("review", "flagged-reviewed.csv", "--reviewer", "mod1", cwd=work)
    assert again.returncode == 0 and "0 decisions" in again.stderr and "6 already imported" in again.stderr
    assert len([e for e in LabelStore(work / "labels").events() if e.annotator == "mod1"]) == len(mine)

    stats = json.loads(modkit("review", "stats", "--json", cwd=work).stdout)
    assert stats["flags"]["UNCIVIL"]["reject"] == 2 and stats["flags"]["UNCIVIL"]["approve"] == 2
    assert stats["flags"]["UNCIVIL"]["precision"] == pytest.approx(0.5)
    assert stats["reviewers"]["mod1"]["total"] == 6

    t = modkit("train", "--labels", "labels", "--pages", "seeds", "--limit", "200", "--small", "--no-eval",
               "--out", "models/retrained", cwd=work)
    assert t.returncode == 0, t.stderr
    card = json.loads((work / "models" / "retrained" / "model_card.json").read_text(encoding="utf-8"))
    assert card["reviewed_labels"] == len(mine) > 0
    assert card["label_events_by_source"]["review"] == len(mine)

    # the retrained model flags the pages again, and the report shows the reviewed CSV
    flag(modkit, work, "flagged-2.csv", work / "models" / "retrained")
    rep = modkit("report", "seeds", "--flags", "flagged-reviewed.csv", "--out", "report.html", cwd=work)
    assert rep.returncode == 0, rep.stderr
    assert 'class="badge decision">reject<' in (work / "report.html").read_text(encoding="utf-8")


def test_bad_rows_in_a_real_flag_csv_are_all_named_and_nothing_is_written(work, modkit):
    rows = flag(modkit, work)
    rows[0].update(decision="aprove")
    rows[1].update(decision="reject", reject_code="RUDE")
    rows[2].update(decision="approve", labels="civility=nice")
    rows[3].update(decision="approve", comment_id="c000000000000", author="Somebody else")
    rows[4].update(decision="approve")
    save_as_spreadsheet(work / "bad.csv", rows, list(rows[0]))
    before = {p.name: p.read_bytes() for p in (work / "labels").iterdir() if p.is_file()}
    r = modkit("review", "bad.csv", "--reviewer", "mod1", cwd=work)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert [ln.split(" (")[0] for ln in lines[:4]] == [f"bad.csv: row {n}" for n in (2, 3, 4, 5)]
    assert "4 invalid rows" in lines[4] and len(lines) == 5
    assert {p.name: p.read_bytes() for p in (work / "labels").iterdir() if p.is_file()} == before
    assert not (work / "labels" / "review").exists()
    ok = modkit("review", "bad.csv", "--reviewer", "mod1", "--skip-invalid", cwd=work)
    assert ok.returncode == 0 and "1 decision (1 approve)" in ok.stderr and ok.stderr.count("skipped bad.csv") == 4

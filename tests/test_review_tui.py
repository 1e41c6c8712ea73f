"""`modkit review --interactive`: the review screen driven through Textual's pilot."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from modkit import review
from modkit.labels import LabelStore
from modkit.tui.review import ReviewApp
from test_review import flag_rows, write_sheet


@pytest.fixture
def setup(tmp_path, seeds):
    shutil.copytree(seeds, tmp_path / "seeds")
    rows = [r for r in flag_rows(tmp_path / "seeds") if r["doc"].startswith("001")][:6]
    rows[0]["flags"] = "ABUSIVE"
    rows[1]["flags"] = "UNCIVIL"
    rows[2]["flags"] = "OFF_TOPIC"
    rows[3]["flags"] = "UNCIVIL"
    rows.append(dict(rows[5], comment_id="cgone00000000", author="Nobody"))
    f = write_sheet(tmp_path / "flagged.csv", rows, delimiter=";", bom=True)
    return tmp_path, f, rows


def run(app: ReviewApp, keys: list[str], text: dict[int, str] | None = None):
    async def go():
        async with app.run_test(size=(100, 32)) as pilot:
            for i, key in enumerate(keys):
                if text and i in text:
                    for ch in text[i]:
                        await pilot.press(ch if ch != " " else "space")
                await pilot.press(key)
            await pilot.pause()
            screen = app.query_one("#flags").render()
            status = str(app.query_one("#status").render())
            await pilot.press("q")
            return str(screen), status
    return asyncio.run(go())


def test_keys_record_approve_reject_escalate_correct_and_note(setup):
    tmp, f, rows = setup
    labels = tmp / "labels"
    app = ReviewApp(f, "ana", pages=tmp / "seeds", labels=labels)
    assert len(app.items) == 6 and len(app.problems) == 1  # the unknown comment is named, not shown
    assert "row 8" in app.message
    # row 1 reject HATE_SPEECH (code 5), row 2 approve, row 3 escalate, row 4 correct, row 5 note, then back
    run(app, ["r", "5", "a", "x", "c", "enter", "e", "enter"],
        text={5: "civility=abusive topic=off", 7: "ask Ben"})
    recs = list(review.DecisionLog(labels).records())
    assert [(r["comment_id"], r["decision"], r["reject_code"]) for r in recs] == [
        (rows[0]["comment_id"], "reject", "HATE_SPEECH"),
        (rows[1]["comment_id"], "approve", ""),
        (rows[2]["comment_id"], "escalate", ""),
        (rows[3]["comment_id"], "correct", ""),
        (rows[4]["comment_id"], "note", ""),
    ]
    assert recs[0]["system"]["flags"] == ["ABUSIVE"] and recs[4]["note"] == "ask Ben"
    cur = {(k[0], k[1]): e.value for k, e in LabelStore(labels).current().items()}
    assert cur == {
        (rows[0]["comment_id"], "civility"): "abusive",
        (rows[1]["comment_id"], "civility"): "civil",
        (rows[3]["comment_id"], "civility"): "abusive",
        (rows[3]["comment_id"], "topic"): "off",
    }
    assert all(e.source == "review" and e.annotator == "ana" for e in LabelStore(labels).events())
    assert app.result.decisions == 5


def test_the_screen_shows_flags_scores_and_the_earlier_decision(setup):
    tmp, f, _rows = setup
    labels = tmp / "labels"
    run(ReviewApp(f, "ana", pages=tmp / "seeds", labels=labels), ["a"])
    # a new session on the same file starts at row 1 and shows what was decided
    flags, _status = run(ReviewApp(f, "ana", pages=tmp / "seeds", labels=labels), ["left"])
    assert "flags: ABUSIVE" in flags and "abusive 0.10" in flags
    assert "your decision: approve" in flags and "civility=civil" in flags


def test_bad_input_is_refused_on_the_status_line_and_nothing_is_written(setup):
    tmp, f, _rows = setup
    labels = tmp / "labels"
    app = ReviewApp(f, "ana", pages=tmp / "seeds", labels=labels)
    _, status = run(app, ["c", "enter"], text={1: "civility=rude"})
    assert "unknown civility 'rude'" in status
    assert not list(review.DecisionLog(labels).records())
    # a reject code key out of range asks again; Esc cancels the reject
    app = ReviewApp(f, "ana", pages=tmp / "seeds", labels=labels)
    _, status = run(app, ["r", "9", "escape"])
    assert "reject cancelled" in status and not list(review.DecisionLog(labels).records())


def test_cli_interactive_needs_exactly_one_file(setup, modkit):
    tmp, f, _ = setup
    r = modkit("review", "--interactive", str(f), str(f), "-r", "ana", cwd=tmp)
    assert r.returncode == 2 and "exactly one FILE" in r.stderr

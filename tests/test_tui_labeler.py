"""The real labeler, driven with Textual's test pilot at 80x24: keys in, label files out."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from textual.widgets import Static

from modkit.labels import Corpus, LabelEvent, LabelStore, load_schema, set_labels
from modkit.labels.agreement import disagreements
from modkit.tui.labeler import AdjudicatorApp, LabelerApp

ROOT = Path(__file__).resolve().parent.parent
SIZE = (80, 24)


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return Corpus.read(ROOT / "seeds")


def events(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def screen_text(app) -> str:
    return "\n".join(str(w.content) for w in app.query(Static) if w.display)


def drive(app, *keys: str, check=None, typed: str | None = None):
    """Run ``app`` headless at 80x24, press ``keys``, call ``check(app)`` before quitting."""

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            for k in keys:
                await pilot.press(k)
            await pilot.pause()
            result = check(app) if check else None
            await pilot.press("q")
            return result

    return asyncio.run(go())


def labeler(corpus, tmp_path, who="ann", **kw) -> LabelerApp:
    return LabelerApp(corpus, LabelStore(tmp_path), load_schema(None), who, **kw)


def test_three_keys_label_a_comment_and_move_to_the_next(corpus, tmp_path):
    app = labeler(corpus, tmp_path)

    def check(app):
        text = screen_text(app)
        assert "annotator ann · 3/38" in text
        assert "civility 2/38 · topic 2/38 · stance 2/38" in text
        assert app.session.item.comment.author == "ROSES".title()
        return text

    drive(app, "1", "1", "1", "1", "2", "3", check=check)
    evs = events(tmp_path / "ann.jsonl")
    assert [(e["comment_id"], e["task"], e["value"]) for e in evs] == [
        (corpus.items[0].id, "civility", "civil"), (corpus.items[0].id, "topic", "on"),
        (corpus.items[0].id, "stance", "agree"), (corpus.items[1].id, "civility", "civil"),
        (corpus.items[1].id, "topic", "off"), (corpus.items[1].id, "stance", "neutral"),
    ]
    assert all(e["source"] == "manual" and e["annotator"] == "ann" for e in evs)
    assert evs[3]["text_sha"] == corpus.items[1].sha


def test_screen_shows_article_parents_comment_keys_and_fits_80x24(corpus, tmp_path):
    # comment 4 of page 000 (Roma) replies to Roses: article, parent chain and comment on screen
    order = [corpus.items[3].id] + [c for c in corpus.ids() if c != corpus.items[3].id]
    app = labeler(corpus, tmp_path, order=order)

    def check(app):
        text = screen_text(app)
        assert "What Russia wants from Obama" in text
        assert "To congratulate U.S. President Barack Obama" in text  # the lead
        assert "↳ 3. Roses: As a child of the 1980s" in text  # the parent
        assert "GO BACK TO NORTH AMERICA" in text  # the comment
        assert "[1]civil [2]uncivil [3]abusive" in text and "[1]on [2]off" in text
        assert "b back  s skip  u undo  n next unlabeled  e note  q quit" in text
        assert "1 civil: Polite or neutral" in text  # definitions of the focused task
        for wid in ("#top", "#article", "#context", "#comment", "#choices", "#defs", "#status", "#keys"):
            r = app.query_one(wid).region
            assert r.height > 0 and r.y + r.height <= 24 and r.x + r.width <= 80, wid
        assert app.query_one("#comment").border_title.startswith("4/6 on 000 · Roma")

    drive(app, check=check)


def test_undo_is_a_new_event_and_returns_to_the_task(corpus, tmp_path):
    app = labeler(corpus, tmp_path)

    def check(app):
        s = app.session
        assert s.pos == 0 and s.task.name == "stance"  # back on the undone task
        assert s.value(corpus.items[0].id, "stance") is None
        assert "undone: stance=disagree" in screen_text(app)

    drive(app, "2", "1", "2", "u", check=check)
    evs = events(tmp_path / "ann.jsonl")
    assert len(evs) == 4  # three labels, then the retraction: nothing rewritten
    assert evs[3]["task"] == "stance" and evs[3]["value"] is None
    assert LabelStore(tmp_path).current().keys() == {
        (corpus.items[0].id, "civility", "ann"), (corpus.items[0].id, "topic", "ann")}


def test_undo_after_relabeling_restores_the_previous_value(corpus, tmp_path):
    cid = corpus.items[0].id
    app = labeler(corpus, tmp_path)
    # label comment 1, go back to it, change civility, undo the change
    drive(app, "1", "1", "1", "b", "3", "u")
    assert LabelStore(tmp_path).current()[(cid, "civility", "ann")].value == "civil"
    assert [e["value"] for e in events(tmp_path / "ann.jsonl")] == ["civil", "on", "agree", "abusive", "civil"]


def test_quit_and_resume_at_the_first_comment_not_fully_labeled(corpus, tmp_path):
    drive(labeler(corpus, tmp_path), "1", "1", "1", "1", "2", "3", "2")  # 2 comments + 1 task
    app = labeler(corpus, tmp_path)

    def check(app):
        s = app.session
        assert s.item.id == corpus.items[2].id and s.task.name == "topic"
        assert "3/38" in screen_text(app)
        assert "civility 3/38 · topic 2/38 · stance 2/38" in screen_text(app)

    drive(app, check=check)


def test_skip_sends_the_comment_to_the_end_and_next_unlabeled_jumps(corpus, tmp_path):
    ids = corpus.ids()
    set_labels(LabelStore(tmp_path), load_schema(None), corpus, ids[2], ["civility=civil", "topic=on", "stance=neutral"], "ann")
    app = labeler(corpus, tmp_path)

    def check(app):
        s = app.session
        assert s.queue[-1] == ids[0]  # skipped: comes back at the end
        assert s.item.id == ids[3]  # n jumped over ids[2] (labeled by --set below)
        assert "skipped" not in screen_text(app)

    drive(app, "s", "1", "n", check=check)
    # the labeled one was ids[1] civility, after the skip
    assert events(tmp_path / "ann.jsonl")[-1]["comment_id"] == ids[1]


def test_skipped_comment_comes_back_after_the_others(corpus, tmp_path):
    ids = corpus.ids()[:3]
    app = labeler(corpus, tmp_path, order=ids)
    drive(app, "s", *"111", *"111", check=lambda app: app.session.item.id == ids[0] or pytest.fail("not back"))


def test_note_is_saved_with_the_next_label(corpus, tmp_path):
    app = labeler(corpus, tmp_path)
    drive(app, "e", *"sarcasm?", "enter", "2")
    evs = events(tmp_path / "ann.jsonl")
    assert evs == [evs[0]] and evs[0]["value"] == "uncivil" and evs[0]["note"] == "sarcasm?"


def test_note_on_a_labeled_task_rerecords_it_with_the_note(corpus, tmp_path):
    app = labeler(corpus, tmp_path)
    drive(app, "1", "up", "e", *"ok", "enter")
    evs = events(tmp_path / "ann.jsonl")
    assert [(e["task"], e["value"], e["note"]) for e in evs] == [("civility", "civil", ""), ("civility", "civil", "ok")]


def test_changed_comment_text_is_shown_as_a_warning_and_not_counted(corpus, tmp_path):
    it = corpus.items[0]
    LabelStore(tmp_path).append([LabelEvent(it.id, it.comment.doc, "civility", "abusive", "ann",
                                            text_sha="0123456789abcdef")])
    app = labeler(corpus, tmp_path)

    def check(app):
        assert app.session.item.id == it.id  # the stale label does not count: still to label
        text = screen_text(app)
        assert "text changed since you labeled it (civility=abusive): label it again" in text
        assert "(was abusive, old text)" in text

    drive(app, check=check)


def test_one_task_only_and_only_unlabeled(corpus, tmp_path):
    ids = corpus.ids()
    store, schema = LabelStore(tmp_path), load_schema(None)
    for cid in ids[:5]:
        set_labels(store, schema, corpus, cid, ["civility=civil"], "ann")
    app = LabelerApp(corpus, store, schema.only("civility"), "ann", only_unlabeled=True)

    def check(app):
        assert len(app.session.queue) == 33 and app.session.queue[0] == ids[5]
        assert "topic" not in str(app.query_one("#choices").content)
        assert "2/33" in screen_text(app)

    drive(app, "2", check=check)
    assert events(tmp_path / "ann.jsonl")[-1]["comment_id"] == ids[5]


def test_adjudicator_walks_disagreements_and_records_adjudicated_events(corpus, tmp_path):
    ids = corpus.ids()
    store, schema = LabelStore(tmp_path), load_schema(None)
    set_labels(store, schema, corpus, ids[0], ["civility=civil", "stance=agree"], "a")
    set_labels(store, schema, corpus, ids[0], ["civility=uncivil", "stance=agree"], "b")
    set_labels(store, schema, corpus, ids[5], ["stance=agree"], "a")
    set_labels(store, schema, corpus, ids[5], ["stance=neutral"], "b")
    ds = disagreements(store, schema, corpus.texts())
    assert [(d.comment_id, d.task) for d in ds] == [(ids[0], "civility"), (ids[5], "stance")]
    app = AdjudicatorApp(corpus, store, schema, "lead", ds)

    def check(app):
        assert "annotators: a=civil, b=uncivil" in screen_text(app)

    drive(app, check=check)
    app = AdjudicatorApp(corpus, store, schema, "lead", ds)
    drive(app, "2", "3")
    res = store.resolved()
    assert res[(ids[0], "civility")].value == "uncivil" and res[(ids[0], "civility")].adjudicated
    assert res[(ids[5], "stance")].value == "neutral"
    assert all(e["source"] == "adjudicated" for e in events(tmp_path / "lead.jsonl"))


def test_comment_orders_document_random_with_seed_and_uncertain(corpus):
    from modkit.errors import ModkitError
    from modkit.labels.session import comment_order

    ids = corpus.ids()
    assert comment_order(corpus) == ids
    r7 = comment_order(corpus, "random", seed=7)
    assert sorted(r7) == sorted(ids) and r7 != ids and r7 == comment_order(corpus, "random", seed=7)
    assert r7 != comment_order(corpus, "random", seed=8)
    unc = {ids[5]: 0.9, ids[2]: 0.4, ids[9]: 0.4}
    assert comment_order(corpus, "uncertain", uncertainty=unc)[:4] == [ids[5], ids[2], ids[9], ids[0]]
    with pytest.raises(ModkitError, match="unknown order 'alpha'"):
        comment_order(corpus, "alpha")


def test_labeling_the_last_comment_shows_the_summary_and_back_returns(corpus, tmp_path):
    ids = corpus.ids()[:2]
    app = labeler(corpus, tmp_path, order=ids)

    def check(app):
        assert app.session.done
        assert "2/2 comments fully labeled" in screen_text(app)
        assert "All comments in this session are labeled." in screen_text(app)

    drive(app, *"123", *"121", check=check)
    app = labeler(corpus, tmp_path, order=ids)
    drive(app, "b", check=lambda app: app.session.item.id == ids[1] or pytest.fail("back did not return"))


def test_a_long_comment_scrolls_with_page_down(corpus, tmp_path):
    long_one = next(it for it in corpus if it.comment.author == "giggig")
    app = labeler(corpus, tmp_path, order=[long_one.id])

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            panel = app.query_one("#comment")
            assert panel.border_subtitle == "PgDn/PgUp: more"
            assert panel.scroll_y == 0
            await pilot.press("pagedown")
            await pilot.pause()
            assert panel.scroll_y > 0
            # the article's lead skips the editor's note
            assert "Faced with an increasingly complex international environment" in screen_text(app)
            await pilot.press("q")

    asyncio.run(go())

"""The thread report in a real headless Chromium (Debian's `chromium`, see `make system-deps`):
the reply tree, folding, the flag and author filters, escaping, and a screenshot."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from modkit import report, threads
from test_report import XSS, make_flags, make_pages

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
DOC = "001_854e822038692fdd"


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, tmp_path, seeds):
    pages = make_pages(tmp_path, seeds)
    flags, rows = make_flags(tmp_path, pages)
    out = tmp_path / "report.html"
    report.write_report([pages], out, flags=flags)
    pg = browser.new_page(viewport={"width": 1100, "height": 1300})
    requests: list[str] = []
    pg.on("request", lambda r: requests.append(r.url))
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(out.as_uri())
    pg.wait_for_selector("#shown:has-text('showing')")
    yield pg, pages, rows, tmp_path
    assert requests == [out.as_uri()], "the report fetched something besides itself"
    assert errors == []
    pg.close()


def visible_ids(pg) -> set[str]:
    return set(pg.eval_on_selector_all(
        "details.comment", "els => els.filter(e => e.offsetParent !== null).map(e => e.dataset.id)"))


def test_reply_tree_of_001_is_nested_as_on_the_page(page):
    pg, pages, _, _tmp = page
    t = threads.read(pages / f"{DOC}.txt")[0]
    nesting = pg.eval_on_selector_all(
        f"#page-{DOC} details.comment",
        "els => els.map(e => [e.dataset.id, (e.parentElement.closest('details.comment') || {dataset: {id: ''}}).dataset.id])",
    )
    assert dict(nesting) == {c.id: c.parent_id for c in t.comments}
    assert len(nesting) == 24
    # Jerry -> YoungNiceGuy -> ROBERT DUNMEYER, three levels
    chain = [c.author for c in t.ancestors(t.comments[2])] + [t.comments[2].author]
    assert chain == ["Jerry", "YoungNiceGuy", "ROBERT DUNMEYER"]
    assert pg.locator(f"#c-{t.comments[0].id} > .children > #c-{t.comments[1].id} > .children > #c-{t.comments[2].id}").count() == 1
    # folding Jerry's comment hides his replies, unfolding shows them again
    deep = pg.locator(f"#c-{t.comments[2].id} .text").first
    assert deep.is_visible()
    pg.click(f"#c-{t.comments[0].id} > summary")
    assert not deep.is_visible()
    pg.click(f"#c-{t.comments[0].id} > summary")
    assert deep.is_visible()
    assert pg.locator(f"#page-{DOC} .pageinfo").inner_text().endswith("24 comments of 25 declared, 3 flagged, 16 authors")
    assert "No comments: this page has no comment section." in pg.locator("#page-002_91b2cf10b7b235b0").inner_text()


def test_flag_filter_shows_flagged_comments_with_their_parents_as_context(page):
    pg, pages, rows, _ = page
    assert len(visible_ids(pg)) == 44
    pg.select_option("#flag-filter", "UNCIVIL")
    uncivil = {r["comment_id"] for r in rows if "UNCIVIL" in r["flags"]}
    by_id = {c.id: c for t in threads.read(pages) for c in t.comments}
    parents = {p.id for cid in uncivil for p in threads.read(pages / f"{by_id[cid].doc}.txt")[0].ancestors(by_id[cid])}
    assert visible_ids(pg) == uncivil | parents
    context = set(pg.eval_on_selector_all("details.comment.context", "els => els.map(e => e.dataset.id)"))
    assert context == parents - uncivil
    assert pg.inner_text("#shown") == "showing 2 of 44 comments"
    # pages with nothing to show are hidden while a filter is on
    assert not pg.locator("#page-000_0ea86afeb990cb41").is_visible()
    assert pg.locator(f"#page-{DOC}").is_visible()
    pg.select_option("#flag-filter", "-")
    assert len(visible_ids(pg)) >= 44 - 4 and pg.inner_text("#shown") == "showing 40 of 44 comments"
    pg.select_option("#flag-filter", "")
    assert len(visible_ids(pg)) == 44


def test_author_filter_combines_with_the_flag_filter(page):
    pg, _pages, rows, _ = page
    pg.select_option("#author-filter", "Jerry")
    jerry = {r["comment_id"] for r in rows if r["author"] == "Jerry"}
    assert {i for i in visible_ids(pg) if i not in
            set(pg.eval_on_selector_all("details.comment.context", "els => els.map(e => e.dataset.id)"))} == jerry
    pg.select_option("#flag-filter", "ABUSIVE")
    assert pg.inner_text("#shown") == "showing 1 of 44 comments"
    pg.select_option("#flag-filter", "OFF_TOPIC")
    assert pg.inner_text("#shown") == "showing 0 of 44 comments" and visible_ids(pg) == set()


def test_a_comment_holding_script_shows_as_text_and_runs_nothing(page):
    pg, *_ = page
    xss = pg.locator("#page-005_xss details.comment").first
    assert xss.locator(":scope > .body > .text").inner_text() == XSS
    assert xss.locator(":scope > summary .author").inner_text() == "<b>connor</b>"
    assert pg.evaluate("window.__xss === undefined")
    assert pg.locator("#page-005_xss script, #page-005_xss img, #page-005_xss b").count() == 0
    badges = xss.locator(":scope > summary .badge").all_inner_texts()
    assert badges[:2] == ["ABUSIVE", "OFF_TOPIC"] and "abusive 0.93" in badges


def test_screenshot_of_the_report(page):
    pg, _, _, tmp = page
    pg.select_option("#flag-filter", "*")
    shot = tmp / "report.png"
    pg.screenshot(path=str(shot), full_page=False)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    docs = Path(__file__).resolve().parent.parent / "docs" / "report.png"
    assert docs.is_file(), "the README shows docs/report.png"

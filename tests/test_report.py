"""`modkit report`: the self-contained HTML thread report (static checks; the browser test is
tests/test_report_browser.py)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from modkit import report, threads
from test_review import flag_rows, write_sheet

XSS = '<script>window.__xss = 1</script> <img src=x onerror="window.__xss = 2"> & "quotes"'


def make_pages(tmp_path: Path, seeds: Path) -> Path:
    """The seeds plus a page whose comments hold HTML (an XSS attempt) in text and author."""
    pages = tmp_path / "pages"
    shutil.copytree(seeds, pages)
    src = next(seeds.glob("000_*.txt")).read_text(encoding="utf-8")
    src = src.replace("thank you this was help full for my russia project", XSS)
    src = src.replace("  1. connor\n", "  1. <b>connor</b>\n")
    (pages / "005_xss.txt").write_text(src, encoding="utf-8")
    return pages


def make_flags(tmp_path: Path, pages: Path) -> tuple[Path, list[dict[str, str]]]:
    """A flag CSV (the `modkit flag` columns) with known flags: every comment of YoungNiceGuy is
    uncivil, Jerry's first comment abusive, the XSS comment abusive and off-topic."""
    rows = flag_rows(pages)
    for r in rows:
        if r["author"] == "YoungNiceGuy":
            r.update(flags="UNCIVIL", p_uncivil="0.81")
        if r["text"] == XSS:
            r.update(flags="ABUSIVE;OFF_TOPIC", p_abusive="0.93", p_offtopic="0.66", reasons="=cmd|' /C calc'!A0")
    jerry = next(r for r in rows if r["author"] == "Jerry")
    jerry.update(flags="ABUSIVE", p_abusive="0.77")
    return write_sheet(tmp_path / "flagged.csv", rows, delimiter=";", bom=True, crlf=True), rows


@pytest.fixture
def built(tmp_path, seeds):
    pages = make_pages(tmp_path, seeds)
    flags, rows = make_flags(tmp_path, pages)
    out = tmp_path / "report.html"
    summary = report.write_report([pages], out, flags=flags)
    return out, summary, rows, pages


def test_report_counts_pages_comments_and_flags(built):
    out, s, rows, _ = built
    assert (s.pages, s.comments) == (6, 44)
    assert s.flagged == len([r for r in rows if r["flags"]]) == 4
    assert dict(s.by_flag) == {"UNCIVIL": 2, "ABUSIVE": 2, "OFF_TOPIC": 1}
    page = out.read_text(encoding="utf-8")
    assert '<b id="n-comments">44</b>' in page and '<b id="n-flagged">4</b>' in page


def test_report_is_self_contained(built):
    page = built[0].read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert "default-src 'none'" in page  # the browser refuses any fetch, even if text slipped through


def test_comment_text_and_author_are_escaped(built):
    page = built[0].read_text(encoding="utf-8")
    assert "<script>window.__xss" not in page and "<img src=x" not in page and "<b>connor</b>" not in page
    assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in page
    assert 'data-author="&lt;b&gt;connor&lt;/b&gt;"' in page
    # the flag CSV's neutralised formula comes back as text, escaped
    assert "why: =cmd|&#x27; /C calc&#x27;!A0" in page


def test_every_comment_sits_inside_its_parent(built):
    out, _, _, pages = built
    page = out.read_text(encoding="utf-8")
    t = threads.read(pages / "001_854e822038692fdd.txt")[0]
    # walk the nesting of <details> tags and record each comment's enclosing comment
    stack: list[str] = []
    parent_of: dict[str, str] = {}
    section = page[page.index('id="page-001_'):page.index('id="page-003_')]
    for m in re.finditer(r'<details open class="comment" id="c-([^"]+)"|</details>', section):
        if m.group(1):
            parent_of[m.group(1)] = stack[-1] if stack else ""
            stack.append(m.group(1))
        else:
            stack.pop()
    assert parent_of == {c.id: c.parent_id for c in t.comments}
    assert max(c.depth for c in t.comments) == 2


def test_pages_without_comments_say_so(built):
    page = built[0].read_text(encoding="utf-8")
    for doc in ("002_91b2cf10b7b235b0", "004_3f8cf5af770a9c2b"):
        section = page[page.index(f'id="page-{doc}"'):]
        section = section[:section.index("</section>")]
        assert "No comments: this page has no comment section." in section


def test_report_cli_writes_the_file_and_says_what_it_holds(tmp_path, seeds, modkit):
    pages = make_pages(tmp_path, seeds)
    flags, _ = make_flags(tmp_path, pages)
    r = modkit("report", str(pages), "--flags", str(flags), "--out", str(tmp_path / "r.html"))
    assert r.returncode == 0, r.stderr
    assert "6 pages, 44 comments, 4 flagged" in r.stderr and r.stdout == ""
    assert (tmp_path / "r.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_report_without_flags_and_with_a_bad_score(tmp_path, seeds, modkit):
    r = modkit("report", "seeds/", "--out", str(tmp_path / "plain.html"))
    assert r.returncode == 0 and "38 comments, 0 flagged" in r.stderr
    (tmp_path / "bad.csv").write_text("comment_id,decision,p_abusive\ncx,,high\n", encoding="utf-8")
    r = modkit("report", "seeds/", "--flags", str(tmp_path / "bad.csv"), "--out", str(tmp_path / "b.html"))
    assert r.returncode == 1 and "row 2: p_abusive 'high' is not a number" in r.stderr
    assert not (tmp_path / "b.html").exists()

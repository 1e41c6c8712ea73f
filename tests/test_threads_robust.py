"""Odd input: each case of issue 3 goes through with a clear warning, or fails with one clear
line naming the file, while the other pages still go through. Library and real `modkit` CLI."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from modkit import threads
from modkit.errors import ParseError


def shape(t):
    pos = {c.id: c.position for c in t.comments}
    return [(c.position, c.author, pos.get(c.parent_id, 0), c.depth) for c in t.comments]


def seed_bytes(seeds: Path, prefix: str) -> bytes:
    (path,) = seeds.glob(prefix + "*")
    return path.read_bytes()


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def kinds(t):
    return [p.kind for p in t.problems]


@pytest.fixture
def seed000(seeds):
    (t,) = threads.read(seeds / "000")
    return t


# -- encodings and line endings ---------------------------------------------------------------
def test_crlf_page_reads_the_same_tree_texts_and_ids(tmp_path, seeds, seed000):
    data = seed_bytes(seeds, "000").replace(b"\n", b"\r\n")
    t = threads.read_thread(write(tmp_path, "000_0ea86afeb990cb41.txt", data))
    assert [(c.id, c.parent_id, c.depth, c.text) for c in t.comments] == [
        (c.id, c.parent_id, c.depth, c.text) for c in seed000.comments
    ]
    assert "\r" not in t.article and kinds(t) == []


def test_old_mac_cr_only_line_ends_read_too(tmp_path, seeds, seed000):
    data = seed_bytes(seeds, "000").replace(b"\n", b"\r")
    t = threads.read_thread(write(tmp_path, "000_0ea86afeb990cb41.txt", data))
    assert [c.id for c in t.comments] == [c.id for c in seed000.comments]


def test_bom_is_dropped(tmp_path, seeds, seed000):
    t = threads.read_thread(write(tmp_path, "000_0ea86afeb990cb41.txt", b"\xef\xbb\xbf" + seed_bytes(seeds, "000")))
    assert [c.id for c in t.comments] == [c.id for c in seed000.comments]
    assert not t.title.startswith("\ufeff") and kinds(t) == []


def test_tab_indentation_is_read_as_8_column_tab_stops(tmp_path, seeds, seed000):
    # What an editor that turns runs of 8 spaces into tabs (`unexpand`) makes of the page.
    lines = seed_bytes(seeds, "000").decode().split("\n")
    tabbed = []
    for line in lines:
        lead = len(line) - len(line.lstrip(" "))
        tabbed.append("\t" * (lead // 8) + " " * (lead % 8) + line[lead:])
    assert any(line.startswith("\t") for line in tabbed)
    t = threads.read_thread(write(tmp_path, "000_0ea86afeb990cb41.txt", "\n".join(tabbed).encode()))
    assert shape(t) == shape(seed000)
    assert [c.id for c in t.comments] == [c.id for c in seed000.comments]
    assert kinds(t) == []


def test_tabs_inside_a_body_line_are_kept(tmp_path):
    page = threads.render_page([threads.PageComment("ann", "2013-06-06T08:33", "a\tb")])
    (c,) = threads.parse_page(page.encode(), tmp_path / "p.txt").comments
    assert c.text == "a\tb"


def test_latin1_page_is_decoded_with_a_warning_naming_file_and_line(tmp_path):
    page = threads.render_page(
        [threads.PageComment("Jos\u00e9", "2013-06-06T08:33", "Caf\u00e9 cr\u00e8me, s'il vous pla\u00eet"),
         threads.PageComment("Zo\u00eb", "2013-06-06T09:00", "d\u00e9j\u00e0 vu", 1)],
        title="Une page",
    )
    path = write(tmp_path, "latin.txt", page.encode("cp1252"))  # Windows Latin-1: has the bullet
    t = threads.read_thread(path)
    assert [(c.author, c.text, c.depth) for c in t.comments] == [
        ("Jos\u00e9", "Caf\u00e9 cr\u00e8me, s'il vous pla\u00eet", 0), ("Zo\u00eb", "d\u00e9j\u00e0 vu", 1)]
    (p,) = t.problems
    assert p.kind == "decode" and p.line == 4  # "  1. José" is line 4
    assert str(path) in p.message and ":4:" in p.message and "Latin-1" in p.message


def test_broken_utf8_bytes_become_replacement_characters_with_a_warning(tmp_path, seeds):
    data = seed_bytes(seeds, "001")
    at = data.index(b"God bless Russia!")
    broken = data[:at] + b"\xff\xfe" + data[at:]
    path = write(tmp_path, "001_854e822038692fdd.txt", broken)
    t = threads.read_thread(path)
    assert t.found == 24
    den = next(c for c in t.comments if c.author == "Den")
    assert den.text.startswith("\ufffd\ufffdGod bless Russia!")
    line = broken[:at].count(b"\n") + 1
    decode = [p for p in t.problems if p.kind == "decode"]
    assert len(decode) == 1 and decode[0].line == line and f"{path}:{line}:" in decode[0].message
    assert "U+FFFD" in decode[0].message


# -- comment structure ------------------------------------------------------------------------
def test_blank_lines_inside_bodies_keep_one_blank_line_between_paragraphs(tmp_path):
    page = (
        "soundoff (1 Responses)\n  1. ann\n\n    first line\n    same paragraph\n\n\n\n    \t  \n"
        "    second paragraph\n\n\n    June 6, 2013 at 8:33 am | Reply\n\nPost a comment\n"
    )
    (c,) = threads.parse_page(page.encode(), tmp_path / "p.txt").comments
    assert c.text == "first line\nsame paragraph\n\nsecond paragraph"


def test_reply_that_skips_an_indentation_level_attaches_to_nearest_ancestor(tmp_path):
    page = (
        "soundoff (3 Responses)\n"
        "  1. ann\n\n    top\n\n    June 6, 2013 at 8:33 am |\n"
        "          \u2022 bob\n\n            three levels in\n\n            June 6, 2013 at 8:40 am |\n"
        "    \u2022 cid\n\n      a normal reply\n\n      June 6, 2013 at 8:50 am |\n\nPost a comment\n"
    )
    t = threads.parse_page(page.encode(), tmp_path / "p.txt")
    ann, bob, cid = t.comments
    assert (bob.parent_id, bob.depth) == (ann.id, 1)
    assert (cid.parent_id, cid.depth) == (ann.id, 1)
    (p,) = t.problems
    assert p.kind == "skipped_level" and p.line == 7 and "'bob'" in p.message and "'ann'" in p.message


def test_missing_timestamp_keeps_the_comment_and_the_rest_of_the_tree(tmp_path, seeds, seed000):
    data = seed_bytes(seeds, "000").decode()
    ts = "    November 8, 2012 at 4:40 pm | Reply\n"
    assert data.count(ts) == 1
    path = write(tmp_path, "000_0ea86afeb990cb41.txt", data.replace(ts, "").encode())
    t = threads.read_thread(path)
    assert shape(t) == shape(seed000)
    roses = t.comments[2]
    assert roses.author == "Roses" and roses.timestamp == "" and roses.text == seed000.comments[2].text
    assert [c.timestamp for c in t.comments if c is not roses] == [
        c.timestamp for c in seed000.comments if c.author != "Roses"]
    (p,) = t.problems
    assert p.kind == "missing_timestamp" and p.line == roses.line and f"{path}:{roses.line}:" in p.message


def test_truncated_page_keeps_what_is_there_and_says_so(tmp_path, seeds):
    data = seed_bytes(seeds, "001")
    cut = data.index(b"    Stalin,Khrushchev") + 20  # in the middle of giggig's first comment
    path = write(tmp_path, "001_854e822038692fdd.txt", data[:cut])
    t = threads.read_thread(path)
    assert [c.author for c in t.comments][-2:] == ["Andrey", "giggig"]
    assert t.found == 13 and t.comments[-1].timestamp == "" and t.comments[-1].text == "Stalin,Khrushche"
    assert kinds(t) == ["missing_timestamp", "truncated", "count_mismatch"]
    truncated = t.problems[1]
    assert truncated.line == data[:cut].count(b"\n") + 1 and str(path) in truncated.message


def test_text_after_a_timestamp_is_kept_with_the_comment_above(tmp_path):
    page = ("soundoff (1 Responses)\n  1. ann\n\n    body\n\n    June 6, 2013 at 8:33 am |\n    Reply\n"
            "    stray words\n\nPost a comment\n")
    t = threads.parse_page(page.encode(), tmp_path / "p.txt")
    (c,) = t.comments
    assert c.text == "body\n\nstray words"  # a paragraph of its own; the lone "Reply" is dropped
    (p,) = t.problems
    assert p.kind == "bad_row" and p.line == 8


def test_whitespace_only_page_has_no_comment_section(tmp_path):
    t = threads.read_thread(write(tmp_path, "blank.txt", b"  \n\n\t\n"))
    assert not t.has_comment_section and t.comments == ()


# -- files that cannot be read ------------------------------------------------------------------
def test_empty_file_is_one_clear_error(tmp_path):
    path = write(tmp_path, "empty.txt", b"")
    with pytest.raises(ParseError, match=r"empty\.txt: empty file"):
        threads.read(path)


def test_binary_file_is_one_clear_error_naming_the_line(tmp_path):
    path = write(tmp_path, "image.txt", b"\x89PNG\r\n\x1a\nsome\n\x00\x00\x00IHDR")
    with pytest.raises(ParseError, match=r"image\.txt:4: binary file"):
        threads.read(path)


def test_utf16_file_counts_as_binary(tmp_path, seeds):
    path = write(tmp_path, "utf16.txt", seed_bytes(seeds, "000").decode().encode("utf-16"))
    with pytest.raises(ParseError, match="binary file"):
        threads.read(path)


def test_iter_threads_collects_errors_and_goes_on(tmp_path, seeds):
    for p in seeds.iterdir():
        shutil.copy(p, tmp_path / p.name)
    write(tmp_path, "000a_empty.txt", b"")
    write(tmp_path, "002a_binary.txt", b"\x00\x01")
    errors: list = []
    docs = [t.doc for t in threads.iter_threads(tmp_path, errors=errors)]
    assert docs == [p.stem for p in sorted(seeds.iterdir())]
    assert [str(e).split(":")[0] for e in errors] == [str(tmp_path / "000a_empty.txt"), str(tmp_path / "002a_binary.txt")]


def _unreadable(tmp_path: Path, name: str) -> Path:
    path = write(tmp_path, name, b"soundoff (0 Responses)\nPost a comment\n")
    path.chmod(0)
    return path


def _run_without_root_powers(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the real `modkit`; as root, without the capabilities that let root read any file."""
    cmd = [sys.executable, "-m", "modkit", *args]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to test an unreadable file as root"
        cmd = [setpriv, "--bounding-set=-dac_override,-dac_read_search", *cmd]
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, timeout=120, check=False)


# -- the CLI on bad input: one line per bad file, every other page printed, exit 1 ---------------
def test_cli_goes_through_good_pages_and_names_each_bad_file(tmp_path, seeds):
    pages = tmp_path / "pages"
    pages.mkdir()
    for p in seeds.iterdir():
        shutil.copy(p, pages / p.name)
    write(pages, "000b_empty.txt", b"")
    write(pages, "001b_binary.txt", b"GIF89a\x00\x00")
    _unreadable(pages, "003b_locked.txt")
    write(pages, "003c_latin.txt", "soundoff (1 Responses)\n  1. Jos\u00e9\n\n    ol\u00e9\n\n"
          "    June 6, 2013 at 8:33 am |\n\nPost a comment\n".encode("latin-1"))
    r = _run_without_root_powers(["threads", "pages"], cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    # every readable page is shown, in name order
    for needle in ("000_0ea86afeb990cb41: 6/6", "001_854e822038692fdd: 24/25", "002_91b2cf10b7b235b0: no comment section",
                   "003_6e66906c4c1cbafa: 8/11", "003c_latin: 1/1", "004_3f8cf5af770a9c2b: no comment section"):
        assert needle in r.stdout
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: pages/000b_empty.txt: empty file (0 bytes), nothing to read",
        "error: pages/001b_binary.txt:1: binary file (NUL byte), not a text page; expected UTF-8 or Latin-1 text",
        "error: pages/003b_locked.txt: cannot read file: Permission denied",
    ]
    assert "warning: pages/003c_latin.txt:2: not valid UTF-8; decoded as Latin-1 (cp1252)" in r.stderr
    assert r.stderr.strip().endswith("3 file(s) could not be read")


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_cli_row_formats_write_every_readable_page_and_exit_1(tmp_path, seeds, fmt):
    shutil.copy(next(seeds.glob("000*")), tmp_path / "a.txt")
    write(tmp_path, "b.txt", b"")
    r = _run_without_root_powers(["threads", "a.txt", "b.txt", "--format", fmt, "--out", "rows"], cwd=tmp_path)
    assert r.returncode == 1 and "error: b.txt: empty file" in r.stderr and "Traceback" not in r.stderr
    with open(tmp_path / "rows", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh)) if fmt == "csv" else [json.loads(line) for line in fh]
    assert [r["author"] for r in rows] == ["connor", "sRA", "Roses", "Roma", "Chato's land", "sjdsh"]


def test_cli_single_unreadable_file_exits_1_with_one_error_line(tmp_path):
    _unreadable(tmp_path, "locked.txt")
    r = _run_without_root_powers(["threads", "locked.txt"], cwd=tmp_path)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.splitlines() == ["error: locked.txt: cannot read file: Permission denied", "1 file(s) could not be read"]


def test_cli_reads_every_odd_but_readable_page_with_one_warning_each(tmp_path, seeds):
    """The real command on one folder holding each readable oddity: exit 0, every page shown."""
    pages = tmp_path / "odd"
    pages.mkdir()
    s000 = seed_bytes(seeds, "000")
    text000 = s000.decode()
    (pages / "a_crlf.txt").write_bytes(s000.replace(b"\n", b"\r\n"))
    (pages / "b_bom.txt").write_bytes(b"\xef\xbb\xbf" + s000)
    (pages / "c_tabs.txt").write_bytes(text000.replace("\n        ", "\n\t").encode())
    at = s000.index(b"To Russia with Love")
    (pages / "d_broken.txt").write_bytes(s000[:at] + b"\xff" + s000[at:])
    (pages / "e_skip.txt").write_text(
        "soundoff (2 Responses)\n  1. ann\n\n    top\n\n    June 6, 2013 at 8:33 am |\n"
        "          \u2022 bob\n\n            deep\n\n            June 6, 2013 at 8:40 am |\n\nPost a comment\n",
        encoding="utf-8")
    (pages / "f_nostamp.txt").write_text(text000.replace("    November 8, 2012 at 4:40 pm | Reply\n", ""), encoding="utf-8")
    (pages / "g_truncated.txt").write_bytes(s000[: s000.index(b"  3. sjdsh")])
    r = _run_without_root_powers(["threads", "odd"], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr and "error" not in r.stderr
    for name in ("a_crlf", "b_bom", "c_tabs", "d_broken", "f_nostamp"):
        assert f"{name}: 6/6 comments found/declared, max depth 2, 6 authors" in r.stdout
    assert "e_skip: 2/2 comments found/declared, max depth 1, 2 authors" in r.stdout
    assert "g_truncated: 5/6 comments found/declared, max depth 2, 5 authors  (fewer than declared)" in r.stdout
    broken_line = s000[:at].count(b"\n") + 1
    cut_line = s000[: s000.index(b"  3. sjdsh")].count(b"\n") + 1  # the (empty) last line of the cut file
    assert r.stderr.splitlines() == [
        f"warning: odd/d_broken.txt:{broken_line}: not valid UTF-8; replaced undecodable bytes with U+FFFD",
        "warning: odd/e_skip.txt:7: reply by 'bob' skips an indentation level; attached to 'ann'",
        "warning: odd/f_nostamp.txt:95: comment by 'Roses' has no timestamp line",  # "  2. Roses" is line 95
        f"warning: odd/g_truncated.txt:{cut_line}: comment section ends without 'Post a comment' (truncated page?)",
        "warning: odd/g_truncated.txt: found 5 comments, page declares 6",
    ]


def test_resolve_replies_breaks_a_loop_at_its_first_comment_and_shows_odd_ids_on_one_line():
    from modkit.threads.model import resolve_replies

    parent = {"a": "", "x\ny": "z", "z": "x\ny", "w": "z"}
    depth, loops = resolve_replies(["a", "x\ny", "z", "w"], parent)
    assert parent["x\ny"] == "" and depth == {"a": 0, "x\ny": 0, "z": 1, "w": 2}
    assert loops == [("x\ny", "'x\\ny' -> z -> 'x\\ny'")]
    # ``first`` picks the head by another order (e.g. line in the file)
    parent = {"p": "q", "q": "p"}
    _, loops = resolve_replies(["p", "q"], parent, {"p": 9, "q": 3}.__getitem__)
    assert loops[0][0] == "q" and parent == {"p": "q", "q": ""}

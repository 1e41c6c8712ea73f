"""Hostile input never reaches a terminal raw, formula cells stay inert, deep threads display.

Comments, authors, titles and file names are written by strangers. A comment holding
``ESC [ 2 J`` would clear a moderator's screen, ``ESC ] 0 ;`` set the window title, ``ESC ] 8 ;``
plant a link, ``ESC ] 52 ;`` write the clipboard, ``ESC [ 6 n`` make the terminal type into the
shell, U+202E reverse what follows. Every view shows them as stand-ins instead (``␛``, ``␇``,
``<U+202E>``: :mod:`modkit.safetext`). All real: the `modkit` command, a tmux terminal, the
Textual pilot, real files.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console
from textual.widgets import Static

from modkit import report, threads
from modkit.labels import Corpus, LabelStore, load_schema
from modkit.threads import Comment, Thread, render
from modkit.tui.labeler import LabelerApp
from modkit.tui.review import ReviewApp
from test_review import flag_rows, write_sheet
from test_tui_tmux import ROOT, Term

CLEAR, TITLE, BEL = "\x1b[2J", "\x1b]0;pwned\x07", "\x07"
LINK = "\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\"
CLIPBOARD = "\x1b]52;c;ZWNobyBoaQ==\x07"
QUERY = "\x1b[6n"
RLO = "\u202e"
HOSTILE = f"{CLEAR} {TITLE} {LINK} {CLIPBOARD} {QUERY} {RLO}evil"
#: What a reader sees instead of each sequence.
SHOWN = ["\u241b[2J", "\u241b]0;pwned\u2407", "\u241b]8;;http://evil\u241b\\link\u241b]8;;\u241b\\",
         "\u241b]52;c;ZWNobyBoaQ==\u2407", "\u241b[6n", "<U+202E>evil"]
RAW = ("\x1b", BEL, RLO, "\x9b")  # ESC, BEL, the bidi override, the 8-bit CSI
SEED_TEXT = "thank you this was help full for my russia project"


def assert_shown_not_sent(output: str, shown: list[str] = SHOWN) -> None:
    for raw in RAW:
        assert raw not in output, (raw, output[:2000])
    for s in shown:
        assert s in output, (s, output[:2000])


@pytest.fixture
def page(tmp_path, seeds) -> Path:
    """Seed page 000 with its first comment replaced by every hostile sequence."""
    text = next(seeds.glob("000_*.txt")).read_text(encoding="utf-8")
    assert SEED_TEXT in text
    path = tmp_path / "000_hostile.txt"
    path.write_text(text.replace(SEED_TEXT, HOSTILE), encoding="utf-8")
    return path


ROWS = [
    {"id": "1", "parent_id": "", "doc": "evil", "author": f"mallory{TITLE}", "title": f"Breaking {RLO}news",
     "text": f"clear {CLEAR} now"},
    {"id": "2", "parent_id": "1", "doc": "evil", "author": "[red]x[/]", "title": "", "text": HOSTILE},
]


@pytest.fixture
def export(tmp_path) -> Path:
    """A CMS export whose authors, title and texts hold hostile sequences and rich markup."""
    path = tmp_path / "cms.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(ROWS[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(ROWS)
    return path


# -- (a) `modkit threads` ----------------------------------------------------------------------
def test_tree_of_a_seed_page_shows_every_escape_sequence_as_stand_ins(modkit, page):
    r = modkit("threads", str(page))
    assert r.returncode == 0, r.stderr
    assert_shown_not_sent(r.stdout + r.stderr)
    assert "1. connor" in r.stdout and "What Russia wants from Obama" in r.stdout


def test_tree_of_an_export_shows_authors_titles_and_markup_as_written(modkit, export):
    r = modkit("threads", str(export))
    assert r.returncode == 0, r.stderr
    assert_shown_not_sent(r.stdout + r.stderr, [*SHOWN, "mallory\u241b]0;pwned\u2407", "Breaking <U+202E>news"])
    assert "2. [red]x[/]" in r.stdout  # rich markup in an author is text, not a colour


def test_data_on_a_pipe_stays_exact(modkit, export):
    """Only what is shown is changed: jsonl through a pipe holds the comment byte for byte."""
    r = modkit("threads", str(export), "-f", "jsonl")
    assert r.returncode == 0, r.stderr
    assert [json.loads(line)["text"] for line in r.stdout.splitlines()] == [ROWS[0]["text"], HOSTILE]


def test_flag_summary_and_most_urgent_comments_show_stand_ins(modkit, page, tmp_path):
    hostile_doc = tmp_path / f"003_{CLEAR}x{RLO}.txt"
    shutil.copy(page, hostile_doc)
    r = modkit("flag", str(hostile_doc), "--all", "--out", str(tmp_path / "f.csv"))
    assert r.returncode == 0, r.stderr
    assert_shown_not_sent(r.stdout + r.stderr, ["003_\u241b[2Jx<U+202E>"])  # the page name in the table
    assert "most urgent" in r.stderr


# -- (b) a real terminal -----------------------------------------------------------------------
needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux (make test installs it)")


@pytest.fixture
def terminal():
    opened: list[Term] = []

    def open_(*args: str) -> Term:
        cmd = " ".join([shlex.quote(sys.executable), "-m", "modkit", *map(shlex.quote, args)])
        t = Term(cmd, ROOT, {"TERM": "xterm-256color", "MODKIT_ANNOTATOR": "tmuxer", "PYTHONPATH": str(ROOT / "src")})
        opened.append(t)
        return t

    yield open_
    for t in opened:
        t.close()


def pane_title(t: Term) -> str:
    return subprocess.run(["tmux", "display-message", "-p", "-t", t.name, "#{pane_title}"],
                          capture_output=True, text=True, check=True).stdout.strip()


def assert_terminal_untouched(t: Term, screen: str) -> None:
    assert "pwned" not in pane_title(t)  # OSC 0 would have set the window title
    assert not re.search(r"\^\[\[\d+;\d+R", screen), screen  # no cursor report typed in by ESC [ 6 n


@needs_tmux
def test_threads_in_a_real_terminal_shows_stand_ins_and_leaves_the_title(terminal, page):
    t = terminal("threads", str(page))
    screen = t.wait_for("EXIT=0")
    assert "What Russia wants from Obama" in screen, screen  # ESC [ 2 J did not clear it away
    for s in ("\u241b[2J", "\u241b]0;pwned\u2407", "\u241b[6n", "<U+202E>evil"):
        assert s in screen, screen
    assert_terminal_untouched(t, screen)


@needs_tmux
def test_labeler_in_a_real_terminal_shows_stand_ins_and_markup_as_text(terminal, export, tmp_path):
    t = terminal("label", str(export), "--labels", str(tmp_path / "labels"))
    screen = t.wait_for("annotator tmuxer · 1/2")
    assert "Breaking <U+202E>news" in screen and "clear \u241b[2J now" in screen, screen
    t.keys("Right")  # the second comment: every sequence, by "[red]x[/]"
    screen = t.wait_for("annotator tmuxer · 2/2")
    for s in ("\u241b]0;pwned\u2407", "\u241b]52;c;ZWNobyBoaQ==\u2407", "\u241b[6n", "<U+202E>evil", "[red]x[/]"):
        assert s in screen, screen
    assert_terminal_untouched(t, screen)
    t.keys("q")
    assert_terminal_untouched(t, t.wait_for("EXIT=0"))


# -- the Textual screens, through the pilot ------------------------------------------------------
def screen_text(app) -> str:
    return "\n".join(str(w.content) for w in app.query(Static) if w.display)


def test_labeler_screen_shows_stand_ins_for_comment_parent_author_and_title(export, tmp_path):
    corpus = Corpus.read(export)
    app = LabelerApp(corpus, LabelStore(tmp_path), load_schema(None), "ann", order=[corpus.items[1].id])

    async def go():
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            text, title = screen_text(app), app.query_one("#comment").border_title
            await pilot.press("q")
            return text, title

    text, title = asyncio.run(go())
    assert_shown_not_sent(text, [*SHOWN, "Breaking <U+202E>news", "1. mallory\u241b]0;pwned\u2407: clear \u241b[2J now"])
    assert r"\[red]x\[/]" in title  # the border title holds the author as text (escaped markup), not a style


def test_review_screen_shows_stand_ins_for_the_comment_and_the_csv_cells(export, tmp_path):
    rows = flag_rows(export)
    rows[0]["flags"] = "UNCIVIL"
    rows[1].update(flags="ABUSIVE", reasons=f"abusive terms: {CLEAR}", model=f"m{TITLE}")
    sheet = write_sheet(tmp_path / "flagged.csv", rows)
    app = ReviewApp(sheet, "ana", pages=export, labels=tmp_path / "labels")

    async def go():
        async with app.run_test(size=(100, 32)) as pilot:
            await pilot.press("s")  # the second row: the hostile comment
            await pilot.pause()
            text = screen_text(app) + "\n" + str(app.query_one("#flags").render())
            await pilot.press("q")
            return text

    text = asyncio.run(go())
    assert_shown_not_sent(text, [*SHOWN, "why: abusive terms: \u241b[2J", "model m\u241b]0;pwned\u2407"])


# -- (c) errors and warnings -------------------------------------------------------------------
def test_error_line_for_a_missing_file_shows_the_escape_in_its_name(modkit, tmp_path):
    r = modkit("threads", str(tmp_path / f"x{TITLE}{RLO}.txt"))
    assert r.returncode == 2
    (line,) = r.stderr.splitlines()
    assert line.startswith("modkit: error: ") and "x\u241b]0;pwned\u2407<U+202E>.txt" in line
    assert_shown_not_sent(r.stderr, [])


def test_error_and_warning_lines_of_hostile_file_names_while_reading(modkit, tmp_path, seeds):
    pages = tmp_path / "pages"
    pages.mkdir()
    shutil.copy(next(seeds.glob("001_*.txt")), pages / f"001_{CLEAR}.txt")  # count mismatch: a warning
    (pages / f"002_{QUERY}.txt").write_bytes(b"")  # empty: an error
    r = modkit("threads", str(pages))
    assert r.returncode == 1
    assert_shown_not_sent(r.stdout + r.stderr, ["\u241b[2J", "\u241b[6n"])
    lines = r.stderr.splitlines()
    assert any(x.startswith("warning: ") and "001_\u241b[2J.txt: found 24 comments, page declares 25" in x for x in lines)
    assert any(x.startswith("error: ") and "002_\u241b[6n.txt" in x for x in lines), lines


ROMA = "cbda17093717c"  # a comment of seed page 000


@pytest.mark.parametrize("args", [
    ["threads", "seeds/000", "-f", f"tree{TITLE}"],  # an option value the CLI refuses
    ["label", "--set", ROMA, f"civility=abusive{CLEAR}", "--labels", "{tmp}", "seeds/000"],  # the schema refuses
    ["label", "--set", ROMA, "civility=abusive", "--annotator", f"eve{TITLE}", "--labels", "{tmp}", "seeds/000"],
    ["label", "--set", f"c{RLO}{QUERY}", "civility=abusive", "--labels", "{tmp}", "seeds/000"],  # no such comment
    ["report", "seeds/000", "--flags", f"{{tmp}}/flags{CLIPBOARD}.csv", "--out", "{tmp}/r.html"],  # no such file
])
def test_bad_values_quoted_in_error_lines_are_shown_not_sent(modkit, tmp_path, args):
    r = modkit(*(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert r.returncode in (1, 2), r.stderr
    assert r.stderr.strip()
    for raw in RAW:
        assert raw not in r.stdout + r.stderr, r.stderr


def test_bad_timestamp_warning_from_an_export_shows_the_value(modkit, tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(f'id,parent_id,timestamp,text\n1,,"{CLEAR}{RLO}",hi\n', encoding="utf-8")
    r = modkit("threads", str(path))
    assert r.returncode == 0 and "warning: " in r.stderr and "unreadable timestamp" in r.stderr, r.stderr
    for raw in RAW:
        assert raw not in r.stderr


# -- (d) deep threads ----------------------------------------------------------------------------
def chain(n: int, doc: str = "deep") -> Thread:
    """A reply chain n deep: comment i answers comment i-1."""
    comments = tuple(
        Comment(id=f"c{i}", doc=doc, parent_id=f"c{i - 1}" if i else "", depth=i, position=i + 1,
                author=f"a{i % 7}", timestamp="", text=f"reply {i}")
        for i in range(n))
    return Thread(doc=doc, source=f"{doc}.csv", sha256="0" * 64, title="deep", article="", declared=None,
                  comments=comments, format="csv")


def write_chain(path: Path, n: int) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["id", "parent_id", "author", "text"])
        w.writerows([f"c{i}", f"c{i - 1}" if i else "", f"a{i % 7}", f"reply {i}"] for i in range(n))
    return path


def test_report_of_a_5000_deep_chain_works_and_shows_every_reply(modkit, tmp_path):
    src = write_chain(tmp_path / "deep.csv", 5000)
    r = modkit("report", str(src), "--out", str(tmp_path / "r.html"))
    assert r.returncode == 0, r.stderr
    assert "1 pages, 5000 comments" in r.stderr and "RecursionError" not in r.stderr
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert page.count('<details open class="comment') == 5000
    assert page.count("<details") == page.count("</details>")
    # nesting stops at MAX_NESTING; deeper replies say their depth and link their parent
    assert page.count('class="comment beside"') == 5000 - report.MAX_NESTING
    assert 'depth 4999, replies to <a href="#c-c4998">c4998</a>' in page


def unwrapped(tree_text: str) -> str:
    """The tree's lines joined where they wrap (a line break and the guides below it: one space)."""
    return re.sub(r" *\n[\u2502 ]*", " ", tree_text)


def test_tree_of_a_5000_deep_chain_says_where_indentation_stops_and_drops_nothing(modkit, tmp_path):
    r = modkit("threads", str(write_chain(tmp_path / "deep.csv", 5000)), env={"COLUMNS": "100"})
    assert r.returncode == 0, r.stderr
    assert "deep: 5000 comments, max depth 4999" in r.stdout
    n = (100 - 60) // 4
    assert f"replies deeper than depth {n} follow without more indentation" in unwrapped(r.stdout)
    assert "5000. a1  no time  c4999  depth 4999, answers 4999." in r.stdout
    assert sum(1 for line in r.stdout.splitlines() if re.search(r"\d+\. a\d  no time  c\d+", line)) == 5000
    assert max(len(line) for line in r.stdout.splitlines()) <= 100


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _tree_text(t: Thread) -> str:
    console = Console(file=io.StringIO(), width=100, color_system=None)
    console.print(render.tree(t, max_indent=10), crop=False)
    return console.file.getvalue()


def test_tree_convokit_and_report_of_a_100000_deep_chain_are_linear(tmp_path):
    small, big = chain(10_000), chain(100_000)
    for name, fn in [("tree", _tree_text), ("convokit", lambda t: render.write_convokit([t], tmp_path / t.doc)),
                     ("report", lambda t: report.build_report([t]))]:
        t_small, t_big = _timed(lambda f=fn: f(small)), _timed(lambda f=fn: f(big))
        assert t_big < 20, (name, t_big)
        assert t_big < 30 * max(t_small, 0.05), (name, t_small, t_big)  # quadratic would be 100x
    text = _tree_text(big)
    assert "replies deeper than depth 10 follow without more indentation" in unwrapped(text)
    assert "100000. a4  no time  c99999  depth 99999, answers 99999." in unwrapped(text)
    utts = [json.loads(x) for x in (tmp_path / "deep" / "utterances.jsonl").read_text().splitlines()]
    assert len(utts) == 100_000 and {u["conversation_id"] for u in utts} == {"c0"}


# -- (e) formula cells -------------------------------------------------------------------------
FORMULA = '=HYPERLINK("http://evil","click")'
FORMULA_ROWS = [
    {"id": "1", "parent_id": "", "doc": "f", "author": "@admin", "title": "+1 title", "text": FORMULA},
    {"id": "2", "parent_id": "1", "doc": "f", "author": "-dash", "title": "", "text": "'=already quoted"},
    {"id": "3", "parent_id": "1", "doc": "f", "author": "plain", "title": "", "text": "fine = fine"},
]


def _formula_export(tmp_path: Path) -> Path:
    """A JSONL export (read as written: no CSV cell is un-neutralised on the way in)."""
    path = tmp_path / "f.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in FORMULA_ROWS), encoding="utf-8")
    return path


def _no_formula_cells(path: Path) -> list[dict[str, str]]:
    rows = list(csv.DictReader(path.open(encoding="utf-8", newline="")))
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (row, value)
    return rows


def test_threads_csv_neutralises_formula_cells_and_reads_back_exactly(modkit, tmp_path):
    src = _formula_export(tmp_path)
    r = modkit("threads", str(src), "-f", "csv", "-o", str(tmp_path / "out.csv"))
    assert r.returncode == 0, r.stderr
    rows = _no_formula_cells(tmp_path / "out.csv")
    assert rows[0]["text"] == "'" + FORMULA and rows[0]["author"] == "'@admin" and rows[0]["title"] == "'+1 title"
    assert rows[1]["text"] == "''=already quoted"  # one more apostrophe: it reads back as written
    (a,) = threads.read(src)
    (b,) = threads.read(tmp_path / "out.csv")
    assert [(c.id, c.parent_id, c.author, c.text) for c in b.comments] == [
        (c.id, c.parent_id, c.author, c.text) for c in a.comments]
    assert [c.text for c in b.comments] == [r["text"] for r in FORMULA_ROWS]
    assert b.title == a.title == "+1 title"


def test_labels_export_neutralises_formula_notes_and_import_reads_them_back(modkit, tmp_path):
    src = _formula_export(tmp_path)
    labels = tmp_path / "labels"
    r = modkit("label", "--set", "1", "civility=civil", "--note", FORMULA, "--annotator", "ann",
               "--labels", str(labels), str(src))
    assert r.returncode == 0, r.stderr
    r = modkit("labels", "export", "--pages", str(src), "--labels", str(labels), "-o", str(tmp_path / "l.csv"))
    assert r.returncode == 0, r.stderr
    (row,) = _no_formula_cells(tmp_path / "l.csv")
    assert row["note"] == "'" + FORMULA and row["civility"] == "civil"
    again = tmp_path / "again"
    r = modkit("labels", "import", str(tmp_path / "l.csv"), "--pages", str(src), "--labels", str(again))
    assert r.returncode == 0, r.stderr
    (event,) = [json.loads(x) for x in (again / "ann.jsonl").read_text(encoding="utf-8").splitlines()]
    assert event["note"] == FORMULA and event["value"] == "civil"

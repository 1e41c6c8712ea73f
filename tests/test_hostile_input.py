"""Broken and hostile input files: each one works or is one clear error, in bounded memory and
linear time. Real files in tmp_path; the commands run as real subprocesses.

The readers: scraped pages (``.txt``), comment exports (``.csv``/``.jsonl``), flagged CSVs
(``modkit review``, ``modkit report --flags``) and label imports (``modkit labels import``).
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modkit import csvsafe
from modkit.errors import ModkitError, ParseError
from modkit.labels import read_table
from modkit.report import read_flags
from modkit.review import read_sheet
from modkit.threads import PageComment, read, read_file, render_page

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SHIPPED = ROOT / "models" / "default"
LONG = 200_000  # characters: over the csv module's default limit of 131,072


@pytest.fixture(scope="module")
def ids() -> list[str]:
    """Real comment ids of the seeds (label and review rows must name one)."""
    return [c.id for t in read(SEEDS) for c in t.comments]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "modkit", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={"NO_COLOR": "1", "COLUMNS": "120", "PATH": "/usr/bin:/bin"}, check=False)


def flag_args() -> list[str]:
    # Until the shipped model is a skops file, loading the old pickle takes --allow-pickle.
    return [] if (SHIPPED / "model.skops").exists() or not (SHIPPED / "model.joblib").exists() else ["--allow-pickle"]


def assert_one_error(proc: subprocess.CompletedProcess[str], where: str, problem: str = "", code: int = 1) -> None:
    """Exit ``code``, no traceback, and a line on stderr that starts with ``where`` (after the prefix)."""
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [re.sub(r"^(modkit: )?error: ", "", line) for line in proc.stderr.splitlines()]
    hits = [line for line in lines if line.startswith(where) and problem in line]
    assert hits, f"no line starting {where!r} with {problem!r} in:\n{proc.stderr}"
    assert all(len(line) <= 1100 for line in lines), "an error line is not short"


def page(tmp_path: Path, name: str, comments: list[PageComment], **kw) -> Path:
    path = tmp_path / name
    path.write_text(render_page(comments, title="A page", **kw), encoding="utf-8")
    return path


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


# -- 1. a comment over the csv module's field limit --------------------------------------------
def test_a_comment_over_131072_characters_is_flagged_reviewed_and_reported(tmp_path):
    spam = "buy cheap pills now " * (LONG // 20)
    page(tmp_path, "long.txt", [PageComment("spammer", "2013-06-06T08:33", spam),
                                PageComment("anna", "2013-06-06T08:34", "Please stop posting this.", 1)])
    proc = run("flag", "long.txt", "--all", "--out", "flagged.csv", *flag_args(), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not list(tmp_path.glob("*.tmp")), "a temporary file was left behind"
    csvsafe.allow_large_cells()  # this test reads the CSV with the csv module too
    with open(tmp_path / "flagged.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(len(r["text"]) for r in rows) == [len("Please stop posting this."), len(spam.strip())]
    proc = run("review", "flagged.csv", "--reviewer", "ana", "--pages", "long.txt", "--labels", "labels",
               "--dry-run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = run("report", "long.txt", "--flags", "flagged.csv", "--out", "report.html", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "2 comments" in proc.stderr


def test_every_csv_reader_takes_a_cell_longer_than_the_csv_module_default(tmp_path, ids):
    long = "x" * LONG
    export = write_csv(tmp_path / "e.csv", [["id", "parent_id", "text"], ["a", "", long], ["b", "a", "ok"]])
    assert [c.text for c in read_file(export)[0].comments] == [long, "ok"]
    sheet = write_csv(tmp_path / "f.csv", [["comment_id", "decision", "note"], [ids[0], "approve", long]])
    assert read_sheet(sheet).rows[0][1]["note"] == long
    assert read_flags(sheet)[ids[0]].decision == "approve"
    labels = write_csv(tmp_path / "l.csv", [["comment_id", "civility", "note"], [ids[0], "civil", long]])
    assert read_table(labels)[0][1]["note"] == long


def test_a_cell_over_the_limit_is_one_error_naming_file_and_row(tmp_path, monkeypatch):
    monkeypatch.setattr(csvsafe, "MAX_CELL", 1000)
    path = write_csv(tmp_path / "e.csv", [["id", "parent_id", "text"], ["a", "", "ok"], ["b", "a", "y" * 1001]])
    with pytest.raises(ParseError, match=r"e\.csv:3: a cell over 1,000 characters"):
        read_file(path)
    monkeypatch.undo()
    csvsafe.allow_large_cells()
    assert csv.field_size_limit() == csvsafe.MAX_CELL == 64 << 20


def test_flag_skips_a_page_whose_comment_is_over_the_cell_limit_and_names_it(tmp_path, monkeypatch):
    from modkit import flag

    monkeypatch.setattr(csvsafe, "MAX_CELL", 5000)
    long = read_file(page(tmp_path, "a.txt", [PageComment("x", "2013-06-06T08:33", "z " * 4000)]))[0]
    fine = read_file(page(tmp_path, "b.txt", [PageComment("y", "2013-06-06T08:33", "a fine comment")]))[0]
    assert re.fullmatch(r".*a\.txt:\d+: comment c\w+ holds 7,999 characters, .*; page skipped", flag._oversized(long))
    assert flag._oversized(fine) == ""


# -- 2. unterminated quotes ------------------------------------------------------------------------
@pytest.mark.parametrize("text, line, problem", [
    ('a,b\n1,"open\n2,x\n3,y\n', 2, "unterminated quote starting here (the quoted cell runs to the end of the file)"),
    ('a,b\n1,2\n3,"4', 3, "unterminated quote starting here"),
    ('a,b\n1,"open\n2,x\n3,y"z\n4,w\n', 2, "unterminated quote starting here (the quoted cell runs to line 4)"),
    ('a,b\n1,"ab"c\n', 2, "stray quote"),
])
def test_broken_quotes_are_one_error_at_the_line_where_they_start(tmp_path, text, line, problem):
    with pytest.raises(ParseError) as err:
        list(csvsafe.rows(text.splitlines(keepends=True), "f.csv"))
    assert str(err.value).startswith(f"f.csv:{line}: {problem}")


@pytest.mark.parametrize("text, rows", [
    ('a,b\r\n1,"two\r\nlines"\r\n2,x\r\n', [(1, ["a", "b"]), (2, ["1", "two\r\nlines"]), (4, ["2", "x"])]),
    ('a,b\n1,"say ""hi""\n\nagain, and"\n2,"x"\n', [(1, ["a", "b"]), (2, ["1", 'say "hi"\n\nagain, and']), (5, ["2", "x"])]),
    ('a,b\n1,x"y\n\n2,\n', [(1, ["a", "b"]), (2, ["1", 'x"y']), (3, []), (4, ["2", ""])]),
])
def test_legitimate_multi_line_cells_and_inner_quotes_still_read(text, rows):
    import io

    assert list(csvsafe.rows(io.StringIO(text, newline=""), "f.csv")) == rows


def _unterminated_files(tmp_path: Path, ids: list[str]) -> list[str]:
    files = {
        "unterminated.csv": 'id,parent_id,text\na,,"hello\nb,a,world\nc,a,bye\n',
        "labels_unterminated.csv": f'comment_id,civility,note\n{ids[0]},civil,"oops\n{ids[1]},civil,ok\n{ids[2]},uncivil,ok\n',
        "flags_unterminated.csv": f'comment_id,decision,note\n{ids[0]},approve,"oops\n{ids[1]},reject,ok\n{ids[2]},approve,ok\n',
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return list(files)


# -- 3. deep reply chains --------------------------------------------------------------------------
def _deep_page(depth: int) -> str:
    lines = ["A page", "", f"soundoff ({depth} Responses)"]
    for d in range(depth):
        lines.append("  1. a" if d == 0 else " " * (2 + 2 * d) + "\u2022 a")
        lines += ["", f"reply {d}", "", "June 6, 2013 at 8:33 am |", ""]
    return "\n".join([*lines, "Post a comment", ""])


def _check_chain(t, depth: int) -> None:
    assert t.found == depth and t.max_depth == depth - 1
    assert [c.depth for c in t.walk()] == list(range(depth))
    last = max(t.comments, key=lambda c: c.depth)
    assert len(t.ancestors(last)) == depth - 1
    assert sum(len(t.children(c.id)) for c in t.comments) == depth - 1  # one call per comment: linear


def test_a_3000_deep_reply_chain_in_the_page_layout_reads_in_linear_time(tmp_path):
    path = tmp_path / "deep.txt"
    path.write_text(_deep_page(3000), encoding="utf-8")  # 9 MB: indentation grows with depth
    start = time.perf_counter()
    t = read_file(path)[0]
    assert time.perf_counter() - start < 20
    _check_chain(t, 3000)
    assert not t.problems


def test_text_after_every_timestamp_reads_in_linear_time(tmp_path):
    # found by fuzz/big_inputs.py: each stray line's number was counted from the top of the page
    n = 50_000
    parts = ["A page", "", f"soundoff ({n} Responses)"]
    for k in range(1, n + 1):
        parts += [f"  {k}. a", "", f"body {k}", "", "June 6, 2013 at 8:33 am |", f"stray {k}", ""]
    path = tmp_path / "stray.txt"
    path.write_text("\n".join([*parts, "Post a comment", ""]), encoding="utf-8")
    start = time.process_time()
    t = read_file(path)[0]
    assert time.process_time() - start < 15  # quadratic: over a minute
    assert t.found == n and len(t.problems) == n
    assert t.problems[-1].message == f"{path}:{3 + 7 * n - 1}: text after a timestamp kept in the comment above"


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "jsonl-reversed"])
def test_a_30000_deep_reply_chain_in_an_export_has_no_recursion_and_linear_time(tmp_path, fmt):
    depth = 30_000  # quadratic work here (parent walks, depth, children) would take many minutes
    rows = [{"id": f"i{d}", "parent_id": f"i{d - 1}" if d else "", "text": f"t{d}"} for d in range(depth)]
    if fmt == "csv":
        path = write_csv(tmp_path / "deep.csv", [["id", "parent_id", "text"], *([r["id"], r["parent_id"], r["text"]] for r in rows)])
    else:
        path = tmp_path / "deep.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in (rows[::-1] if "reversed" in fmt else rows)))
    start = time.perf_counter()
    t = read_file(path)[0]
    _check_chain(t, depth)
    assert time.perf_counter() - start < 30


def test_a_30000_long_reply_loop_is_broken_once_with_a_short_message(tmp_path):
    n = 30_000
    path = tmp_path / "loop.jsonl"
    path.write_text("".join(json.dumps({"id": f"i{d}", "parent_id": f"i{(d - 1) % n}"}) + "\n" for d in range(n)))
    t = read_file(path)[0]
    assert [p.kind for p in t.problems] == ["cycle"] and len(t.problems[0].message) < 300
    _check_chain(t, n)


def test_a_loop_of_ids_holding_newlines_is_reported_on_one_line(tmp_path):
    # found by fuzz/fuzz_readers.py: the loop's ids went into the message as they are
    path = write_csv(tmp_path / "e.csv", [["id", "parent_id"], ["multi\nline", "multi\nline"]])
    (problem,) = read_file(path)[0].problems
    assert problem.kind == "cycle" and "\n" not in problem.message and "'multi\\nline'" in problem.message


def test_a_deep_chain_goes_through_the_threads_command(tmp_path):
    (tmp_path / "deep.txt").write_text(_deep_page(1500), encoding="utf-8")
    (tmp_path / "deep.jsonl").write_text("".join(
        json.dumps({"id": f"i{d}", "parent_id": f"i{d - 1}" if d else ""}) + "\n" for d in range(20_000)))
    proc = run("threads", "deep.txt", "deep.jsonl", "-f", "jsonl", "-o", "out.jsonl", cwd=tmp_path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    depths = [json.loads(line)["depth"] for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert max(depths) == 19_999 and len(depths) == 21_500


# -- 4. big, odd and broken files ------------------------------------------------------------------
def _peak_rss_mb(code: str, cwd: Path) -> float:
    """Peak RSS (MB) of a fresh Python that imports modkit, then runs ``code``, minus that of one
    that only imports it."""
    # VmHWM: ru_maxrss would carry over this (big) process's peak through fork and exec
    probe = ("import re, resource, modkit.threads, modkit.review, modkit.labels\n{}\n"
             "try:\n    print(re.search(r'VmHWM:\\s*(\\d+)', open('/proc/self/status').read()).group(1))\n"
             "except OSError:\n    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    peaks = []
    for body in ("", code):
        out = subprocess.run([sys.executable, "-c", probe.format(body)], cwd=cwd, capture_output=True, text=True, check=True)
        peaks.append(int(out.stdout.split()[-1]) / 1024)
    return peaks[1] - peaks[0]


def test_a_20mb_page_with_a_5mb_comment_reads_in_bounded_memory(tmp_path):
    normal = [PageComment("someone", "2013-06-06T08:33", "An ordinary comment, with words.\n\nA second paragraph."),
              PageComment("other", "2013-06-06T08:34", "I disagree.", 1)]
    big = PageComment("spam", "2013-06-06T08:35", ("buy now " * 12 + "\n") * (5 * 2**20 // 97))
    article = "\n".join(f"Article line {i} that goes on and on about the news." for i in range(13 * 2**20 // 56))
    path = page(tmp_path, "big.txt", normal * 5000 + [big] + normal * 5000, article=article)
    size_mb = path.stat().st_size / 2**20
    assert 19 < size_mb < 23
    start = time.perf_counter()
    t = read_file(path)[0]
    assert time.perf_counter() - start < 30
    assert t.found == 20_001 and max(len(c.text) for c in t.comments) > 5_000_000
    grown = _peak_rss_mb("from modkit.threads import read_file; t = read_file('big.txt')", tmp_path)
    assert grown < 12 * size_mb, f"{grown:.0f} MB for a {size_mb:.0f} MB page"


def test_a_csv_with_10000_columns_or_a_10mb_cell_reads(tmp_path, ids):
    wide = [f"c{i}" for i in range(10_000)]
    path = write_csv(tmp_path / "wide.csv", [["id", "parent_id", *wide], *(["a" + str(k), "", *wide] for k in range(20))])
    assert read_file(path)[0].found == 20
    path = write_csv(tmp_path / "wide_flags.csv", [["comment_id", "decision", *wide], [ids[0], "approve", *wide]])
    assert len(read_sheet(path).columns) == 10_002
    cell = "w" * (10 * 2**20)
    path = write_csv(tmp_path / "cell.csv", [["id", "parent_id", "text"], ["a", "", cell]])
    assert read_file(path)[0].comments[0].text == cell
    path = write_csv(tmp_path / "cell_flags.csv", [["comment_id", "decision", "note"], [ids[0], "approve", cell]])
    assert read_sheet(path).rows[0][1]["note"] == cell
    path = write_csv(tmp_path / "cell_labels.csv", [["comment_id", "civility", "note"], [ids[0], "civil", cell]])
    assert read_table(path)[0][1]["note"] == cell


BROKEN = {  # name -> bytes, for every reader
    "empty": b"",
    "nul": b"id,parent_id,comment_id,decision\nx,,y,approve\x00\n",
    "garbage": bytes((i * 7919 + 13) % 256 for i in range(4000)),
}


def _readers(ids: list[str]):
    from modkit.labels import Corpus, LabelStore, plan_import, schema_for

    corpus = Corpus.read(SEEDS)

    def labels(path: Path) -> object:
        return plan_import(path, LabelStore(path.parent / "labels"), schema_for(path.parent / "labels"), corpus,
                           annotator="ann")

    return {"page": (".txt", read_file), "csv": (".csv", read_file), "jsonl": (".jsonl", read_file),
            "review": (".csv", read_sheet), "report": (".csv", read_flags), "labels": (".csv", labels),
            "labels_jsonl": (".jsonl", labels)}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_empty_nul_and_binary_files_are_one_error_naming_the_file_in_every_reader(tmp_path, ids, case):
    for name, (suffix, reader) in _readers(ids).items():
        path = tmp_path / f"{name}_{case}{suffix}"
        path.write_bytes(BROKEN[case])
        with pytest.raises(ModkitError) as err:
            reader(path)
        message = str(err.value)
        assert message.startswith(str(path)), (name, message)
        assert "\n" not in message or name.startswith("labels"), (name, message)
        if case == "nul":
            assert message.startswith(f"{path}:2: "), (name, message)


def test_a_folder_is_one_error_in_every_reader(tmp_path, ids):
    for name, (suffix, reader) in _readers(ids).items():
        path = tmp_path / f"{name}{suffix}"
        path.mkdir()
        with pytest.raises(ModkitError, match=re.escape(str(path)) + r": .*(folder|directory)"):
            reader(path)


def test_invalid_utf8_reads_with_a_warning_or_is_one_error_naming_the_line(tmp_path, ids):
    bad = "caf\u00e9".encode("cp1252") + b" \xff"
    p = tmp_path / "p.txt"
    p.write_bytes(render_page([PageComment("a", "2013-06-06T08:33", "fine")]).encode() + b"  2. b\n\n" + bad + b"\n")
    assert [x.kind for x in read_file(p)[0].problems if x.kind == "decode"] == ["decode"]
    e = tmp_path / "e.csv"
    e.write_bytes(b"id,parent_id,text\na,,ok\nb,a," + bad + b"\n")
    t = read_file(e)[0]
    assert t.found == 2 and t.problems[0].message.startswith(f"{e}:3: not valid UTF-8")
    f = tmp_path / "f.csv"
    f.write_bytes(f"comment_id,decision,note\n{ids[0]},approve,".encode() + "caf\u00e9".encode("cp1252") + b"\n")
    assert read_sheet(f).encoding == "cp1252"  # Excel's ANSI "CSV"
    lab = tmp_path / "l.csv"
    lab.write_bytes(f"comment_id,civility,note\n{ids[0]},civil,".encode() + bad + b"\n")
    with pytest.raises(ParseError, match=re.escape(f"{lab}:2: not UTF-8")):
        read_table(lab)


@pytest.mark.parametrize("line, problem", [
    ("[1, 2]", "expected a JSON object, got list"),
    ('"text"', "expected a JSON object, got str"),
    ("[" * 100_000 + "]" * 100_000, "nested too deep"),
    ('{"id": 1' + "0" * 5000 + ', "parent_id": ""}', "over 4,300 digits"),
    ('{"id": "a", "parent_id": ', "not valid JSON"),
])
def test_a_jsonl_line_that_is_not_an_object_is_one_error_naming_the_line(tmp_path, ids, line, problem):
    path = tmp_path / "e.jsonl"
    path.write_text(json.dumps({"id": "a", "parent_id": ""}) + "\n" + line + "\n")
    with pytest.raises(ParseError, match=re.escape(f"{path}:2: ") + ".*" + re.escape(problem)):
        read_file(path)
    path.write_text(json.dumps({"comment_id": ids[0], "civility": "civil"}) + "\n" + line + "\n")
    with pytest.raises(ModkitError, match=re.escape(f"{path}:2: ")):
        read_table(path)


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".ndjson"])
def test_a_first_line_nested_too_deep_is_one_error_not_a_recursion_error(tmp_path, suffix):
    # found by fuzz/fuzz_readers.py: the format sniffers parsed the first line without the guard
    path = tmp_path / f"e{suffix}"
    path.write_text("[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ParseError, match="nested too deep"):
        read_file(path)


def test_a_lone_surrogate_escape_in_jsonl_is_replaced_and_said(tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_text('{"id": "a", "parent_id": "", "text": "x\\ud800y"}\n')
    t = read_file(path)[0]
    assert t.comments[0].text == "x\ufffdy" and t.problems[0].kind == "decode"
    t.comments[0].text.encode("utf-8")


def test_a_page_declaring_a_5000_digit_comment_count_reads(tmp_path):
    # found by fuzz/fuzz_readers.py: int() refuses over 4,300 digits
    path = tmp_path / "p.txt"
    path.write_text("T\n\nsoundoff (" + "9" * 5000 + " Responses)\n  1. a\n\nhi\n\nJune 6, 2013 at 8:33 am |\n\nPost a comment\n")
    t = read_file(path)[0]
    assert t.found == 1 and t.declared is None
    assert [p.message for p in t.problems] == [f"{path}:3: declared comment count has 5,000 digits; not checked"]


def test_a_10mb_id_or_header_gives_a_short_error_line(tmp_path):
    huge = "h" * (10 * 2**20)
    path = write_csv(tmp_path / "f.csv", [[huge, "x"], ["1", "2"]])
    with pytest.raises(ParseError) as err:
        read_sheet(path)
    assert str(err.value).startswith(f"{path}:1: missing columns") and len(str(err.value)) <= 1000
    path = write_csv(tmp_path / "e.csv", [["id", "parent_id"], [huge, ""], [huge, ""]])
    t = read_file(path)[0]
    assert t.problems[0].kind == "duplicate_id" and len(t.problems[0].message) <= 1000
    from modkit.review import plan_review

    path = write_csv(tmp_path / "r.csv", [["comment_id", "decision"], [huge, "approve"], ["c1", huge]])
    _, problems, _ = plan_review([path], "ann", pages=SEEDS, labels=tmp_path / "labels")
    assert [p.row for p in problems] == [2, 3] and all(len(str(p)) <= 1000 for p in problems)


# -- 6. every command on every broken file: exit 1 and one line naming the file ------------------------
def test_every_command_gives_one_error_line_per_broken_file(tmp_path, ids):
    _unterminated_files(tmp_path, ids)
    files = {f"{case}{suffix}": data for case, data in BROKEN.items() for suffix in (".txt", ".csv", ".jsonl")}
    files["notobj.jsonl"] = b'{"id": "a", "parent_id": ""}\n[1]\n'
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    expected = {name: f"{name}:2: " if name.startswith(("nul", "notobj")) else f"{name}: " if name.startswith("empty")
                else f"{name}:" for name in files}
    unterminated = ("unterminated quote starting here",)
    expected["unterminated.csv"] = "unterminated.csv:2: "
    # threads and flag take every file at once: one line for each, then exit 1
    for command in (["threads", "-f", "jsonl"], ["flag", "--out", "f.csv", *flag_args()]):
        proc = run(command[0], *expected, *command[1:], cwd=tmp_path)
        for name, where in expected.items():
            assert_one_error(proc, where, *(unterminated if name == "unterminated.csv" else ()))
    labels = ["labels", "import", "--labels", "labels", "-a", "ann", "-p", str(SEEDS)]
    for name, where in [("labels_unterminated.csv", "labels_unterminated.csv:2: "), ("empty.jsonl", "empty.jsonl: "),
                        ("nul.csv", "nul.csv:2: "), ("notobj.jsonl", "notobj.jsonl:2: ")]:
        assert_one_error(run(*labels, name, cwd=tmp_path), where, *(unterminated if "unterm" in name else ()))
    assert not list((tmp_path / "labels").glob("*.jsonl")), "labels were written"
    review = ["review", "-r", "ann", "--labels", "labels", "--pages", str(SEEDS)]
    for name, where in [("flags_unterminated.csv", "flags_unterminated.csv:2: "), ("empty.csv", "empty.csv: "),
                        ("garbage.csv", "garbage.csv:")]:
        assert_one_error(run(*review, name, cwd=tmp_path), where, *(unterminated if "unterm" in name else ()))
    report = ["report", str(SEEDS / "000_0ea86afeb990cb41.txt"), "--out", "r.html", "--flags"]
    for name, where in [("flags_unterminated.csv", "flags_unterminated.csv:2: "), ("nul.csv", "nul.csv:2: ")]:
        assert_one_error(run(*report, name, cwd=tmp_path), where, *(unterminated if "unterm" in name else ()))
    # a folder where a file is expected is a usage error (exit 2), still one line
    (tmp_path / "folder.csv").mkdir()
    for args in (labels + ["folder.csv"], review + ["folder.csv"]):
        assert_one_error(run(*args, cwd=tmp_path), "folder.csv: ", "folder", code=2)

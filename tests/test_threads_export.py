"""CSV and JSONL comment exports (what a CMS gives): one thread per doc, depth from parent links,
integrity problems returned as data, structural errors as one ParseError naming file and line."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from modkit import threads
from modkit.errors import ParseError


def write_csv(path: Path, rows: list[dict], fields: list[str] | None = None) -> Path:
    fields = fields or list(rows[0])
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


ROWS = [
    {"id": "1", "parent_id": "", "doc": "a", "author": "ann", "timestamp": "2013-06-06T08:33:12", "text": "top", "title": "Page A"},
    {"id": "2", "parent_id": "1", "doc": "a", "author": "bob", "timestamp": "2013-06-06T09:00", "text": "reply", "title": "Page A"},
    {"id": "10", "parent_id": "", "doc": "b", "author": "cy", "timestamp": "", "text": "other page", "title": "Page B"},
    {"id": "3", "parent_id": "2", "doc": "a", "author": "ann", "timestamp": "2013-06-06T10:00+02:00", "text": "line 1\nline 2", "title": ""},
]


@pytest.fixture(params=["csv", "jsonl"])
def export(request, tmp_path):
    def make(rows, name="export", **kw):
        path = tmp_path / f"{name}.{request.param}"
        return write_csv(path, rows, **kw) if request.param == "csv" else write_jsonl(path, rows)
    make.format = request.param
    make.header = 1 if request.param == "csv" else 0  # the CSV header takes line 1
    return make


def test_one_thread_per_doc_in_order_of_first_appearance(export):
    path = export(ROWS)
    a, b = threads.read(path)
    assert (a.doc, b.doc) == ("a", "b") and a.format == export.format
    assert [(c.id, c.parent_id, c.depth, c.position) for c in a.comments] == [
        ("1", "", 0, 1), ("2", "1", 1, 2), ("3", "2", 2, 3)]
    assert a.title == "Page A" and b.title == "Page B" and a.declared is None and not a.count_mismatch
    assert [c.line - export.header for c in a.comments] == [1, 2, 4]  # file lines
    assert a.comments[2].text == "line 1\nline 2"
    assert [c.timestamp for c in a.comments] == ["2013-06-06T08:33", "2013-06-06T09:00", "2013-06-06T08:00"]  # +02:00 -> UTC
    assert b.comments[0].timestamp == "" and a.source == b.source == str(path) and a.problems == b.problems == ()


def test_without_doc_column_the_file_is_one_thread_named_after_it(export):
    rows = [{k: v for k, v in r.items() if k != "doc"} for r in ROWS[:2]]
    (t,) = threads.read(export(rows, name="cms_dump"))
    assert t.doc == "cms_dump" and t.found == 2 and threads.read_thread(export(rows, name="cms_dump")).doc == "cms_dump"


def test_position_column_orders_the_comments(export):
    rows = [dict(r, position=p) for r, p in zip(ROWS[:2], [2, 1])]
    (t,) = threads.read(export(rows))
    assert [c.id for c in t.comments] == ["2", "1"] and t.comments[0].depth == 1


def test_orphan_is_read_as_top_level_and_reported(export):
    rows = [*ROWS[:2], {"id": "4", "parent_id": "99", "doc": "a", "author": "dan", "text": "where is my parent"}]
    a = threads.read(export(rows))[0]
    orphan = a["4"]
    assert (orphan.parent_id, orphan.depth) == ("", 0)
    (p,) = a.problems
    line = 3 + export.header
    assert p.kind == "orphan" and p.line == line and "'99'" in p.message and f"{export.format}:{line}:" in p.message


def test_cycle_is_broken_at_the_first_row_and_reported(export):
    rows = [
        {"id": "x", "parent_id": "z", "text": "x"}, {"id": "y", "parent_id": "x", "text": "y"},
        {"id": "z", "parent_id": "y", "text": "z"}, {"id": "w", "parent_id": "z", "text": "w"},
        {"id": "self", "parent_id": "self", "text": "I reply to myself"},
    ]
    (t,) = threads.read(export(rows))
    assert {c.id: (c.parent_id, c.depth) for c in t.comments} == {
        "x": ("", 0), "y": ("x", 1), "z": ("y", 2), "w": ("z", 3), "self": ("", 0)}
    assert [(p.kind, p.line - export.header) for p in t.problems] == [("cycle", 1), ("cycle", 5)]
    assert "reply links loop (x -> z -> y -> x); 'x' read as top-level" in t.problems[0].message


def test_duplicate_id_keeps_the_first_row_and_reports_the_second(export):
    rows = [*ROWS[:2], {"id": "1", "parent_id": "", "doc": "a", "author": "eve", "text": "same id again"}]
    (a,) = threads.read(export(rows))
    assert a.found == 2 and a["1"].author == "ann"
    (p,) = a.problems
    assert p.kind == "duplicate_id" and p.line == 3 + export.header
    assert f"first on line {1 + export.header}" in p.message


def test_unreadable_timestamp_is_left_empty_and_reported(export):
    rows = [{"id": "1", "parent_id": "", "timestamp": "yesterday-ish", "text": "t"},
            {"id": "2", "parent_id": "", "timestamp": "June 6, 2013 at 8:33 am", "text": "seed style"}]
    (t,) = threads.read(export(rows))
    assert [c.timestamp for c in t.comments] == ["", "2013-06-06T08:33"]
    assert [(p.kind, p.line - export.header) for p in t.problems] == [("bad_timestamp", 1)]


def test_same_id_in_two_docs_is_fine(export):
    rows = [{"id": "1", "parent_id": "", "doc": "a", "text": "x"}, {"id": "1", "parent_id": "", "doc": "b", "text": "y"}]
    a, b = threads.read(export(rows))
    assert a["1"].text == "x" and b["1"].text == "y" and a.problems == b.problems == ()


@pytest.mark.parametrize("missing", ["id", "parent_id"])
def test_missing_required_column_is_one_parse_error(tmp_path, missing):
    fields = [f for f in ("id", "parent_id", "text") if f != missing]
    path = write_csv(tmp_path / "e.csv", [{f: "1" for f in fields}])
    with pytest.raises(ParseError, match=rf"e\.csv:1: missing required column '{missing}'"):
        threads.read(path)
    jpath = write_jsonl(tmp_path / "e.jsonl", [{"id": "1", "parent_id": None}, {f: "1" for f in fields}])
    with pytest.raises(ParseError, match=rf"e\.jsonl:2: missing required field '{missing}'"):
        threads.read(jpath)


def test_empty_id_is_one_parse_error_naming_the_line(export):
    with pytest.raises(ParseError, match=rf"export\.{export.format}:{2 + export.header}: empty id"):
        threads.read(export([ROWS[0], dict(ROWS[1], id="")]))


def test_bad_jsonl_line_is_one_parse_error_naming_the_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": 1, "parent_id": null}\n\n{"id": 2, "parent_id": 1\n', encoding="utf-8")
    with pytest.raises(ParseError, match=r"bad\.jsonl:3: not valid JSON"):
        threads.read(path)
    path.write_text('[1, 2]\n', encoding="utf-8")
    with pytest.raises(ParseError, match=r"bad\.jsonl:1: expected a JSON object, got list"):
        threads.read(path)


def test_jsonl_numbers_and_nulls(tmp_path):
    path = write_jsonl(tmp_path / "n.jsonl", [
        {"id": 7, "parent_id": None, "text": None, "author": None, "timestamp": 1370507580},
        {"id": 8, "parent_id": 7, "text": "hi", "position": 2},
    ])
    (t,) = threads.read(path)
    assert [(c.id, c.parent_id, c.text, c.author, c.timestamp) for c in t.comments] == [
        ("7", "", "", "", "2013-06-06T08:33"), ("8", "7", "hi", "", "")]


def test_csv_with_bom_crlf_and_extra_columns(tmp_path):
    path = tmp_path / "cms.csv"
    path.write_bytes(b"\xef\xbb\xbfID,Parent_ID,Text,likes\r\n1,,\"multi\r\nline\",3\r\n2,1,ok,0\r\n")
    (t,) = threads.read(path)
    assert [(c.id, c.parent_id, c.text) for c in t.comments] == [("1", "", "multi\nline"), ("2", "1", "ok")]
    assert t.comments[1].line == 4


def test_latin1_csv_is_decoded_with_a_warning(tmp_path):
    path = tmp_path / "l.csv"
    path.write_bytes("id,parent_id,author\n1,,Jos\u00e9\n".encode("latin-1"))
    (t,) = threads.read(path)
    assert t.comments[0].author == "Jos\u00e9" and [p.kind for p in t.problems] == ["decode"]
    assert f"{path}:2:" in t.problems[0].message


def test_header_only_export_is_an_empty_thread(tmp_path):
    path = tmp_path / "none.csv"
    path.write_text("id,parent_id\n", encoding="utf-8")
    (t,) = threads.read(path)
    assert t.doc == "none" and t.found == 0 and t.has_comment_section


def test_export_of_the_seeds_reads_back_the_same_trees(tmp_path, seeds, modkit):
    """modkit's own jsonl/csv output is a valid export: reading it back gives the same threads."""
    original = [t for t in threads.read(seeds) if t.comments]
    for fmt in ("jsonl", "csv"):
        r = modkit("threads", str(seeds), "--format", fmt, "--out", str(tmp_path / f"all.{fmt}"))
        assert r.returncode == 0, r.stderr
        back = threads.read(tmp_path / f"all.{fmt}")
        assert [t.doc for t in back] == [t.doc for t in original]
        for a, b in zip(original, back):
            assert [(c.id, c.parent_id, c.depth, c.position, c.author, c.timestamp, c.text) for c in a.comments] == [
                (c.id, c.parent_id, c.depth, c.position, c.author, c.timestamp, c.text) for c in b.comments]
            assert b.title == a.title and b.problems == ()


def test_cli_reads_exports_and_mixes_them_with_pages(tmp_path, seeds, modkit):
    write_csv(tmp_path / "cms.csv", ROWS)
    r = modkit("threads", str(tmp_path / "cms.csv"), str(seeds / "000"))
    assert r.returncode == 0, r.stderr
    assert "a: 3 comments, max depth 2, 2 authors" in r.stdout and "b: 1 comments" in r.stdout
    assert "000_0ea86afeb990cb41: 6/6" in r.stdout


def test_cli_export_with_a_missing_column_is_one_error_line(tmp_path, modkit):
    write_csv(tmp_path / "bad.csv", [{"id": "1", "text": "x"}])
    r = modkit("threads", "bad.csv", cwd=tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.splitlines()[0] == "error: bad.csv:1: missing required column 'parent_id' (an export needs id, parent_id)"

"""`modkit threads` as a user runs it: the real command in a subprocess."""

from __future__ import annotations

import csv
import io
import json

import pytest

from modkit import threads


def test_help_documents_every_option(modkit):
    r = modkit("threads", "--help")
    assert r.returncode == 0
    for needle in ("threads [OPTIONS] {SOURCE}...", "--format", "tree|jsonl|csv|convokit", "--out", "unique prefixes", "ConvoKit corpus folder"):
        assert needle in r.stdout


def test_tree_has_a_summary_line_per_page_in_name_order(modkit):
    r = modkit("threads", "seeds/")
    assert r.returncode == 0, r.stderr
    summaries = [line for line in r.stdout.splitlines() if line.startswith(("0", "\u2500")) or ": " in line[:30]]
    heads = [line.split(":")[0] for line in r.stdout.splitlines() if line[:3] in ("000", "001", "002", "003", "004")]
    assert heads == ["000_0ea86afeb990cb41", "001_854e822038692fdd", "002_91b2cf10b7b235b0", "003_6e66906c4c1cbafa",
                     "004_3f8cf5af770a9c2b"], summaries
    out = r.stdout
    assert "000_0ea86afeb990cb41: 6/6 comments found/declared, max depth 2, 6 authors" in out
    assert "001_854e822038692fdd: 24/25 comments found/declared, max depth 2, 16 authors  (fewer than declared)" in out
    assert "003_6e66906c4c1cbafa: 8/11 comments found/declared, max depth 1, 8 authors  (fewer than declared)" in out
    assert "002_91b2cf10b7b235b0: no comment section" in out
    assert "What Russia wants from Obama" in out and "Chato's land" in out
    # the two count warnings and nothing else on stderr
    assert r.stderr.splitlines() == [
        "warning: seeds/001_854e822038692fdd.txt: found 24 comments, page declares 25",
        "warning: seeds/003_6e66906c4c1cbafa.txt: found 8 comments, page declares 11",
    ]


def test_tree_nests_replies_under_their_parents(modkit):
    r = modkit("threads", "seeds/000")
    lines = r.stdout.splitlines()
    roma = next(i for i, line in enumerate(lines) if "4. Roma" in line)
    chato = next(i for i, line in enumerate(lines) if "5. Chato's land" in line)
    assert lines[chato].index("5. Chato") > lines[roma].index("4. Roma")  # one level deeper


def test_jsonl_to_stdout_is_clean_data(modkit, seeds):
    r = modkit("threads", "seeds/", "--format", "jsonl")
    assert r.returncode == 0
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(rows) == 38 and list(rows[0]) == list(threads.COMMENT_FIELDS)
    assert rows[1] == {
        "id": "c2a04e9409aeb", "doc": "000_0ea86afeb990cb41", "parent_id": "cd6e10b388724", "depth": 1,
        "position": 2, "author": "sRA", "timestamp": "2012-11-28T02:24", "text": "",
        "title": "What Russia wants from Obama", "source": "seeds/000_0ea86afeb990cb41.txt",
        "sha256": rows[0]["sha256"], "declared": 6, "found": 6, "article": "",
        "status": "", "status_reason": "",  # a scraped page carries no platform decision
    }
    assert len(rows[0]["article"]) > 200  # the article rides on each thread's first comment only
    # the notes about pages without comments and the count warnings stay on stderr
    assert "no comment section" in r.stderr and r.stderr.count("warning:") == 2


def test_csv_to_a_file_matches_to_frame(tmp_path, modkit, seeds):
    out = tmp_path / "threads.csv"
    r = modkit("threads", str(seeds), "-f", "csv", "-o", str(out))
    assert r.returncode == 0 and f"wrote 38 comments to {out}" in r.stderr and r.stdout == ""
    with open(out, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    frame = threads.to_frame(threads.read(seeds))
    assert [r["id"] for r in rows] == list(frame["id"])
    assert [r["text"] for r in rows] == list(frame["text"])  # multi-line bodies survive CSV quoting
    assert [int(r["depth"]) for r in rows] == list(frame["depth"])


def test_to_frame_columns_and_types(seeds):
    frame = threads.to_frame(threads.read(seeds))
    assert list(frame.columns) == list(threads.COMMENT_FIELDS) and len(frame) == 38
    assert str(frame["depth"].dtype) == "int64" and frame["declared"].tolist().count(25) == 24


def test_several_sources_and_prefixes(modkit):
    r = modkit("threads", "seeds/000", "seeds/003", "seeds/000", "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert len(rows) == 6 + 8  # a page named twice is read once


@pytest.mark.parametrize("args,needle", [
    (["--format", "xml"], "Invalid value for '--format' / '-f'"),
    ([], "Missing argument 'SOURCE'"),
])
def test_bad_usage_exits_2(modkit, args, needle):
    r = modkit("threads", *args, *(["seeds/"] if args else []))
    assert r.returncode == 2 and needle in r.stderr


def test_unknown_file_ending_is_one_error_line(tmp_path, modkit):
    (tmp_path / "page.html").write_text("<html>", encoding="utf-8")
    r = modkit("threads", "page.html", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.splitlines()[0] == ("error: page.html: unknown page format '.html': expected one of .txt, .csv, .jsonl, "
                                        ".ndjson, .json, .xml, .parquet")


@pytest.mark.parametrize("fmt,out", [("csv", "no/such/dir/x.csv"), ("convokit", "seeds/000_0ea86afeb990cb41.txt/corpus")])
def test_unwritable_out_is_one_error_line(tmp_path, modkit, fmt, out):
    r = modkit("threads", "seeds/000", "-f", fmt, "-o", out)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith(f"modkit: error: {out}: cannot write")


def test_bad_source_is_refused_before_any_output_is_written(tmp_path, modkit):
    r = modkit("threads", "seeds/000", "seeds/009", "-f", "jsonl", "-o", str(tmp_path / "x.jsonl"))
    assert r.returncode == 2 and "seeds/009: no such file, folder or prefix" in r.stderr
    assert not (tmp_path / "x.jsonl").exists() and r.stdout == ""

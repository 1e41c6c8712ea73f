"""Parquet in and out (the `scale` extra): `modkit threads/flag --format parquet` and `.parquet`
SOURCEs, through the real command; without pyarrow, one line naming the extra."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from modkit import csvsafe, tables, threads
from modkit.errors import ModkitError
from modkit.threads import render

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures" / "formats"
FIXTURES = ["coral", "discourse.json", "disqus.xml", "hackernews.jsonl", "reddit.ndjson", "wordpress.xml"]
#: Columns that describe the file read (its path, its bytes' hash, the count a scraped page
#: declares), so they differ when the rows are read back from a Parquet export, as from a CSV one.
FILE_COLUMNS = ("source", "sha256", "declared")


def jsonl_rows(modkit, *sources: str, cwd: Path | None = None) -> list[dict]:
    r = modkit("threads", *sources, "-f", "jsonl", "--jobs", "1", cwd=cwd)
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines()]


def without(rows: list[dict], cols: tuple[str, ...] = FILE_COLUMNS) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in cols} for r in rows]


# --------------------------------------------------------------------------------------------
# threads --format parquet
# --------------------------------------------------------------------------------------------
def test_threads_parquet_holds_the_jsonl_rows_and_columns_with_their_types(tmp_path, modkit, seeds):
    out = tmp_path / "all.parquet"
    r = modkit("threads", str(seeds), "--format", "parquet", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert f"wrote 38 comments to {out}" in r.stderr and r.stdout == ""
    assert r.stderr.count("warning:") == 2  # the same messages as for jsonl
    table = pq.read_table(out)
    assert table.column_names == list(threads.COMMENT_FIELDS)
    types = dict(zip(table.column_names, map(str, table.schema.types)))
    assert {k: types[k] for k in ("depth", "position", "declared", "found")} == dict.fromkeys(
        ("depth", "position", "declared", "found"), "int64")
    assert {types[k] for k in threads.COMMENT_FIELDS if k not in ("depth", "position", "declared", "found")} == {"string"}
    assert table.to_pylist() == jsonl_rows(modkit, str(seeds))
    # what pandas makes of it is to_frame's frame
    frame = threads.to_frame(threads.read(seeds))
    back = table.to_pandas()
    assert list(back["id"]) == list(frame["id"]) and list(back["depth"]) == list(frame["depth"])


def test_threads_parquet_needs_out(modkit, seeds):
    r = modkit("threads", str(seeds), "--format", "parquet")
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.strip() == "modkit: error: --format parquet writes a binary file: give it with --out FILE"


def test_parquet_is_written_in_row_groups(tmp_path, seeds):
    out = tmp_path / "small-groups.parquet"
    n = render.write_parquet(threads.iter_threads(seeds), out, row_group_rows=10)
    meta = pq.ParquetFile(out).metadata
    assert n == 38 and meta.num_rows == 38
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [10, 10, 10, 8]
    assert tables.ROW_GROUP_ROWS == 64 * 1024
    # the row groups do not change the rows
    assert pq.read_table(out).to_pylist() == list(threads.to_records(threads.read(seeds)))


def test_a_failed_parquet_write_leaves_the_old_file_and_no_temporary_file(tmp_path, seeds):
    out = tmp_path / "keep.parquet"
    out.write_bytes(b"old content")

    def pages_then_damage():
        yield from threads.iter_threads(seeds)
        raise ModkitError("disk gone")

    with pytest.raises(ModkitError, match="disk gone"):
        render.write_parquet(pages_then_damage(), out, row_group_rows=5)  # some row groups were written
    assert out.read_bytes() == b"old content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.parquet"]


def test_an_unwritable_out_fails_before_reading(tmp_path, modkit, seeds):
    r = modkit("threads", str(seeds), "-f", "parquet", "-o", str(tmp_path / "nosuch" / "x.parquet"))
    assert r.returncode == 1 and "folder" in r.stderr and "does not exist" in r.stderr
    assert "warning:" not in r.stderr  # no page was read


# --------------------------------------------------------------------------------------------
# .parquet SOURCEs: read as the CSV/JSONL export; round trips
# --------------------------------------------------------------------------------------------
def test_seeds_round_trip_through_parquet(tmp_path, modkit, seeds):
    out = tmp_path / "seeds.parquet"
    assert modkit("threads", str(seeds), "-f", "parquet", "-o", str(out)).returncode == 0
    direct, back = jsonl_rows(modkit, str(seeds)), jsonl_rows(modkit, str(out))
    assert without(back) == without(direct)
    assert {r["source"] for r in back} == {str(out)} and {r["declared"] for r in back} == {None}
    # read back, the threads carry no problems: the export is clean
    assert all(t.problems == () and t.format == "parquet" for t in threads.read(out))


@pytest.mark.parametrize("name", FIXTURES)
def test_format_fixtures_round_trip_through_parquet(tmp_path, modkit, name):
    out = tmp_path / "export.parquet"
    assert modkit("threads", str(FIX / name), "-f", "parquet", "-o", str(out)).returncode == 0
    direct = jsonl_rows(modkit, str(FIX / name))
    assert direct and without(jsonl_rows(modkit, str(out))) == without(direct)


def test_a_folder_of_parquet_files_is_a_source_and_mixes_with_pages(tmp_path, modkit, seeds):
    parts = tmp_path / "parts"
    parts.mkdir()
    render.write_parquet(threads.iter_threads([seeds / "000", seeds / "001"]), parts / "a.parquet")
    render.write_parquet(threads.iter_threads(seeds / "003"), parts / "b.parquet")
    back = jsonl_rows(modkit, str(parts), str(seeds / "000"))
    docs = [r["doc"] for r in back]
    assert docs == ["000_0ea86afeb990cb41"] * 6 + ["001_854e822038692fdd"] * 24 + ["003_6e66906c4c1cbafa"] * 8 \
        + ["000_0ea86afeb990cb41"] * 6
    r = modkit("threads", str(parts))
    assert r.returncode == 0 and "001_854e822038692fdd: 24 comments, max depth 2, 16 authors" in r.stdout


def _write(path: Path, rows: list[dict], **kw) -> Path:
    pq.write_table(pa.Table.from_pylist(rows), path, **kw)
    return path


ROWS = [
    {"id": "1", "parent_id": "", "doc": "a", "author": "ann", "text": "first", "timestamp": "2013-06-06T08:33"},
    {"id": "2", "parent_id": "1", "doc": "a", "author": "bob", "text": "reply", "timestamp": ""},
    {"id": "9", "parent_id": "", "doc": "b", "author": "cy", "text": "other page", "timestamp": None},
    {"id": "3", "parent_id": "2", "doc": "a", "author": "ann", "text": "back on a", "timestamp": None},
    {"id": "4", "parent_id": "", "doc": None, "author": "dee", "text": "no doc", "timestamp": None},
]


def test_interleaved_docs_read_as_the_csv_reader_reads_them(tmp_path):
    """A doc is never split: rows of `a` after `b` still join `a`, as in a CSV export."""
    pq_threads = threads.read(_write(tmp_path / "mixed.parquet", ROWS))
    csv_path = tmp_path / "mixed.csv"
    with open(csv_path, "w", encoding="utf-8", newline="") as fh:
        import csv

        w = csv.DictWriter(fh, fieldnames=list(ROWS[0]))
        w.writeheader()
        w.writerows(ROWS)
    csv_threads = threads.read(csv_path)
    assert [(t.doc, [c.id for c in t.comments]) for t in pq_threads] == [
        ("a", ["1", "2", "3"]), ("b", ["9"]), ("mixed", ["4"])]

    def facts(ts):
        return [(t.doc, t.title, [(c.id, c.parent_id, c.depth, c.position, c.author, c.timestamp, c.text)
                                  for c in t.comments]) for t in ts]

    assert facts(pq_threads) == facts(csv_threads)


def test_a_doc_is_never_split_across_record_batches(tmp_path, monkeypatch, seeds):
    path = tmp_path / "seeds.parquet"
    render.write_parquet(threads.iter_threads(seeds), path, row_group_rows=7)
    whole = [(t.doc, t.comments) for t in threads.read(path)]
    monkeypatch.setattr(tables, "READ_BATCH_ROWS", 5)  # batches of 5 rows: every page spans several
    assert [(t.doc, t.comments) for t in threads.read(path)] == whole
    assert [d for d, _ in whole] == ["000_0ea86afeb990cb41", "001_854e822038692fdd", "003_6e66906c4c1cbafa"]


def test_columns_of_other_types_and_cases_are_read_as_text(tmp_path):
    path = tmp_path / "typed.parquet"
    table = pa.table({
        "ID": pa.array([10, 11], pa.int64()), "Parent_ID": pa.array([None, 10], pa.int64()),
        "doc": ["d", "d"], "timestamp": pa.array([0, 3600 * 10**6], pa.timestamp("us", tz="UTC")),
        "position": pa.array([1.0, 2.0]), "text": pa.array(["a", "b"], pa.large_string()),
        "extra": pa.array([[1], [2]]),  # ignored, as other columns of an export
    })
    pq.write_table(table, path)
    (t,) = threads.read(path)
    assert [(c.id, c.parent_id, c.depth, c.position, c.timestamp, c.text) for c in t.comments] == [
        ("10", "", 0, 1, "1970-01-01T00:00", "a"), ("11", "10", 1, 2, "1970-01-01T01:00", "b")]


def test_a_file_without_rows_is_one_empty_thread(tmp_path, seeds):
    path = tmp_path / "none.parquet"
    assert render.write_parquet(threads.iter_threads(seeds / "004"), path) == 0
    (t,) = threads.read(path)
    assert t.doc == "none" and t.found == 0


def test_bad_parquet_files_are_one_error_line_each_naming_the_file_and_column(tmp_path, modkit, seeds):
    d = tmp_path / "in"
    d.mkdir()
    good = d / "e_good.parquet"
    render.write_parquet(threads.iter_threads(seeds / "000"), good)
    data = good.read_bytes()
    (d / "a_truncated.parquet").write_bytes(data[: len(data) // 2])
    (d / "b_text.parquet").write_text("id,parent_id\n1,\n", encoding="utf-8")
    _write(d / "c_nocolumn.parquet", [{"id": "1", "text": "x"}])
    pq.write_table(pa.table({"id": ["1"], "parent_id": [""], "text": [[1, 2]]}), d / "d_listtext.parquet")
    damaged = bytearray(data)
    damaged[100:len(data) - 2000] = b"\x55" * (len(data) - 2100)  # pages destroyed, footer intact
    (d / "f_damaged.parquet").write_bytes(bytes(damaged))
    r = modkit("threads", str(d), "-f", "jsonl")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert errors[0].startswith(f"error: {d / 'a_truncated.parquet'}: not a readable Parquet file (")
    assert errors[1].startswith(f"error: {d / 'b_text.parquet'}: not a readable Parquet file (")
    assert errors[2] == (f"error: {d / 'c_nocolumn.parquet'}: missing required column 'parent_id' "
                         "(an export needs id, parent_id)")
    assert errors[3].startswith(f"error: {d / 'd_listtext.parquet'}: column 'text' holds list<")
    assert errors[4].startswith(f"error: {d / 'f_damaged.parquet'}: ")
    assert len(errors) == 5 and "5 file(s) could not be read" in r.stderr
    assert [json.loads(x)["doc"] for x in r.stdout.splitlines()] == ["000_0ea86afeb990cb41"] * 6  # the good file


#: The peak memory of the child process, in KB. ``ru_maxrss`` is no good here: Linux carries it
#: over ``exec`` from the forking process (pytest, grown by earlier tests); VmHWM belongs to the
#: new process image.
_PEAK_KB = """
def peak_kb():
    try:
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
    except OSError:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
"""


def test_reading_a_large_parquet_file_streams_in_flat_memory(tmp_path):
    peaks = {}
    for n in (40_000, 160_000):
        path = tmp_path / f"big-{n}.parquet"
        docs = [f"d{i // 20:06d}" for i in range(n)]  # pages of 20 comments
        pq.write_table(pa.table({
            "id": [f"c{i}" for i in range(n)], "parent_id": ["" if i % 20 == 0 else f"c{i - 1}" for i in range(n)],
            "doc": docs, "author": [f"a{i % 97}" for i in range(n)], "text": [f"comment {i} " * 8 for i in range(n)],
        }), path, row_group_size=5000)
        code = _PEAK_KB + textwrap.dedent(f"""
            from modkit import tables, threads
            tables.READ_BATCH_ROWS = 1000
            n = sum(len(t.comments) for t in threads.iter_threads({str(path)!r}))
            print(n, peak_kb())
        """)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
        assert int(out[0]) == n
        peaks[n] = int(out[1])
    assert peaks[160_000] < peaks[40_000] * 1.2 + 8_000, peaks  # KB: four times the rows, about the same memory


def test_writing_a_large_parquet_file_streams_in_flat_memory(tmp_path):
    peaks = {}
    for pages in (2_000, 8_000):
        code = _PEAK_KB + textwrap.dedent(f"""
            from modkit.threads import Comment, Thread, render
            def pages():
                for p in range({pages}):
                    doc = f"d{{p}}"
                    yield Thread(doc=doc, source="gen", sha256="0" * 64, title="t", article="article " * 50,
                                 declared=None, comments=tuple(
                                     Comment(f"{{doc}}-{{k}}", doc, f"{{doc}}-{{k - 1}}" if k else "", min(k, 1), k + 1,
                                             "a", "", "text " * 40) for k in range(10)))
            n = render.write_parquet(pages(), {str(tmp_path / f"w{pages}.parquet")!r}, row_group_rows=5000)
            print(n, peak_kb())
        """)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
        assert int(out[0]) == pages * 10
        peaks[pages] = int(out[1])
    assert peaks[8_000] < peaks[2_000] * 1.2 + 8_000, peaks


# --------------------------------------------------------------------------------------------
# flag --format parquet; other commands read .parquet SOURCEs
# --------------------------------------------------------------------------------------------
def test_flag_parquet_has_the_rows_and_columns_of_the_csv_with_scores_as_floats(tmp_path, modkit, seeds):
    export = tmp_path / "formula.csv"
    export.write_text('id,parent_id,doc,author,text\nf1,,sheet,eve,"=HYPERLINK(""http://x"")"\n', encoding="utf-8")
    r = modkit("flag", str(seeds), str(export), "--all", "--out", str(tmp_path / "flagged.csv"), "--jobs", "1")
    assert r.returncode == 0, r.stderr
    r = modkit("flag", str(seeds), str(export), "--all", "--format", "parquet", "--jobs", "1", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "wrote 39 comments of 39 to flagged.parquet" in r.stderr  # the default name follows the format
    from modkit import flag

    sheet = flag.read_csv(tmp_path / "flagged.csv")
    table = pq.read_table(tmp_path / "flagged.parquet")
    assert table.column_names == list(sheet.columns)
    types = dict(zip(table.column_names, map(str, table.schema.types)))
    assert types["depth"] == "int64" and types["priority"] == "double"
    assert [c for c, t in types.items() if t == "double"] == ["p_abusive", "p_uncivil", "p_offtopic", "priority"]
    rows = table.to_pylist()
    assert len(rows) == len(sheet) == 39
    for cells, row in zip(sheet.to_dict("records"), rows):
        for col, cell in cells.items():
            value = row[col]
            if types[col] == "double":
                assert math.isclose(value, float(cell), abs_tol=1e-12), col
            elif types[col] == "int64":
                assert value == int(cell)
            else:
                assert value == csvsafe.unneutralise(cell), col
    formula = next(r for r in rows if r["comment_id"] == "f1")
    assert formula["text"] == '=HYPERLINK("http://x")'  # a Parquet cell is no spreadsheet formula


def test_report_and_flag_read_a_parquet_source(tmp_path, modkit, seeds):
    src = tmp_path / "seeds.parquet"
    render.write_parquet(threads.iter_threads(seeds), src)
    r = modkit("report", str(src), "--out", str(tmp_path / "r.html"))
    assert r.returncode == 0, r.stderr
    assert "What Russia wants from Obama" in (tmp_path / "r.html").read_text(encoding="utf-8")
    r = modkit("flag", str(src), "--all", "--out", str(tmp_path / "f.csv"), "--jobs", "1")
    assert r.returncode == 0, r.stderr and "wrote 38 comments of 38" in r.stderr


# --------------------------------------------------------------------------------------------
# Without pyarrow
# --------------------------------------------------------------------------------------------
_NO_PYARROW = """
import sys
sys.modules["pyarrow"] = None  # as if it were not installed: `import pyarrow` raises ImportError
sys.argv = ["modkit", *sys.argv[1:]]
from modkit.cli import main
main()
"""


def run_without_pyarrow(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
    return subprocess.run([sys.executable, "-c", _NO_PYARROW, *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=300, check=False)


def test_without_pyarrow_parquet_is_one_line_naming_the_extra(tmp_path, seeds):
    src = tmp_path / "in" / "seeds.parquet"
    src.parent.mkdir()
    render.write_parquet(threads.iter_threads(seeds), src)
    (src.parent / "000.txt").write_bytes((seeds / "000_0ea86afeb990cb41.txt").read_bytes())
    cases = [
        (["threads", str(seeds), "-f", "parquet", "-o", "x.parquet"], "--format parquet needs pyarrow"),
        (["threads", str(src)], f"{src}: reading Parquet needs pyarrow"),
        (["threads", str(src.parent), "-f", "jsonl"], f"{src}: reading Parquet needs pyarrow"),
        (["flag", str(src), "--out", "f.csv"], f"{src}: reading Parquet needs pyarrow"),
        (["flag", str(seeds), "--format", "parquet"], "--format parquet needs pyarrow"),
    ]
    for args, message in cases:
        r = run_without_pyarrow(*args, cwd=tmp_path)
        assert r.returncode == 1, (args, r.stderr)
        assert r.stderr.splitlines() == [f"modkit: error: {message}: pip install 'modkit[scale]'"], args
        assert r.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]  # nothing written
    # everything else runs without it
    r = run_without_pyarrow("threads", str(seeds), "-f", "jsonl", cwd=tmp_path)
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 38

"""`modkit threads --jobs N`: pages read in worker processes, whole files each, the output the
same row for row (here: byte for byte) and the messages the same line for line as `--jobs 1`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from modkit import threads
from modkit.threads import render

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
FIX = ROOT / "tests" / "fixtures" / "formats"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """About 11 MB of real pages and exports, more than two worker chunks (render.CHUNK_BYTES):
    280 renamed copies of the seeds (their ids differ: the file name is the doc), a CSV export
    larger than a chunk (read in the calling process), the platform fixtures, a Parquet export
    and two files that cannot be read, in the middle of the folder."""
    d = tmp_path_factory.mktemp("corpus")
    seeds = sorted(SEEDS.iterdir())
    for k in range(280):
        for s in seeds:
            shutil.copy(s, d / f"{k:03d}_{s.name}")
    big = [t for t in threads.iter_threads([d / f"{k:03d}_{s.name}" for k in range(180) for s in seeds[:2]])]
    with open(d / "150_big_export.csv", "w", encoding="utf-8", newline="") as fh:
        render.write_csv(big, fh)
    assert (d / "150_big_export.csv").stat().st_size > render.CHUNK_BYTES
    for name in ("disqus.xml", "reddit.ndjson", "hackernews.jsonl"):
        shutil.copy(FIX / name, d / f"120_{name}")
    pytest.importorskip("pyarrow")
    render.write_parquet(threads.iter_threads(SEEDS), d / "130_seeds.parquet")
    (d / "140_broken.csv").write_text("id,text\n1,no parent_id column\n", encoding="utf-8")
    (d / "141_empty.txt").write_bytes(b"")
    return d


def _run(modkit, corpus: Path, jobs: int, *args: str):
    return modkit("threads", str(corpus), "--jobs", str(jobs), *args, timeout=600)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_jobs_give_the_same_bytes_and_messages_as_one_process(tmp_path, modkit, corpus, fmt):
    one, two = tmp_path / f"one.{fmt}", tmp_path / f"two.{fmt}"
    r1 = _run(modkit, corpus, 1, "-f", fmt, "-o", str(one))
    r2 = _run(modkit, corpus, 2, "-f", fmt, "-o", str(two))
    assert r1.returncode == r2.returncode == 1  # the two unreadable files
    assert one.read_bytes() == two.read_bytes()
    assert r2.stderr.replace(str(two), str(one)) == r1.stderr  # the same lines in the same order
    errors = [line for line in r1.stderr.splitlines() if line.startswith("error:")]
    assert [e.split(":")[1].strip().rsplit("/", 1)[-1] for e in errors] == ["140_broken.csv", "141_empty.txt"]
    assert "2 file(s) could not be read" in r1.stderr


def test_jobs_to_stdout_are_the_same_rows_in_file_order(modkit, corpus):
    r1, r2 = _run(modkit, corpus, 1, "-f", "jsonl"), _run(modkit, corpus, 2, "-f", "jsonl")
    assert r1.stdout == r2.stdout and r1.stderr == r2.stderr
    rows = [json.loads(line) for line in r2.stdout.splitlines()]
    sources = list(dict.fromkeys(Path(r["source"]).name for r in rows))
    assert sources == sorted(sources)  # file (name) order, whatever worker read which file
    assert len(rows) == 280 * 38 + 180 * 30 + 38 + sum(
        len(t.comments) for name in ("disqus.xml", "reddit.ndjson", "hackernews.jsonl") for t in threads.read(FIX / name))


def test_jobs_parquet_has_the_same_rows_and_row_groups(tmp_path, modkit, corpus):
    pq = pytest.importorskip("pyarrow.parquet")
    one, two = tmp_path / "one.parquet", tmp_path / "two.parquet"
    assert _run(modkit, corpus, 1, "-f", "parquet", "-o", str(one)).returncode == 1
    assert _run(modkit, corpus, 0, "-f", "parquet", "-o", str(two)).returncode == 1  # 0: one per core
    a, b = pq.read_table(one), pq.read_table(two)
    assert a.num_rows > 13_000 and a.equals(b)
    groups = [pq.ParquetFile(p).metadata for p in (one, two)]
    assert [[m.row_group(i).num_rows for i in range(m.num_row_groups)] for m in groups] == [[a.num_rows]] * 2


def test_render_parts_split_by_file_never_inside_a_page(corpus):
    """The library call underneath: parts in file order; every page's rows in exactly one part."""
    files = sorted(corpus.glob("00[0-4]_*.txt"))
    parts = list(render.render_parts(files, "jsonl", jobs=2, chunk_bytes=30_000))
    assert len(parts) > 3
    seen: dict[str, int] = {}
    for k, part in enumerate(parts):
        for line in part.data.splitlines():
            seen.setdefault(json.loads(line)["doc"], k)
            assert seen[json.loads(line)["doc"]] == k  # a page's rows all in one part
        assert part.rows == len(part.data.splitlines())
    notes = [e for p in parts for e in p.events]
    assert [n.source for n in notes] == [str(f) for f in files]
    import io

    whole = io.StringIO()
    render.write_jsonl(threads.iter_threads(files), whole)
    assert "".join(p.data for p in parts) == whole.getvalue()


def test_jobs_is_documented_and_checked(modkit):
    r = modkit("threads", "--help")
    assert "--jobs" in r.stdout and "0 = one per core" in " ".join(r.stdout.split())
    r = modkit("threads", str(SEEDS), "-f", "jsonl", "--jobs", "-1")
    assert r.returncode == 2 and "--jobs" in r.stderr
    # the tree reads in one process whatever --jobs says
    assert modkit("threads", str(SEEDS), "--jobs", "2").stdout == modkit("threads", str(SEEDS)).stdout

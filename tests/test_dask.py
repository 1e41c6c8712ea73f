"""`--engine dask` (modkit.distributed) on a real LocalCluster of two worker processes: the same
rows as the local path, on the seeds and on a generated real-text corpus; a worker killed
mid-run loses and duplicates nothing; the CLI over an existing scheduler; one line without dask."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed")
pytest.importorskip("pyarrow")

import pandas as pd
from distributed import Client, LocalCluster

from conftest import run_modkit
from modkit import distributed as dk
from modkit import flag as flag_api
from modkit import threads
from modkit.model import load_model

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
MODEL = ROOT / "models" / "default"
#: Small partitions, so the seeds and the corpus make several (as 4 MiB chunks of a big corpus do).
SMALL = 24_000


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def model():
    return load_model(MODEL)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    sys.path.insert(0, str(ROOT))
    from bench.realtext import generate_real

    out = tmp_path_factory.mktemp("real") / "pages"
    generate_real(out, pages=240, seed=3)  # its stamp is a dot file: the folder reads as pages only
    return out


def _same_csv(a: Path, b: Path) -> None:
    ra, rb = a.read_bytes().split(b"\r\n"), b.read_bytes().split(b"\r\n")
    assert len(ra) == len(rb)
    for i, (x, y) in enumerate(zip(ra, rb)):
        assert x == y, f"row {i} differs"


@pytest.mark.parametrize("options", [{}, {"all": True}, {"queue": 7}, {"profile": "strict"}])
def test_dask_gives_the_local_csv_row_for_row_on_the_seeds(client, model, tmp_path, options):
    local = flag_api.flag([SEEDS], model, tmp_path / "local.csv", jobs=1, chunk_bytes=SMALL, **options)
    r = dk.flag_dask([SEEDS], model, tmp_path / "parts", csv=tmp_path / "dask.csv", client=client,
                     chunk_bytes=SMALL, **options)
    _same_csv(tmp_path / "local.csv", tmp_path / "dask.csv")
    assert r.csv_rows == local.rows and r.comments == local.comments == 38
    assert [(p.doc, p.comments, p.flagged, p.per_flag) for p in r.pages] == \
           [(p.doc, p.comments, p.flagged, p.per_flag) for p in local.pages]
    assert r.top == local.top and r.problems == local.problems
    assert len(r.parts) > 1 and [p.name for p in r.parts] == [f"part-{k:05d}.parquet" for k in range(len(r.parts))]
    parts = pd.read_parquet(tmp_path / "parts")  # the folder reads as one data set
    assert len(parts) == r.rows
    if not options.get("queue"):
        rows = flag_api.read_csv(tmp_path / "local.csv")
        assert sorted(parts["comment_id"]) == sorted(rows["comment_id"])
        assert parts["depth"].dtype == "int64" and parts["p_abusive"].dtype == "float64"


def test_dask_gives_the_local_rows_on_a_generated_corpus(client, model, corpus, tmp_path):
    flag_api.flag([corpus], model, tmp_path / "local.csv", all=True, jobs=1, chunk_bytes=SMALL * 4)
    r = dk.flag_dask([corpus], model, tmp_path / "parts", csv=tmp_path / "dask.csv", all=True, client=client,
                     chunk_bytes=SMALL * 4)
    _same_csv(tmp_path / "local.csv", tmp_path / "dask.csv")
    assert r.rows == r.csv_rows == r.comments > 1500 and len(r.parts) >= 4

    t = dk.threads_dask([corpus], tmp_path / "threads", client=client, chunk_bytes=SMALL * 4)
    got = pd.read_parquet(tmp_path / "threads")
    want = threads.to_frame(threads.read(corpus))
    assert t.comments == len(want) and t.pages == 240 and not t.errors
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_dtype=False)


def test_a_rerun_with_fewer_partitions_leaves_no_stale_part(client, model, tmp_path):
    dk.flag_dask([SEEDS], model, tmp_path / "parts", client=client, chunk_bytes=SMALL, all=True)
    r = dk.flag_dask([SEEDS], model, tmp_path / "parts", client=client, all=True)  # one 4 MiB chunk
    assert [p.name for p in (tmp_path / "parts").iterdir()] == ["part-00000.parquet"]
    assert len(pd.read_parquet(tmp_path / "parts")) == r.rows == 38


def test_cli_flag_and_threads_on_an_existing_scheduler(client, model, tmp_path):
    address = client.scheduler.address
    p = run_modkit("flag", "seeds/", "--engine", "dask", "--scheduler", address, "--out", str(tmp_path / "flags"),
                   "--csv", str(tmp_path / "flagged.csv"))
    assert p.returncode == 0, p.stderr
    assert "Parquet parts on 2 Dask workers" in p.stderr
    flag_api.flag([SEEDS], model, tmp_path / "local.csv")  # what `modkit flag seeds/` writes
    _same_csv(tmp_path / "local.csv", tmp_path / "flagged.csv")

    t = run_modkit("threads", "seeds/", "--engine", "dask", "--format", "parquet", "--scheduler", address,
                   "--out", str(tmp_path / "threads"))
    assert t.returncode == 0, t.stderr
    assert t.stderr.count("warning:") == 2 and "wrote 38 comments" in t.stderr
    assert len(pd.read_parquet(tmp_path / "threads")) == 38


@pytest.mark.parametrize("args", [
    ["flag", "seeds/", "--engine", "dask", "--out", "flagged.csv"],   # a CSV is no Parquet folder
    ["flag", "seeds/", "--scheduler", "tcp://127.0.0.1:1"],          # --scheduler without --engine dask
    ["threads", "seeds/", "--engine", "dask"],                         # no --out folder
])
def test_cli_engine_options_that_do_not_fit_are_usage_errors(args):
    from typer.testing import CliRunner

    from modkit.cli import app

    r = CliRunner().invoke(app, args)
    assert r.exit_code == 2, r.output
    assert "--engine dask" in r.output


@pytest.mark.parametrize("command", [["flag", "seeds/"], ["threads", "seeds/", "--format", "parquet"]])
def test_without_dask_one_line_and_exit_1(tmp_path, command):
    blocked = ("import sys; sys.modules['dask'] = None; sys.modules['distributed'] = None; "
               "sys.argv = ['modkit', *sys.argv[1:]]; from modkit.cli import main; main()")
    p = subprocess.run([sys.executable, "-c", blocked, *command, "--engine", "dask", "--out", str(tmp_path / "o")],
                       cwd=ROOT, capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"}, timeout=120,
                       check=False)
    assert p.returncode == 1
    assert p.stderr.strip().splitlines() == [f"modkit: error: {dk.NEEDS_DASK}"]


def test_a_worker_killed_mid_run_loses_and_duplicates_no_row(client, model, corpus, tmp_path):
    out = tmp_path / "parts"
    flag_api.flag([corpus], model, tmp_path / "local.csv", all=True, jobs=1, chunk_bytes=30_000)
    before = client.run(os.getpid)  # worker address -> pid
    killed: list[int] = []
    parts_then: list[int] = []

    def kill_after_first_part() -> None:  # parts complete in any order: wait for the first of any index
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (out.is_dir() and any(out.glob("part-*.parquet"))):
            time.sleep(0.02)
        processing = client.processing()  # worker address -> keys it runs now
        victim = next((a for a in before if processing.get(a)), next(iter(before)))
        os.kill(before[victim], signal.SIGKILL)
        killed.append(before[victim])
        parts_then.append(len(list(out.glob("part-*.parquet"))))

    killer = threading.Thread(target=kill_after_first_part, daemon=True)
    killer.start()
    r = dk.flag_dask([corpus], model, out, csv=tmp_path / "dask.csv", all=True, client=client, chunk_bytes=30_000)
    killer.join(5)
    assert killed, "no worker was killed"
    n_parts = len(r.parts)
    assert n_parts >= 20 and parts_then[0] < n_parts - 2  # killed while partitions were left to do
    client.wait_for_workers(2, timeout=60)  # the nanny restarted it
    assert killed[0] not in client.run(os.getpid).values()
    _same_csv(tmp_path / "local.csv", tmp_path / "dask.csv")
    parts = pd.read_parquet(out)
    assert len(parts) == r.comments and parts["comment_id"].is_unique
    assert sorted(p.name for p in out.iterdir()) == [f"part-{k:05d}.parquet" for k in range(n_parts)]

"""Scale on real text: throughput of `modkit flag` (1 job, 2 jobs, Dask) side by side with
alt-profanity-check on the same comments, and peak memory of `threads`, `flag` and `report` as
the input grows (10k, 100k, 1M comments).

    .venv/bin/pip install -e '.[bench,scale]'
    .venv/bin/python bench/scale_bench.py                        # 1M comments (110,000 pages)
    .venv/bin/python bench/scale_bench.py --pages 11000 --sizes 1100,11000    # quick: 100k

Corpus: :mod:`bench.realtext`, the 16,100 real news comments of civil-comments-toxic-spans (CC0)
placed into reply trees under articles made of other real comments, about 9 comments a page,
repeated across pages (each text once per round, in a fresh seeded order) to reach the size.
The page files are generated once under ``bench/out/real-N/``.

Every measurement is its own process, so its peak RSS is its own (``peak_rss_mb``), and the
largest of its worker processes is ``peak_worker_rss_mb`` (joblib keeps its workers alive
after a run; Dask's workers are separate processes of the LocalCluster, read from ``/proc``):

- ``alt-profanity-check``: ``predict_prob`` on every comment text, parsed first (not timed);
- ``modkit flag --jobs 1`` / ``--jobs 2``: :func:`modkit.flag.flag` end to end (read and parse the
  pages, the three tasks with thread context, reasons, the priority-sorted CSV);
- ``modkit flag --engine dask``: :func:`modkit.distributed.flag_dask` on a LocalCluster of 2
  worker processes (started inside the timing: a user's run includes it), Parquet parts plus
  the same merged CSV;
- ``modkit threads -f jsonl|parquet --jobs 1|2``: the real CLI on the same corpus;
- memory: ``modkit threads -f jsonl --out``, ``modkit flag`` and ``modkit report --flags`` at
  each of ``--sizes`` pages, each as the real CLI in a subprocess (``/proc`` peak of the process
  tree).

Results: a table on stdout and JSON in ``bench/results/scale_bench.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import flag_bench
from bench.flag_bench import _loadavg, _peak_mb
from bench.flag_bench import corpus_of as _corpus_of


def corpus_of(pages: int) -> Path:
    """The real-text corpus of ``pages`` pages (generated once; its metadata is a dot file, which
    modkit skips when it walks the folder)."""
    d = _corpus_of(pages, kind="real")
    meta = d / "realtext.json"  # older generator runs wrote it without the dot
    if meta.exists():
        meta.replace(d / ".realtext.json")
    return d


def child(kind: str, corpus: Path, model: Path, jobs: int, out: Path) -> dict[str, object]:
    """One measurement in this process: ``apc`` and ``flag`` as :func:`bench.flag_bench.child`
    measures them, ``dask`` here."""
    if kind != "dask":
        return flag_bench.child(kind, corpus, model, jobs, out)
    import warnings

    from modkit import distributed

    warnings.simplefilter("ignore")
    peak = [0.0]
    stop = threading.Event()

    def watch() -> None:  # the LocalCluster's workers are grandchildren: walk the tree
        while not stop.is_set():
            peak[0] = max(peak[0], _tree_peak_mb(os.getpid(), include_self=False))
            stop.wait(0.5)

    w = threading.Thread(target=watch, daemon=True)
    w.start()
    t = time.perf_counter()
    res = distributed.flag_dask([corpus], model, out.with_suffix(".parts"), csv=out, n_workers=jobs, force=True)
    dt = time.perf_counter() - t
    stop.set()
    w.join()
    return {"comments": res.comments, "rows": res.rows, "seconds": round(dt, 2), **_peak_mb(),
            "peak_worker_rss_mb": round(peak[0], 1)}


def _tree_peak_mb(root: int, include_self: bool = True) -> float:
    """Largest VmHWM (peak RSS) among ``root``'s live descendants (and ``root``)."""
    parents: dict[int, int] = {}
    hwm: dict[int, float] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = dict(line.split(":", 1) for line in (proc / "status").read_text().splitlines() if ":" in line)
        except OSError:
            continue
        pid = int(proc.name)
        parents[pid] = int(fields.get("PPid", "0").strip() or 0)
        if "VmHWM" in fields:
            hwm[pid] = int(fields["VmHWM"].split()[0]) / 1024
    best = hwm.get(root, 0.0) if include_self else 0.0
    for pid in hwm:
        p = parents.get(pid, 0)
        while p and p != root:
            p = parents.get(p, 0)
        if p == root and pid != root:
            best = max(best, hwm[pid])
    return best


def run_child(kind: str, corpus: Path, model: Path, jobs: int, out: Path) -> dict[str, object]:
    return flag_bench.run_child(kind, corpus, model, jobs, out, script=__file__)


def run_cli(args: list[str]) -> dict[str, object]:
    """One `modkit` command as a process: wall time and the peak RSS of its process tree
    (sampled from /proc every 0.2 s, plus the command's own final VmHWM via wait4)."""
    import tempfile

    with tempfile.TemporaryFile("w+", encoding="utf-8") as log:  # a pipe would fill and block the command
        t = time.perf_counter()
        p = subprocess.Popen([sys.executable, "-m", "modkit", *args], stdout=subprocess.DEVNULL,
                             stderr=log, text=True, env={**os.environ, "NO_COLOR": "1"})
        peak = 0.0
        while p.poll() is None:
            peak = max(peak, _tree_peak_mb(p.pid))
            time.sleep(0.2)
        dt = time.perf_counter() - t
        log.seek(0)
        err = log.read()
    if p.returncode not in (0,):
        raise SystemExit(f"modkit {' '.join(args)} failed ({p.returncode}):\n{err[-4000:]}")
    return {"seconds": round(dt, 2), "peak_tree_rss_mb": round(peak, 1)}


THROUGHPUT = (("alt-profanity-check predict_prob", "apc", 1),
              ("modkit flag --jobs 1", "flag", 1),
              ("modkit flag --jobs 2", "flag", 2),
              ("modkit flag --engine dask (LocalCluster, 2 workers)", "dask", 2))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=110_000, help="pages of the throughput corpus (~9 comments each)")
    ap.add_argument("--sizes", default="1100,11000,110000", help="page counts for the memory table")
    ap.add_argument("--skip", default="", help="comma-separated throughput kinds to skip (apc,flag,dask,threads)")
    ap.add_argument("--memory", default="threads,flag,report", help="commands of the memory table (threads,flag,report)")
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "default")
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "scale_bench.json")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--jobs", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "scale_bench.csv", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.dir, args.model, args.jobs, args.out)))
        return 0
    args.model = args.model.resolve()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    res: dict[str, object] = {"command": " ".join([Path(sys.executable).name, *sys.argv]), "cpus": os.cpu_count(),
                              "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "loadavg_before": _loadavg()}
    corpus = corpus_of(args.pages)
    skip = set(filter(None, args.skip.split(",")))
    runs: dict[str, dict] = {}
    for name, kind, jobs in THROUGHPUT:
        if kind in skip:
            continue
        r = run_child(kind, corpus, args.model, jobs, args.out)
        r["comments_per_s"] = round(r["comments"] / r["seconds"])
        runs[name] = r
        print(f"{name:<52} {r['comments']:>9,} comments {r['seconds']:>8.1f} s {r['comments_per_s']:>8,}/s "
              f"peak {r['peak_rss_mb']:,.0f} MB (workers {r['peak_worker_rss_mb']:,.0f} MB)", flush=True)
    base = {k: v["comments_per_s"] for k, v in runs.items()}
    apc = base.get(THROUGHPUT[0][0])
    one = base.get(THROUGHPUT[1][0])
    two = base.get(THROUGHPUT[2][0])
    for k, r in runs.items():
        if apc:
            r["ratio_to_apc"] = round(r["comments_per_s"] / apc, 2)
        if one:
            r["ratio_to_jobs1"] = round(r["comments_per_s"] / one, 2)
        if two:
            r["ratio_to_jobs2"] = round(r["comments_per_s"] / two, 2)
    res["throughput"] = {"corpus": str(corpus.relative_to(ROOT)), "runs": runs}
    threads_runs: dict[str, dict] = {}
    n_comments = next(iter(runs.values()))["comments"] if runs else 0
    if "threads" not in skip:
        for fmt in ("jsonl", "parquet"):
            for jobs in (1, 2):
                name = f"modkit threads -f {fmt} --jobs {jobs}"
                r = run_cli(["threads", str(corpus), "-f", fmt, "--jobs", str(jobs), "--out", str(args.out.with_suffix(f".{fmt}"))])
                if n_comments:
                    r["comments_per_s"] = round(n_comments / r["seconds"])
                threads_runs[name] = r
                print(f"{name:<52} {r['seconds']:>8.1f} s {r.get('comments_per_s', 0):>8,}/s peak {r['peak_tree_rss_mb']:,.0f} MB",
                      flush=True)
            args.out.with_suffix(f".{fmt}").unlink(missing_ok=True)
    res["threads"] = threads_runs
    memory: dict[str, dict] = {}
    mem = set(args.memory.split(","))
    for pages in [int(x) for x in args.sizes.split(",") if x]:
        d = corpus_of(pages)
        tmp = ROOT / "bench" / "out" / f"scale-{pages}"
        tmp.mkdir(parents=True, exist_ok=True)
        m = memory[str(pages)] = {}
        if "threads" in mem or not (tmp / "threads.jsonl").exists():
            m["threads -f jsonl"] = run_cli(["threads", str(d), "-f", "jsonl", "--out", str(tmp / "threads.jsonl")])
        one = runs.get(THROUGHPUT[1][0])
        if pages == args.pages and one is not None:  # the throughput run measured this size already
            m["flag --jobs 1"] = {"seconds": one["seconds"], "peak_tree_rss_mb": max(one["peak_rss_mb"], one["peak_worker_rss_mb"]),
                                  "from": "the throughput run"}
            flagged = args.out
        elif pages == args.pages and "flag" in skip and args.out.exists():  # measured by an earlier run
            flagged = args.out
        elif "flag" not in mem and (tmp / "flagged.csv").exists():
            flagged = tmp / "flagged.csv"
        else:
            flagged = tmp / "flagged.csv"
            m["flag --jobs 1"] = run_cli(["flag", str(d), "--jobs", "1", "--force", "--out", str(flagged)])
        if "report" in mem:
            m["report --flags"] = run_cli(["report", str(d), "--flags", str(flagged), "--out", str(tmp / "report.html")])
        n = sum(1 for _ in open(tmp / "threads.jsonl", encoding="utf-8"))
        for what, r in m.items():
            r["comments"] = n
            print(f"memory {pages:>7,} pages {n:>9,} comments  {what:<18} {r['seconds']:>8.1f} s  peak {r['peak_tree_rss_mb']:,.0f} MB",
                  flush=True)
        (tmp / "report.html").unlink(missing_ok=True)
    res["memory"] = memory
    res["loadavg_after"] = _loadavg()
    print()
    print("| what | comments | seconds | comments/s | vs alt-profanity-check | vs --jobs 1 | vs --jobs 2 | peak RSS MB | largest worker MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for k, r in runs.items():
        print(f"| {k} | {r['comments']:,} | {r['seconds']:.1f} | {r['comments_per_s']:,} | {r.get('ratio_to_apc', '')}x | "
              f"{r.get('ratio_to_jobs1', '')}x | {r.get('ratio_to_jobs2', '')}x | {r['peak_rss_mb']:,.0f} | {r['peak_worker_rss_mb']:,.0f} |")
    if threads_runs:
        print()
        print("| what | seconds | comments/s | peak RSS MB (process tree) |")
        print("|---|---|---|---|")
        for k, r in threads_runs.items():
            print(f"| {k} | {r['seconds']:.1f} | {r.get('comments_per_s', 0):,} | {r['peak_tree_rss_mb']:,.0f} |")
    if memory:
        print()
        whats = list(dict.fromkeys(w for m in memory.values() for w in m))
        print("| comments | " + " | ".join(f"{w}: s / peak MB" for w in whats) + " |")
        print("|---|" + "---|" * len(whats))
        for pages, m in memory.items():
            n = next(iter(m.values()))["comments"]
            print(f"| {n:,} | " + " | ".join(f"{m[w]['seconds']:.0f} s / {m[w]['peak_tree_rss_mb']:,.0f}" if w in m else "(earlier run)"
                                             for w in whats) + " |")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Throughput and peak memory of `modkit flag` on the synthetic corpus, side by side in one run
with alt-profanity-check's ``predict_prob`` on the same comments.

    .venv/bin/pip install alt-profanity-check      # the `bench` extra
    .venv/bin/python bench/flag_bench.py --pages 100000       # ~1M comments (bench/synth.py)
    .venv/bin/python bench/flag_bench.py --pages 2000 --sizes 1000,2000   # quick

Each measurement runs in its own process (peak RSS = that process plus its workers):

- ``modkit flag`` end to end (read and parse pages, score, reasons, sorted CSV), 1 and 2 jobs;
- ``modkit score`` only: pages parsed first (not timed), then :func:`modkit.flag.score` over
  the same chunks, flags and reasons included;
- ``alt-profanity-check``: the same comment texts, parsed first (not timed), ``predict_prob``
  on all of them (what a user of that tool would do);

and memory flatness: ``modkit flag`` peak RSS at each of ``--sizes`` pages.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))


def _peak_mb() -> dict[str, float]:
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"peak_rss_mb": round(me, 1), "peak_worker_rss_mb": round(kids, 1)}


def _worker_peak_mb() -> float:
    """Largest peak RSS (VmHWM) among this process's live child processes: joblib's worker
    processes stay alive (idle) after a run, so RUSAGE_CHILDREN does not count them."""
    me = str(os.getpid())
    peak = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            status = (proc / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == me and "VmHWM" in fields:
            peak = max(peak, int(fields["VmHWM"].split()[0]) / 1024)
    return round(peak, 1)


def _texts(corpus: Path) -> list[str]:
    from modkit import threads

    return [c.text for t in threads.iter_threads(corpus) for c in t.comments]


def child(kind: str, corpus: Path, model: Path, jobs: int, out: Path) -> dict[str, object]:
    import warnings

    warnings.simplefilter("ignore")
    if kind == "flag":
        from modkit import flag

        t = time.perf_counter()
        res = flag.flag([corpus], model, out, jobs=jobs)
        dt = time.perf_counter() - t
        peaks = _peak_mb()
        peaks["peak_worker_rss_mb"] = max(peaks["peak_worker_rss_mb"], _worker_peak_mb())
        return {"comments": res.comments, "rows": res.rows, "seconds": round(dt, 2), **peaks}
    if kind == "score":
        from modkit import flag, threads
        from modkit import model as model_api
        from modkit.features import comment_frame

        m = model_api.load_model(model)
        pages = list(threads.iter_threads(corpus))
        frames = [comment_frame(pages[i:i + 2000]) for i in range(0, len(pages), 2000)]
        t = time.perf_counter()
        n = 0
        for fr in frames:
            n += len(flag.score(fr, m))
        dt = time.perf_counter() - t
        return {"comments": n, "seconds": round(dt, 2), **_peak_mb()}
    if kind == "apc":
        from profanity_check import predict_prob

        texts = _texts(corpus)
        t = time.perf_counter()
        predict_prob(texts)
        dt = time.perf_counter() - t
        return {"comments": len(texts), "seconds": round(dt, 2), **_peak_mb()}
    raise SystemExit(f"unknown child {kind}")


def run_child(kind: str, corpus: Path, model: Path, jobs: int, out: Path) -> dict[str, object]:
    cmd = [sys.executable, __file__, "--child", kind, "--corpus", str(corpus), "--model", str(model),
           "--jobs", str(jobs), "--out", str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def corpus_of(pages: int, seed: int = 0) -> Path:
    from bench.synth import generate

    d = ROOT / "bench" / "out" / f"synth-{pages}"
    done = d / ".complete"
    if not done.exists():
        t = time.perf_counter()
        stats = generate(d, pages=pages, seed=seed)
        done.write_text(json.dumps(stats))
        print(f"generated {stats} in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    return d


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=100_000, help="pages of the main corpus (~9 comments each)")
    ap.add_argument("--sizes", default="", help="comma-separated page counts for the memory-flatness check")
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "default")
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "flag_bench.json")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--jobs", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "flag_bench.csv", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.corpus, args.model, args.jobs, args.out)))
        return 0

    corpus = corpus_of(args.pages)
    results: dict[str, object] = {"pages": args.pages, "cpus": os.cpu_count(), "runs": {}}
    runs = results["runs"]
    for name, kind, jobs in (("alt-profanity-check predict_prob", "apc", 1),
                             ("modkit score (parsed pages in memory)", "score", 1),
                             ("modkit flag, 1 job (end to end)", "flag", 1),
                             ("modkit flag, 2 jobs (end to end)", "flag", 2)):
        r = run_child(kind, corpus, args.model, jobs, args.out)
        r["comments_per_s"] = round(r["comments"] / r["seconds"])
        runs[name] = r
        print(f"{name:<42} {r['comments']:>9} comments {r['seconds']:>8.1f} s {r['comments_per_s']:>8}/s "
              f"peak {r['peak_rss_mb']:.0f} MB (workers {r['peak_worker_rss_mb']:.0f} MB)", flush=True)
    apc = runs["alt-profanity-check predict_prob"]["comments_per_s"]
    for name, r in runs.items():
        r["ratio_to_apc"] = round(r["comments_per_s"] / apc, 2)
    if args.sizes:
        flat = {}
        for pages in [int(x) for x in args.sizes.split(",")]:
            r = run_child("flag", corpus_of(pages), args.model, 1, args.out)
            flat[pages] = r
            print(f"memory: modkit flag on {pages} pages ({r['comments']} comments): peak {r['peak_rss_mb']:.0f} MB",
                  flush=True)
        results["memory_by_size"] = flat
    print("throughput relative to alt-profanity-check: " + ", ".join(
        f"{k}: {v['ratio_to_apc']}x" for k, v in runs.items()))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Throughput and peak memory of `modkit flag` on a synthetic and a real-text corpus, side by
side in one run with alt-profanity-check's ``predict_prob`` on the same comments.

    .venv/bin/pip install -e '.[bench]'                       # alt-profanity-check
    .venv/bin/python bench/flag_bench.py --pages 100000       # ~1M comments per corpus
    .venv/bin/python bench/flag_bench.py --corpus synth --pages 100000 --sizes 10000
    .venv/bin/python bench/flag_bench.py --pages 2000 --sizes 1000,2000   # quick

Corpora (``--corpus synth|real|both``, default both; pages cached under ``bench/out/``):

- ``synth``: :mod:`bench.synth`, comments drawn from ~150 words (585 distinct tokens, so every
  per-token cache hits);
- ``real``: :mod:`bench.realtext`, the 16,100 real news comments of civil-comments-toxic-spans
  (~55k distinct tokens) in the same page layout and reply trees, repeated across pages when
  more are needed.

Each measurement runs in its own process (peak RSS = that process plus its workers):

- ``modkit flag`` end to end (read and parse pages, score, reasons, sorted CSV), 1 and 2 jobs;
- ``modkit score`` only: pages parsed first (not timed), then :func:`modkit.flag.score` over
  chunks of 2,000 parsed pages (Thread objects), flags and reasons included;
- ``alt-profanity-check``: the same comment texts, parsed first (not timed), ``predict_prob``
  on all of them (what a user of that tool would do);

and memory flatness: ``modkit flag`` peak RSS at each of ``--sizes`` pages. Only modkit's public
API is used (``flag.flag``, ``flag.score`` or ``flag.score_batch``, ``model.load_model``,
``threads.iter_threads``), so the same script measures older and newer code: run it with
``PYTHONPATH=/other/checkout/src`` to measure that checkout's modkit. Results: a table on stdout
and JSON in ``bench/results/`` (``--json``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if importlib.util.find_spec("modkit") is None:  # not installed and not on PYTHONPATH
    sys.path.insert(1, str(ROOT / "src"))

APC = "alt-profanity-check predict_prob"
RUNS = ((APC, "apc", 1),
        ("modkit score (parsed pages in memory)", "score", 1),
        ("modkit flag, 1 job (end to end)", "flag", 1),
        ("modkit flag, 2 jobs (end to end)", "flag", 2))


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


def _score_fn():
    from modkit import flag

    fn = getattr(flag, "score", None) or getattr(flag, "score_batch", None)
    if fn is None:
        raise SystemExit("modkit.flag has neither score nor score_batch")
    return fn


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
        from modkit import model as model_api
        from modkit import threads

        score = _score_fn()
        m = model_api.load_model(model)
        pages = list(threads.iter_threads(corpus))
        chunks = [pages[i:i + 2000] for i in range(0, len(pages), 2000)]
        t = time.perf_counter()
        n = 0
        for chunk in chunks:
            n += len(score(chunk, m))
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


def run_child(kind: str, corpus: Path, model: Path, jobs: int, out: Path, script: str = __file__) -> dict[str, object]:
    """Run ``script --child kind ...`` (this file, or another bench built on it) in a fresh
    process; its last stdout line is the JSON result."""
    cmd = [sys.executable, script, "--child", kind, "--dir", str(corpus), "--model", str(model),
           "--jobs", str(jobs), "--out", str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def corpus_of(pages: int, seed: int = 0, kind: str = "synth") -> Path:
    """The folder of the ``kind`` corpus (synth or real) with ``pages`` pages, generated once."""
    if kind == "synth":
        from bench.synth import generate
    else:
        from bench.realtext import generate_real as generate

    d = ROOT / "bench" / "out" / (f"synth-{pages}" if kind == "synth" else f"real-{pages}")
    done = d / ".complete"
    if not done.exists():
        t = time.perf_counter()
        stats = generate(d, pages=pages, seed=seed)
        done.write_text(json.dumps(stats))
        print(f"generated {kind} corpus {stats} in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    return d


def _loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def bench_corpus(kind: str, pages: int, args: argparse.Namespace) -> dict[str, object]:
    corpus = corpus_of(pages, kind=kind)
    res: dict[str, object] = {"pages": pages, "dir": str(corpus.relative_to(ROOT)),
                              "loadavg_before": _loadavg(), "runs": {}}
    runs: dict[str, dict] = res["runs"]  # type: ignore[assignment]
    for name, what, jobs in RUNS:
        r = run_child(what, corpus, args.model, jobs, args.out)
        r["comments_per_s"] = round(r["comments"] / r["seconds"])
        runs[name] = r
        print(f"[{kind}] {name:<42} {r['comments']:>9} comments {r['seconds']:>8.1f} s "
              f"{r['comments_per_s']:>8}/s peak {r['peak_rss_mb']:.0f} MB (workers {r['peak_worker_rss_mb']:.0f} MB)",
              flush=True)
    apc = runs[APC]["comments_per_s"]
    for r in runs.values():
        r["ratio_to_apc"] = round(r["comments_per_s"] / apc, 2)
    res["comments"] = runs[APC]["comments"]
    if args.sizes:
        flat = {}
        for n in [int(x) for x in args.sizes.split(",")]:
            r = run_child("flag", corpus_of(n, kind=kind), args.model, 1, args.out)
            flat[n] = r
            print(f"[{kind}] memory: modkit flag on {n} pages ({r['comments']} comments): peak {r['peak_rss_mb']:.0f} MB",
                  flush=True)
        res["memory_by_size"] = flat
    res["loadavg_after"] = _loadavg()
    return res


def table(results: dict[str, object]) -> str:
    lines = ["| corpus | what | comments | seconds | comments/s | vs alt-profanity-check | peak RSS MB | workers MB |",
             "|---|---|---|---|---|---|---|---|"]
    for kind, res in results["corpora"].items():  # type: ignore[union-attr]
        for name, r in res["runs"].items():
            lines.append(f"| {kind} | {name} | {r['comments']:,} | {r['seconds']:.1f} | {r['comments_per_s']:,} | "
                         f"{r['ratio_to_apc']:.2f}x | {r['peak_rss_mb']:,.0f} | {r['peak_worker_rss_mb']:,.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", choices=("synth", "real", "both"), default="both",
                    help="which corpus to measure (default both)")
    ap.add_argument("--pages", type=int, default=100_000, help="pages of each corpus (~9 comments each)")
    ap.add_argument("--real-pages", type=int, default=None, help="pages of the real-text corpus (default --pages)")
    ap.add_argument("--sizes", default="", help="comma-separated page counts for the memory-flatness check")
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "default")
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "flag_bench.json")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--jobs", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "flag_bench.csv", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.dir, args.model, args.jobs, args.out)))
        return 0

    import modkit

    args.model = args.model.resolve()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    kinds = ("synth", "real") if args.corpus == "both" else (args.corpus,)
    results: dict[str, object] = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]), "cwd": os.getcwd(),
        "modkit": str(Path(modkit.__file__).resolve().parent), "pythonpath": os.environ.get("PYTHONPATH", ""),
        "cpus": os.cpu_count(), "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "corpora": {},
    }
    t0 = time.perf_counter()
    for kind in kinds:
        pages = args.real_pages if kind == "real" and args.real_pages else args.pages
        results["corpora"][kind] = bench_corpus(kind, pages, args)  # type: ignore[index]
    results["seconds_total"] = round(time.perf_counter() - t0, 1)
    for kind, res in results["corpora"].items():  # type: ignore[union-attr]
        print(f"[{kind}] throughput relative to alt-profanity-check: " + ", ".join(
            f"{k}: {v['ratio_to_apc']}x" for k, v in res["runs"].items()))
    print()
    print(table(results))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Throughput and memory of modkit's page reader, side by side with what a user would write.

    python bench/threads_bench.py                       # 1k, 10k and 100k synthetic pages
    python bench/threads_bench.py --sizes 1000,10000    # quicker

For every corpus size (made by ``bench/synth.py``, reused when already in ``bench/out/``), each
reader runs in a fresh process on the same files, one after the other, and reports pages/s,
comments/s, MB/s of page text, wall and CPU seconds and peak memory (max RSS):

- ``modkit``: ``modkit.threads.iter_threads(folder)``, streaming page by page: the job done
  (ids, parents, depths, timestamps, problems) with memory that should not grow with the corpus;
- ``modkit-list``: ``modkit.threads.read(folder)``, every thread kept in memory (what the
  notebook API gives), to show what holding a whole corpus costs;
- ``script``: the straightforward line-by-line parser a user would write for this layout
  (below, :func:`script_parse`: regexes per line, an indentation stack, every comment appended to
  one list, as a typical script collects rows for a DataFrame). It does less (no ids, no
  problems, no boilerplate stripping, no count checks), so it is the speed a user would
  otherwise get, not a correctness reference.

Ratios are modkit's figures over the script's. Results are printed as a table and written to
``bench/out/threads_bench.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.synth import generate

READERS = ("modkit", "modkit-list", "script")

# -- the parser a user would write ------------------------------------------------------------
_TS = re.compile(r"^(\w+ \d{1,2}, \d{4} at \d{1,2}:\d{2} [ap]m)\s*\|")
_TOP = re.compile(r"^\d+\. (.*)$")


def script_parse(path: str) -> list[dict]:
    """A user's 40-line parser for the seed layout: comments of one page as dicts."""
    from datetime import datetime

    with open(path, encoding="utf-8", errors="replace") as fh:
        lines = fh.read().splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip().startswith("soundoff (")), None)
    if start is None:
        return []
    comments: list[dict] = []
    stack: list[tuple[int, dict]] = []
    current = None
    for line in lines[start + 1:]:
        s = line.strip()
        if s == "Post a comment":
            break
        if not s:
            continue
        indent = len(line) - len(line.lstrip())
        ts = _TS.match(s)
        if ts and current is not None:
            current["timestamp"] = datetime.strptime(ts.group(1), "%B %d, %Y at %I:%M %p").isoformat()
            continue
        top = _TOP.match(s) if indent == 2 else None
        if top or s.startswith("\u2022 "):
            while stack and stack[-1][0] >= indent:
                stack.pop()
            parent = stack[-1][1] if stack and not top else None
            current = {
                "n": len(comments), "author": top.group(1) if top else s[2:], "text": [],
                "parent": parent["n"] if parent else None, "depth": parent["depth"] + 1 if parent else 0,
                "timestamp": None, "page": path,
            }
            comments.append(current)
            stack.append((indent, current))
        elif current is not None:
            current["text"].append(s)
    for c in comments:
        c["text"] = "\n".join(c["text"])
    return comments


# -- one reader in a fresh process -----------------------------------------------------------
def _worker(reader: str, folder: str) -> dict:
    from modkit.threads import iter_threads, read  # imports are not part of the timing

    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0, c0 = time.perf_counter(), time.process_time()
    pages = comments = 0
    if reader == "modkit":
        for t in iter_threads(folder):
            pages += 1
            comments += len(t.comments)
    elif reader == "modkit-list":
        threads = read(folder)
        pages = len(threads)
        comments = sum(len(t.comments) for t in threads)
    elif reader == "script":
        rows: list[dict] = []
        for name in sorted(os.listdir(folder)):
            if name.endswith(".txt"):
                rows.extend(script_parse(os.path.join(folder, name)))
                pages += 1
        comments = len(rows)
    else:
        raise SystemExit(f"unknown reader {reader!r}")
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"reader": reader, "pages": pages, "comments": comments, "seconds": wall, "cpu_seconds": cpu,
            "peak_rss_mb": peak / 1024, "base_rss_mb": base_rss / 1024}


def interleaved(folder: Path, rounds: int) -> dict[str, float]:
    """modkit's streaming reader and the script, alternately in this process, ``rounds`` times
    each; the best CPU time of each gives MB per CPU-second. Less sensitive to other load on the
    machine than one run of each."""
    from modkit.threads import iter_threads

    names = sorted(n for n in os.listdir(folder) if n.endswith(".txt"))
    mb = sum(os.path.getsize(folder / n) for n in names) / 1e6

    def modkit() -> None:
        for _ in iter_threads(folder):
            pass

    def script() -> None:
        rows: list[dict] = []
        for n in names:
            rows.extend(script_parse(str(folder / n)))

    best = {"modkit": float("inf"), "script": float("inf")}
    for _ in range(rounds):
        for name, fn in (("modkit", modkit), ("script", script)):
            c0 = time.process_time()
            fn()
            best[name] = min(best[name], time.process_time() - c0)
    return {name: mb / cpu for name, cpu in best.items()}


def run_reader(reader: str, folder: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", reader, str(folder)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000,100000", help="corpus sizes in pages, comma separated")
    ap.add_argument("--seed", type=int, default=0, help="synthetic corpus seed")
    ap.add_argument("--out", default=str(HERE / "out"), help="folder for corpora and the JSON result")
    ap.add_argument("--readers", default=",".join(READERS), help=f"which of {', '.join(READERS)}")
    ap.add_argument("--interleave", type=int, metavar="PAGES",
                    help="instead: modkit and the script alternately in one process on a PAGES corpus")
    ap.add_argument("--rounds", type=int, default=5, help="rounds for --interleave (best of)")
    ap.add_argument("--worker", nargs=2, metavar=("READER", "FOLDER"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(*args.worker)))
        return 0
    if args.interleave:
        folder = Path(args.out) / f"synth-{args.interleave}"
        generate(folder, args.interleave, args.seed)
        r = interleaved(folder, args.rounds)
        print(f"{args.interleave} pages, best of {args.rounds} alternating rounds: modkit {r['modkit']:.1f} MB/CPU-s, "
              f"script {r['script']:.1f} MB/CPU-s, ratio x{r['modkit'] / r['script']:.2f}")
        return 0

    out = Path(args.out)
    results = []
    print(f"{'pages':>7} {'reader':<12} {'comments':>9} {'MB':>7} {'s':>7} {'cpu s':>7} {'pages/s':>8} "
          f"{'comments/s':>10} {'MB/s':>6} {'MB/cpu-s':>8} {'peak RSS MB':>11}")
    for size in (int(s) for s in args.sizes.split(",")):
        folder = out / f"synth-{size}"
        t0 = time.perf_counter()
        stats = generate(folder, size, args.seed)
        gen = time.perf_counter() - t0
        if gen > 1:
            print(f"(generated {size} pages, {stats['bytes'] / 1e6:.0f} MB, in {gen:.0f} s)", file=sys.stderr)
        by_reader = {}
        for reader in args.readers.split(","):
            r = run_reader(reader, folder)
            mb = stats["bytes"] / 1e6
            r.update(size=size, mb=mb, pages_per_s=r["pages"] / r["seconds"],
                     comments_per_s=r["comments"] / r["seconds"], mb_per_s=mb / r["seconds"],
                     mb_per_cpu_s=mb / r["cpu_seconds"])
            by_reader[reader] = r
            results.append(r)
            print(f"{size:>7} {reader:<12} {r['comments']:>9} {mb:>7.1f} {r['seconds']:>7.2f} {r['cpu_seconds']:>7.2f} "
                  f"{r['pages_per_s']:>8.0f} {r['comments_per_s']:>10.0f} {r['mb_per_s']:>6.1f} {r['mb_per_cpu_s']:>8.1f} "
                  f"{r['peak_rss_mb']:>11.0f}")
        if "modkit" in by_reader and "script" in by_reader:
            m, s = by_reader["modkit"], by_reader["script"]
            print(f"{'':>7} ratio modkit/script: speed x{m['mb_per_s'] / s['mb_per_s']:.2f} "
                  f"(CPU time x{m['mb_per_cpu_s'] / s['mb_per_cpu_s']:.2f}), peak memory x{m['peak_rss_mb'] / s['peak_rss_mb']:.2f}")
    (out / "threads_bench.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

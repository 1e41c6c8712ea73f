"""The full-size hostile inputs, once: time and peak memory of the real commands on each.

    .venv/bin/python fuzz/big_inputs.py              # writes the files to a temporary folder
    .venv/bin/python fuzz/big_inputs.py --keep DIR   # ... to DIR, and keeps them

tests/test_hostile_input.py runs the same kinds of input at a size that takes seconds; this runs
the sizes of the issue: a 200 MB page, a 200 MB single comment, a 10,000-deep reply chain in every
format, a 5 MB comment through flag, review and report, a CSV with 10,000 columns or a 10 MB cell,
a cell over the 64 MB limit. Prints one line per run: command, exit code, seconds, peak RSS
(of that process alone), the last line of stderr.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from modkit import csvsafe
from modkit.threads import PageComment, read, render_page

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SHIPPED = ROOT / "models" / "default"

#: Runs ``python -m modkit ARGS`` and prints its own peak RSS (KB) and time last, on stderr.
#: VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent (this script holds the
#: 200 MB strings it wrote) across fork and exec.
_WRAPPER = """
import re, resource, runpy, sys, time

def peak_kb():
    try:
        return int(re.search(r"VmHWM:\\s*(\\d+)", open("/proc/self/status").read()).group(1))
    except (OSError, AttributeError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
sys.argv = ["modkit", *sys.argv[1:]]
start = time.perf_counter()
code = 0
try:
    runpy.run_module("modkit", run_name="__main__")
except SystemExit as exc:
    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
print(f"@@ {code} {time.perf_counter() - start:.1f} {peak_kb()}", file=sys.stderr)
sys.exit(code)
"""


def measure(label: str, args: list[str], cwd: Path, size: int | None = None) -> None:
    proc = subprocess.run([sys.executable, "-c", _WRAPPER, *args], cwd=cwd, capture_output=True, text=True,
                          check=False)
    lines = proc.stderr.strip().splitlines()
    stats = next((line for line in reversed(lines) if line.startswith("@@ ")), "@@ ? ? 0").split()
    rest = [line for line in lines if not line.startswith("@@ ") and line.strip()]
    tail = (rest[-1] if rest else "")[:150]
    rss = int(stats[3]) / 1024
    ratio = f" ({rss / (size / 2**20):.1f}x the file)" if size else ""
    print(f"{label:44s} exit {stats[1]:>2s} {stats[2]:>6s} s  peak RSS {rss:6.0f} MB{ratio}\n"
          f"{'':44s} {'Traceback!' if 'Traceback' in proc.stderr else ''}{tail}", flush=True)


def flag_args() -> list[str]:
    return [] if (SHIPPED / "model.skops").exists() or not (SHIPPED / "model.joblib").exists() else ["--allow-pickle"]


def write_files(d: Path) -> dict[str, Path]:
    one = PageComment("someone", "2013-06-06T08:33", "A perfectly ordinary comment, with words.\n\nSecond paragraph.", 0)
    rep = PageComment("other", "2013-06-06T08:34", "I disagree with you entirely.", 1)
    files: dict[str, Path] = {}

    def text(name: str, content: str) -> None:
        (d / name).write_text(content, encoding="utf-8")
        files[name] = d / name

    # two replies per top-level comment: the layout numbers top-level comments with at most 6 digits
    text("page_200mb.txt", render_page([one, rep, rep] * (200 * 2**20 // 100 // 3), title="Big"))
    text("one_comment_200mb.txt", render_page([PageComment("spam", "2013-06-06T08:33", ("buy now " * 12 + "\n") * (200 * 2**20 // 97))]))
    text("comment_5mb.txt", render_page([PageComment("spam", "2013-06-06T08:33", "buy cheap pills now " * (5 * 2**20 // 20)),
                                         PageComment("anna", "2013-06-06T08:34", "Please stop.", 1)], title="Spam"))
    lines = ["A page", "", "soundoff (10000 Responses)"]
    for k in range(10_000):
        lines += ["  1. a" if k == 0 else " " * (2 + 2 * k) + "\u2022 a", "", f"reply {k}", "", "June 6, 2013 at 8:33 am |", ""]
    text("deep_10000.txt", "\n".join([*lines, "Post a comment", ""]))
    chain = [{"id": f"i{k}", "parent_id": f"i{k - 1}" if k else "", "text": f"t{k}"} for k in range(10_000)]
    text("deep_10000.jsonl", "".join(json.dumps(r) + "\n" for r in reversed(chain)))
    with open(d / "deep_10000.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "parent_id", "text"])
        w.writerows([r["id"], r["parent_id"], r["text"]] for r in chain)
    files["deep_10000.csv"] = d / "deep_10000.csv"
    ids = [c.id for t in read(SEEDS) for c in t.comments]
    wide = [f"c{i}" for i in range(10_000)]
    for name, rows in {
        "columns_10000.csv": [["id", "parent_id", *wide], *(["a" + str(k), "", *wide] for k in range(100))],
        "cell_10mb.csv": [["id", "parent_id", "text"], ["a", "", "w" * (10 * 2**20)]],
        "cell_over_limit.csv": [["id", "parent_id", "text"], ["a", "", "w" * (csvsafe.MAX_CELL + 1)]],
        "flags_cell_10mb.csv": [["comment_id", "decision", "note"], [ids[0], "approve", "n" * (10 * 2**20)]],
        "labels_cell_10mb.csv": [["comment_id", "civility", "note"], [ids[0], "civil", "n" * (10 * 2**20)]],
    }.items():
        with open(d / name, "w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows(rows)
        files[name] = d / name
    return files


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep", type=Path, help="write the files here and keep them")
    ap.add_argument("--reuse", action="store_true", help="with --keep: use the files a previous run left there")
    ap.add_argument("--flag-big", action="store_true",
                    help="also run flag on the 200 MB page (2 million comments: minutes and several GB)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="modkit-big-") as tmp:
        d = args.keep or Path(tmp)
        d.mkdir(parents=True, exist_ok=True)
        files = ({p.name: p for p in d.iterdir() if p.is_file() and not p.name.startswith((".", "out", "flagged", "report"))}
                 if args.reuse and args.keep else write_files(d))
        for name, path in files.items():
            if name.startswith(("flags_", "labels_")):
                continue
            measure(f"threads {name}", ["threads", name, "-f", "jsonl", "-o", "out.jsonl"], d, path.stat().st_size)
        for name in ("comment_5mb.txt", "deep_10000.jsonl", *(["page_200mb.txt"] if args.flag_big else [])):
            measure(f"flag {name}", ["flag", name, "--all", "--out", "flagged.csv", *flag_args()], d, files[name].stat().st_size)
            if name == "comment_5mb.txt":
                measure("review flagged.csv (5 MB comment)", ["review", "flagged.csv", "-r", "bench", "--labels", "labels",
                                                              "--pages", name, "--dry-run"], d)
                measure("report --flags flagged.csv (5 MB comment)", ["report", name, "--flags", "flagged.csv",
                                                                      "--out", "report.html"], d)
        measure("review flags_cell_10mb.csv", ["review", "flags_cell_10mb.csv", "-r", "bench", "--labels", "labels",
                                               "--pages", str(SEEDS), "--dry-run"], d)
        measure("labels import labels_cell_10mb.csv", ["labels", "import", "labels_cell_10mb.csv", "--labels", "labels",
                                                       "-a", "bench", "-p", str(SEEDS), "--dry-run"], d)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How the label store, its resolution, ``labels stats`` and ``labels import`` scale.

    .venv/bin/python bench/labels_scale.py --events 50000,200000,1000000 --annotators 100,1000
    .venv/bin/python bench/labels_scale.py --events 50000 --annotators 100 --src /tmp/before/src  # another modkit

For each (events N, annotators A) it writes ``bench/out/labels-scale/N-A/``: ``pages/`` (real news
comments in the seed layout, :mod:`bench.realtext`, about 10 comments a page, enough pages for N
events) and ``labels/`` (one JSONL file per annotator, exactly N events), then times each part
in a fresh process and reports its wall time and peak RSS (``os.wait4``: the child's
``ru_maxrss``):

- ``read``: iterate :meth:`LabelStore.events` (count only);
- ``current``: :meth:`LabelStore.current` with the pages' text fingerprints (stale check);
- ``resolved``: :meth:`LabelStore.resolved`, the same;
- ``agreement``: :func:`modkit.labels.agreement.task_agreement` for every task on ``current``
  (the time of that call only; RSS is the process's);
- ``stats``: :func:`modkit.labels.compute_stats` with the corpus (reads the pages too);
- ``cli``: ``modkit labels stats --pages ... --labels ...`` end to end, stdout to /dev/null;
- ``import``: ``modkit labels import`` of an N-row CSV (``comment_id,task,value,annotator``)
  into an empty labels folder (``--import-rows`` sets other row counts, e.g. 10k,100k,1M).

The store: every comment gets 1 to 5 annotators (weighted: 3 most often) drawn with skewed
activity (a few annotators do much more than others), each labels civility (always), topic and
stance (mostly) from a per-comment true value with a per-annotator accuracy; 3% of labels are
changed later, 1% undone (``value: null``), some of those relabeled; 0.5% of the comments get an
adjudication by ``lead``; 3% carry a note. Deterministic for the same N, A and ``--seed``.

Writes ``bench/out/labels-scale/results.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "labels-scale"
PARTS = ("read", "current", "resolved", "agreement", "stats", "cli", "import")
TRUTH = {"civility": ({"civil": 0.62, "uncivil": 0.3, "abusive": 0.08}),
         "topic": ({"on": 0.88, "off": 0.12}),
         "stance": ({"agree": 0.3, "disagree": 0.5, "neutral": 0.2})}
EVENTS_PER_COMMENT = 3 * 2.9 * 0.93 * 1.05  # annotators x tasks labeled x changes, roughly


# -- the data --------------------------------------------------------------------------------


def write_pages(folder: Path, pages: int, seed: int = 0) -> int:
    """Real-text pages (bench/realtext.py) in ``folder``; reused when already there."""
    stamp = folder.parent / "pages.json"
    if stamp.exists() and json.loads(stamp.read_text()) == {"pages": pages, "seed": seed}:
        return pages
    sys.path.insert(0, str(ROOT))
    from bench.realtext import iter_real_pages

    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.txt"):
        old.unlink()
    for name, text, _ in iter_real_pages(pages, seed):
        (folder / name).write_text(text, encoding="utf-8")
    stamp.write_text(json.dumps({"pages": pages, "seed": seed}))
    return pages


def _pick(rng: random.Random, dist: dict[str, float]) -> str:
    return rng.choices(list(dist), weights=list(dist.values()))[0]


def generate(folder: Path, events: int, annotators: int, seed: int = 0) -> dict[str, int]:
    """Pages and a label store of exactly ``events`` events by ``annotators`` annotators."""
    from modkit.labels import Corpus, LabelEvent

    stamp = folder / "store.json"
    want = {"events": events, "annotators": annotators, "seed": seed}
    if stamp.exists() and json.loads(stamp.read_text()).get("want") == want:
        return json.loads(stamp.read_text())
    pages = int(events / EVENTS_PER_COMMENT / 9.5) + 20
    write_pages(folder / "pages", pages, seed)
    corpus = Corpus.read(folder / "pages")
    items = [(it.id, it.comment.doc, it.sha) for it in corpus]
    rng = random.Random(f"labels-scale:{seed}:{events}:{annotators}")
    names = [f"ann{i:04d}" for i in range(annotators)]
    activity = [1.0 / (1 + i) ** 0.7 for i in range(annotators)]  # skewed: a few do most
    accuracy = {w: rng.uniform(0.6, 0.95) for w in names}
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    tick = 0

    def stamp_time() -> str:
        nonlocal tick
        tick += 1
        return (t0 + timedelta(seconds=tick // 3)).isoformat(timespec="seconds")

    by_file: dict[str, list[str]] = {}
    n = 0
    later: list[LabelEvent] = []
    units = 0
    order = list(range(len(items)))
    rng.shuffle(order)
    for j in order:
        if n >= events:
            break
        cid, doc, sha = items[j]
        units += 1
        k = min(annotators, rng.choices([1, 2, 3, 4, 5], weights=[1, 3, 4, 2, 1])[0])
        who = set()
        while len(who) < k:
            who.add(rng.choices(names, weights=activity)[0] if rng.random() < 0.7 else rng.choice(names))
        truth = {t: _pick(rng, d) for t, d in TRUTH.items()}
        for w in sorted(who):
            for task, dist in TRUTH.items():
                if task != "civility" and rng.random() < 0.05:
                    continue
                value = truth[task] if rng.random() < accuracy[w] else _pick(rng, dist)
                note = "borderline, see guidelines" if rng.random() < 0.03 else ""
                ev = LabelEvent(cid, doc, task, value, w, stamp_time(), "manual", note, sha)
                by_file.setdefault(w, []).append(ev.to_json())
                n += 1
                r = rng.random()
                if r < 0.03:
                    later.append(LabelEvent(cid, doc, task, _pick(rng, dist), w, "", "manual", "", sha))
                elif r < 0.04:
                    later.append(LabelEvent(cid, doc, task, None, w, "", "manual", "", sha))
                    if rng.random() < 0.5:
                        later.append(LabelEvent(cid, doc, task, _pick(rng, dist), w, "", "manual", "", sha))
                if n >= events:
                    break
            if n >= events:
                break
        if len(who) > 1 and rng.random() < 0.005:
            later.append(LabelEvent(cid, doc, "civility", truth["civility"], "lead", "", "adjudicated", "", sha))
    for ev in later:  # changes come after the first pass, in time order
        if n >= events:
            break
        fixed = LabelEvent(ev.comment_id, ev.doc, ev.task, ev.value, ev.annotator, stamp_time(), ev.source,
                           ev.note, ev.text_sha)
        by_file.setdefault(ev.annotator, []).append(fixed.to_json())
        n += 1
    labels = folder / "labels"
    labels.mkdir(parents=True, exist_ok=True)
    for old in labels.glob("*.jsonl"):
        old.unlink()
    for w, lines in by_file.items():
        (labels / f"{w}.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    info = {"want": want, "events": n, "annotators": len([w for w in by_file if w != "lead"]),
            "comments": units, "pages": pages, "corpus_comments": len(items)}
    stamp.write_text(json.dumps(info))
    return info


def write_import_csv(path: Path, folder: Path, rows: int, annotators: int, seed: int = 0) -> None:
    """``rows`` import rows (comment_id,task,value,annotator) on the comments of ``folder/pages``."""
    from modkit.labels import Corpus

    if path.exists() and path.with_suffix(".json").exists() and json.loads(path.with_suffix(".json").read_text()) == [rows, annotators, seed]:
        return
    ids = Corpus.read(folder / "pages").ids()
    rng = random.Random(f"import:{seed}:{rows}")
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["comment_id", "task", "value", "annotator"])
        for _ in range(rows):
            task = rng.choice(list(TRUTH))
            w.writerow([rng.choice(ids), task, _pick(rng, TRUTH[task]), f"imp{rng.randrange(annotators):04d}"])
    path.with_suffix(".json").write_text(json.dumps([rows, annotators, seed]))


# -- the parts, each in a fresh process -------------------------------------------------------


def run_part(part: str, folder: Path, csv_path: str | None) -> dict[str, object]:
    """Do one part in this process; returns what it found (counts, the timed call's seconds)."""
    from modkit.labels import Corpus, LabelStore, compute_stats, load_schema

    store = LabelStore(folder / "labels")
    schema = load_schema(None)
    out: dict[str, object] = {}
    if part == "read":
        out["events"] = sum(1 for _ in store.events())
    elif part == "current":
        texts = Corpus.read(folder / "pages").texts()
        t = time.perf_counter()
        out["current"] = len(store.current([], texts))
        out["timed"] = time.perf_counter() - t
    elif part == "resolved":
        texts = Corpus.read(folder / "pages").texts()
        t = time.perf_counter()
        res = store.resolved([], texts)
        out["timed"] = time.perf_counter() - t
        out["resolved"], out["ties"] = len(res), sum(r.tie for r in res.values())
    elif part == "agreement":
        from modkit.labels import agreement

        cur = store.current([])
        t = time.perf_counter()
        if hasattr(agreement, "task_agreement"):
            ags = {task: agreement.task_agreement(cur, task) for task in schema.task_names}
        else:  # an older modkit: the whole stats
            ags = compute_stats(store, schema).agreement
        out["timed"] = time.perf_counter() - t
        out["alpha"] = {t: round(a.alpha, 4) for t, a in ags.items()}
        out["pairs"] = {t: len(a.kappa) for t, a in ags.items()}
    elif part == "stats":
        corpus = Corpus.read(folder / "pages")
        t = time.perf_counter()
        st = compute_stats(store, schema, corpus)
        out["timed"] = time.perf_counter() - t
        out["disagreements"] = len(st.disagreements)
        out["alpha"] = {t: round(a.alpha, 4) for t, a in st.agreement.items()}
    else:
        raise SystemExit(f"unknown part {part!r}")
    return out


def _spawn(cmd: list[str], env: dict[str, str], timeout: float, capture: bool) -> tuple[int, str, str, float, float]:
    """Run ``cmd``; ``(returncode, stdout, stderr, wall seconds, peak RSS MB)`` of that child."""
    import tempfile

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out if capture else subprocess.DEVNULL, stderr=err, env=env, cwd=ROOT)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                status = -9
                break
            time.sleep(0.02)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status) if status != -9 else -9
        out.seek(0)
        err.seek(0)
        return proc.returncode, out.read(), err.read(), wall, usage.ru_maxrss / 1024


def measure_part(part: str, folder: Path, src: str | None, csv_path: Path | None = None,
                 timeout: float = 1800) -> dict[str, object]:
    env = dict(os.environ, NO_COLOR="1", COLUMNS="120")
    if src:
        env["PYTHONPATH"] = src
    if part == "cli":
        cmd = [sys.executable, "-m", "modkit", "labels", "stats", "--pages", str(folder / "pages"),
               "--labels", str(folder / "labels")]
    elif part == "import":
        target = folder / "import-target"
        if target.exists():
            import shutil

            shutil.rmtree(target)
        cmd = [sys.executable, "-m", "modkit", "labels", "import", str(csv_path), "--pages", str(folder / "pages"),
               "--labels", str(target)]
    else:
        cmd = [sys.executable, __file__, "--part", part, "--dir", str(folder)]
    rc, stdout, stderr, wall, rss = _spawn(cmd, env, timeout, capture=part != "cli")
    res: dict[str, object] = {"part": part, "wall": round(wall, 2), "rss_mb": round(rss), "rc": rc}
    if rc == -9:
        res["error"] = f"killed after {timeout:.0f} s"
    elif rc != 0:
        res["error"] = (stderr.strip().splitlines() or ["failed"])[-1]
    if part == "import":
        res["said"] = (stderr.strip().splitlines() or [""])[-1]
    elif part != "cli" and rc == 0:
        res.update(json.loads(stdout.strip().splitlines()[-1]))
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", default="50000,200000,1000000", help="store sizes, comma-separated")
    ap.add_argument("--annotators", default="100,1000", help="annotator counts, comma-separated")
    ap.add_argument("--parts", default=",".join(PARTS), help=f"parts to time (of {', '.join(PARTS)})")
    ap.add_argument("--import-rows", default="", help="CSV sizes for the import part (default: the store size)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--src", default=None, help="PYTHONPATH for the timed processes (another modkit's src/)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds before a part is stopped")
    ap.add_argument("--out", default=str(OUT / "results.json"))
    ap.add_argument("--part", help=argparse.SUPPRESS)
    ap.add_argument("--dir", help=argparse.SUPPRESS)
    ap.add_argument("--make", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.part:  # a child: one part, JSON on stdout
        print(json.dumps(run_part(args.part, Path(args.dir), None)))
        return 0
    if args.make:  # a child: the data (the parent stays small: a child's peak RSS counts the parent's at fork)
        n, a, rows = args.make.split(":")
        info = generate(Path(args.dir), int(n), int(a), args.seed)
        for r in (int(x) for x in rows.split(",") if x):
            write_import_csv(Path(args.dir) / f"import-{r}.csv", Path(args.dir), r, int(a), args.seed)
        print(json.dumps(info))
        return 0
    parts = [p for p in args.parts.split(",") if p]
    results = []
    for n in (int(x) for x in args.events.split(",")):
        for a in (int(x) for x in args.annotators.split(",")):
            folder = OUT / f"{n}-{a}"
            t = time.perf_counter()
            rows = args.import_rows or str(n) if "import" in parts else ""
            made = subprocess.run([sys.executable, __file__, "--make", f"{n}:{a}:{rows}", "--dir", str(folder),
                                   "--seed", str(args.seed)], check=True, capture_output=True, text=True)
            info = json.loads(made.stdout.strip().splitlines()[-1])
            print(f"{n:,} events, {a} annotators: {info['comments']:,} comments labeled on {info['pages']:,} pages "
                  f"({time.perf_counter() - t:.1f} s to make)", file=sys.stderr, flush=True)
            for part in parts:
                if part == "import":
                    for rows in [int(x) for x in args.import_rows.split(",") if x] or [n]:
                        csv_path = folder / f"import-{rows}.csv"
                        r = measure_part(part, folder, args.src, csv_path, args.timeout)
                        r.update(events=n, annotators=a, rows=rows)
                        results.append(r)
                        print(json.dumps(r), file=sys.stderr, flush=True)
                    continue
                r = measure_part(part, folder, args.src, None, args.timeout)
                r.update(events=n, annotators=a)
                results.append(r)
                print(json.dumps(r), file=sys.stderr, flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=1))
    print("| events | annotators | part | rows | wall s | peak RSS MB | note |")
    print("|---:|---:|---|---:|---:|---:|---|")
    for r in results:
        note = r.get("error") or r.get("said") or ""
        print(f"| {r['events']:,} | {r['annotators']} | {r['part']} | {r.get('rows', '')} | {r['wall']} | "
              f"{r['rss_mb']} | {note} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

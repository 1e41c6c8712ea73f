"""Fault injection with real processes: SIGKILL ``modkit label --set``, ``modkit labels import``
and ``modkit review`` at random points, then check that nothing confirmed was lost.

    .venv/bin/python bench/kill_bench.py                    # 200 kills (about 10 minutes)
    .venv/bin/python bench/kill_bench.py --kills 30 --seed 7 --json bench/results/kill.json

Each run is ``python -m modkit ...`` in its own process on one labels folder, killed (SIGKILL:
no clean-up, no ``finally``) after a random delay, or left to finish when the delay is longer
than the run. ``MODKIT_TEST_COMMIT_PAUSE`` makes the batch commits of ``labels import`` and
``review`` sleep between their steps (intent record, each file, removal), so kills also land
between the label file and the decision log, not only before or after. Every run writes
something new (a note unique to the run), so "saved" is exact:

- ``label --set``: the labels of the line it printed (``CID: civility=... topic=...``);
- ``labels import``: the N labels of "imported N labels" (all rows carry the run's note);
- ``review``: the N decisions and M label events of "N decisions ..., M label events written".

Checked at the end, with modkit's own readers and ``modkit labels check``: every saved label and
decision is in the store (**lost** must be 0); every line of every file parses, or is a torn
line readers skip (**unparsable** files must be 0); the labels and the decision log agree batch
by batch (a review's label events are visible exactly when its decisions are); then
``labels check --repair`` completes what a kill left and the same checks hold again.
``tests/test_durability.py`` runs the same loop with 15 kills.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
KINDS = ("set", "import", "review")


@dataclass
class Stats:
    runs: int = 0
    kills: int = 0
    completed: int = 0
    kills_by_command: Counter = field(default_factory=Counter)
    batches_cut: int = 0  #: kills that left a batch half-committed (an intent record)
    labels_confirmed: int = 0
    labels_lost: int = 0
    decisions_confirmed: int = 0
    decisions_lost: int = 0
    files_unparsable: int = 0
    torn_lines: int = 0
    disagreements: int = 0  #: batches whose labels and decisions are not both visible
    failures: list[str] = field(default_factory=list)  #: runs that failed without being killed
    problems: list[str] = field(default_factory=list)  #: what was lost or broken, one line each
    seconds: float = 0.0

    def line(self) -> str:
        return (f"runs {self.runs}, kills {self.kills} ({', '.join(f'{k} {n}' for k, n in sorted(self.kills_by_command.items()))}; "
                f"{self.batches_cut} mid-commit), completed {self.completed}, labels confirmed {self.labels_confirmed}, "
                f"labels lost {self.labels_lost}, decisions confirmed {self.decisions_confirmed}, decisions lost "
                f"{self.decisions_lost}, files unparsable {self.files_unparsable}, torn lines {self.torn_lines}, "
                f"label/decision disagreements {self.disagreements}, failed runs {len(self.failures)}, "
                f"{self.seconds:.0f} s")

    @property
    def ok(self) -> bool:
        return not (self.labels_lost or self.decisions_lost or self.files_unparsable or self.disagreements
                    or self.failures or self.problems)


class KillBench:
    """One labels folder under ``work``, and the record of what each run said it saved."""

    def __init__(self, work: Path, seed: int = 0, pause: float = 0.1) -> None:
        from modkit import threads

        self.work = work
        self.labels = work / "labels"
        self.rng = random.Random(seed)
        self.pause = pause
        self.comments = [(c.id, c.doc) for t in threads.read(SEEDS) for c in t.comments]
        self.duration = {k: 0.0 for k in KINDS}  # seconds of the last run left to finish
        self.stats = Stats()
        self.set_labels: list[tuple[str, str, str, str, str]] = []  # annotator, comment, task, value, note
        self.imports: list[tuple[str, int]] = []  # note, labels
        self.reviews: list[tuple[str, int, int]] = []  # note, decisions, label events

    # -- the commands ---------------------------------------------------------------------------
    def _command(self, kind: str, k: int) -> tuple[list[str], dict]:
        base = [sys.executable, "-m", "modkit"]
        if kind == "set":
            cid, _ = self.rng.choice(self.comments)
            who = f"setter{k % 2}"
            civ, top = self.rng.choice(("civil", "uncivil", "abusive")), self.rng.choice(("on", "off"))
            note = f"set{k}"
            return ([*base, "label", "--set", cid, f"civility={civ}", f"topic={top}", "--note", note,
                     "--annotator", who, "--labels", str(self.labels), str(SEEDS)],
                    {"who": who, "cid": cid, "values": {"civility": civ, "topic": top}, "note": note})
        if kind == "import":
            path = self.work / f"import{k}.csv"
            note = f"imp{k}"
            with open(path, "w", encoding="utf-8", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(["comment_id", "annotator", "civility", "stance", "note"])
                for i, (cid, _) in enumerate(self.comments):
                    w.writerow([cid, f"imp-{'abc'[i % 3]}", self.rng.choice(("civil", "uncivil", "abusive")),
                                self.rng.choice(("agree", "disagree", "neutral")), note])
            return ([*base, "labels", "import", str(path), "--pages", str(SEEDS), "--labels", str(self.labels)],
                    {"note": note})
        path = self.work / f"review{k}.csv"
        note = f"rev{k}"
        with open(path, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["comment_id", "doc", "decision", "reject_code", "note"])
            for cid, doc in self.comments:
                reject = self.rng.random() < 0.5
                w.writerow([cid, doc, "reject" if reject else "approve", "ABUSIVE" if reject else "", note])
        return ([*base, "review", str(path), "--reviewer", "rev", "--pages", str(SEEDS), "--labels", str(self.labels)],
                {"note": note})

    def _confirm(self, kind: str, info: dict, stderr: str) -> None:
        if kind == "set":
            if f"{info['cid']}: " in stderr:
                for task, value in info["values"].items():
                    self.set_labels.append((info["who"], info["cid"], task, value, info["note"]))
            return
        if kind == "import":
            m = re.search(r"imported (\d+) labels", stderr)
            if m:
                self.imports.append((info["note"], int(m.group(1))))
            return
        m = re.search(r"(\d+) decisions? .*?, (\d+) label events? written", stderr)
        if m:
            self.reviews.append((info["note"], int(m.group(1)), int(m.group(2))))

    def run_one(self, kind: str, k: int, kill: bool) -> None:
        args, info = self._command(kind, k)
        journal = self.labels / ".journal"
        before = set(journal.glob("*.json"))
        env = {**os.environ, "NO_COLOR": "1", "MODKIT_TEST_COMMIT_PAUSE": str(self.pause)}
        start = time.monotonic()
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=self.work)
        self.stats.runs += 1
        killed = False
        if kill:
            expected = self.duration[kind] or 2.0
            # from start-up to past the usual end: about a third of the runs finish and say what they saved
            delay = self.rng.uniform(0.2 * expected, 1.5 * expected)
            try:
                proc.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                killed = True
        out, errs = proc.communicate(timeout=300)
        if killed:
            self.stats.kills += 1
            self.stats.kills_by_command[kind] += 1
            if set(journal.glob("*.json")) - before:  # its own batch, left half-committed
                self.stats.batches_cut += 1
            return
        self.stats.completed += 1
        if not kill or not self.duration[kind]:
            self.duration[kind] = time.monotonic() - start
        if proc.returncode != 0:
            self.stats.failures.append(f"{kind} run {k} exited {proc.returncode}: {errs.strip()[-300:]}")
            return
        self._confirm(kind, info, errs)

    def run(self, kills: int, budget: float | None = None) -> Stats:
        """Until ``kills`` kills (or ``budget`` seconds): each command once unkilled (to time
        it), then runs killed at random points, cycling through the three commands."""
        start = time.monotonic()
        k = 0
        for kind in KINDS:
            self.run_one(kind, k, kill=False)
            k += 1
        while self.stats.kills < kills and (budget is None or time.monotonic() - start < budget):
            self.run_one(KINDS[k % 3], k, kill=True)
            k += 1
        self.verify("after the kills")
        r = subprocess.run([sys.executable, "-m", "modkit", "labels", "check", "--repair", "--labels", str(self.labels),
                            "--pages", str(SEEDS)], capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})
        if r.returncode != 0:
            self.stats.problems.append(f"labels check --repair exited {r.returncode}: {r.stdout.strip()[-500:]}")
        self.verify("after labels check --repair", count=False)
        self.stats.seconds = time.monotonic() - start
        return self.stats

    # -- the checks -----------------------------------------------------------------------------
    def verify(self, when: str, count: bool = True) -> None:
        from modkit.labels import LabelStore, check_store
        from modkit.review import DecisionLog, decision_record

        st = self.stats
        store, log = LabelStore(self.labels), DecisionLog(self.labels)
        report = check_store(self.labels, logs={log.path: decision_record})
        bad_files = {p.path for p in report.problems if p.kind not in ("torn", "pending")}
        if count:
            st.files_unparsable = len(bad_files)
            st.torn_lines = sum(p.kind == "torn" for p in report.problems)
        st.problems += [f"{when}: {p}" for p in report.problems if p.kind not in ("torn", "pending")]
        events = list(store.events([]))
        decisions = list(log.records([]))
        have = Counter((e.annotator, e.comment_id, e.task, e.value, e.note) for e in events)
        lost = [x for x in self.set_labels if not have[x]]
        by_note = Counter(e.note for e in events)
        for note, n in self.imports:
            if by_note[note] < n:
                lost.append((note, n - by_note[note]))
        dec_by_note = Counter(str(d.get("note")) for d in decisions)
        batch_of = {str(d.get("note")): str(d.get("batch", "")) for d in decisions}
        ev_by_batch = Counter(e.batch for e in events if e.batch)
        lost_dec = 0
        for note, n, m in self.reviews:
            lost_dec += max(0, n - dec_by_note[note])
            if ev_by_batch[batch_of.get(note, "?")] < m:
                lost.append((note, m - ev_by_batch[batch_of.get(note, "?")]))
        if count:
            st.labels_confirmed = len(self.set_labels) + sum(n for _, n in self.imports) + sum(m for _, _, m in self.reviews)
            st.decisions_confirmed = sum(n for _, n, _ in self.reviews)
        st.labels_lost = max(st.labels_lost, sum(1 if len(x) == 5 else x[1] for x in lost))
        st.decisions_lost = max(st.decisions_lost, lost_dec)
        st.problems += [f"{when}: lost {x}" for x in lost[:20]]
        # labels and decisions agree: per batch, a review's events are visible iff its decisions are
        review_batches = {e.batch for e in events if e.source == "review" and e.batch}
        decision_batches = {str(d.get("batch")) for d in decisions if d.get("batch")}
        for b in review_batches ^ decision_batches:
            st.disagreements += 1
            st.problems.append(f"{when}: batch {b} has {'labels' if b in review_batches else 'decisions'} only")
        written = {(e.batch, e.comment_id, e.task, e.value) for e in events if e.batch}
        for d in decisions:
            for task, value in (d.get("labels") or {}).items():
                if (d.get("batch"), d["comment_id"], task, value) not in written:
                    st.disagreements += 1
                    st.problems.append(f"{when}: decision on {d['comment_id']} ({d.get('batch')}) without its "
                                       f"label {task}={value}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=200, help="How many SIGKILLs (default 200).")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pause", type=float, default=0.1, help="MODKIT_TEST_COMMIT_PAUSE, seconds (0: none).")
    ap.add_argument("--json", type=Path, help="Also write the figures as JSON to this file.")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="modkit-kill-") as work:
        bench = KillBench(Path(work), args.seed, args.pause)
        stats = bench.run(args.kills)
    print(stats.line())
    for p in stats.problems[:30] + stats.failures[:10]:
        print("  " + p)
    if args.json:
        d = asdict(stats)
        d["kills_by_command"] = dict(stats.kills_by_command)
        args.json.write_text(json.dumps(d, indent=2) + "\n", encoding="utf-8")
    sys.exit(0 if stats.ok else 1)


if __name__ == "__main__":
    main()

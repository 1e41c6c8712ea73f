"""Crash safety with real processes, no mocks: SIGKILLs at random points, a full disk (a real
tmpfs), two writers on one file, and the all-or-nothing batches of `labels import` and `review`.

The kill loop is bench/kill_bench.py's (200 kills there, 15 here).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from modkit import threads
from modkit.labels import LabelEvent, LabelStore, check_store
from modkit.labels import journal as J
from modkit.review import DecisionLog

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
sys.path.insert(0, str(ROOT / "bench"))
import kill_bench  # noqa: E402

COMMENTS = [(c.id, c.doc) for t in threads.read(SEEDS) for c in t.comments]


def run(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "modkit", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}, timeout=300)


def one_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def leftovers(folder: Path) -> list[Path]:
    """Temporary files modkit's writers may leave when they fail (none must be left)."""
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp") or ".tmp-" in p.name]


def review_csv(path: Path, note: str, decide=lambda i: "approve") -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["comment_id", "doc", "decision", "reject_code", "note"])
        for i, (cid, doc) in enumerate(COMMENTS):
            d = decide(i)
            w.writerow([cid, doc, d, "ABUSIVE" if d == "reject" else "", note])
    return path


# -- SIGKILL at random points ------------------------------------------------------------------
def test_random_kills_of_label_import_and_review_lose_nothing_confirmed(tmp_path):
    bench = kill_bench.KillBench(tmp_path, seed=11, pause=0.1)
    stats = bench.run(kills=15, budget=50)
    assert stats.kills >= 5, stats.line()  # a loaded machine may get fewer than 15 into the budget
    assert stats.labels_confirmed > 0 and stats.completed >= 3, stats.line()
    assert stats.labels_lost == 0 and stats.decisions_lost == 0, stats.problems
    assert stats.files_unparsable == 0 and stats.disagreements == 0, stats.problems
    assert stats.ok, (stats.line(), stats.problems, stats.failures)
    assert not list((tmp_path / "labels" / ".journal").glob("*.json")), "--repair completes every batch"


def test_a_review_killed_between_labels_and_decisions_shows_neither_then_completes(tmp_path):
    labels = tmp_path / "labels"
    f = review_csv(tmp_path / "r.csv", "first")
    env = {"MODKIT_TEST_COMMIT_PAUSE": "2"}  # sleeps after the intent record and after each file
    proc = subprocess.Popen([sys.executable, "-m", "modkit", "review", str(f), "-r", "ana", "--pages", str(SEEDS),
                             "--labels", str(labels)], env={**os.environ, **env}, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        label_file = labels / "ana.jsonl"
        for _ in range(600):  # wait until the label file got its lines, i.e. the kill lands before the log
            if label_file.exists() and label_file.stat().st_size:
                break
            proc.poll()
            assert proc.returncode is None, proc.stderr.read()
            time.sleep(0.05)
        else:
            pytest.fail("the review never wrote its label file")
    finally:
        proc.kill()
        proc.wait()
    assert not (labels / "review" / "decisions.jsonl").exists() or not DecisionLog(labels).path.read_text()
    assert len(J.pending(labels)) == 1
    assert list(LabelStore(labels).events()) == [], "labels of an uncommitted batch are hidden"
    r = run("labels", "check", "--labels", str(labels), cwd=tmp_path)
    assert r.returncode == 1 and "not committed" in r.stdout and r.stdout.count("\n") == 1, r.stdout
    # the re-run completes the batch, then finds every decision already imported
    r = run("review", str(f), "-r", "ana", "--pages", str(SEEDS), "--labels", str(labels), cwd=tmp_path)
    assert r.returncode == 0 and f"0 decisions (none new), 0 label events written" in r.stderr, r.stderr
    assert f"{len(COMMENTS)} already imported" in r.stderr
    decisions = list(DecisionLog(labels).records())
    events = list(LabelStore(labels).events())
    assert len(decisions) == len(COMMENTS) and len({d["batch"] for d in decisions}) == 1
    assert {e.batch for e in events} == {decisions[0]["batch"]} and len(events) == 2 * len(COMMENTS)
    assert run("labels", "check", "--labels", str(labels), cwd=tmp_path).returncode == 0
    assert not J.pending(labels)


def test_a_batch_cut_in_the_middle_of_a_file_is_completed_without_duplicates(tmp_path):
    """A kill inside the append of a large import (here: the record written, half of one file's
    bytes appended, as a kill during the write leaves them) is completed line by line."""
    labels = tmp_path / "labels"
    store = LabelStore(labels)
    store.append([LabelEvent(COMMENTS[0][0], COMMENTS[0][1], "civility", "civil", "ana")])
    events = [LabelEvent(cid, doc, "civility", "uncivil", who, batch="import-x-1")
              for cid, doc in COMMENTS for who in ("ana", "bob")]
    by_file = {p: lines for p, lines in store.lines_by_file(events).items()}
    (labels / ".journal").mkdir()
    (labels / ".journal" / "import-x-1.json").write_text(json.dumps(
        {"batch": "import-x-1", "kind": "import", "files": {p.name: lines for p, lines in by_file.items()}}))
    ana = labels / "ana.jsonl"
    payload = "".join(line + "\n" for line in by_file[ana]).encode()
    with open(ana, "ab") as fh:
        fh.write(payload[: len(payload) // 2 + 7])  # 19 whole lines (of 38), then a torn one
    assert len(list(store.events())) == 1, "only the committed label is visible"
    assert J.recover(labels) == ["import-x-1"]
    got = list(store.events([]))
    assert len(got) == 1 + len(events)
    assert sorted(e.to_json() for e in got if e.batch) == sorted(e.to_json() for e in events)
    report = check_store(labels)
    assert [p.kind for p in report.problems] == ["torn"], report.problems  # the cut line, kept, skipped
    assert J.recover(labels) == [] and len(list(store.events())) == 1 + len(events)


# -- a full disk -------------------------------------------------------------------------------
@pytest.fixture
def full_disk(tmp_path):
    """A 64 KiB tmpfs (we are root in CI); skipped where it cannot be mounted."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill up: {r.stderr.strip() or r.returncode}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def fill(folder: Path) -> None:
    """Fill the disk up to its last byte (unbuffered: every write reaches the file system)."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for size in (4096, 1):
            try:
                while os.write(fd, b"x" * size):
                    pass
            except OSError:
                pass
    finally:
        os.close(fd)


def test_a_full_disk_is_one_line_and_leaves_every_old_file_intact(full_disk, tmp_path):
    labels = full_disk / "labels"
    r = run("label", "--set", COMMENTS[0][0], "civility=civil", "-a", "ana", "--labels", str(labels), str(SEEDS),
            cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    old_out = full_disk / "threads.csv"
    old_out.write_text("old\n")
    fill(full_disk)

    def files() -> dict[Path, bytes]:  # lock files (empty, hidden) are left by design: see safeio.locked
        return {p: p.read_bytes() for p in full_disk.rglob("*")
                if p.is_file() and p.name != "filler" and not p.name.endswith(".lock")}

    before = files()
    imp = tmp_path / "imp.csv"
    imp.write_text("comment_id,civility,note\n" + "".join(f"{cid},uncivil,{'n' * 200}\n" for cid, _ in COMMENTS))
    note = "y" * 9000  # needs new blocks: the append cannot fit
    cases = [
        ("label", "--set", COMMENTS[1][0], "civility=abusive", "--note", note, "-a", "ana", "--labels", str(labels),
         str(SEEDS)),
        ("label", "--set", COMMENTS[1][0], "civility=abusive", "--note", note, "-a", "newbie", "--labels",
         str(labels), str(SEEDS)),
        ("labels", "import", str(imp), "-a", "bob", "--labels", str(labels), "--pages", str(SEEDS)),
        ("review", str(review_csv(tmp_path / "r.csv", "n" * 300)), "-r", "ana", "--labels", str(labels), "--pages",
         str(SEEDS)),
        ("threads", str(SEEDS), "-f", "csv", "-o", str(old_out)),
        ("threads", str(SEEDS), "-f", "jsonl", "-o", str(full_disk / "new.jsonl")),
        ("labels", "export", "--out", str(full_disk / "export.csv"), "--labels", str(labels), "--pages", str(SEEDS)),
        ("report", str(SEEDS), "--out", str(full_disk / "report.html")),
    ]
    for args in cases:
        r = run(*args, cwd=tmp_path)
        assert r.returncode == 1, (args, r.stderr)
        # warnings and the notes of pages without a comment section (threads reads pages ahead
        # in workers, so their notes may come before the failed write) are not errors
        line = [ln for ln in r.stderr.splitlines()
                if ln.strip() and not ln.startswith("warning:") and not ln.endswith(": no comment section")]
        assert len(line) == 1 and "No space left on device" in line[0] and "Traceback" not in r.stderr, (args, r.stderr)
        now = files()
        assert now == before, (args, set(now) ^ set(before))  # no new, changed, temporary or empty file
    assert not leftovers(full_disk)
    assert not (labels / "newbie.jsonl").exists() and not (labels / "bob.jsonl").exists()
    assert run("labels", "check", "--labels", str(labels), cwd=tmp_path).returncode == 0


# -- two writers at once -----------------------------------------------------------------------
WRITER = textwrap.dedent("""
    import sys
    from modkit.labels import LabelEvent, LabelStore
    store, who, n = LabelStore(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    for i in range(n):
        store.append([LabelEvent("c%d" % i, "d", "civility", "civil", "shared", note=f"{who}-{i}")])
""")


def test_two_processes_appending_to_one_annotator_file_lose_no_line(tmp_path):
    labels = tmp_path / "labels"
    n = 300
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(labels), who, str(n)]) for who in ("a", "b")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    lines = (labels / "shared.jsonl").read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) == 2 * n + 1
    notes = [json.loads(raw)["note"] for raw in lines[:-1]]
    for who in ("a", "b"):
        assert [x for x in notes if x.startswith(who + "-")] == [f"{who}-{i}" for i in range(n)]
    assert check_store(labels).ok


def test_two_imports_at_once_both_land_whole(tmp_path):
    labels = tmp_path / "labels"
    files = []
    for who in ("ann", "ben"):
        f = tmp_path / f"{who}.csv"
        f.write_text("comment_id,annotator,civility,topic\n" + "".join(
            f"{cid},{who}{i % 2},civil,on\n" for i, (cid, _) in enumerate(COMMENTS)))
        files.append(f)
    procs = [subprocess.Popen([sys.executable, "-m", "modkit", "labels", "import", str(f), "--labels", str(labels),
                               "--pages", str(SEEDS)], stderr=subprocess.PIPE, text=True) for f in files]
    errs = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errs
    events = list(LabelStore(labels).events())
    assert len(events) == 4 * len(COMMENTS) and len({e.batch for e in events}) == 2
    assert check_store(labels).ok and not J.pending(labels)


# -- refusing to write over a moderator's work; --out checked first -----------------------------
def test_flag_refuses_to_overwrite_a_reviewed_csv_unless_forced(tmp_path):
    out = tmp_path / "flagged.csv"
    review_csv(out, "", decide=lambda i: "reject" if i == 3 else "")
    before = out.read_bytes()
    r = run("flag", str(SEEDS), "--out", str(out), cwd=tmp_path)
    assert r.returncode == 1 and "1 row holds a moderator's decisions" in one_line(r.stderr) and "--force" in r.stderr
    assert out.read_bytes() == before
    r = run("flag", str(SEEDS), "--out", str(out), "--force", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() != before and not leftovers(tmp_path)


@pytest.mark.parametrize("args", [
    ("flag", str(SEEDS), "--out", "{missing}/f.csv"),
    ("threads", str(SEEDS), "-f", "csv", "-o", "{missing}/t.csv"),
    ("threads", str(SEEDS), "-f", "convokit", "-o", "{missing}/corpus"),
    ("report", str(SEEDS), "--out", "{missing}/r.html"),
    ("labels", "export", "--out", "{missing}/e.csv", "--pages", str(SEEDS)),
    ("flag", str(SEEDS), "--out", "{readonly}/f.csv"),
    ("threads", str(SEEDS), "-f", "jsonl", "-o", "{readonly}/t.jsonl"),
])
def test_an_unwritable_out_folder_fails_first_in_one_line(tmp_path, args):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    if os.access(ro, os.W_OK) and os.geteuid() == 0:  # root ignores the mode: a read-only bind mount instead
        r = subprocess.run(["mount", "--bind", "-o", "ro", str(ro), str(ro)], capture_output=True)
        if r.returncode != 0:
            if "{readonly}" in " ".join(args):
                pytest.skip("cannot make a read-only folder as root here")
        else:
            subprocess.run(["mount", "-o", "remount,ro,bind", str(ro)], capture_output=True)
    try:
        full = [a.format(missing=tmp_path / "nosuch", readonly=ro) for a in args]
        r = run(*full, cwd=tmp_path)
        line = one_line(r.stderr)
        assert r.returncode == 1 and "cannot write" in line, r.stderr
        assert "does not exist" in line or "Read-only" in line or "Permission denied" in line, line
        assert not list(tmp_path.rglob("*.tmp")) and not list(ro.iterdir())
    finally:
        subprocess.run(["umount", str(ro)], capture_output=True)
        ro.chmod(0o755)


def test_review_interactive_without_a_terminal_exits_2_at_once(tmp_path):
    f = review_csv(tmp_path / "r.csv", "")
    r = subprocess.run([sys.executable, "-m", "modkit", "review", str(f), "-r", "ana", "--interactive", "--pages",
                        str(SEEDS), "--labels", str(tmp_path / "L")], stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and "needs an interactive terminal" in one_line(r.stderr)
    assert not (tmp_path / "L").exists()


def test_labels_import_of_a_10_mb_cell_is_one_line_and_writes_nothing(tmp_path):
    labels = tmp_path / "labels"
    big_id = tmp_path / "id.csv"
    big_id.write_text("comment_id,civility\n" + "c" * 10_000_000 + ",civil\n")
    big_note = tmp_path / "note.csv"
    big_note.write_text(f"comment_id,civility,note\n{COMMENTS[0][0]},civil," + "x" * 10_000_000 + "\n")
    for f, needle in ((big_id, "unknown comment id"), (big_note, "note of 10,000,000 characters")):
        r = run("labels", "import", str(f), "-a", "ann", "--labels", str(labels), "--pages", str(SEEDS), cwd=tmp_path)
        line = one_line(r.stderr)
        assert r.returncode == 1 and needle in line and "nothing imported" in line and len(line) < 400, line
    assert not labels.exists() or not list(labels.glob("*.jsonl"))


"""`modkit forget` (GDPR Art. 17) and `modkit export-author` (Art. 15) on a copy of the real seeds
and labels, with labels added by the real `modkit label --set`, `labels import`, `labels adjudicate`
and a real `modkit review` run."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import run_modkit
from modkit import privacy, review, threads
from modkit.labels import Corpus, LabelStore, compute_stats, load_schema, text_sha
from modkit.safeio import locked

ROOT = Path(__file__).resolve().parent.parent
AUTHOR = "giggig"  # two long comments on page 001, named and quoted in the gold notes and GUIDELINES.md
REPLY = "c90977f701d9b"  # Andrey: "giggig must be from Israel: ..."
OTHER = "c605759702256"  # Marine5484, replying to giggig's repost


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    r = run_modkit(*args, cwd=cwd)
    assert r.returncode == 0, r.stderr
    return r


def _theirs(work: Path) -> list:
    return [c for t in threads.read(work / "seeds") for c in t.comments if c.author == AUTHOR]


def _build(work: Path) -> None:
    """Labels about the author written the ways modkit writes them."""
    first, second = (c.id for c in _theirs(work))
    full = _theirs(work)[0].text
    _run("label", "--set", first, "civility=uncivil", "topic=on", "-a", "mod2", "seeds",
         "--note", f"{AUTHOR} again: 'Stalin,Khrushchev and putin = kgb'", cwd=work)
    with open(work / "import.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["comment_id", "civility", "note"])
        w.writerow([OTHER, "uncivil", f"answers {first}, which said: {full}"])
        w.writerow([second, "uncivil", "repost, same words"])
    _run("labels", "import", "import.csv", "-a", "imp", "--pages", "seeds", cwd=work)
    _run("labels", "adjudicate", "--set", second, "stance=disagree", "-a", "adj", "--pages", "seeds",
         "--note", f"{AUTHOR.upper()}'s repost: judged like the first copy", cwd=work)
    cols = ["comment_id", "doc", "author", "timestamp", "text", "flags", "model", "text_sha", "decision",
            "reject_code", "note", "labels"]
    rows = []
    for t in threads.read(work / "seeds"):
        for c in t.comments:
            row = {"comment_id": c.id, "doc": c.doc, "author": c.author, "timestamp": c.timestamp, "text": c.text,
                   "flags": "", "model": "default@1234", "text_sha": text_sha(c.text), "decision": "",
                   "reject_code": "", "note": "", "labels": ""}
            if c.id == first:
                row.update(flags="UNCIVIL", decision="reject", reject_code="OFFENSIVE",
                           note=f"{AUTHOR} posts this twice")
            elif c.id == second:
                row.update(labels="civility=uncivil", note=f"same as {first}")
            elif c.id == REPLY:
                row.update(flags="UNCIVIL", decision="approve", note=f"answers {AUTHOR}, not abusive")
            elif c.id == OTHER:
                row.update(flags="UNCIVIL", decision="reject", reject_code="OFFENSIVE")
            rows.append(row)
    with open(work / "flagged-reviewed.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)
    r = _run("review", "flagged-reviewed.csv", "--reviewer", "mod1", "--pages", "seeds", cwd=work)
    assert "4 decisions" in r.stderr, r.stderr


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("built")
    shutil.copytree(ROOT / "seeds", work / "seeds")
    shutil.copytree(ROOT / "labels", work / "labels")  # schema, GUIDELINES.md, the gold labels
    _build(work)
    return work


@pytest.fixture
def work(built: Path, tmp_path: Path) -> Path:
    shutil.copytree(built, tmp_path / "w")
    return tmp_path / "w"


def _files(labels: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(labels.rglob("*")) if p.is_file()}


def _assert_erased(work: Path) -> None:
    """No file under labels/ holds the author's name, a text of theirs, its JSON form, its
    text_sha or a comment id of theirs, in any case."""
    theirs = _theirs(work)
    needles = [AUTHOR]
    for c in theirs:
        needles += [c.text, json.dumps(c.text, ensure_ascii=False)[1:-1], text_sha(c.text), c.id]
    for path, data in _files(work / "labels").items():
        for needle in needles:
            b = needle.encode("utf-8")
            assert b not in data and b.lower() not in data.lower(), f"{path} still holds {needle[:40]!r}"


def _stats(work: Path) -> dict:
    labels = work / "labels"
    st = compute_stats(LabelStore(labels), load_schema(labels), Corpus.read(work / "seeds"))
    rv = review.stats(labels)
    return {
        "warnings": st.warnings, "counts": st.counts, "per_annotator": st.per_annotator,
        "agreement": {t: (a.items, a.percent, round(a.alpha, 9)) for t, a in st.agreement.items()},
        "disagreements": len(st.disagreements), "adjudicated": st.adjudicated,
        "review": rv.to_dict()["flags"], "reviewers": rv.to_dict()["reviewers"], "audit": len(rv.audit),
        "events": sum(1 for _ in LabelStore(labels).events()),
    }


# -- export-author -------------------------------------------------------------------------------
def test_export_author_holds_their_comments_labels_decisions_and_mentions(work):
    r = _run("export-author", AUTHOR, "--pages", "seeds", "--out", "me.json", cwd=work)
    assert "2 comments" in r.stderr
    data = json.loads((work / "me.json").read_text(encoding="utf-8"))
    theirs = _theirs(work)
    assert [(c["id"], c["text"], c["doc"]) for c in data["comments"]] == [(c.id, c.text, c.doc) for c in theirs]
    first, second = theirs[0].id, theirs[1].id
    by_who = {(e["annotator"], e["comment_id"], e["task"], e["source"]) for e in data["labels"]}
    assert ("gold-a", first, "civility", "manual") in by_who and ("gold-b", second, "stance", "manual") in by_who
    assert ("mod2", first, "civility", "manual") in by_who  # label --set
    assert ("imp", second, "civility", "import") in by_who  # labels import
    assert ("adj", second, "stance", "adjudicated") in by_who  # labels adjudicate
    assert ("mod1", first, "civility", "review") in by_who  # modkit review
    assert data["resolved"][second]["stance"] == "disagree"  # the adjudication wins
    assert {(d["comment_id"], d["decision"]) for d in data["decisions"]} == {(first, "reject"), (second, "correct")}
    mentioned = {(Path(m["file"]).name, m.get("comment_id")) for m in data["mentions"]}
    assert ("decisions.jsonl", REPLY) in mentioned and ("imp.jsonl", OTHER) in mentioned
    assert ("GUIDELINES.md", None) in mentioned
    assert (work / "me.json").stat().st_mode & 0o077 == 0  # the requester's copy only


def test_export_author_to_stdout_is_json_and_an_unknown_author_holds_nothing(work):
    r = _run("export-author", "nobody-here", "--pages", "seeds", cwd=work)
    data = json.loads(r.stdout)
    assert data["comments"] == data["labels"] == data["decisions"] == []
    assert "no comment by that author" in r.stderr


# -- forget ------------------------------------------------------------------------------------
def test_forget_erases_name_texts_and_ids_from_every_file_under_labels(work):
    r = _run("forget", "--author", AUTHOR, "--pages", "seeds", "--by", "dpo", cwd=work)
    assert "2 comments by the author" in r.stderr
    assert "labels/gold-a.jsonl: 6 label events scrubbed" in r.stderr
    assert "labels/review/decisions.jsonl: 3 decisions scrubbed" in r.stderr  # theirs two, the reply's note
    assert "labels/GUIDELINES.md:" in r.stderr and "not a modkit record" in r.stderr
    assert "not modified: the pages" in r.stderr
    assert AUTHOR not in r.stderr.lower()  # the summary does not repeat the name either
    _assert_erased(work)
    assert (work / "seeds").is_dir() and _theirs(work)  # the site's pages stay as they were

    tomb = privacy.erasures(work / "labels")
    assert len(tomb) == 1
    t = tomb[0]
    assert (t["event"], t["by"], t["comments"]) == ("erasure", "dpo", 2)
    assert t["records_scrubbed"] > 0 and t["files_changed"] >= 7 and t["time"]
    raw = (work / "labels" / privacy.ERASURE_LOG).read_text(encoding="utf-8").lower()
    for secret in (AUTHOR, hashlib.sha256(AUTHOR.encode()).hexdigest()[:12], *(c.id for c in _theirs(work))):
        assert secret.lower() not in raw

    # the events stay, pseudonymised the same way in every file; their notes are gone
    events = [e for e in LabelStore(work / "labels").events() if e.comment_id.startswith("erased-")]
    assert {e.comment_id for e in events} == {f"erased-{t['id']}-1", f"erased-{t['id']}-2"}
    assert {e.annotator for e in events} >= {"gold-a", "gold-b", "mod1", "mod2", "imp", "adj"}
    assert all(e.note in ("", privacy.REDACTED) and not e.text_sha for e in events)
    other = next(e for e in LabelStore(work / "labels").events() if e.comment_id == OTHER and e.annotator == "imp")
    assert other.note.startswith(f"answers erased-{t['id']}-1, which said: {privacy.REDACTED}")
    reply = next(d for d in review.DecisionLog(work / "labels").records() if d["comment_id"] == REPLY)
    assert reply["note"] == f"answers {privacy.REDACTED}, not abusive"


def test_after_forget_counts_agreement_and_review_stats_are_unchanged_and_train_runs(work):
    before = _stats(work)
    assert before["warnings"] == []
    r_before = json.loads(_run("review", "stats", "--json", cwd=work).stdout)
    _run("forget", "--author", AUTHOR, "--pages", "seeds", "--by", "dpo", cwd=work)
    after = _stats(work)
    assert after == before
    r_after = json.loads(_run("review", "stats", "--json", cwd=work).stdout)
    assert r_after["flags"] == r_before["flags"] and r_after["reviewers"] == r_before["reviewers"]
    assert len(r_after["audit"]) == len(r_before["audit"])
    s = _run("labels", "stats", "--pages", "seeds", cwd=work)
    assert "Agreement per task" in s.stdout and "warning" not in s.stderr
    t = _run("train", "--labels", "labels", "--pages", "seeds", "--data", "none", "--no-eval", "--small",
             "--no-tune", "--identity-swaps", "0", "--out", "models/after", cwd=work)
    card = json.loads((work / "models" / "after" / "model_card.json").read_text(encoding="utf-8"))
    # their labels no longer reach their comment: skipped, so their text no longer trains the model
    assert any("labels name comments not on the pages read; skipped" in w for w in card["warnings"]), t.stderr


def test_a_second_forget_is_a_noop_with_a_clear_message(work):
    _run("forget", "--author", AUTHOR, "--pages", "seeds", "--by", "dpo", cwd=work)
    files = _files(work / "labels")
    r = _run("forget", "--author", AUTHOR, "--pages", "seeds", "--by", "dpo", cwd=work)
    assert "nothing to erase" in r.stderr and "nothing written" in r.stderr
    assert _files(work / "labels") == files
    assert len(privacy.erasures(work / "labels")) == 1


def test_dry_run_says_what_would_change_and_writes_nothing(work):
    files = _files(work / "labels")
    r = _run("forget", "--author", AUTHOR, "--pages", "seeds", "--by", "dpo", "--dry-run", cwd=work)
    assert "would change" in r.stderr and "nothing written (--dry-run)" in r.stderr
    assert _files(work / "labels") == files


def test_an_author_not_on_the_pages_is_named_as_such_and_similar_names_are_offered(work):
    r = _run("forget", "--author", "GIGGIG", "--pages", "seeds", "--by", "dpo", "--dry-run", cwd=work)
    assert "no comment by that author" in r.stderr and "similar: giggig" in r.stderr


# -- crashes, locks, torn lines --------------------------------------------------------------------
KILL_AT_RENAME = textwrap.dedent("""
    import os, signal, sys
    from modkit import privacy
    real, seen = os.replace, [0]
    def replace(src, dst):
        seen[0] += 1
        if seen[0] == int(sys.argv[1]):
            os.kill(os.getpid(), signal.SIGKILL)  # after the new file is written, before the rename
        return real(src, dst)
    os.replace = replace
    privacy.forget("giggig", labels="labels", pages="seeds", by="dpo")
""")


@pytest.mark.parametrize("rename", [1, 3])
def test_a_kill_mid_compaction_leaves_a_parseable_store_and_a_rerun_finishes(work, rename):
    store = LabelStore(work / "labels")
    before = _files(work / "labels")
    n_events = sum(1 for _ in store.events())
    r = subprocess.run([sys.executable, "-c", KILL_AT_RENAME, str(rename)], cwd=work, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == -signal.SIGKILL, r.stderr
    warnings: list[str] = []
    assert sum(1 for _ in store.events(warnings)) == n_events and warnings == []
    assert len(list(review.DecisionLog(work / "labels").records(warnings))) == 4 and warnings == []
    temps = list((work / "labels").glob(".*.tmp"))
    assert len(temps) == 1  # the new copy the kill left behind
    files = sorted(store.files())
    unchanged = [p for p in files if before.get(p) == p.read_bytes()]
    assert len(unchanged) == len(files) - (rename - 1)  # each file is the old one or the new one
    assert not privacy.erasures(work / "labels")  # no tombstone for an erasure that did not finish

    again = _run("forget", "--author", AUTHOR, "--pages", "seeds", "--by", "dpo", cwd=work)
    assert "stale temporary copy of an interrupted write deleted" in again.stderr
    assert not list((work / "labels").glob(".*.tmp"))
    _assert_erased(work)
    assert sum(1 for _ in store.events(warnings)) == n_events and warnings == []


def test_forget_waits_for_the_lock_the_store_appenders_take(work):
    gold_b = work / "labels" / "gold-b.jsonl"
    before = gold_b.read_bytes()
    with locked(gold_b):
        proc = subprocess.Popen([sys.executable, "-m", "modkit", "forget", "--author", AUTHOR, "--pages", "seeds",
                                 "--by", "dpo"], cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            gold_a = work / "labels" / "gold-a.jsonl"  # compacted just before gold-b
            deadline = time.monotonic() + 120
            while b"erased-" not in gold_a.read_bytes():
                assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
                time.sleep(0.1)
            time.sleep(1.0)
            assert proc.poll() is None and gold_b.read_bytes() == before  # waiting for the lock
        except BaseException:
            proc.kill()
            raise
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert b"erased-" in gold_b.read_bytes()
    _assert_erased(work)


def test_a_torn_last_line_is_scrubbed_and_still_skipped(work):
    path = work / "labels" / "gold-a.jsonl"
    with open(path, "ab") as fh:
        fh.write(f'{{"comment_id":"{_theirs(work)[0].id}","note":"{AUTHOR} wro'.encode())
    result = privacy.forget(AUTHOR, labels=work / "labels", pages=work / "seeds", by="dpo")
    assert result.leftovers == []
    _assert_erased(work)
    warnings: list[str] = []
    list(LabelStore(work / "labels").events(warnings))
    assert len(warnings) == 1 and "torn last line" in warnings[0]


# -- what counts as a mention -------------------------------------------------------------------------
@pytest.mark.parametrize("note,expected", [
    ("reply to Giggig, polite", "reply to [erased], polite"),
    ("GIGGIG's repost", "[erased]'s repost"),
    ("giggigs is someone else", "giggigs is someone else"),  # whole names only
    ("quotes 'i do not trust Mr. Putin' again", "quotes '[erased]' again"),  # a quoted part of their text
    ("quotes 'the article' again", "quotes 'the article' again"),  # too short to tell
    ("see c0000000000aa", "see erased-x-1"),
    ("see c0000000000aa-2", "see c0000000000aa-2"),  # another comment's id (a repeat)
])
def test_scrubber_replaces_names_quotes_and_ids(note, expected):
    s = privacy.Scrubber("giggig", ["Stalin,Khrushchev and putin = kgb ,i do not trust Mr. Putin.Relations"],
                         {"c0000000000aa": "erased-x-1"})
    assert s.scrub(note)[0] == expected


def test_scrubber_finds_a_whole_text_across_line_breaks_and_in_json_escapes():
    text = "First line of it\n\nand a second, \"quoted\" line"
    s = privacy.Scrubber("someone", [text], {})
    assert s.scrub("note: First line of it and a second, \"quoted\" line.")[0] == "note: [erased]."
    raw = json.dumps({"note": text}, ensure_ascii=False)
    assert text.split("\n")[0] not in s.scrub(raw)[0]

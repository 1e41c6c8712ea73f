"""`modkit labels check`: one line per problem with file:line, exit 1; `--repair` drops torn and
invalid lines after a backup, keeps every other line byte for byte, completes uncommitted batches."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from modkit import labels as L
from modkit.cli import app
from modkit.labels import journal

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
CORPUS = L.Corpus.read(SEEDS)
A, B = CORPUS.items[0], CORPUS.items[1]


def line(ev: L.LabelEvent) -> bytes:
    return ev.to_json().encode() + b"\n"


def make_store(root: Path) -> tuple[Path, list[bytes]]:
    root.mkdir()
    good = [line(L.LabelEvent(A.id, A.comment.doc, "civility", "civil", "ann", text_sha=A.sha)),
            line(L.LabelEvent(B.id, B.comment.doc, "topic", "off", "ann", text_sha=B.sha))]
    odd = [
        line(L.LabelEvent(A.id, A.comment.doc, "civility", "rude", "ann", text_sha=A.sha)),  # 3 unknown value
        b'{"comment_id":"' + A.id.encode() + b'","doc":"d","task":"civility","va\n',  # 4 torn, mid-file
        line(L.LabelEvent("cnotapage0000", "d", "civility", "civil", "ann")),  # 5 unknown comment
        line(L.LabelEvent(B.id, B.comment.doc, "civility", "civil", "ann", text_sha="0" * 16)),  # 6 stale
        b"not json at all\n",  # 7 invalid
        line(L.LabelEvent("erased-ab12-1", "d", "civility", "civil", "ann")),  # 8 pseudonymised: fine
        b'{"comment_id":"x","doc":"d","task":"civility","value":"civil","annotator":"ann"',  # 9 torn last
    ]
    path = root / "ann.jsonl"
    path.write_bytes(b"".join(good + odd))
    return path, good


def test_check_names_every_problem_by_file_and_line(tmp_path):
    path, _ = make_store(tmp_path / "labels")
    report = L.check_store(tmp_path / "labels", texts=CORPUS.texts())
    got = [(p.line, p.kind) for p in report.problems]
    assert got == [(3, "unknown_value"), (4, "torn"), (5, "unknown_comment"), (6, "stale"), (7, "invalid"),
                   (9, "torn")]
    assert str(report.problems[0]).startswith(f"{path}:3: unknown civility 'rude': expected one of civil")
    without_pages = L.check_store(tmp_path / "labels")
    assert [p.kind for p in without_pages.problems] == ["unknown_value", "torn", "invalid", "torn"]


def test_cli_check_exits_1_and_repair_drops_only_torn_and_invalid_lines(tmp_path):
    labels = tmp_path / "labels"
    path, good = make_store(labels)
    before = path.read_bytes()
    r = CliRunner().invoke(app, ["labels", "check", "--labels", str(labels), "--pages", str(SEEDS)])
    assert r.exit_code == 1 and r.stdout.count("\n") == 6 and f"{path}:4: torn line" in r.stdout
    assert "6 problems" in r.stderr and "--repair" in r.stderr and path.read_bytes() == before
    r = CliRunner().invoke(app, ["labels", "check", "--labels", str(labels), "--pages", str(SEEDS), "--repair"])
    assert r.exit_code == 1, r.output  # unknown value, unknown comment and stale are reported, not dropped
    assert "dropped 3 lines" in r.stderr and r.stdout.count("\n") == 3
    backups = list(labels.glob("ann.jsonl.bak-*"))
    assert len(backups) == 1 and backups[0].read_bytes() == before
    kept = path.read_bytes().split(b"\n")
    assert kept[:2] == [g.rstrip(b"\n") for g in good] and len(kept) == 2 + 4 + 1
    assert all(json.loads(k) for k in kept if k)
    assert not list(labels.rglob("*.tmp"))


def test_repair_completes_a_batch_a_killed_import_left(tmp_path):
    labels = tmp_path / "labels"
    store = L.LabelStore(labels)
    ev = L.LabelEvent(A.id, A.comment.doc, "civility", "abusive", "bob", batch="import-t-1")
    (labels / ".journal").mkdir(parents=True)
    (labels / ".journal" / "import-t-1.json").write_text(json.dumps(
        {"batch": "import-t-1", "files": {"bob.jsonl": [ev.to_json()]}}))
    report = L.check_store(labels)
    assert [p.kind for p in report.problems] == ["pending"] and "not committed" in str(report.problems[0])
    assert list(store.events()) == []
    report = L.repair(labels)
    assert report.ok and report.completed == ["import-t-1"] and not journal.pending(labels)
    assert list(store.events()) == [ev]


def test_check_of_a_clean_store_and_the_decision_log(tmp_path):
    from modkit.review import DecisionLog, decision_record

    labels = tmp_path / "labels"
    L.set_labels(L.LabelStore(labels), L.load_schema(), CORPUS, A.id, ["civility=civil"], annotator="ann")
    log = DecisionLog(labels)
    log.append([{"comment_id": A.id, "decision": "approve", "text_sha": A.sha}])
    log.path.write_bytes(log.path.read_bytes() + b'{"oops": 1}\n')
    report = L.check_store(labels, texts=CORPUS.texts(), logs={log.path: decision_record})
    assert [(p.path, p.line, p.kind) for p in report.problems] == [(log.path, 2, "invalid")]
    assert report.files == 2 and report.records == 2

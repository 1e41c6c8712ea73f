"""The label store: append-only, crash-safe, lock-protected, stale-aware."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from modkit.errors import ModkitError
from modkit.labels import Corpus, LabelEvent, LabelStore, text_sha

SRC = str(Path(__file__).resolve().parent.parent / "src")


def ev(cid="c1", task="civility", value="civil", who="ann", **kw) -> LabelEvent:
    return LabelEvent(cid, "doc", task, value, who, **kw)


def test_append_then_read_round_trips_every_field(tmp_path):
    store = LabelStore(tmp_path)
    e = ev(note="sarcasm, considered uncivil", text_sha="abc", source="import")
    assert store.append([e]) == 1
    assert list(store.events()) == [e]
    line = (tmp_path / "ann.jsonl").read_text()
    assert json.loads(line) == {
        "comment_id": "c1", "doc": "doc", "task": "civility", "value": "civil", "annotator": "ann",
        "time": e.time, "source": "import", "note": "sarcasm, considered uncivil", "text_sha": "abc",
    }


def test_latest_event_wins_and_a_retraction_removes_the_label(tmp_path):
    store = LabelStore(tmp_path)
    store.append([ev(value="civil"), ev(value="uncivil"), ev(task="topic", value="on")])
    assert store.current()[("c1", "civility", "ann")].value == "uncivil"
    store.append([ev(value=None)])
    assert ("c1", "civility", "ann") not in store.current()
    assert len(list(store.events())) == 4  # nothing rewritten


def test_resolved_is_majority_with_ties_flagged_and_adjudication_preferred(tmp_path):
    store = LabelStore(tmp_path)
    store.append([ev(who="a", value="civil"), ev(who="b", value="civil"), ev(who="c", value="uncivil")])
    store.append([ev(cid="c2", who="a", value="civil"), ev(cid="c2", who="b", value="abusive")])
    res = store.resolved()
    assert res[("c1", "civility")].value == "civil" and not res[("c1", "civility")].tie
    assert res[("c2", "civility")].value is None and res[("c2", "civility")].tie
    # an adjudication (by anyone) settles it, and is not counted as an annotator's label
    store.append([ev(cid="c2", who="a", value="uncivil", source="adjudicated")])
    res = store.resolved()
    assert res[("c2", "civility")].value == "uncivil" and res[("c2", "civility")].adjudicated
    assert store.current()[("c2", "civility", "a")].value == "civil"
    assert [e.source for e in res[("c2", "civility")].events] == ["manual", "manual", "adjudicated"]


def test_bad_annotator_name_and_source_are_rejected(tmp_path):
    with pytest.raises(ModkitError, match="annotator '../x'"):
        LabelStore(tmp_path).append([ev(who="../x")])
    with pytest.raises(ModkitError, match="unknown label source 'bot'"):
        LabelStore(tmp_path).append([ev(source="bot")])


def test_torn_last_line_is_reported_and_skipped_and_next_append_is_intact(tmp_path):
    store = LabelStore(tmp_path)
    store.append([ev(cid="c1"), ev(cid="c2")])
    with open(tmp_path / "ann.jsonl", "ab") as fh:
        fh.write(ev(cid="c3").to_json().encode()[:40])  # what a killed writer leaves
    warnings: list[str] = []
    assert [e.comment_id for e in store.events(warnings)] == ["c1", "c2"]
    assert warnings == [f"{tmp_path / 'ann.jsonl'}:3: torn last line (interrupted write?); skipped"]
    store.append([ev(cid="c4")])
    warnings = []
    assert [e.comment_id for e in store.events(warnings)] == ["c1", "c2", "c4"]
    assert len(warnings) == 1 and ":3: invalid line" in warnings[0]


def test_stale_label_is_reported_not_reused(tmp_path, seeds):
    corpus = Corpus.read(seeds)
    it = corpus.items[0]
    store = LabelStore(tmp_path)
    store.append([LabelEvent(it.id, it.comment.doc, "civility", "civil", "ann", text_sha=text_sha("an older text"))])
    store.append([LabelEvent(it.id, it.comment.doc, "topic", "on", "ann", text_sha=it.sha)])
    warnings: list[str] = []
    cur = store.current(warnings, corpus.texts())
    assert (it.id, "topic", "ann") in cur
    assert (it.id, "civility", "ann") not in cur
    assert len(warnings) == 1 and "stale label" in warnings[0] and it.id in warnings[0]
    assert (it.id, "civility", "ann") in store.current()  # without texts nothing is judged stale


WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {src!r})
    from modkit.labels import LabelEvent, LabelStore
    store = LabelStore(sys.argv[1])
    tag, n, pad = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    for i in range(n):
        store.append([LabelEvent(f"c{{i}}", "doc", "civility", "civil", "same", note=f"{{tag}}:{{i}}:" + "x" * pad)])
        print(i, flush=True)  # only after append() returned: the label is durable
""")


def _writer(tmp_path: Path, tag: str, n: int, pad: int) -> subprocess.Popen:
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(src=SRC))
    return subprocess.Popen([sys.executable, str(script), str(tmp_path / "labels"), tag, str(n), str(pad)],
                            stdout=subprocess.PIPE, text=True)


def test_killing_a_writer_mid_stream_loses_no_acknowledged_label(tmp_path):
    # big events so each write takes a while and SIGKILL has a fair chance to land inside one
    proc = _writer(tmp_path, "k", 10**6, 200_000)
    acked = []
    deadline = time.monotonic() + 30
    while len(acked) < 40 and time.monotonic() < deadline:
        acked.append(int(proc.stdout.readline()))
    time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    store = LabelStore(tmp_path / "labels")
    warnings: list[str] = []
    notes = [e.note.split(":")[1] for e in store.events(warnings)]
    got = [int(n) for n in notes]
    assert got == list(range(len(got))), "events lost or reordered"
    assert set(acked) <= set(got), "an acknowledged label is missing"
    # at most one problem, the torn last line, and the store keeps working after it
    assert len(warnings) <= 1 and all("torn last line" in w for w in warnings)
    store.append([ev(who="same", note="after")])
    assert list(store.events())[-1].note == "after"


def test_a_writer_killed_inside_a_write_leaves_a_torn_line_that_is_skipped(tmp_path):
    store = LabelStore(tmp_path)
    store.append([ev(cid=f"c{i}", who="same") for i in range(5)])
    code = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {SRC!r})
        from modkit.labels import LabelEvent
        line = LabelEvent("c5", "doc", "civility", "civil", "same").to_json().encode() + b"\\n"
        fd = os.open({str(tmp_path / 'same.jsonl')!r}, os.O_WRONLY | os.O_APPEND)
        os.write(fd, line[: len(line) // 2])
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    r = subprocess.run([sys.executable, "-c", code], check=False)
    assert r.returncode == -signal.SIGKILL
    warnings: list[str] = []
    assert [e.comment_id for e in store.events(warnings)] == [f"c{i}" for i in range(5)]
    assert len(warnings) == 1 and ":6: torn last line" in warnings[0]


def test_two_writers_at_once_lose_nothing(tmp_path):
    n = 300
    a, b = _writer(tmp_path, "A", n, 2000), _writer(tmp_path, "B", n, 2000)
    assert a.wait(timeout=120) == 0 and b.wait(timeout=120) == 0
    warnings: list[str] = []
    events = list(LabelStore(tmp_path / "labels").events(warnings))
    assert warnings == []
    assert len(events) == 2 * n
    for tag in "AB":
        mine = [int(e.note.split(":")[1]) for e in events if e.note.startswith(tag + ":")]
        assert mine == list(range(n))  # each writer's events complete and in its own order
    raw = (tmp_path / "labels" / "same.jsonl").read_bytes()
    assert raw.endswith(b"\n") and raw.count(b"\n") == 2 * n
    assert os.path.getsize(tmp_path / "labels" / "same.jsonl") == len(raw)


from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
_events = st.lists(st.builds(
    LabelEvent, comment_id=_text.filter(bool), doc=_text, task=st.sampled_from(["civility", "topic"]),
    value=st.one_of(st.none(), _text), annotator=st.just("ann"), time=_text,
    source=st.sampled_from(["manual", "import", "review", "adjudicated"]), note=_text, text_sha=_text,
), min_size=1, max_size=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(evs=_events, cut=st.floats(0, 1))
def test_any_events_round_trip_and_any_truncation_keeps_every_whole_line(tmp_path_factory, evs, cut):
    root = tmp_path_factory.mktemp("store")
    store = LabelStore(root)
    store.append(evs)
    assert list(store.events()) == evs  # newlines, quotes, any unicode survive
    path = root / "ann.jsonl"
    raw = path.read_bytes()
    keep = int(len(raw) * cut)
    path.write_bytes(raw[:keep])
    warnings: list[str] = []
    got = list(store.events(warnings))
    whole = raw[:keep].count(b"\n")
    tail = raw[:keep].split(b"\n")[-1]
    if tail and raw[keep:keep + 1] == b"\n":  # only the newline was cut: the line itself is whole
        whole, tail = whole + 1, b""
    assert got == evs[:whole]
    assert len(warnings) == (1 if tail else 0)

"""`--format convokit` writes a corpus folder that ConvoKit itself loads (the real library)."""

from __future__ import annotations

import json

from modkit import threads
from modkit.threads import render


def load(folder, capsys):
    from convokit import Corpus

    capsys.readouterr()
    corpus = Corpus(filename=str(folder))
    printed = capsys.readouterr().out
    assert "WARNING" not in printed, printed  # ConvoKit prints (not warns) a missing speaker, a bad index...
    return corpus


def test_cli_convokit_corpus_loads_in_convokit_with_every_reply_link(tmp_path, seeds, modkit, capsys):
    r = modkit("threads", str(seeds), "--format", "convokit", "--out", str(tmp_path / "corpus"))
    assert r.returncode == 0, r.stderr
    assert "wrote a ConvoKit corpus of 38 utterances" in r.stderr
    assert sorted(p.name for p in (tmp_path / "corpus").iterdir()) == sorted(render.CONVOKIT_FILES)
    first = json.loads((tmp_path / "corpus" / "utterances.jsonl").read_text(encoding="utf-8").splitlines()[1])
    assert "reply_to" in first

    corpus = load(tmp_path / "corpus", capsys)
    pages = [t for t in threads.read(seeds) if t.comments]
    comments = {c.id: (t, c) for t in pages for c in t.comments}
    assert set(corpus.get_utterance_ids()) == set(comments)
    for uid, (t, c) in comments.items():
        u = corpus.get_utterance(uid)
        assert u.reply_to == (c.parent_id or None)
        assert u.speaker.id == c.author and u.text == c.text
        assert u.meta["doc"] == t.doc and u.meta["depth"] == c.depth and u.meta["timestamp_iso"] == c.timestamp
        top = (t.ancestors(c) or [c])[0]
        assert u.conversation_id == top.id
    # one conversation per top-level comment, each a valid reply tree (ConvoKit's own check)
    tops = [c for t in pages for c in t.comments if not c.parent_id]
    assert sorted(corpus.get_conversation_ids()) == sorted(c.id for c in tops)
    for conv in corpus.iter_conversations():
        assert conv.check_integrity(verbose=False)
        assert conv.meta["doc"] in {t.doc for t in pages}
    jvh = corpus.get_conversation(next(c.id for c in tops if c.author == "j. von hettlingen"))
    assert len(list(jvh.iter_utterances())) == 6
    assert corpus.get_utterance(tops[0].id).timestamp == 1352383320  # 2012-11-08T14:02 read as UTC
    assert corpus.meta["docs"] == [t.doc for t in threads.read(seeds)]


def test_export_ids_that_repeat_across_docs_become_doc_slash_id(tmp_path, capsys):
    path = tmp_path / "cms.jsonl"
    path.write_text(
        '{"id": "1", "parent_id": null, "doc": "a", "author": "ann", "text": "x"}\n'
        '{"id": "2", "parent_id": "1", "doc": "a", "author": "", "text": "y"}\n'
        '{"id": "1", "parent_id": null, "doc": "b", "author": "bob", "text": "z"}\n'
        '{"id": "2", "parent_id": "1", "doc": "b", "author": "ann", "text": "w"}\n',
        encoding="utf-8",
    )
    assert render.write_convokit(threads.iter_threads(path), tmp_path / "c") == 4
    corpus = load(tmp_path / "c", capsys)
    assert sorted(corpus.get_utterance_ids()) == ["1", "2", "b/1", "b/2"]
    assert corpus.get_utterance("b/2").reply_to == "b/1" and corpus.get_utterance("b/2").meta["modkit_id"] == "2"
    assert corpus.get_utterance("2").speaker.id == render.NO_AUTHOR


def test_cli_convokit_needs_out(modkit, seeds):
    r = modkit("threads", str(seeds), "--format", "convokit")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip() == "modkit: error: --format convokit writes a corpus folder: give it with --out PATH"

"""The real `modkit label` command in a real 80x24 terminal (tmux): keys, screen, files, resume."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent



class Term:
    def __init__(self, command: str, cwd: Path, env: dict[str, str]) -> None:
        self.name = f"modkit-{uuid.uuid4().hex[:8]}"
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        # keep the pane open after the command ends so its last output can be read
        shell = f"cd {shlex.quote(str(cwd))} && env {exports} {command}; echo EXIT=$?; sleep 120"
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", "80", "-y", "24", shell], check=True)

    def screen(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-J", "-t", self.name], capture_output=True, check=False,
                              text=True).stdout

    def wait_for(self, text: str, timeout: float = 90) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared on screen:\n{self.screen()}")

    def keys(self, *keys: str) -> None:
        for k in keys:
            subprocess.run(["tmux", "send-keys", "-t", self.name, k], check=True)
            time.sleep(0.15)

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True, check=False)


@pytest.fixture
def term(tmp_path):
    opened: list[Term] = []

    def open_(*args: str) -> Term:
        cmd = " ".join([shlex.quote(sys.executable), "-m", "modkit", "label", *map(shlex.quote, args)])
        env = {"TERM": "xterm-256color", "MODKIT_ANNOTATOR": "tmuxer", "PYTHONPATH": str(ROOT / "src")}
        t = Term(cmd, ROOT, env)
        opened.append(t)
        return t

    yield open_
    for t in opened:
        t.close()


def test_label_quit_and_resume_in_a_real_terminal(term, tmp_path):
    labels = tmp_path / "labels"
    t = term("seeds/", "--labels", str(labels))
    screen = t.wait_for("annotator tmuxer · 1/38")
    assert "What Russia wants from Obama" in screen, screen
    assert "thank you this was help full for my russia project" in screen, screen
    assert "[1]civil [2]uncivil [3]abusive" in screen
    assert "b back  s skip  u undo  n next unlabeled  e note  q quit" in screen
    t.keys("1", "1", "1")  # comment 1: civil, on, agree
    screen = t.wait_for("annotator tmuxer · 2/38")
    assert "(empty comment)" in screen and "↳ 1. connor" in screen
    t.keys("1", "2", "3", "2")  # comment 2 done, comment 3 civility=uncivil
    t.wait_for("civility 3/38 · topic 2/38 · stance 2/38")
    t.keys("u")  # undo comment 3's civility
    t.wait_for("undone: civility=uncivil")
    t.keys("q")
    screen = t.wait_for("EXIT=0")
    assert "tmuxer: 8 label events written this session" in screen, screen
    assert "2/38 comments fully labeled" in screen, screen
    evs = [json.loads(x) for x in (labels / "tmuxer.jsonl").read_text().splitlines()]
    assert [(e["task"], e["value"]) for e in evs] == [
        ("civility", "civil"), ("topic", "on"), ("stance", "agree"),
        ("civility", "civil"), ("topic", "off"), ("stance", "neutral"),
        ("civility", "uncivil"), ("civility", None),
    ]
    # resume: the next run opens on comment 3 (Roses), the first one not fully labeled
    t2 = term("seeds/", "--labels", str(labels))
    screen = t2.wait_for("annotator tmuxer · 3/38")
    assert "Roses" in screen and "As a child of the 1980s" in screen
    t2.keys("q")
    t2.wait_for("EXIT=0")


def test_uncertain_order_without_a_model_says_to_train(term, tmp_path):
    t = term("seeds/", "--labels", str(tmp_path), "--order", "uncertain", "--model", str(tmp_path / "nomodel"))
    screen = t.wait_for("EXIT=")
    assert "no trained model in" in screen and "run `modkit train` first" in screen, screen
    assert "EXIT=2" in screen, screen  # a --model naming nothing: bad usage


def test_uncertain_order_opens_on_the_comment_the_model_is_least_sure_about(term, tmp_path, modkit):
    model_dir = tmp_path / "model"
    r = modkit("train", "--out", str(model_dir), "--limit", "300", "--no-eval", "--small")
    assert r.returncode == 0, r.stderr
    from modkit import flag, model
    from modkit.threads import read

    scores = flag.score(read(ROOT / "seeds"), model.load_model(model_dir))
    top = scores.sort_values("uncertainty", ascending=False, kind="stable").iloc[0]
    t = term("seeds/", "--labels", str(tmp_path / "labels"), "--order", "uncertain", "--model", str(model_dir))
    screen = t.wait_for("annotator tmuxer · 1/38")
    assert f"· {top['author']} ·" in screen
    t.keys("q")
    t.wait_for("EXIT=0")

"""Meta-tests in the style of sqlite-utils' test_docs.py: every command has help text and an
example in the README, and the README's Quickstart has exactly the two set-up commands."""

from __future__ import annotations

import re

import pytest
import typer

from modkit.cli import app
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands(group, prefix: str = "modkit") -> list:
    out: list = []
    for name, cmd in getattr(group, "commands", {}).items():
        path = f"{prefix} {name}"
        out.append((path, cmd))
        out.extend(_commands(cmd, path))
    return out


COMMANDS = _commands(typer.main.get_command(app))


def test_there_are_commands():
    names = {p for p, _ in COMMANDS}
    for expected in ("modkit threads", "modkit label", "modkit labels stats", "modkit train",
                     "modkit flag", "modkit review", "modkit report"):
        assert expected in names


@pytest.mark.parametrize("path,cmd", COMMANDS, ids=[p for p, _ in COMMANDS])
def test_every_command_has_help_and_a_readme_example(path, cmd):
    assert (cmd.help or "").strip(), f"{path} has no help text"
    for param in cmd.params:
        if param.param_type_name == "option" and not getattr(param, "hidden", False):
            assert (param.help or "").strip(), f"{path} {param.opts} has no help text"
    assert re.search(re.escape(path) + r"(\s|`|$)", README), f"README has no example of `{path}`"


def test_quickstart_has_exactly_two_commands():
    quick = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```(?:bash|sh)?\n(.*?)```", quick, re.S).group(1)
    commands = [ln for ln in block.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    assert len(commands) == 2, commands
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1].split("#")[0].strip() in ci

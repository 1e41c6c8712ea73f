"""Shared fixtures: the real seeds, and a way to run the real `modkit` command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


@pytest.fixture
def seeds() -> Path:
    return SEEDS


def run_modkit(*args: str, cwd: Path | None = None, input: str | None = None, env: dict | None = None,
               timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the installed `modkit` command in a real subprocess."""
    full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "modkit", *args], cwd=cwd or ROOT, input=input, text=True,
        capture_output=True, env=full_env, timeout=timeout,
    )


@pytest.fixture
def modkit():
    return run_modkit

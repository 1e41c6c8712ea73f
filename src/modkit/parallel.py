"""How many worker processes a ``jobs`` option means (shared by every command with ``--jobs``)."""

from __future__ import annotations

import os


def resolve_jobs(jobs: int) -> int:
    """``jobs`` worker processes when positive; 0 or less means one per core."""
    return jobs if jobs > 0 else (os.cpu_count() or 1)

"""The `modkit` command: a thin layer over the library. One module per area."""

from modkit.cli import evaluate, labels, model, privacy, review, threads  # noqa: F401  (each registers its commands)
from modkit.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    app()

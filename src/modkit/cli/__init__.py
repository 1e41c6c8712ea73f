"""The `modkit` command: a thin layer over the library. One module per area."""

from modkit.cli.app import app
from modkit.cli import threads  # noqa: F401  (registers commands)

__all__ = ["app", "main"]


def main() -> None:
    app()

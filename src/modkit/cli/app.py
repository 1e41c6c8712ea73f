"""The typer application and its error boundary. Commands live in sibling modules."""

from __future__ import annotations

from typing import Annotated

import functools
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console

from modkit import __version__
from modkit.errors import ModkitError

#: Messages, warnings and progress go to stderr; data (CSV, JSONL) to files or stdout.
err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False)

_state = {"verbose": False}
P = ParamSpec("P")
R = TypeVar("R")


def warn(message: str) -> None:
    err.print("[yellow]warning:[/] ", end="", markup=True)
    err.out(message, highlight=False)


def fail(message: str) -> None:
    err.print("[red]modkit: error:[/] ", end="", markup=True)
    err.out(message, highlight=False)


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn a :class:`ModkitError` into one line on stderr and its exit code (no traceback);
    ``-v`` shows the traceback instead. Any other exception is a bug and keeps its traceback."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except ModkitError as exc:
            if _state["verbose"]:
                raise
            fail(exc.message)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err.print("interrupted")
            raise typer.Exit(130) from None

    return wrapper


def command(group: typer.Typer, name: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Register a command on ``group`` behind the error boundary: ``@command(app, "threads")``."""

    def deco(fn: Callable[P, R]) -> Callable[P, R]:
        group.command(name)(handle_errors(fn))
        return fn

    return deco


app = typer.Typer(
    name="modkit",
    help="Rebuild, label, classify and review news comment threads.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"modkit {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Show full tracebacks on errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """modkit: moderation toolkit for comment threads."""
    _state["verbose"] = verbose


DEFAULT_MODEL = Path("models/default")
DEFAULT_DATA_DIR = Path("data")


def data_path(path: Path) -> Path:
    """``--data-dir``: the folder given; left at its default and missing here, the ``data/`` of
    modkit's source checkout (the public corpora ship there with their licences)."""
    if path == DEFAULT_DATA_DIR and not path.exists():
        from modkit.data import data_root

        return data_root(None)
    return path


def model_path(path: Path) -> Path:
    """``--model``: the folder given; left at its default and missing here, the model that
    ships in modkit's source checkout (so `modkit flag` works from any folder)."""
    if path == DEFAULT_MODEL and not path.exists():
        from modkit.model import shipped_model_dir

        shipped = shipped_model_dir()
        if shipped.is_dir():
            return shipped
    return path

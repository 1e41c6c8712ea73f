"""The typer application and its error boundary. Commands live in sibling modules."""

from __future__ import annotations

import errno
import functools
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, ParamSpec, TextIO, TypeVar

import typer
from rich.console import Console
from rich.segment import Segment

from modkit import __version__
from modkit.errors import EXIT_INTERRUPTED, EXIT_USER_ERROR, ModkitError, NotFoundError
from modkit.safetext import visible


class SafeConsole(Console):
    """A rich Console that never writes a control character it was given as text.

    Every string that reaches the terminal through it (a comment, an author, a file name in a
    message or a table cell) has its escape sequences, other controls, bidi overrides and
    zero-width characters shown as visible stand-ins (:func:`modkit.safetext.visible`); rich's
    own styles and cursor moves are added afterwards, so they still work. Markup and emoji codes
    are off by default: a comment holding ``[red]x[/]`` or ``:smile:`` prints as written. Callers
    still apply :func:`visible` where text is laid out (tables, trees), so widths stay right.
    """

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("markup", False)
        kwargs.setdefault("emoji", False)
        kwargs.setdefault("highlight", False)
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def _render_buffer(self, buffer):  # type: ignore[no-untyped-def]  # rich's one path to the file
        return super()._render_buffer(
            seg if seg.control else Segment(visible(seg.text, keep_layout=True), seg.style) for seg in buffer)


#: Messages, warnings and progress go to stderr; data (CSV, JSONL) to files or stdout.
err = SafeConsole(stderr=True, soft_wrap=True)
out = SafeConsole()

_state = {"verbose": False}
P = ParamSpec("P")
R = TypeVar("R")


def warn(message: str) -> None:
    """One ``warning:`` line on stderr; the message may quote input, so it is shown :func:`visible`."""
    err.print("[yellow]warning:[/] ", end="", markup=True)
    err.out(visible(message), highlight=False)


def fail(message: str) -> None:
    """One ``modkit: error:`` line on stderr, the message shown :func:`visible`."""
    err.print("[red]modkit: error:[/] ", end="", markup=True)
    err.out(visible(message), highlight=False)


def data_stdout() -> TextIO:
    """Where data written to stdout goes: stdout itself, or, when stdout is a terminal, a writer
    that shows control and invisible characters visibly (data piped or redirected stays exact)."""
    if not sys.stdout.isatty():
        return sys.stdout
    return _VisibleWriter(sys.stdout)


class _VisibleWriter:
    def __init__(self, fh: TextIO) -> None:
        self._fh = fh

    def write(self, text: str) -> int:
        return self._fh.write(visible(text, keep_layout=True))

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._fh.flush()


#: OS errors that are the machine's state, not a bug: shown as one line (exit 1) when a library
#: call lets one through (modkit's own writers already turn them into a ModkitError).
ENVIRONMENT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO,
                                errno.EFBIG, errno.EMFILE, errno.ENFILE, errno.ENAMETOOLONG})


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
        except OSError as exc:
            # The machine, not modkit: a full disk, a read-only folder, an I/O error while a
            # library wrote. One line naming the file; anything else stays a bug (traceback).
            if _state["verbose"] or exc.errno not in ENVIRONMENT_ERRNOS:
                raise
            fail(f"{exc.filename or 'a file'}: {exc.strerror or exc}")
            raise typer.Exit(EXIT_USER_ERROR) from None
        except KeyboardInterrupt:
            err.print("interrupted")
            raise typer.Exit(EXIT_INTERRUPTED) from None

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


#: ``--allow-pickle`` of every command that takes ``--model``.
AllowPickle = Annotated[bool, typer.Option(
    "--allow-pickle", help="Also load a pickle model (model.joblib of modkit 0.2 and before): loading it runs "
                           "any code it holds, so only for a file you trust.")]


def warn_if_pickle(path: Path, allow_pickle: bool) -> None:
    """With ``--allow-pickle`` and a pickle model, one warning line before it is loaded."""
    if allow_pickle:
        from modkit.model import MODEL_FILE, is_pickle, model_file

        if is_pickle(path):
            warn(f"--allow-pickle: loading the pickle {model_file(path)}, which can run any code it holds; "
                 f"retrain with `modkit train` to get a {MODEL_FILE}")


def model_path(path: Path) -> Path:
    """``--model``: the folder given; left at its default and missing here, the model that
    ships in modkit's source checkout (so `modkit flag` works from any folder)."""
    if path == DEFAULT_MODEL and not path.exists():
        from modkit.model import shipped_model_dir

        shipped = shipped_model_dir()
        if shipped.is_dir():
            return shipped
    if not path.exists():
        raise NotFoundError(f"{path}: no model file or folder (train one with `modkit train --out {path}`)")
    return path

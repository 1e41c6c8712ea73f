"""Errors a user can cause. The CLI prints their message on one line and exits non-zero.

Every message names the file and, where it applies, the line, row or field at fault.
A real bug raises anything else and keeps its traceback.

Exit codes, the same in every command (README, "Exit codes"; ``tests/test_exit_codes.py``):

====  =========================================================================================
0     success (warnings, if any, went to stderr)
1     bad input or a failed write: a file whose content cannot be used (a row, a line, a value),
      a file that cannot be read or written (permission, full disk), a refused overwrite,
      ``labels check`` found problems
2     bad usage: a path on the command line that names nothing (a missing file, folder or
      prefix; an ambiguous prefix; a folder where a file is expected), an unknown option or
      value, a missing argument, no terminal for an interactive command
130   interrupted (Ctrl-C)
====  =========================================================================================
"""

from __future__ import annotations

# Exit codes, documented in the README.
EXIT_USER_ERROR = 1  # bad input file, bad value, corrupt model, a file that cannot be written
EXIT_USAGE = 2  # a path that names nothing (missing file, folder or prefix), unknown option value
EXIT_INTERRUPTED = 130  # Ctrl-C

#: The longest line a message keeps: a hostile file's 10 MB id or header cell is shown cut, so
#: the error stays one readable line.
MAX_LINE = 1000


def clip(message: str, most: int = MAX_LINE) -> str:
    """``message`` with each line over ``most`` characters cut to ``most`` (ending in "...")."""
    if len(message) <= most:
        return message
    return "\n".join(line if len(line) <= most else line[: most - 3] + "..." for line in message.split("\n"))


class ModkitError(Exception):
    """A problem with the user's input, files or settings (not a bug in modkit)."""

    exit_code: int = EXIT_USER_ERROR

    def __init__(self, message: str) -> None:
        message = clip(message)
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(ModkitError):
    """The command line asks for something that cannot be: exit code 2."""

    exit_code = EXIT_USAGE


class SourceError(UsageError):
    """A SOURCE argument names no page, or more than one when exactly one was meant."""


class NotFoundError(UsageError):
    """A file or folder named on the command line does not exist, or is the wrong kind
    (a folder where a file is expected)."""


def not_found(path: object, what: str = "file") -> NotFoundError:
    """``PATH: no such file`` (``what``: "file", "label folder", "schema file", ...)."""
    return NotFoundError(f"{path}: no such {what}")


class ParseError(ModkitError):
    """A page, CSV or JSONL file that cannot be read; names the file and line."""

    def __init__(self, path: object, line: int | None, problem: str) -> None:
        where = f"{path}:{line}" if line else f"{path}"
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.line = line
        self.problem = problem

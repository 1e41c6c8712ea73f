"""Errors a user can cause. The CLI prints their message on one line and exits non-zero.

Every message names the file and, where it applies, the line, row or field at fault.
A real bug raises anything else and keeps its traceback.
"""

from __future__ import annotations

# Exit codes, documented in the README.
EXIT_USER_ERROR = 1  # bad input file, bad value, corrupt model...
EXIT_USAGE = 2  # bad SOURCE argument: missing or ambiguous prefix, unknown option value


class ModkitError(Exception):
    """A problem with the user's input, files or settings (not a bug in modkit)."""

    exit_code: int = EXIT_USER_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class SourceError(ModkitError):
    """A SOURCE argument names no page, or more than one when exactly one was meant."""

    exit_code = EXIT_USAGE


class ParseError(ModkitError):
    """A page, CSV or JSONL file that cannot be read; names the file and line."""

    def __init__(self, path: object, line: int | None, problem: str) -> None:
        where = f"{path}:{line}" if line else f"{path}"
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.line = line
        self.problem = problem

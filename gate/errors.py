"""Errors that reach the user as one line and an exit code, never as a traceback."""

from __future__ import annotations

from pathlib import Path

# Exit codes shared by every command (documented in the README).
EXIT_OK = 0
EXIT_FINDINGS = 1  # the command ran and found problems (failed verdict, dirty dataset, hash mismatch)
EXIT_ERROR = 2  # the command could not run: bad input, missing file, refused operation


class GateError(Exception):
    """A problem the user can fix; the CLI prints `error: <path>: <problem>` and exits non-zero."""

    exit_code = EXIT_ERROR

    def __init__(self, problem: str, path: str | Path | None = None, exit_code: int | None = None):
        super().__init__(problem)
        self.problem = problem
        self.path = None if path is None else str(path)
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}" if self.path else self.problem


class InputError(GateError):
    """A user-supplied file or argument is missing, malformed or inconsistent."""


class IntegrityError(GateError):
    """Stored data no longer matches its recorded hash (tampered or corrupted)."""


class RefusedError(GateError):
    """The operation would damage stored data or mix incompatible results, so it is refused."""


def describe_validation_error(exc, what: str, unknown_key: str | None = None) -> str:
    """One line for a pydantic ValidationError: `invalid <what> at <field>: <message> (and N more)`.

    `unknown_key` replaces pydantic's wording for a field the schema forbids (e.g. "unknown key (not a
    recipe setting)"), which reads better for hand-written files."""
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    message = err["msg"].removeprefix("Value error, ")
    if unknown_key is not None and err["type"] == "extra_forbidden":
        message = unknown_key
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"invalid {what} at {where}: {message}{more}" if where else f"invalid {what}: {message}{more}"

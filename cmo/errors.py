"""Errors meant for the person at the keyboard.

Everything the user can fix (a missing file, a YAML typo, an unknown option value) is raised as a
:class:`CmoError`. The command-line interface prints its message on standard error and exits with
:data:`EXIT_USAGE`; it never shows a traceback for these (only with ``--debug``). Anything else is
a bug in cmo and is allowed to surface as one.

This module is the ground floor: it imports nothing from cmo.
"""

from __future__ import annotations

#: Exit code: everything is fine.
EXIT_OK = 0
#: Exit code: the command ran and reports findings (e.g. validation errors).
EXIT_FINDINGS = 1
#: Exit code: usage or input error (bad option, unreadable path, nothing to work on).
EXIT_USAGE = 2
#: Exit code: an internal error (a bug in cmo). The message names only the exception type,
#: never its text, which might hold data; ``--debug`` shows the traceback.
EXIT_INTERNAL = 3


class CmoError(Exception):
    """An error the user can act on. The message says what went wrong and what to do."""

    exit_code: int = EXIT_USAGE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class InputError(CmoError):
    """A file or directory given to cmo cannot be used (missing, unreadable, wrong kind)."""


class WorkspaceError(CmoError):
    """The evaluation workspace is missing, incomplete or misconfigured."""

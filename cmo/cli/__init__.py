"""The command-line interface: a thin shell over the library.

Each command parses its options, calls one library function and renders the result. Errors
meant for the user (:class:`cmo.errors.CmoError`) are printed as one message on standard error
with exit code 2; tracebacks appear only with ``--debug``.

``cmo validate`` runs in editors and pre-commit hooks, so it starts without the CLI toolkit:
:mod:`cmo.cli.fast` handles its plain forms (paths, ``--strict``, ``--format``) and prints
exactly what the full command prints (both use :mod:`cmo.cli.validate_text`); anything else
goes to the typer application (:mod:`cmo.cli.application`).
"""

from __future__ import annotations

import sys
from typing import Any


def main() -> None:
    """Entry point of the ``cmo`` console script."""
    from cmo.cli.fast import fast_validate

    code = fast_validate(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    from cmo.cli.application import run

    run()


def __getattr__(name: str) -> Any:
    if name == "app":  # the typer application, loaded only when asked for
        from cmo.cli.application import app

        return app
    raise AttributeError(name)

"""Shared helpers of the CLI: error handling, consoles, output formats."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ParamSpec, TypeVar

import typer

from cmo.errors import EXIT_INTERNAL, EXIT_USAGE, CmoError

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class _State:
    debug: bool = False


state = _State()


class Format(StrEnum):
    text = "text"
    json = "json"


def user_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn :class:`CmoError` into one message on stderr and its exit code (2)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except CmoError as exc:
            if state.debug:
                raise
            typer.echo(f"cmo: error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except OSError as exc:  # unreadable or unwritable files: name the file, no traceback
            if state.debug:
                raise
            where = f"{exc.filename}: " if exc.filename else ""
            typer.echo(f"cmo: error: {where}{exc.strerror or exc}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            if state.debug:
                raise
            typer.echo(
                f"cmo: internal error ({type(exc).__name__}): this is a bug in cmo. "
                "Run the command again with --debug to see the traceback, and report "
                "it without any client data.",
                err=True,
            )
            raise typer.Exit(EXIT_INTERNAL) from None

    return wrapper


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)

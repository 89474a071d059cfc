"""The typer application: every command, its options and its help."""

from __future__ import annotations

import sys

import typer

from cmo import __version__
from cmo.cli import commands
from cmo.cli.common import state
from cmo.errors import CmoError

app = typer.Typer(
    name="cmo",
    help="Realist evaluation for social work: programme theories as files, context–"
    "mechanism–outcome chains tested on pseudonymised case data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold client data
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cmo {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    state.debug = debug


commands.register(app)


def run() -> None:
    """Run the full command line (typer)."""
    try:
        app(standalone_mode=True)
    except CmoError as exc:  # pragma: no cover - commands catch these themselves
        typer.echo(f"cmo: error: {exc}", err=True)
        sys.exit(exc.exit_code)

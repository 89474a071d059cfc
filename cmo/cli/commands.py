"""The commands. Each one: parse options, call the library, render the result."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from cmo.cli.common import Format, console, print_json, user_errors
from cmo.errors import EXIT_FINDINGS, EXIT_OK


class Lang(StrEnum):
    fi = "fi"
    en = "en"
    sv = "sv"


class GraphFormat(StrEnum):
    dot = "dot"
    mermaid = "mermaid"


class SchemaKind(StrEnum):
    theory = "theory"
    indicators = "indicators"
    settings = "settings"


def _n(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


PATHS = typer.Argument(
    None, help="Theory/indicator files or folders (default: the workspace's).", show_default=False
)


@user_errors
def validate(
    paths: list[Path] | None = PATHS,
    fmt: Format = typer.Option(Format.text, "--format", "-f", help="Output format."),
    strict: bool = typer.Option(False, "--strict", help="Warnings fail too (exit 1)."),
) -> None:
    """Check theory and indicator files like a compiler: every finding with file, line,
    column and code. Exit 0 clean, 1 findings, 2 usage error."""
    from cmo.theory import validate as run

    result = run(paths or [], strict=strict)
    if fmt is Format.json:
        print_json(result.to_dict())
    else:
        out = console()
        for f in result.findings:
            style = "red" if f.severity.value == "error" else "yellow"
            out.print(f.format(), style=style, markup=False)
        c = result.counts()
        what = (
            f"{_n(c['files'], 'file')}: {_n(c['theories'], 'theory', 'theories')}, "
            f"{_n(c['indicators'], 'indicator')}, {_n(c['chains'], 'chain')}"
        )
        errs = _n(c["errors"], "error")
        warns = _n(c["warnings"], "warning")
        mark, style = ("✔", "green") if result.ok else ("✖", "red")
        out.print(f"{mark} {what} — {errs}, {warns}", style=style, markup=False)
    raise typer.Exit(EXIT_OK if result.ok else EXIT_FINDINGS)


@user_errors
def summary(
    paths: list[Path] | None = PATHS,
    lang: Lang = typer.Option(Lang.fi, "--lang", help="Language of labels."),
    fmt: Format = typer.Option(Format.text, "--format", "-f", help="Output format."),
) -> None:
    """Summarise the programme theories: their contexts, mechanisms, outcomes and chains, and
    the critical success factors by strategy perspective."""
    from cmo.cli.render import render_summary
    from cmo.theory import validate as run

    result = run(paths or [])
    if fmt is Format.json:
        print_json(
            {
                "theories": [s.to_dict() for s in result.theory_summaries(lang.value)],
                "chains": [c.to_dict() for c in result.chain_summaries(lang.value)],
                "summary": result.counts(),
            }
        )
        raise typer.Exit(EXIT_OK if result.ok else EXIT_FINDINGS)
    render_summary(console(), result, lang.value)
    raise typer.Exit(EXIT_OK if result.ok else EXIT_FINDINGS)


@user_errors
def schema(
    kind: SchemaKind = typer.Argument(SchemaKind.theory, help="Which file's schema."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write to this file."),
) -> None:
    """Print the JSON Schema of theory, indicator or settings files, for editors
    (VS Code YAML, check-jsonschema)."""
    from cmo.theory.schema import json_schema_text

    text = json_schema_text(kind.value)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}", err=True)


@user_errors
def graph(
    theory: str = typer.Argument(..., help="Theory id or theory file."),
    fmt: GraphFormat = typer.Option(GraphFormat.dot, "--format", "-f", help="Output format."),
    lang: Lang = typer.Option(Lang.fi, "--lang", help="Language of labels."),
) -> None:
    """Draw a theory's contexts → mechanisms → outcomes as Graphviz DOT or Mermaid text."""
    from cmo.theory import validate as run
    from cmo.theory.graph import find_theory, theory_graph, to_dot, to_mermaid

    path = Path(theory)
    result = run([path] if path.exists() else [])
    th = find_theory(result, theory)
    g = theory_graph(result, th, lang.value)
    render = to_dot if fmt is GraphFormat.dot else to_mermaid
    typer.echo(render(g, lang.value), nl=False)


@user_errors
def init(
    directory: Path = typer.Argument(..., help="Folder for the new workspace."),
    name: str | None = typer.Option(None, "--name", help="Name of the evaluation."),
) -> None:
    """Create a new evaluation workspace: settings, the Lapland framework's theories and
    indicators to start from, and a git-ignored place for the store and the key."""
    from cmo.workspace import init_workspace

    result = init_workspace(directory, name=name)
    out = console()
    out.print(f"Created workspace {directory}", markup=False)
    for p in result.created:
        out.print(f"  {p.relative_to(directory)}", markup=False)
    if result.key_file:
        out.print(
            f"  {result.key_file.relative_to(directory)} (pseudonymisation key, mode "
            "0600 — keep it secret, back it up)",
            markup=False,
        )
    out.print(f"Next: cd {directory} && cmo validate", markup=False)


def register(app: typer.Typer) -> None:
    app.command()(validate)
    app.command()(summary)
    app.command()(schema)
    app.command()(graph)
    app.command()(init)

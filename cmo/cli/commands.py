"""The commands. Each one: parse options, call the library, render the result."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

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
        from cmo.cli.validate_text import validation_lines

        out = console()
        for text, colour in validation_lines(result):
            out.print(text, style=colour, markup=False)
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


def _workspace() -> Any:
    from cmo.errors import WorkspaceError
    from cmo.workspace import find_workspace, load_workspace

    root = find_workspace(Path.cwd())
    if root is None:
        raise WorkspaceError(
            "not inside a cmo workspace (no cmo.yaml here or above)",
            hint="cd into the workspace, or create one with 'cmo init DIR'",
        )
    ws = load_workspace(root)
    # Before anything else: remove what killed cmo processes left in the scratch folder.
    from cmo.store.scratch import sweep

    sweep(ws.store_path.parent / "tmp")
    return ws


@user_errors
def collect(
    files: list[Path] = typer.Argument(
        ..., help="Export files (xlsx, ods, csv).", show_default=False
    ),
    office: str | None = typer.Option(
        None,
        "--office",
        help="The office the exports come from (leave out for a file with an office column: "
        "its rows are split into batches per office).",
    ),
    period: str | None = typer.Option(
        None, "--period", help="Period of the data (when the file has no period column)."
    ),
    sheet: str | None = typer.Option(None, "--sheet", help="Sheet of a workbook to read."),
    mapping: Path | None = typer.Option(
        None, "--mapping", help="Mapping file (default: mappings/OFFICE.yaml if present)."
    ),
    replace: bool = typer.Option(
        False, "--replace", help="Swap an existing batch of the same office and period."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Check everything (a collected file too), store nothing."
    ),
    encoding: str | None = typer.Option(
        None,
        "--encoding",
        help="Encoding of CSV files: utf-8, windows-1252, iso-8859-15, iso-8859-1 "
        "(default: the mapping file's, else detected).",
    ),
    date_format: list[str] | None = typer.Option(
        None,
        "--date-format",
        help="Date format, e.g. %d.%m.%y for 4.2.26 (repeatable; default: the mapping "
        "file's, else d.m.yyyy, ISO and Excel serials).",
    ),
    accept_quarantine: bool = typer.Option(
        False,
        "--accept-quarantine",
        help="Store even when no row is accepted or one reason quarantines more than "
        "quarantine_limit of a file's rows.",
    ),
    fix_list: Path | None = typer.Option(
        None,
        "--fix-list",
        help="Also write what the office must correct (row, column, reason, what to do) to "
        "this .xlsx or .csv file, to send back to the office.",
    ),
    lang: Lang = typer.Option(Lang.fi, "--lang", help="Language of the fix list (fi or en)."),
    fmt: Format = typer.Option(Format.text, "--format", "-f", help="Output format."),
) -> None:
    """Collect an office's exports: map columns onto indicators, pseudonymise identifiers,
    quarantine what does not fit, and store it all in one transaction. Exit 0 stored, 1
    nothing stored because too much would be quarantined, 2 an input problem."""
    from cmo.cli.render import collect_progress, render_collect
    from cmo.collect import collect as run
    from cmo.collect import write_fix_list
    from cmo.errors import InputError

    if lang is Lang.sv and fix_list is not None:
        raise InputError("the fix list is written in Finnish or English", hint="--lang fi|en")
    if fix_list is not None and fix_list.suffix.lower() not in (".csv", ".xlsx"):
        raise InputError(f"{fix_list}: the fix list is written as .csv or .xlsx")
    ws = _workspace()
    show = fmt is Format.text
    with collect_progress(enabled=show) as progress:
        result = run(
            ws,
            office,
            files,
            period=period,
            sheet=sheet,
            mapping_file=mapping,
            replace=replace,
            dry_run=dry_run,
            encoding=encoding,
            date_formats=date_format or None,
            accept_quarantine=accept_quarantine,
            progress=progress,
        )
    if fix_list is not None:
        written = write_fix_list(result, fix_list, lang.value)
        console(stderr=True).print(f"Wrote {fix_list}: {written} cells to fix.", markup=False)
    if fmt is Format.json:
        print_json(result.to_dict())
    else:
        render_collect(console(), result)
    raise typer.Exit(EXIT_OK if result.ok else EXIT_FINDINGS)


@user_errors
def batches(
    office: str | None = typer.Option(None, "--office", help="Only this office."),
    period: str | None = typer.Option(None, "--period", help="Only this period."),
    fmt: Format = typer.Option(Format.text, "--format", "-f", help="Output format."),
) -> None:
    """List what is collected: batches per office and period with their row counts, each
    recounted from the store."""
    from cmo.cli.render import render_batches
    from cmo.store import open_store
    from cmo.store.db import guarded
    from cmo.workspace.privacy import check_period

    ws = _workspace()
    with open_store(ws.store_path, read_only=True) as store, guarded(ws.store_path):
        store.check_scope([office] if office else [], [period] if period else [])
        rows = store.batches(office=office, period=check_period(period) if period else None)
        audits = {a.batch_id: a for a in store.audit()}
        shared = store.shared_pseudonyms()
    if fmt is Format.json:
        print_json([{**b.to_dict(), "balanced": audits[b.batch_id].balanced} for b in rows])
    else:
        render_batches(console(), rows, audits, shared)


@user_errors
def retract(batch: int = typer.Argument(..., help="The batch id (see 'cmo batches').")) -> None:
    """Remove one batch and everything it stored."""
    from cmo.errors import InputError
    from cmo.store import open_store
    from cmo.store.db import guarded

    ws = _workspace()
    with open_store(ws.store_path, create=False) as store, guarded(ws.store_path):
        found = store.get_batch(batch)
        if found is None:
            raise InputError(f"no batch {batch}", hint="list batches with 'cmo batches'")
        with store.transaction():
            store.delete_batch(batch)
    console().print(
        f"Retracted batch {batch}: {found.office} {found.period} {found.level} "
        f"({found.source_name}, {found.rows_in} rows)",
        markup=False,
    )


@user_errors
def export(
    parquet: Path | None = typer.Option(
        None,
        "--parquet",
        help="Folder for the observations and batches as Parquet (pseudonymised, row-level: "
        "for the evaluators, not for publication).",
    ),
    results: Path | None = typer.Option(
        None,
        "--results",
        help="File for the analysis results: .xlsx, or .csv as a Finnish Excel opens it "
        "(the same figures as 'cmo analyse --format csv').",
    ),
    office: list[str] | None = typer.Option(None, "--office", help="Only these offices."),
    period: list[str] | None = typer.Option(None, "--period", help="Only these periods."),
    lang: Lang = typer.Option(Lang.fi, "--lang", help="Language of labels in the results."),
    fmt: Format = typer.Option(Format.text, "--format", "-f", help="Output format."),
) -> None:
    """Export the store's observations as Parquet and the analysis results as XLSX or CSV."""
    import csv
    import io

    from cmo.errors import InputError
    from cmo.store import open_store
    from cmo.store.db import guarded
    from cmo.store.export import export_parquet, write_table

    if parquet is None and results is None:
        raise InputError("nothing to export", hint="give --parquet DIR and/or --results FILE")
    if results is not None and results.suffix.lower() not in (".xlsx", ".csv"):
        raise InputError(f"{results}: the results are written as .xlsx or .csv")
    ws = _workspace()
    info: dict[str, Any] = {}
    with open_store(ws.store_path, read_only=True) as store, guarded(ws.store_path):
        store.check_scope(office or [], period or [])
        if parquet is not None:
            info["parquet"] = export_parquet(store, parquet, office or [], period or []).to_dict()
    if results is not None:
        from cmo.analysis import analyse as run
        from cmo.cli.analysis_view import analysis_csv

        result = run(ws, [], offices=office or [], periods=period or [], lang=lang.value)
        # an export may leave the evaluators: the report's disclosure rules apply
        shared = _shareable(ws, result)
        header, *rows = list(csv.reader(io.StringIO(analysis_csv(shared))))

        def typed(value: str) -> str | int | float | None:
            if value == "":
                return None
            try:
                return int(value)
            except ValueError:
                pass
            try:
                return float(value)
            except ValueError:
                return value

        write_table(results, header, [[typed(v) for v in row] for row in rows])
        info["results"] = {"file": str(results), "rows": len(rows)}
    if fmt is Format.json:
        print_json(info)
    else:
        out = console()
        for name, rows_n in info.get("parquet", {}).get("files", {}).items():
            out.print(f"Wrote {parquet}/{name} ({rows_n} rows)", markup=False)
        if "results" in info:
            out.print(f"Wrote {results} ({info['results']['rows']} rows)", markup=False)


key_app = typer.Typer(help="The pseudonymisation key.", no_args_is_help=True)


@key_app.command("create")
@user_errors
def key_create() -> None:
    """Create the workspace's pseudonymisation key (mode 0600). Never overwrites a key."""
    from cmo.errors import WorkspaceError
    from cmo.workspace import write_key

    ws = _workspace()
    path = ws.key_path
    if path.exists():
        raise WorkspaceError(
            f"{path}: a key already exists; cmo never overwrites a key",
            hint="pseudonyms made with it would no longer match",
        )
    write_key(path)
    console().print(f"Created {path} (mode 0600). Keep it secret and back it up.", markup=False)


@key_app.command("show")
@user_errors
def key_show(
    fmt: Format = typer.Option(Format.text, "--format", "-f", help="Output format."),
) -> None:
    """Show the fingerprint of the key in use and of the key the store was made with (never
    the key). Exit 1 if they differ."""
    from cmo.store.keycheck import key_status

    ws = _workspace()
    status = key_status(ws)
    if fmt is Format.json:
        print_json(status.to_dict())
    else:
        out = console()
        out.print(f"Key in use: {status.source}, fingerprint {status.fingerprint}", markup=False)
        if status.store_fingerprint is None:
            out.print("The store has no key recorded yet.", markup=False)
        elif status.matches:
            out.print("The store was made with this key.", markup=False)
        else:
            out.print(
                f"✖ The store was made with another key (fingerprint "
                f"{status.store_fingerprint}): collecting with this one is refused.",
                style="red",
                markup=False,
            )
    raise typer.Exit(EXIT_OK if status.matches is not False else EXIT_FINDINGS)


class Refuters(StrEnum):
    none = "none"
    quick = "quick"
    full = "full"


class AnalyseFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


@user_errors
def analyse(
    theories: list[str] | None = typer.Argument(
        None, help="Theory ids or files (default: all).", show_default=False
    ),
    office: list[str] | None = typer.Option(None, "--office", help="Only these offices."),
    period: list[str] | None = typer.Option(None, "--period", help="Only these periods."),
    fmt: AnalyseFormat = typer.Option(AnalyseFormat.table, "--format", "-f", help="Output format."),
    lang: Lang = typer.Option(Lang.fi, "--lang", help="Language of labels."),
    min_cases: int | None = typer.Option(
        None, "--min-cases", min=2, help="Fewest cases for a test (default: cmo.yaml)."
    ),
    shareable: bool = typer.Option(
        False,
        "--shareable",
        help="Apply the report's disclosure rules (counts below k as '<k', no estimate from "
        "fewer than k cases) so that the JSON or CSV may leave the evaluators.",
    ),
    refuters: Refuters = typer.Option(
        Refuters.quick,
        "--refuters",
        help="Try every 'held' against refuters (leave one office out, placebo mechanism, "
        "negative control): none, quick (199 placebo shuffles) or full (999).",
    ),
) -> None:
    """Test each chain: did the mechanism go with the outcome, in which contexts, with what
    uncertainty; and how each evaluation criterion stands per office and period."""
    from cmo.analysis import analyse as run
    from cmo.cli.analysis_view import analysis_csv, render_analysis
    from cmo.errors import InputError

    if lang is Lang.sv:  # the same languages as the report: cmo's own texts are fi and en
        raise InputError("the analysis is written in Finnish or English", hint="--lang fi|en")
    ws = _workspace()
    result = run(
        ws,
        theories or [],
        offices=office or [],
        periods=period or [],
        lang=lang.value,
        min_cases=min_cases,
        refuters=refuters.value,
    )
    if shareable and fmt is AnalyseFormat.table:
        raise InputError("--shareable is for --format json or csv (the table stays on screen)")
    if fmt is not AnalyseFormat.table:
        if shareable:
            data = _shareable(ws, result)
        else:
            data = result.to_dict()
            typer.echo(
                "cmo: note: this output shows counts below the disclosure threshold: it is for "
                "the evaluators only (--shareable applies the report's rules)",
                err=True,
            )
        if fmt is AnalyseFormat.json:
            print_json(data)
        else:
            typer.echo(analysis_csv(data), nl=False)
    else:
        render_analysis(console(), result)


@user_errors
def report(
    theories: list[str] | None = typer.Argument(
        None, help="Theory ids or files (default: all).", show_default=False
    ),
    out: Path = typer.Option(..., "--out", "-o", help="The HTML file to write."),
    lang: Lang = typer.Option(Lang.fi, "--lang", help="Language of the report (fi or en)."),
    office: list[str] | None = typer.Option(None, "--office", help="Only these offices."),
    period: list[str] | None = typer.Option(None, "--period", help="Only these periods."),
    refuters: Refuters = typer.Option(
        Refuters.quick, "--refuters", help="Refuters for 'held' verdicts: none, quick or full."
    ),
    saved: Path | None = typer.Option(
        None,
        "--from",
        help="Render a saved analysis (cmo analyse --format json) instead of running one.",
    ),
) -> None:
    """Write one self-contained HTML report (no scripts, no network): what held where, the
    theories as diagrams, each chain, the criteria scorecard, data quality and methods."""
    from cmo.errors import InputError
    from cmo.report import build_report

    if lang is Lang.sv:
        raise InputError("the report is written in Finnish or English", hint="--lang fi|en")
    ws = _workspace()
    analysis = _saved_analysis(saved) if saved is not None else None
    result = build_report(
        ws,
        theories or [],
        lang=lang.value,
        offices=office or [],
        periods=period or [],
        refuters=refuters.value,
        analysis=analysis,
    )
    result.write(out)
    info = result.to_dict()
    console().print(
        f"Wrote {out} ({info['bytes'] / 1024:.0f} kB, {info['seconds']:.1f} s): "
        f"{info['verdicts']['held']} held, {info['verdicts']['not supported']} not supported, "
        f"{info['verdicts']['contradicted']} contradicted, "
        f"{info['verdicts']['too little data']} with too little data.",
        markup=False,
    )


def _shareable(ws: Any, result: Any) -> dict[str, Any]:
    """The analysis with the report's disclosure rules applied (cmo.report.disclosure)."""
    from cmo.report.disclosure import Rule, shareable
    from cmo.theory import validate

    office_level = frozenset(
        i.id
        for f in validate(workspace=ws.root).indicator_files
        for i in f.indicators
        if i.level.value == "office"
    )
    out: dict[str, Any] = shareable(result, Rule(ws.settings.disclosure_threshold), office_level)
    return out


def _saved_analysis(path: Path) -> Any:
    """An analysis saved with `cmo analyse --format json`, or a clear error."""
    import json

    from cmo.analysis import AnalysisResult
    from cmo.errors import InputError

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and (data.get("disclosure") or {}).get("applied"):
            raise InputError(
                f"{path}: a shareable analysis (its small counts are replaced), not one to render",
                hint="render the evaluators' analysis: cmo analyse --format json > result.json",
            )
        return AnalysisResult.from_dict(data)
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc.strerror})") from None
    except (ValueError, KeyError, TypeError, AttributeError):
        raise InputError(
            f"{path}: not an analysis saved by 'cmo analyse --format json'",
            hint="save one with: cmo analyse --format json > result.json",
        ) from None


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(validate)
    app.command()(summary)
    app.command()(graph)
    app.command()(schema)
    app.command()(collect)
    app.command()(batches)
    app.command()(retract)
    app.command()(analyse)
    app.command()(report)
    app.command()(export)
    app.add_typer(key_app, name="key")

"""Rendering library results for the terminal (rich). Texts from files are never markup."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from cmo.collect import CollectResult
from cmo.store import Batch, BatchAudit
from cmo.theory.validate import ValidationResult

PERSPECTIVES = ("client", "personnel", "process", "economy")
_WORDS = {
    "fi": {
        "theories": "Ohjelmateoriat",
        "chains": "CMO-ketjut",
        "factors": "Kriittiset menestystekijät näkökulmittain",
        "theory": "teoria",
        "contexts": "kontekstit",
        "chain": "ketju",
        "in": "kun",
        "everywhere": "kaikkialla",
        "perspective": "näkökulma",
        "factor": "menestystekijä",
        "criteria": "kriteerit",
        "client": "asiakas",
        "personnel": "henkilöstö",
        "process": "prosessi",
        "economy": "talous",
    },
    "en": {
        "theories": "Programme theories",
        "chains": "CMO chains",
        "factors": "Critical success factors by perspective",
        "theory": "theory",
        "contexts": "contexts",
        "chain": "chain",
        "in": "in",
        "everywhere": "everywhere",
        "perspective": "perspective",
        "factor": "success factor",
        "criteria": "criteria",
        "client": "client",
        "personnel": "personnel",
        "process": "process",
        "economy": "economy",
    },
}


def _w(lang: str) -> dict[str, str]:
    return _WORDS.get(lang, _WORDS["en"])


def render_summary(out: Any, result: ValidationResult, lang: str) -> None:
    w = _w(lang)
    theories = Table(title=w["theories"], title_justify="left")
    theories.add_column(w["theory"])
    for col in ("C", "I", "M", "O", w["chain"], w["criteria"]):
        theories.add_column(col, justify="right")
    for s in result.theory_summaries(lang):
        name = Text(s.id, style="bold")
        name.append(f"\n{s.title}", style="dim")
        theories.add_row(
            name,
            *(str(n) for n in (s.contexts, s.interventions, s.mechanisms, s.outcomes, s.chains)),
            str(s.criteria),
        )
    out.print(theories)
    out.print(
        Text("C contexts · I interventions · M mechanisms · O outcomes", style="dim"), markup=False
    )

    chains = Table(title=w["chains"], title_justify="left")
    chains.add_column(w["chain"], overflow="fold", min_width=27)
    chains.add_column(f"{w['in']} ({w['contexts']})")
    chains.add_column("(I →) M → O")
    for c in result.chain_summaries(lang):
        path = Text()
        if c.intervention:
            path.append(f"{c.intervention} → ")
        path.append(c.mechanism, style="bold")
        path.append(f" → {c.outcome} ")
        path.append("(+)" if c.direction == "positive" else "(−)", style="cyan")
        where = Text("; ".join(c.contexts) if c.contexts else w["everywhere"])
        name = Text(c.id, style="bold")
        name.append(f"\n{c.theory}", style="dim")
        chains.add_row(name, where, path)
    if chains.row_count:
        out.print(chains)

    factors = Table(title=w["factors"], title_justify="left")
    for col in (w["perspective"], w["factor"], w["criteria"]):
        factors.add_column(col)
    rows = [
        (PERSPECTIVES.index(csf.perspective.value), th.id, csf)
        for th in result.theories
        for csf in th.critical_success_factors
    ]
    for _, _, csf in sorted(rows, key=lambda r: (r[0], r[1])):
        factors.add_row(
            w[csf.perspective.value], Text(csf.label.get(lang)), Text(", ".join(csf.criteria))
        )
    if factors.row_count:
        out.print(factors)
    n = result.counts()
    out.print(
        f"{n['theories']} theories, {n['indicators']} indicators, "
        f"{n['measurement_points']} measurement points, {n['chains']} chains; "
        f"{n['errors']} errors, {n['warnings']} warnings",
        markup=False,
    )


@contextmanager
def collect_progress(enabled: bool) -> Iterator[Any]:
    """A rich progress bar fed by the library's progress callback (stderr, only on a TTY)."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def update(stage: str, fraction: float | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=1.0)
            if fraction is not None:
                bar.update(tasks[stage], completed=fraction)

        yield update


def render_collect(out: Any, result: CollectResult) -> None:
    verb = {
        "stored": "stored",
        "replaced": "stored (replaced an earlier batch)",
        "unchanged": "already collected — nothing changed",
        "dry_run": "checked (dry run: nothing stored)",
    }
    for f in result.files:
        head = Text(f"{f.source}", style="bold")
        head.append(f" — {verb.get(f.status, f.status)}")
        out.print(head)
        detected = [f.format]
        if f.encoding:
            how = "declared" if f.encoding_declared else "detected"
            detected.append(f"encoding {f.encoding} ({how})")
        if f.date_formats:
            detected.append(f"dates {' or '.join(f.date_formats)} (declared)")
        if f.delimiter:
            detected.append(f"delimiter {f.delimiter}")
        if f.sheet:
            detected.append(f"sheet '{f.sheet}'")
        detected.append(f"{f.level}-level data")
        out.print(Text("  " + ", ".join(detected), style="dim"))
        several = len({b.office for b in f.batches}) > 1
        table = Table(show_header=True, box=None, padding=(0, 2))
        for col in ("period", "batch", "rows in", "accepted", "quarantined"):
            table.add_column(col, justify="left" if col == "period" else "right")
        for b in f.batches:
            table.add_row(
                Text(f"{b.office} {b.period}" if several else b.period),
                str(b.batch_id or "–"),
                str(b.rows_in),
                str(b.rows_accepted),
                str(b.rows_quarantined),
            )
        out.print(table)
        if f.reasons:
            fixes = Table(
                title="Quarantine — a fix list for the office",
                title_justify="left",
                box=None,
                padding=(0, 2),
            )
            for col in ("reason", "column", "cells", "first rows"):
                fixes.add_column(col, justify="right" if col == "cells" else "left")
            for r in f.reasons:
                fixes.add_row(
                    r.reason,
                    Text(r.column or "—"),
                    str(r.count),
                    ", ".join(str(x) for x in r.rows) if r.rows else "",
                )
            out.print(fixes)
        if f.identity_codes_found:
            out.print(
                Text(
                    f"  ! {f.identity_codes_found} personal identity code(s) found "
                    "outside identifier columns; they were not stored.",
                    style="yellow",
                )
            )
        if f.shared_with_other_offices:
            out.print(
                Text(
                    f"  ! {f.shared_with_other_offices} client pseudonym(s) of this file are "
                    "already stored under another office (the same clients collected twice, "
                    "or clients who moved): check the office.",
                    style="yellow",
                )
            )
        if f.dropped:
            out.print(
                Text(
                    "  Not stored: " + "; ".join(f"'{c}' ({w})" for c, w in f.dropped), style="dim"
                )
            )
    out.print(
        f"Total: {result.rows_in} rows in, {result.rows_accepted} accepted, "
        f"{result.rows_quarantined} quarantined.",
        markup=False,
    )
    if result.problems:
        out.print(
            "Nothing was stored: too much would be quarantined. Fix the export or the "
            "office's mapping file, or accept it as it is with --accept-quarantine.",
            style="red",
            markup=False,
        )
        for problem in result.problems:
            out.print(f"  ✖ {problem}", style="red", markup=False)


def render_batches(
    out: Any,
    rows: list[Batch],
    audits: dict[int, BatchAudit],
    shared: list[tuple[str, str, int]] | None = None,
) -> None:
    table = Table(title="Collected batches", title_justify="left")
    for col in ("batch", "office", "period", "level", "file", "in", "accepted", "quar.", "✔"):
        numeric = col in ("batch", "in", "accepted", "quar.")
        table.add_column(
            col,
            justify="right" if numeric else "left",
            overflow="fold" if col == "file" else "ellipsis",
            no_wrap=col != "file",
        )
    for b in rows:
        ok = audits[b.batch_id].balanced
        table.add_row(
            str(b.batch_id),
            Text(b.office),
            Text(b.period),
            b.level,
            Text(b.source_name),
            str(b.rows_in),
            str(b.rows_accepted),
            str(b.rows_quarantined),
            "✔" if ok else "✖",
        )
    out.print(table)
    balanced = all(audits[b.batch_id].balanced for b in rows)
    out.print(
        f"{len(rows)} batches. ✔ = rows in equal accepted + quarantined, recounted from "
        "the stored rows" + ("." if balanced else " — ✖ MISMATCH: report this."),
        markup=False,
    )
    for office, other, count in shared or []:
        out.print(
            f"! {count} client pseudonym(s) appear under both {office} and {other}: the "
            "analysis counts them in each office.",
            style="yellow",
            markup=False,
        )

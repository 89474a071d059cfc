"""Rendering library results for the terminal (rich). Texts from files are never markup."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

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

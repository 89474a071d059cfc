"""`cmo analyse` in the terminal: what held where, and the criteria — in the run's language,
laid out for the terminal's width (a table where it fits; one block per chain where it does
not, so that ids are never broken and labels wrap instead)."""

from __future__ import annotations

import csv
import io
import math
import textwrap
from typing import Any

from rich.table import Table
from rich.text import Text

from cmo.report.i18n import catalogue

#: Mark and colour of each verdict class (the words come from the catalogue).
VERDICT_STYLE = {
    "held": ("✔", "green"),
    "not supported": ("·", "yellow"),
    "contradicted": ("✖", "red"),
    "too little data": ("?", "dim"),
}
STATUS_MARK = {"met": "✔", "not met": "✖", "uncertain": "~", "no data": "–"}
#: Below this width the chains are shown one block each instead of as a table.
WIDE = 110

_WORDS = {
    "en": {
        "title": "What held where (effect per SD of the mechanism, 95% CI)",
        "refuters": "refuters",
        "note": "{held} held, {ns} not supported, {contra} contradicted, {little} with too little "
        "data (fewer than {min_cases} cases or, with office-clustered uncertainty, fewer than "
        "{min_offices} offices). Uncertainty: {covariance}. q: Benjamini–Hochberg adjusted p "
        "over all tests of the run. A context 'matters' only when the mechanism × context "
        "comparison is clear. Refuters ({refuters}): every 'held' is refitted without each "
        "office, against a placebo mechanism shuffled within offices and against a declared "
        "negative-control outcome.",
        "warnings": "Design warnings (docs/findings.md):",
        "criteria": "Criteria by office, latest period (✔ met, ✖ not met, ~ uncertain: the 95% "
        "CI straddles the target)",
        "criterion": "criterion",
        "all": "all",
        "summary": "the chain",
    },
    "fi": {
        "title": "Mikä piti missäkin (vaikutus mekanismin keskihajontaa kohden, 95 %:n LV)",
        "refuters": "kumoamisyritykset",
        "note": "{held} piti, {ns} ei saanut tukea, {contra} päinvastaisia, {little} liian vähän "
        "tietoa (alle {min_cases} tapausta tai toimistoittain lasketulla epävarmuudella alle "
        "{min_offices} toimistoa). Epävarmuus: {covariance}. q: Benjamini–Hochbergin "
        "korjaama p kaikkien ajon testien yli. Konteksti vaikuttaa vain, kun mekanismin ja "
        "kontekstin yhdysvaikutus on selvä. Kumoamisyritykset ({refuters}): jokainen "
        "pitänyt tulos sovitetaan uudelleen ilman kutakin toimistoa, toimistojen sisällä "
        "sekoitettua lumemekanismia vastaan ja ilmoitettua negatiivista kontrollia vastaan.",
        "warnings": "Asetelmaa koskevat varoitukset (docs/findings.md):",
        "criteria": "Kriteerit toimistoittain, viimeisin jakso (✔ toteutuu, ✖ ei toteudu, "
        "~ epävarma: 95 %:n LV osuu tavoitteen kummallekin puolelle)",
        "criterion": "kriteeri",
        "all": "kaikki",
        "summary": "ketju",
    },
}
_COVARIANCE = {
    "fi": {
        "CR2": "klusterirobusti toimistoittain (CR2, Satterthwaiten vapausasteet)",
        "HC3": "HC3 (tapaukset oletetaan riippumattomiksi)",
        "classical": "mallipohjainen (tapaukset oletetaan riippumattomiksi)",
    },
}


def _lang(result: Any) -> str:
    return result.language if result.language in _WORDS else "en"


def effect_text(effect: Any) -> str:
    if effect is None:
        return ""
    est, low, high = effect.per_sd
    if effect.scale == "log odds":
        return f"OR/SD {math.exp(est):.2f} [{math.exp(low):.2f}, {math.exp(high):.2f}]"
    if effect.scale == "log rate":
        return f"RR/SD {math.exp(est):.2f} [{math.exp(low):.2f}, {math.exp(high):.2f}]"
    return f"{est:+.2f}/SD [{low:+.2f}, {high:+.2f}]"


def _verdict_words(test: Any, t: dict[str, str]) -> str:
    word = t.get(f"verdict_{test.verdict}", test.verdict_text)
    if test.verdict == "too_little_data" and test.why.startswith("too few offices"):
        word = f"{word}: {test.why.split(' (')[0]}"
    if test.refutation is not None:
        status = t.get(f"refuted_{test.refutation.status.replace(' ', '_')}")
        word = f"{word} — {status}"
        if test.refutation.status == "fragile":
            word += ": " + "; ".join(c["why"] for c in test.refutation.failed)
    return str(word)


def _context(test: Any, t: dict[str, str]) -> str:
    return t[test.context] if test.context in ("elsewhere", "everywhere") else test.label


def render_analysis(out: Any, result: Any) -> None:
    lang = _lang(result)
    w, t = _WORDS[lang], catalogue(lang)
    width = out.width
    if width >= WIDE:
        _table(out, result, w, t)
    else:
        _stacked(out, result, w, t, width)
    counts = result.verdict_counts()
    settings = result.settings
    covariance = _COVARIANCE.get(lang, {}).get(
        settings["covariance"], settings["covariance_reason"]
    )
    note = w["note"].format(
        held=counts["held"],
        ns=counts["not supported"],
        contra=counts["contradicted"],
        little=counts["too little data"],
        min_cases=settings["min_cases"],
        min_offices=settings["min_offices"],
        covariance=covariance,
        refuters=settings["refuters"],
    )
    fill = min(width, 100)
    out.print(textwrap.fill(note, width=fill), markup=False)
    warnings = [wn for chain in result.chains for wn in chain.warnings]
    if warnings:
        out.print(w["warnings"], markup=False)
        for wn in warnings:
            where = wn.chain + (f" / {wn.context}" if wn.context else "")
            text = t.get(f"warning_{wn.code}", wn.message) if lang != "en" else wn.message
            out.print(
                textwrap.fill(f"  {wn.code} {where}: {text}", width=fill, subsequent_indent="    "),
                markup=False,
            )
    _criteria(out, result, w, t, width)


def _table(out: Any, result: Any, w: dict[str, str], t: dict[str, str]) -> None:
    table = Table(title=w["title"], title_justify="left", show_lines=False)
    table.add_column(t["chain"], no_wrap=True)
    table.add_column(t["context"], overflow="fold", max_width=30)
    table.add_column(t["verdict"], overflow="fold", ratio=1)
    table.add_column("effect", no_wrap=True)
    table.add_column("n", justify="right", no_wrap=True)
    table.add_column(t["offices"], justify="right", no_wrap=True)
    table.add_column("q", justify="right", no_wrap=True)
    for chain in result.chains:
        for i, test in enumerate(chain.tests):
            mark, style = VERDICT_STYLE[test.verdict_class]
            q = f"{test.effect.q:.2g}" if test.effect and test.effect.q is not None else ""
            table.add_row(
                Text(f"{chain.theory}.{chain.chain}" if i == 0 else "", style="bold"),
                Text(_context(test, t)),
                Text(f"{mark} {_verdict_words(test, t)}", style=style),
                effect_text(test.effect),
                str(test.n),
                str(test.n_offices),
                q,
            )
    out.print(table)


def _stacked(out: Any, result: Any, w: dict[str, str], t: dict[str, str], width: int) -> None:
    """One block per chain: the id on its own line (never broken), labels and verdicts
    wrapped to the width."""
    out.print(Text(w["title"], style="bold"))
    for chain in result.chains:
        out.print()
        out.print(
            Text(f"{chain.theory}.{chain.chain}", style="bold"), overflow="ignore", crop=False
        )
        summary = t.get(f"summary_{chain.summary}", chain.summary)
        out.print(
            textwrap.fill(summary, width=width, initial_indent="  ", subsequent_indent="  "),
            markup=False,
        )
        for test in chain.tests:
            mark, style = VERDICT_STYLE[test.verdict_class]
            head = f"  {mark} {_context(test, t)}: {_verdict_words(test, t)}"
            out.print(
                Text(textwrap.fill(head, width=width, subsequent_indent="      "), style=style)
            )
            numbers = [f"n {test.n}", f"{t['offices'].lower()} {test.n_offices}"]
            if test.effect is not None:
                numbers.insert(0, effect_text(test.effect))
                if test.effect.q is not None:
                    numbers.append(f"q {test.effect.q:.2g}")
            elif test.why:
                numbers.append(test.why)
            out.print(
                textwrap.fill(
                    ", ".join(numbers),
                    width=width,
                    initial_indent="      ",
                    subsequent_indent="      ",
                ),
                markup=False,
            )
    out.print()


def _office_label(result: Any, office: str) -> str:
    names = getattr(result, "office_names", {}) or {}
    return str(names.get(office, office))


def _criteria(out: Any, result: Any, w: dict[str, str], t: dict[str, str], width: int) -> None:
    if not result.criteria:
        return
    offices = sorted({c.office for cr in result.criteria for c in cr.cells} - {"all"})
    columns = [*offices, "all"]
    labels = [w["all"] if o == "all" else _office_label(result, o) for o in columns]
    rows = []
    for cr in result.criteria:
        target = " ".join(
            f"{'≥' if k == 'at_least' else '≤'}{_value(cr, v)}"
            for k, v in cr.target.items()
            if v is not None
        )
        latest: dict[str, Any] = {}
        for cell in cr.cells:
            if cell.office not in latest or cell.period > latest[cell.office].period:
                latest[cell.office] = cell
        cells = []
        for office in columns:
            cell = latest.get(office)
            if cell is None or cell.estimate is None:
                cells.append("–")
            else:
                cells.append(f"{STATUS_MARK[cell.status]} {_value(cr, cell.estimate)}")
        rows.append((cr.criterion, target, cells))
    needed = max(len(r[0]) for r in rows) + 10 + sum(max(len(lb), 9) + 1 for lb in labels)
    if needed <= width:
        table = Table(title=w["criteria"], title_justify="left", box=None, padding=(0, 1))
        table.add_column(w["criterion"], no_wrap=True)
        table.add_column(t["target"], no_wrap=True)
        for label in labels:
            table.add_column(label, justify="right", no_wrap=True)
        for name, target, cells in rows:
            table.add_row(Text(name), target, *cells)
        out.print(table)
        return
    out.print(textwrap.fill(w["criteria"], width=width), markup=False)
    for name, target, cells in rows:
        # no break inside "office mark value" (textwrap breaks only at ASCII spaces)
        parts = [
            f"{label} {cell}".replace(" ", "\u00a0")
            for label, cell in zip(labels, cells, strict=True)
        ]
        out.print(Text(f"  {name} ({t['target'].lower()} {target})", style="bold"))
        out.print(
            textwrap.fill(
                ", ".join(parts), width=width, initial_indent="    ", subsequent_indent="    "
            ),
            markup=False,
        )


def _value(cr: Any, v: float) -> str:
    """A criterion's value as its statistic reads: shares as percentages, the same way for
    the target as for the estimates."""
    if cr.statistic == "share":
        return f"{v:.0%}"
    return f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}"


def analysis_csv(data: dict[str, Any]) -> str:
    """One row per chain and context, from the analysis as JSON (``to_dict()``, or its
    shareable form, whose counts may read "<5" or "·"): full precision, the same fields."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    numbers = ("estimate", "se", "df", "ci_low", "ci_high")
    writer.writerow(
        [
            "theory",
            "chain",
            "context",
            "verdict",
            "verdict_text",
            "chain_summary",
            "refutation",
            "n",
            "n_offices",
            *numbers,
            "per_sd",
            "per_sd_ci_low",
            "per_sd_ci_high",
            "p",
            "q",
            "scale",
            "model",
            "covariance",
            "reason",
            "why",
        ]
    )

    def text(v: Any) -> str:
        return "" if v is None else repr(v) if isinstance(v, float) else str(v)

    for chain in data["chains"]:
        for test in chain["tests"]:
            e = test.get("effect")
            values = (
                [
                    *(text(e.get(k)) for k in numbers),
                    *(text(e["per_sd"][k]) for k in ("estimate", "ci_low", "ci_high")),
                    text(e.get("p")),
                    text(e.get("q")),
                    e.get("scale", ""),
                    e.get("model", ""),
                    e.get("covariance", ""),
                    e.get("reason", ""),
                ]
                if e
                else [""] * 15
            )
            refutation = test.get("refutation") or {}
            writer.writerow(
                [
                    chain["theory"],
                    chain["chain"],
                    test["context"],
                    test["verdict"],
                    test.get("verdict_text", ""),
                    chain.get("summary", ""),
                    refutation.get("summary", ""),
                    test["n"],
                    test.get("n_offices", ""),
                    *values,
                    test.get("why", ""),
                ]
            )
    return buffer.getvalue()

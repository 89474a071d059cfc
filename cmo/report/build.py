"""`cmo report`: one self-contained HTML page a development-unit meeting can act on."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from cmo import __version__
from cmo.analysis import AnalysisResult, analyse
from cmo.errors import InputError
from cmo.report.audit import DisclosureError, Tables, audit_page
from cmo.report.charts import ForestRow, forest, next_id, reset_ids
from cmo.report.diagram import Evidence, theory_diagram
from cmo.report.disclosure import Rule, Shown, chain_tables, check_filter, settle
from cmo.report.i18n import Texts, catalogue
from cmo.report.quality import excluded_view, gather, quality_tables, quality_view
from cmo.report.scorecard import scorecard
from cmo.store import open_store
from cmo.theory import validate
from cmo.theory.graph import theory_graph
from cmo.workspace import Workspace

#: Mark and style of each verdict class; the words come from the catalogue (verdict_<code>).
VERDICT_KEYS = {
    "held": ("verdict_held", "✔", "held"),
    "not supported": ("verdict_not_supported", "·", "not-supported"),
    "contradicted": ("verdict_contradicted", "✖", "contradicted"),
    "too little data": ("verdict_too_little_data", "?", "insufficient"),
}
# RAMESES II items and where this report covers them (section anchors), None = own words
RAMESES = {
    1: None,
    2: ("summary",),
    3: None,
    4: ("theories",),
    5: ("matrix", "theories"),
    6: None,
    7: None,
    8: None,
    9: None,
    10: ("methods",),
    11: ("quality", "methods"),
    12: None,
    13: ("methods",),
    14: ("quality",),
    15: ("matrix", "chains"),
    16: ("summary",),
    17: None,
    18: None,
    19: None,
    20: None,
}
PARTLY = {5, 10, 11, 14}


@dataclass
class Report:
    """A rendered report and facts about it."""

    html: str
    lang: str
    seconds: float
    analysis: AnalysisResult
    sections: list[str] = field(default_factory=list)
    #: SHA-256 of the analysis the report shows (its canonical JSON).
    analysis_sha256: str = ""

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.html, encoding="utf-8")

    def to_dict(self) -> dict[str, Any]:
        return {
            "lang": self.lang,
            "bytes": len(self.html.encode("utf-8")),
            "seconds": round(self.seconds, 3),
            "sections": self.sections,
            "verdicts": self.analysis.verdict_counts(),
            "analysis_sha256": self.analysis_sha256,
        }


def build_report(
    ws: Workspace,
    theories: Sequence[str] = (),
    *,
    lang: str = "fi",
    offices: Sequence[str] = (),
    periods: Sequence[str] = (),
    refuters: str = "quick",
    analysis: AnalysisResult | None = None,
) -> Report:
    """Render the report; ``analysis`` renders a saved analysis (``cmo analyse --format
    json``, read with :meth:`AnalysisResult.from_dict`) instead of running one."""
    started = time.perf_counter()
    reset_ids()
    t = Texts(lang)
    rule = Rule(ws.settings.disclosure_threshold)
    if analysis is None:
        result = analyse(
            ws, theories, offices=offices, periods=periods, lang=lang, refuters=refuters
        )
    else:
        if analysis.language != lang:
            raise InputError(
                f"the saved analysis is in '{analysis.language}' and its labels with it",
                hint=f"render it with --lang {analysis.language}, or run "
                f"'cmo analyse --lang {lang} --format json' again",
            )
        result = analysis
        offices = result.settings.get("offices", [])
        periods = result.settings.get("periods", [])
    digest = hashlib.sha256(
        json.dumps(result.to_dict(), sort_keys=True, ensure_ascii=False).encode("utf-8")
    ).hexdigest()
    validation = validate(workspace=ws.root)
    chosen = [th for th in validation.theories if th.id in result.provenance["theories"]]
    # office-level figures describe offices, not people: shown whatever their n
    office_level = {
        i.id for f in validation.indicator_files for i in f.indicators if i.level.value == "office"
    }
    # indicators whose values are proportions (range 0–1): shown as percentages
    proportions = {
        i.id
        for f in validation.indicator_files
        for i in f.indicators
        if i.range is not None and i.range.min == 0 and i.range.max == 1
    }
    with open_store(ws.store_path, read_only=True) as store:
        base = check_filter(store, offices, periods, rule)  # against differencing
        facts = gather(store, validation, lang, offices, periods)
        shared = sum(
            n
            for a, b, n in store.shared_pseudonyms()
            if not offices or (a in offices and b in offices)
        )
    tables = Tables()  # every count of the report, with what links them (audit.py)
    chain_tables(tables, result)
    if shared:  # pseudonyms under two offices: a count of people
        tables.cell("s:shared", shared)
    shown = settle(tables, rule, t, base, quality_tables(tables, facts))
    context = {
        "t": t,
        "lang": lang,
        "name": ws.settings.name,
        "k": rule.k,
        "rule": rule,
        "version": __version__,
        "summary": _summary(result, t),
        "facts": _facts(result, t, rule, shown),
        "analysis_sha256": digest,
        # CSS strings: the name is stripped of quotes, backslashes and angle brackets
        "css_header": Markup(_css_string(f"{t('title')} — {ws.settings.name}")),
        "css_page": Markup(t("page_css")),
        "matrix": _matrix(result, t, rule, shown),
        "theories": [_theory(validation, th, t, lang, result) for th in chosen],
        "chains": [_chain(c, t, rule, result.office_names, shown) for c in result.chains],
        "scorecard": scorecard(result, chosen, t, rule, lang, office_level, proportions),
        "quality": quality_view(facts, shown, t, result.office_names),
        "shared": Markup(
            str(escape(t("shared_pseudonyms_row", n="\x00"))).replace(
                "\x00", str(shown.cell("s:shared"))
            )
        )
        if shared
        else "",
        "rounding": base,
        "methods": _methods(result, t),
        "rameses": _rameses(t),
    }
    html = _render(context)
    findings = audit_page(html, tables, rule.k)  # the page as written, proven
    if findings:
        raise DisclosureError(
            "the report would show hidden counts: " + "; ".join(map(str, findings))
        )
    sections = ["summary", "matrix", "theories", "chains", "scorecard", "quality", "methods"]
    return Report(
        html=html,
        lang=lang,
        seconds=time.perf_counter() - started,
        analysis=result,
        sections=sections,
        analysis_sha256=digest,
    )


def _render(context: dict[str, Any]) -> str:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("cmo.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.j2").render(**context)


def _effect_text(effect: Any, t: Texts) -> str:
    """An effect per SD of the mechanism with its interval, on the outcome's own scale: a
    difference for scores and changes, an odds or rate ratio for yes/no and count outcomes
    (never the log scale beside differences)."""
    if effect is None:
        return ""
    est, low, high = effect.per_sd
    if effect.scale in ("log odds", "log rate"):
        import math

        name = t("ratio_odds_short" if effect.scale == "log odds" else "ratio_rate_short")
        e, lo, hi = (math.exp(v) for v in (est, low, high))
        return f"{name} {t.number(e)} [{t.number(lo)}, {t.number(hi)}]"
    return f"{t.signed(est)} [{t.signed(low)}, {t.signed(high)}]"


def _verdict(test: Any, t: Texts) -> dict[str, str]:
    _, mark, css = VERDICT_KEYS[test.verdict_class]
    return {"word": t(f"verdict_{test.verdict}"), "mark": mark, "css": css}


def _p(p: float | None, t: Texts) -> str:
    if p is None:
        return ""
    return t.number(p, 3) if p >= 0.001 else f"< {t.number(0.001, 3)}"


def _refutation(test: Any, t: Texts, names: dict[str, str] | None = None) -> dict[str, Any] | None:
    """What the refuters made of a held test, in the report's language."""
    ref = test.refutation
    if ref is None:
        return None
    lines = []
    for check in ref.checks:
        kind = {
            "leave one office out": "loo",
            "placebo mechanism": "placebo",
            "negative-control outcome": "nc",
        }[check["refuter"]]
        state = {True: "passed", False: "failed", None: "not_tried"}[check["passed"]]
        lines.append(
            t(
                f"refuter_{kind}_{state}",
                office=(names or {}).get(check.get("without", ""), check.get("without", "")),
                p=_p(check.get("p"), t),
                n=check.get("permutations", ""),
                outcome=check.get("outcome_label") or check.get("outcome", ""),
            )
        )
    return {"status": t(f"refuted_{ref.status.replace(' ', '_')}"), "lines": lines}


def _reason(effect: Any, t: Texts) -> str:
    """Why this model and this uncertainty, in the report's language."""
    if effect.covariance == "CR2":
        return t("reason_cr2", offices=effect.n_offices, df=t.number(effect.df, 1))
    if effect.covariance == "HC3":
        return t("reason_hc3")
    return _phrases(effect.reason, t) if t.lang == "en" else t("reason_classical")


_PHRASES = (
    "singular",
    "random",
    "no_random",
    "boundary",
    "linear_mixed",
    "linear",
    "logistic",
    "poisson",
    "fixed",
    "one_office",
    "hc3",
    "hc0",
    "model_based",
    "too_few",
)


def _phrases(text: str, t: Texts) -> str:
    """Model descriptions come from the analysis in English: say them in the report's
    language, phrase by phrase (longest phrases first)."""
    if t.lang == "en":
        return text
    english = catalogue("en")
    for key in _PHRASES:
        text = text.replace(english[f"phrase_{key}"], t(f"phrase_{key}"))
    return text.replace(f" {english['phrase_outcome']}", "")


def _count(n: int, rule: Rule, t: Texts) -> str:
    return rule.label() if rule.small(n) else t.integer(n)


def _summary(result: AnalysisResult, t: Texts) -> dict[str, Any]:
    """The answer in plain words: the counts, then what each chain shows."""
    counts = result.verdict_counts()
    return {
        "lead": t(
            "summary_lead",
            tests=sum(counts.values()),
            held=counts["held"],
            not_supported=counts["not supported"],
            contradicted=counts["contradicted"],
            insufficient=counts["too little data"],
        ),
        "chains": [(c.label, t(f"summary_{c.summary}")) for c in result.chains],
        "any_held": counts["held"] > 0,
    }


def _facts(result: AnalysisResult, t: Texts, rule: Rule, shown: Shown) -> Markup:
    """Page one's facts: the periods, the date of the data, offices and clients (the count
    of clients as the disclosure control shows it, marked for the audit)."""
    prov = result.provenance
    periods = prov.get("periods", [])
    span = periods[0] if len(periods) == 1 else f"{periods[0]}–{periods[-1]}" if periods else "–"
    date = prov.get("collected_until") or "–"
    if date != "–" and t.lang == "fi":
        year, month, day = date.split("-")
        date = f"{int(day)}.{int(month)}.{year}"
    text = t(
        "facts",
        periods=span,
        date=date,
        offices=t.integer(len(prov.get("offices", []))),
        clients="\x00",
    )
    return Markup(str(escape(text)).replace("\x00", str(shown.cell("c:clients"))))


def _css_string(text: str) -> str:
    """Text as a CSS string literal (for the printed running header)."""
    safe = "".join(c if c.isprintable() and c not in '"\\<>' else " " for c in text)
    return f'"{safe}"'


def _context_label(test: Any, t: Texts) -> str:
    return t(test.context) if test.context in ("elsewhere", "everywhere") else test.label


def _matrix(result: AnalysisResult, t: Texts, rule: Rule, shown: Shown) -> list[dict[str, Any]]:
    rows = []
    for chain in result.chains:
        for i, test in enumerate(chain.tests):
            show = test.effect is not None and rule.enough(test.n)
            rows.append(
                {
                    "chain": chain.label,
                    "chain_id": f"{chain.theory}-{chain.chain}",
                    "first": i == 0,
                    "span": len(chain.tests),
                    "context": _context_label(test, t),
                    "verdict": _verdict(test, t) if rule.enough(test.n) else _too_few(t),
                    "refutation": _refutation(test, t, result.office_names)
                    if rule.enough(test.n)
                    else None,
                    "effect": _effect_text(test.effect, t) if show else "",
                    "n": shown.cell(f"n:{chain.theory}-{chain.chain}:{test.context}"),
                }
            )
    return rows


def _too_few(t: Texts) -> dict[str, str]:
    _, mark, css = VERDICT_KEYS["too little data"]
    return {"word": t("verdict_too_little_data"), "mark": mark, "css": css}


def _evidence(result: AnalysisResult, theory_id: str, t: Texts) -> dict[tuple[str, str], Evidence]:
    """What the data said about each arrow of a theory's diagram: a chain's mechanism →
    outcome arrow by the chain's summary, its context arrows by the test in that context."""
    out: dict[tuple[str, str], Evidence] = {}
    for chain in result.chains:
        if chain.theory != theory_id:
            continue
        classes = {x.verdict_class for x in chain.tests}
        cls = next(
            (c for c in ("held", "contradicted", "not supported") if c in classes),
            "too little data",
        )
        out[(chain.chain, "produces")] = Evidence(cls, t(f"summary_{chain.summary}"))
        for test in chain.tests:
            out[(chain.chain, f"context:{test.context}")] = Evidence(
                test.verdict_class, t(f"verdict_{test.verdict}")
            )
    return out


def _theory(
    validation: Any, theory: Any, t: Texts, lang: str, result: AnalysisResult
) -> dict[str, Any]:
    graph = theory_graph(validation, theory, lang)
    headings = {
        "context": f"{t('contexts')} · {t('interventions')}",
        "mechanism": t("mechanisms"),
        "outcome": t("outcomes"),
    }
    legend = {
        "held": t("verdict_held"),
        "not supported": t("verdict_not_supported"),
        "contradicted": t("verdict_contradicted"),
        "too little data": t("verdict_too_little_data"),
    }
    diagram = (
        theory_diagram(
            graph,
            t("theory_diagram", theory=theory.title.get(lang)),
            t("theory_diagram_desc"),
            headings,
            _evidence(result, theory.id, t),
            legend,
            next_id(),
        )
        if graph.number_of_nodes()
        else Markup("")
    )
    return {
        "id": theory.id,
        "title": theory.title.get(lang),
        "description": theory.description.get(lang) if theory.description else "",
        "diagram": diagram,
    }


def _chain(chain: Any, t: Texts, rule: Rule, names: dict[str, str], shown: Shown) -> dict[str, Any]:
    def rows(tests: list[Any], with_n: bool = True) -> list[ForestRow]:
        """Forest rows. By office, no n is shown: offices' n would add up to the context's
        n, so a hidden office's n could be worked out."""
        out = []
        for test in tests:
            label = names.get(test.context, _context_label(test, t))
            n = shown.text(f"n:{chain.theory}-{chain.chain}:{test.context}") if with_n else ""
            if test.effect is None or not rule.enough(test.n):
                note = t(VERDICT_KEYS["too little data"][0])
                out.append(ForestRow(label, None, None, None, test.verdict_class, note, n))
            else:
                est, low, high = test.effect.per_sd
                out.append(ForestRow(label, est, low, high, test.verdict_class, n=n))
        return out

    models = [
        {
            "context": _context_label(x, t),
            "model": _phrases(x.effect.model, t),
            "reason": _reason(x.effect, t),
            "notes": _phrases("; ".join(x.effect.notes), t),
        }
        for x in chain.tests
        if x.effect is not None
    ]
    labels = {x.context: _context_label(x, t) for x in chain.tests}
    inside = {x.context: x.n for x in chain.tests}
    interactions = [
        t(
            "interaction_row",
            context=labels.get(i.context, i.context),
            effect=_effect_text(i.effect, t),
            difference=t(f"difference_{i.difference.replace(' ', '_')}"),
        )
        for i in chain.interactions  # both sides of the comparison from at least k cases
        if i.effect is not None
        and rule.enough(inside.get(i.context))
        and rule.enough(i.n - inside.get(i.context, 0))
    ]
    mediation = []
    for test in chain.tests:
        m = test.mediation
        if m and "indirect" in m and rule.enough(int(m.get("n", 0))):
            ind = m["indirect"]
            mediation.append(
                f"{_context_label(test, t)}: "
                + t(
                    "mediation",
                    intervention=chain.intervention_label or "",
                    effect=f"{t.signed(ind['estimate'])} [{t.signed(ind['ci_low'])}, "
                    f"{t.signed(ind['ci_high'])}]",
                )
            )
    scale = {"binomial": "log odds", "poisson": "log rate"}.get(chain.family, "difference")
    return {
        "id": f"{chain.theory}-{chain.chain}",
        "label": chain.label,
        "direction": t(
            "declared_direction",
            direction=t(
                f"direction_{chain.direction}",
                mechanism=chain.mechanism_label.lower(),
                measure=f"“{chain.measure_label}”"
                if t.lang == "en"
                else f"”{chain.measure_label}”",
            ),
        ),
        "forest_contexts": forest(
            rows(chain.tests), t("forest_contexts"), t("forest_desc"), t, scale
        ),
        "forest_offices": forest(
            rows(chain.by_office, with_n=False), t("forest_offices"), t("forest_desc"), t, scale
        ),
        "models": models,
        "interactions": interactions,
        "mediation": mediation,
        "log_scale": chain.family != "gaussian",
        "summary": t(f"summary_{chain.summary}"),
        "refutations": [
            {"context": _context_label(x, t), **r}
            for x in chain.tests
            if (r := _refutation(x, t, names)) is not None
        ],
        "warnings": sorted({f"{w.code}: {t(f'warning_{w.code}')}" for w in chain.warnings}),
        "excluded": excluded_view(chain, shown, t),
    }


def _methods(result: AnalysisResult, t: Texts) -> dict[str, Any]:
    prov = result.provenance
    return {
        "models": t("methods_models_text", min_offices=result.settings.get("min_offices", 3)),
        "correction": t("methods_correction_text", alpha=t.number(0.05)),
        "verdicts": t(
            "methods_verdicts_text",
            min_cases=result.settings["min_cases"],
            min_offices=result.settings.get("min_offices", 3),
        ),
        "files": prov["files"],
        "batches": prov["batches"],
        "versions": {"cmo": prov["cmo_version"], **prov["libraries"]},
    }


def _rameses(t: Texts) -> list[dict[str, Any]]:
    names = {
        "summary": t("summary"),
        "matrix": t("matrix"),
        "theories": t("theories"),
        "chains": t("chains"),
        "quality": t("data_quality"),
        "methods": t("methods"),
    }
    rows = []
    for item, where in RAMESES.items():
        if where is None:
            status = t("rameses_own_words")
        else:
            sections = ", ".join(names[w] for w in where)
            status = t("partly_by" if item in PARTLY else "covered_by", sections=sections)
        rows.append(
            {"item": f"{item}. {t(f'rameses_{item}')}", "status": status, "own": where is None}
        )
    return rows

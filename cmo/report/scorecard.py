"""The report's criteria scorecard: each critical success factor's criteria per office in the
latest period, by strategy perspective — shares as percentages, targets like their values, and
no estimate, share or trend that would tell how many of fewer than k people."""

from __future__ import annotations

from typing import Any

from cmo.analysis import AnalysisResult
from cmo.report.disclosure import Rule
from cmo.report.i18n import Texts

STATUS_KEYS = {
    "met": ("status_met", "✔", "met"),
    "not met": ("status_not_met", "✖", "not-met"),
    "uncertain": ("status_uncertain", "~", "uncertain"),
    "no data": ("status_no_data", "–", "no-data"),
}
PERSPECTIVES = ("client", "personnel", "process", "economy")


def _status(status: str, t: Texts) -> dict[str, str]:
    key, mark, css = STATUS_KEYS[status]
    return {"word": t(key), "mark": mark, "css": css}


def scorecard(
    result: AnalysisResult,
    theories: list[Any],
    t: Texts,
    rule: Rule,
    lang: str,
    office_level: set[str],
    proportions: set[str] = frozenset(),  # type: ignore[assignment]
) -> dict[str, Any]:
    offices = sorted({c.office for cr in result.criteria for c in cr.cells} - {"all"})
    by_id = {(c.theory, c.criterion): c for c in result.criteria}
    perspectives = []
    for perspective in PERSPECTIVES:
        factors = []
        for th in theories:
            for csf in th.critical_success_factors:
                if csf.perspective.value != perspective:
                    continue
                rows = []
                for ref in csf.criteria:
                    owner, cid = ref.split(".", 1) if "." in ref else (th.id, ref)
                    crit = by_id.get((owner, cid))
                    if crit is None:
                        continue
                    rows.append(
                        _criterion_row(
                            crit,
                            offices,
                            t,
                            rule,
                            crit.indicator in office_level,
                            crit.indicator in proportions,
                        )
                    )
                factors.append({"label": csf.label.get(lang), "rows": rows})
        if factors:
            perspectives.append({"label": t(f"perspective_{perspective}"), "factors": factors})
    return {
        "offices": [result.office_names.get(o, o) for o in offices],
        "perspectives": perspectives,
    }


def _criterion_row(
    crit: Any,
    offices: list[str],
    t: Texts,
    rule: Rule,
    office_level: bool,
    proportion: bool = False,
) -> dict[str, Any]:
    latest: dict[str, Any] = {}
    for cell in crit.cells:
        if cell.office not in latest or cell.period > latest[cell.office].period:
            latest[cell.office] = cell
    # one scale per column: shares (and indicators that are proportions) as percentages;
    # other values with the decimals their size needs — the target formatted like them
    share = crit.statistic == "share" or (proportion and crit.statistic == "mean")

    def fmt(v: float | None) -> str:
        if share:
            return t.percent(v)
        return t.number(v, 1 if v is not None and abs(v) >= 10 else 2)

    def hidden_cell(c: Any) -> bool:
        return c.n > 0 and (not rule.enough(c.n) or _few_on_one_side(crit, c, rule))

    # The pooled estimate minus the shown offices would reveal a hidden office: when any
    # office's estimate is hidden, the pooled one is hidden too.
    any_hidden = not office_level and any(hidden_cell(c) for o, c in latest.items() if o != "all")
    cells = []
    for office in [*offices, "all"]:
        cell = latest.get(office)
        if cell is None or (cell.estimate is None and (cell.n == 0 or office_level)):
            cells.append(
                {"text": "–", "status": _status("no data", t), "title": "", "interval": ""}
            )
            continue
        if not office_level and (hidden_cell(cell) or (office == "all" and any_hidden)):
            cells.append(
                {
                    "text": f"n {rule.label()}" if rule.small(cell.n) else "·",
                    "status": {"word": t("no_estimate"), "mark": "–", "css": "no-data"},
                    "interval": "",
                    "title": t("no_estimate"),
                }
            )
            continue
        interval = f" [{fmt(cell.ci_low)}, {fmt(cell.ci_high)}]" if cell.ci_low is not None else ""
        cells.append(
            {
                "text": fmt(cell.estimate),
                "interval": interval,
                "status": _status(cell.status, t),
                "title": cell.period,
            }
        )
    target = " ".join(
        f"{'≥' if k == 'at_least' else '≤'} {fmt(v)}"
        for k, v in crit.target.items()
        if v is not None
    )
    trend = crit.trends.get("all", "one period")
    if trend != "one period" and not _trend_safe(crit, rule, office_level):
        trend = "hidden"
    trend_key = {
        "up": "trend_up",
        "down": "trend_down",
        "no clear change": "trend_flat",
        "hidden": "trend_hidden",
    }.get(trend, "trend_one")
    return {"label": crit.label, "target": target, "cells": cells, "trend": t(trend_key)}


def _few_on_one_side(crit: Any, c: Any, rule: Rule) -> bool:
    """A share whose numerator (or its complement) counts 1 … k−1 people: the share would
    tell how many — the threshold applies to numerators too (output-checking practice)."""
    if getattr(crit, "statistic", "") != "share" or c.estimate is None or not c.n:
        return False
    yes = round(c.estimate * c.n)
    return rule.small(yes) or rule.small(c.n - yes)


def _trend_safe(crit: Any, rule: Rule, office_level: bool) -> bool:
    """A trend compares the first and the last period with an estimate: both from at least k
    cases, and (as the pooled estimate is hidden when an office's is) no office hidden then."""
    known = sorted(
        (c for c in crit.cells if c.office == "all" and c.estimate is not None),
        key=lambda c: c.period,
    )
    if office_level or len(known) < 2:
        return True
    ends = {known[0].period, known[-1].period}
    return all(
        (rule.enough(c.n) and not _few_on_one_side(crit, c, rule))
        or (c.office != "all" and c.n == 0)
        for c in crit.cells
        if c.period in ends and c.estimate is not None
    )

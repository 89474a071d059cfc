"""The data-quality section: batches, quarantined cells by reason and office, missing values.

What describes people and what describes the data are kept apart. Rows of case and worker
batches are clients and staff: their counts are in the disclosure model (small ones ``<k``,
others hidden when the audit says so). Office-level batches have one row per office: shown as
they are. Quarantined *cells* by reason describe the data: shown as counts, hidden only where
the audit finds they would reveal a count of people. Missing values are shares of rows; a share
whose count of missing (or of filled) rows is 1 … k−1 is shown as "fewer than k rows"."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cmo.report.audit import Model
from cmo.report.counts import QualityCounts
from cmo.report.disclosure import Rule
from cmo.report.i18n import Texts
from cmo.store.sql import ident, scope


def quality_counts(store: Any, offices: Sequence[str], periods: Sequence[str]) -> QualityCounts:
    batches = [
        b
        for b in store.batches()
        if (not offices or b.office in offices) and (not periods or b.period in periods)
    ]
    cells: dict[tuple[str, str], int] = {}
    for b in batches:
        for reason, _column, count in store.quarantine_reasons(b.batch_id):
            cells[(reason, b.office)] = cells.get((reason, b.office), 0) + count
    return QualityCounts(
        batches=batches,
        offices=sorted({b.office for b in batches}),
        reasons=sorted({r for r, _ in cells}),
        cells=cells,
    )


def quality_section(
    model: Model, q: QualityCounts, t: Texts, missing: list[dict[str, str]]
) -> dict[str, Any]:
    def text(name: str) -> str:
        return model.text(name, t.integer)

    batch_rows = []
    for b in q.batches:
        if b.level == "office":  # one row per office: describes offices, shown as it is
            shown = [t.integer(v) for v in (b.rows_in, b.rows_accepted, b.rows_quarantined)]
        else:
            base = f"batch|{b.batch_id}"
            shown = [text(f"{base}|in"), text(f"{base}|acc"), text(f"{base}|quar")]
        batch_rows.append(
            {
                "office": b.office,
                "period": b.period,
                "level": b.level,
                "rows_in": shown[0],
                "accepted": shown[1],
                "quarantined": shown[2],
            }
        )
    table = [
        {
            "reason": reason,
            "cells": [text(f"q|{reason}|{o}") for o in q.offices],
            "total": "",
        }
        for reason in q.reasons
    ]
    return {
        "batches": batch_rows,
        "offices": q.offices,
        "reasons": table,
        # no totals: a total of cells shown as "<k" would narrow each of them
        "reason_totals": [],
        "totals": False,
        "grand_total": "",
        "missing": missing,
    }


def missingness(
    store: Any,
    indicators: dict[str, Any],
    rule: Rule,
    t: Texts,
    offices: Sequence[str],
    periods: Sequence[str],
) -> list[dict[str, str]]:
    """The share of case rows missing each indicator — shown only when there are at least k
    cases, and as "fewer than k rows" when the missing (or the filled) rows are 1 … k−1: a
    share times a known number of rows would give the small count back."""
    cols = store.columns("case_observations")
    present = [i for i in sorted(indicators) if i in cols]
    if not present:
        return []
    conditions, params = scope(offices, periods)
    where = " AND ".join(["1=1", *conditions])
    sql = (
        "SELECT count(*), count(DISTINCT case_key), "
        + ", ".join(f"count({ident(i)})" for i in present)
        + f" FROM case_observations WHERE {where}"
    )
    row = store.con.execute(sql, params).fetchone()
    total, cases = int(row[0]), int(row[1])
    if not rule.enough(cases):
        return []
    out = []
    for ind_id, filled in zip(present, row[2:], strict=True):
        missing = total - int(filled)
        if rule.small(missing):
            text = t("missing_few", k=rule.k)
        elif rule.small(int(filled)):
            text = t("filled_few", k=rule.k)
        else:
            text = t.percent(missing / total, 0)
        out.append(
            {
                "indicator": indicators[ind_id].label.get(t.lang),
                "id": ind_id,
                "missing": text,
            }
        )
    return out

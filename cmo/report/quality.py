"""The report's data-quality section: batches, quarantine by reason and office, missingness —
with disclosure control that also holds across the tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cmo.analysis import AnalysisResult
from cmo.report.disclosure import Rule, suppress_table
from cmo.report.i18n import Texts
from cmo.store.sql import ident, scope


def _count(n: int, rule: Rule, t: Texts) -> str:
    return rule.label() if rule.small(n) else t.integer(n)


def quality(
    store: Any,
    result: AnalysisResult,
    rule: Rule,
    t: Texts,
    validation: Any,
    offices: Sequence[str],
    periods: Sequence[str],
) -> dict[str, Any]:
    """Batches, quarantine by reason and office, missingness — with disclosure control that
    also holds across the tables (a hidden count must not be a difference of shown ones)."""
    indicators = {i.id: i for f in validation.indicator_files for i in f.indicators}
    batches = [
        b
        for b in store.batches()
        if (not offices or b.office in offices) and (not periods or b.period in periods)
    ]
    batch_rows = []
    guarded: set[str] = set()  # offices with a hidden batch count
    for b in batches:
        small = [rule.small(v) for v in (b.rows_in, b.rows_accepted, b.rows_quarantined)]
        if small[0]:
            shown = [rule.label(), "·", "·"]
        elif small[1] or small[2]:
            # rows in = accepted + quarantined: hiding one part means hiding the other too
            shown = [t.integer(b.rows_in), "·", "·"]
        else:
            shown = [
                t.integer(b.rows_in),
                t.integer(b.rows_accepted),
                t.integer(b.rows_quarantined),
            ]
        if any(small):
            guarded.add(b.office)
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
    reasons: dict[str, dict[str, int]] = {}
    office_names = sorted({b.office for b in batches})
    for b in batches:
        for reason, _column, count in store.quarantine_reasons(b.batch_id):
            reasons.setdefault(reason, {}).setdefault(b.office, 0)
            reasons[reason][b.office] += count
    names = sorted(reasons)
    cells = [[reasons[r].get(o, 0) for o in office_names] for r in names]
    hidden = suppress_table(cells, rule) if cells else None
    # An office with a hidden batch count: its whole column is hidden, and no totals are
    # shown, so that nothing can be worked out against the batch table.
    columns_hidden = {j for j, o in enumerate(office_names) if o in guarded}
    totals = not columns_hidden
    table = []
    for i, reason in enumerate(names):
        row = []
        for j, _office in enumerate(office_names):
            v = cells[i][j]
            if (j in columns_hidden and v) or (hidden and hidden.cells[i][j] and not rule.small(v)):
                row.append("·")
            else:
                row.append(_count(v, rule, t))
        total = sum(cells[i])
        shown_total = (
            "·"
            if (hidden and hidden.row_totals[i] and not rule.small(total))
            else _count(total, rule, t)
        )
        table.append({"reason": reason, "cells": row, "total": shown_total})
    col_totals = []
    for j in range(len(office_names)):
        total = sum(cells[i][j] for i in range(len(names)))
        col_totals.append(
            "·"
            if hidden and hidden.col_totals[j] and not rule.small(total)
            else _count(total, rule, t)
        )
    grand = sum(sum(r) for r in cells)
    missing = _missingness(store, indicators, rule, t, offices, periods)
    return {
        "batches": batch_rows,
        "offices": office_names,
        "reasons": table,
        "reason_totals": col_totals,
        "totals": totals,
        "grand_total": "·"
        if hidden and hidden.grand_total and not rule.small(grand)
        else _count(grand, rule, t),
        "missing": missing,
    }


def _missingness(
    store: Any,
    indicators: dict[str, Any],
    rule: Rule,
    t: Texts,
    offices: Sequence[str],
    periods: Sequence[str],
) -> list[dict[str, str]]:
    """The share of case rows missing each indicator (shares only: a count of rows could be
    set against the batch table)."""
    cols = store.columns("case_observations")
    present = [i for i in sorted(indicators) if i in cols]
    if not present:
        return []
    conditions, params = scope(offices, periods)
    where = ["1=1", *conditions]
    sql = (
        "SELECT count(*), "
        + ", ".join(f"count({ident(i)})" for i in present)
        + f" FROM case_observations WHERE {' AND '.join(where)}"
    )
    row = store.con.execute(sql, params).fetchone()
    total = int(row[0])
    if not rule.enough(total):
        return []
    out = []
    for ind_id, filled in zip(present, row[1:], strict=True):
        missing = (total - int(filled)) / total
        out.append(
            {
                "indicator": indicators[ind_id].label.get(t.lang),
                "id": ind_id,
                "missing": t.percent(missing, 0),
            }
        )
    return out

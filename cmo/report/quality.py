"""The report's data-quality section: batches, quarantined cells by reason and office, and
missing values where each indicator is expected.

Counts of people (clients' and workers' rows) are sensitive cells; quarantined rows and cells
and office-level rows describe the data and are shown — all of them go into the report's
system of tables (:mod:`cmo.report.disclosure`), so complementary suppression and the audit
cover this section together with the rest of the report.

Missingness is counted **where the indicator is expected**: at its level (clients, workers,
offices) and at each measurement point where any office sent it — an indicator measured at
follow-up only is not "50 % missing" because baseline rows lack it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cmo.report.audit import Tables
from cmo.report.disclosure import Shown, batch_tables
from cmo.store.sql import ident, scope

LEVELS = (("case", "case_observations"), ("worker", "worker_observations"))
OFFICE_TABLE = "office_observations"


@dataclass
class Missing:
    indicator: str
    label: str
    level: str
    point: str | None  # None: no measurement points at this level
    rows: int  # rows where the indicator is expected
    missing: int


@dataclass
class QualityFacts:
    batches: list[Any]
    offices: list[str]
    reasons: dict[str, dict[str, int]]  # reason → office → quarantined cells
    missing: list[Missing] = field(default_factory=list)
    not_sent: list[str] = field(default_factory=list)  # indicators no office sent
    points: dict[str, dict[str | None, int]] = field(default_factory=dict)  # level → rows
    #: Measurement point id → its label in the report's language.
    point_labels: dict[str, str] = field(default_factory=dict)


def gather(
    store: Any,
    validation: Any,
    lang: str,
    offices: Sequence[str],
    periods: Sequence[str],
) -> QualityFacts:
    """The counts of the section, read from the store (the report's filters applied)."""
    batches = [
        b
        for b in store.batches()
        if (not offices or b.office in offices) and (not periods or b.period in periods)
    ]
    reasons: dict[str, dict[str, int]] = {}
    for b in batches:
        for reason, _column, count in store.quarantine_reasons(b.batch_id):
            slot = reasons.setdefault(reason, {})
            slot[b.office] = slot.get(b.office, 0) + count
    facts = QualityFacts(batches, sorted({b.office for b in batches}), reasons)
    facts.point_labels = {
        p.id: p.label.get(lang) for f in validation.indicator_files for p in f.measurement_points
    }
    indicators = {i.id: i for f in validation.indicator_files for i in f.indicators}
    conditions, params = scope(offices, periods)
    where = " AND ".join(["1=1", *conditions])
    sent: set[str] = set()
    for level, table in (*LEVELS, ("office", OFFICE_TABLE)):
        cols = store.columns(table)
        present = [i for i in sorted(indicators) if i in cols]
        point = "measurement_point" if "measurement_point" in cols else "NULL"
        counts = ", ".join(f"count({ident(i)})" for i in present)
        sql = f"SELECT {point}, count(*){', ' + counts if counts else ''} FROM {table} "
        rows = store.con.execute(f"{sql}WHERE {where} GROUP BY ALL ORDER BY 1", params)
        for row in rows.fetchall():
            at, n = row[0], int(row[1])
            facts.points.setdefault(level, {})[at] = n
            for ind_id, filled in zip(present, row[2:], strict=True):
                if filled:
                    sent.add(ind_id)
                    label = indicators[ind_id].label.get(lang)
                    facts.missing.append(Missing(ind_id, label, level, at, n, n - int(filled)))
    unsent = {i for i in indicators if i not in sent and indicators[i].composite is None}
    facts.not_sent = sorted(indicators[i].label.get(lang) for i in unsent)
    return facts


def _rows_key(level: str, point: str | None) -> str:
    return f"r:{level}:{point or '-'}"


def quality_tables(tables: Tables, facts: QualityFacts) -> dict[str, str]:
    """The section's cells and relations; returns the cells shown as shares (→ of what)."""
    batch_tables(tables, facts.batches)
    for reason, by_office in facts.reasons.items():
        for office in facts.offices:
            tables.cell(f"q:{reason}:{office}", by_office.get(office, 0), sensitive=False)
        tables.cell(f"q:{reason}:*", sum(by_office.values()), sensitive=False)
        row = [f"q:{reason}:{o}" for o in facts.offices]
        tables.total(f"q:{reason}:*", row, "a reason's total")
    if facts.reasons:
        for office in facts.offices:
            column = [f"q:{r}:{office}" for r in facts.reasons]
            total = sum(facts.reasons[r].get(office, 0) for r in facts.reasons)
            tables.cell(f"q:*:{office}", total, sensitive=False)
            tables.total(f"q:*:{office}", column, "an office's total")
            rows = [f"b:{b.batch_id}:q" for b in facts.batches if b.office == office]
            quarantined = sum(b.rows_quarantined for b in facts.batches if b.office == office)
            # each quarantined row has at least one quarantined cell; often exactly one
            if total == quarantined:
                tables.total(f"q:*:{office}", rows, "one quarantined cell per quarantined row")
            elif total > quarantined:
                tables.at_least(f"q:*:{office}", rows, "a quarantined row has a bad cell")
        grand = sum(sum(v.values()) for v in facts.reasons.values())
        tables.cell("q:*:*", grand, sensitive=False)
        tables.total("q:*:*", [f"q:{r}:*" for r in facts.reasons], "the grand total")
    shares = {}
    used = {(m.level, m.point) for m in facts.missing}
    for level, points in facts.points.items():
        people = level != "office"
        keys = []
        for point, n in points.items():  # rows at a point no indicator is shown for: latent
            key = _rows_key(level, point)
            keys.append(key if (level, point) in used else f"latent:{key}")
            tables.cell(keys[-1], n, sensitive=people)
        accepted = [f"b:{b.batch_id}:ok" for b in facts.batches if b.level == level]
        if accepted and sum(points.values()) == sum(
            b.rows_accepted for b in facts.batches if b.level == level
        ):
            # rows at the points add up to the accepted rows of the level's batches
            latent = tables.cell(f"latent:rows:{level}", sum(points.values()), sensitive=False)
            tables.total(latent, keys, f"{level} rows by measurement point")
            tables.total(latent, accepted, f"{level} rows accepted")
    for m in facts.missing:
        key = f"m:{m.indicator}:{m.level}:{m.point or '-'}"
        tables.cell(key, m.missing, sensitive=m.level != "office")
        shares[key] = _rows_key(m.level, m.point)
    return shares


def quality_view(
    facts: QualityFacts, shown: Shown, t: Any, names: dict[str, str] | None = None
) -> dict[str, Any]:
    """What the template shows, every count through ``shown`` (marked for the audit);
    ``names``: office id → the name to show."""
    names = names or {}
    batches = [
        {
            "office": names.get(b.office, b.office),
            "period": b.period,
            "level": b.level,
            "rows_in": shown.cell(f"b:{b.batch_id}:in"),
            "accepted": shown.cell(f"b:{b.batch_id}:ok"),
            "quarantined": shown.cell(f"b:{b.batch_id}:q"),
        }
        for b in facts.batches
    ]
    reasons = [
        {
            "reason": t(f"qreason_{r}") if f"qreason_{r}" in t.texts else r,
            "code": r,
            "cells": [shown.cell(f"q:{r}:{o}") for o in facts.offices],
            "total": shown.cell(f"q:{r}:*"),
        }
        for r in sorted(facts.reasons)
    ]
    missing = [
        {
            "indicator": m.label,
            "id": m.indicator,
            "where": t(f"level_{m.level}")
            + (f" · {facts.point_labels.get(m.point, m.point)}" if m.point else ""),
            "rows": shown.cell(_rows_key(m.level, m.point)),
            "missing": shown.cell(f"m:{m.indicator}:{m.level}:{m.point or '-'}", percent=True),
        }
        for m in sorted(facts.missing, key=lambda m: (m.level, m.point or "", m.label))
    ]
    return {
        "batches": batches,
        "offices": [names.get(o, o) for o in facts.offices],
        "reasons": reasons,
        "reason_totals": [shown.cell(f"q:*:{o}") for o in facts.offices] if facts.reasons else [],
        "grand_total": shown.cell("q:*:*") if facts.reasons else "",
        "totals": True,
        "missing": missing,
        "not_sent": facts.not_sent,
    }


def excluded_view(chain: Any, shown: Shown, t: Any) -> list[dict[str, Any]]:
    """Per context of a chain: cases analysed and cases left out, by reason."""
    cid = f"{chain.theory}-{chain.chain}"
    rows = []
    for test in chain.tests:
        reasons = {r.replace(" ", "_") for r in test.excluded}
        rows.append(
            {
                "context": t(test.context)
                if test.context in ("elsewhere", "everywhere")
                else test.label,
                "n": shown.cell(f"n:{cid}:{test.context}"),
                "missing": shown.cell(f"x:{cid}:{test.context}:missing_values")
                if "missing_values" in reasons
                else "",
                "unknown": shown.cell(f"x:{cid}:{test.context}:context_unknown")
                if "context_unknown" in reasons
                else "–",
            }
        )
    return rows

"""From the store to one row per case: the values each chain, context and criterion needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cmo.store import Batch, Store
from cmo.store.sql import ident, point_order, scope, sql_str
from cmo.theory.models import Indicator, IndicatorType, Level, MeasurementPoint

if TYPE_CHECKING:
    import pandas as pd

FIRST, LAST = "first", "last"
#: A "point" asking for the measurement point at which an indicator's latest value was taken.
LAST_POINT = "last_point"
#: Which row of a case comes later: the measurement point's order, then the period, the batch
#: and the row in the source file — so that every choice is deterministic.
ORDER = "row_key"
#: The same order as one 128-bit number (cheaper to compare than a struct): measurement-point
#: order, then the period's rank, the batch id and the source row, in separate digit ranges.
ROW_KEY = (
    "(CAST(mp_order AS HUGEINT) * 1000000000000000000000000 + CAST(period_rank AS HUGEINT) * "
    "1000000000000000000 + CAST(batch_id AS HUGEINT) * 1000000000 + source_row)"
)


def column(ind: Indicator, point: str | None, default: str) -> str:
    """The case-table column of an indicator at a point (worker/office values: per unit)."""
    if ind.level is not Level.CASE:
        return f"{ind.id}@unit"
    return f"{ind.id}@{point or default}"


@dataclass
class CaseData:
    """One row per case with ``office``, ``period`` and the requested ``indicator@point``
    columns; and the batches the data came from.

    A case is a client in one office: client numbers are local to each office's system, so
    the same pseudonym in two offices is treated as two cases (a person who moves is two
    episodes)."""

    frame: pd.DataFrame
    batches: list[Batch]
    alphas: dict[str, tuple[float | None, int]] = field(default_factory=dict)
    #: Measurement point id → its order (``indicator@last_point`` columns hold orders).
    point_orders: dict[str, int] = field(default_factory=dict)


def _composite_sql(ind: Indicator, indicators: dict[str, Indicator], have: set[str]) -> str:
    comp = ind.composite
    assert comp is not None
    terms = []
    for item_id in comp.items:
        item = indicators[item_id]
        col = ident(item_id) if item_id in have else "NULL"
        if item_id in comp.reverse and item.scale is not None:
            col = f"({item.scale.min + item.scale.max} - {col})"
        terms.append(f"CAST({col} AS DOUBLE)")
    present = " + ".join(f"(CASE WHEN {t} IS NULL THEN 0 ELSE 1 END)" for t in terms)
    total = " + ".join(f"coalesce({t}, 0)" for t in terms)
    need = comp.min_items or len(comp.items)
    # a sum over fewer items than all is prorated, so that scores stay comparable
    value = (
        f"({total}) / ({present})"
        if comp.method == "mean"
        else f"({total}) * {len(terms)} / ({present})"
    )
    return f"CASE WHEN ({present}) >= {need} THEN {value} END"


def load_cases(
    store: Store,
    indicators: dict[str, Indicator],
    points: dict[str, MeasurementPoint],
    needs: set[tuple[str, str]],
    offices: list[str] | None = None,
    periods: list[str] | None = None,
) -> CaseData:
    """Build the case table. ``needs`` holds (indicator id, point) with point a measurement
    point id, ``first`` or ``last`` (by measurement-point order, non-missing values)."""
    con = store.con
    have = set(store.columns("case_observations"))
    conditions, params = scope(offices or (), periods or ())
    where = ["1=1", *conditions]
    order_sql = point_order({p.id: p.order for p in points.values()})
    case_needs = sorted(n for n in needs if indicators[n[0]].level is Level.CASE)
    if "measurement_point" not in have:
        case_needs = [n for n in case_needs if n[1] != LAST_POINT]
    derived = []
    for ind_id in sorted({n[0] for n in case_needs}):
        ind = indicators[ind_id]
        if ind.composite is not None:
            derived.append(f"{_composite_sql(ind, indicators, have)} AS {ident(ind_id)}")
        elif ind_id not in have:
            derived.append(f"NULL AS {ident(ind_id)}")
    extra = "".join(", " + d for d in derived)
    aggs = []
    for ind_id, point in case_needs:
        name = ident(f"{ind_id}@{point}")
        col = ident(ind_id)
        if point == FIRST:
            aggs.append(f"arg_min({col}, {ORDER}) FILTER (WHERE {col} IS NOT NULL) AS {name}")
        elif point == LAST:
            aggs.append(f"arg_max({col}, {ORDER}) FILTER (WHERE {col} IS NOT NULL) AS {name}")
        elif point == LAST_POINT:
            # the order of the latest value's point: the row key starts with it
            aggs.append(f"max(mp_order) FILTER (WHERE {col} IS NOT NULL) AS {name}")
        else:
            aggs.append(
                f"arg_max({col}, {ORDER}) FILTER (WHERE measurement_point = {sql_str(point)} "
                f"AND {col} IS NOT NULL) AS {name}"
            )
    periods_seen = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT period FROM case_observations ORDER BY period"
        ).fetchall()
    ]
    period_rank = (
        "CASE period "
        + " ".join(f"WHEN {sql_str(str(p))} THEN {i}" for i, p in enumerate(periods_seen))
        + " ELSE 0 END"
        if periods_seen
        else "0"
    )
    sql = f"""
        WITH ranked AS (
            SELECT *, {period_rank} AS period_rank FROM case_observations
            WHERE {" AND ".join(where)}
        ), rows AS (
            SELECT * {extra}, {order_sql} AS mp_order FROM ranked
        ), keyed AS (
            SELECT *, {ROW_KEY} AS row_key FROM rows
        )
        SELECT office, case_key, min(period) AS period,
               arg_max(worker_key, {ORDER}) AS worker_key
               {"".join(", " + a for a in aggs)}
        FROM keyed GROUP BY office, case_key ORDER BY office, case_key
    """
    frame = con.execute(sql, params).df()
    for level, table, keys in (
        (Level.WORKER, "worker_observations", ("office", "worker_key", "period")),
        (Level.OFFICE, "office_observations", ("office", "period")),
    ):
        wanted = sorted({n[0] for n in needs if indicators[n[0]].level is level})
        if not wanted:
            continue
        cols = set(store.columns(table))
        unit_order = (
            f"struct_pack(m := {order_sql}, b := batch_id, r := source_row)"
            if "measurement_point" in cols
            else "struct_pack(b := batch_id, r := source_row)"
        )
        picks = ", ".join(
            f"arg_max({ident(i)}, {unit_order}) FILTER (WHERE {ident(i)} IS NOT NULL) "
            f"AS {ident(i + '@unit')}"
            if i in cols
            else f"NULL AS {ident(i + '@unit')}"
            for i in wanted
        )
        units = con.execute(f"SELECT {', '.join(keys)}, {picks} FROM {table} GROUP BY ALL").df()
        frame = frame.merge(units, on=list(keys), how="left")
    batches = store.batches()
    if offices:
        batches = [b for b in batches if b.office in offices]
    if periods:
        batches = [b for b in batches if b.period in periods]
    data = CaseData(
        frame=frame, batches=batches, point_orders={p.id: p.order for p in points.values()}
    )
    for ind in indicators.values():
        if ind.composite is not None and any(n[0] == ind.id for n in needs):
            data.alphas[ind.id] = cronbach_alpha(store, ind, indicators, where, params, have)
    return data


def cronbach_alpha(
    store: Store,
    ind: Indicator,
    indicators: dict[str, Indicator],
    where: list[str],
    params: list[Any],
    have: set[str],
) -> tuple[float | None, int]:
    """Cronbach's alpha of a composite's items over the rows where all items are present:
    k/(k−1) · (1 − Σ var(item) / var(total)), with sample variances."""
    comp = ind.composite
    assert comp is not None
    if any(i not in have for i in comp.items):
        return None, 0
    items = []
    for item_id in comp.items:
        item = indicators[item_id]
        col = f"CAST({ident(item_id)} AS DOUBLE)"
        if item_id in comp.reverse and item.scale is not None:
            col = f"({item.scale.min + item.scale.max} - {col})"
        items.append(col)
    total = " + ".join(items)
    complete = " AND ".join(f"{ident(i)} IS NOT NULL" for i in comp.items)

    # exact decimal sums (order-independent, so the result is byte-identical run to run)
    def sums(c: str) -> str:
        return f"sum(CAST({c} AS DECIMAL(38, 10))), sum(CAST(({c}) * ({c}) AS DECIMAL(38, 10)))"

    sql = (
        f"SELECT count(*), {', '.join(sums(c) for c in [*items, total])} "
        f"FROM case_observations WHERE {' AND '.join(where)} AND {complete}"
    )
    row = store.con.execute(sql, params).fetchone()
    assert row is not None
    n = int(row[0])
    k = len(items)
    if n < 2:
        return None, n
    values = [float(v) for v in row[1:]]
    variances = [
        (values[2 * i + 1] - values[2 * i] ** 2 / n) / (n - 1) for i in range(len(items) + 1)
    ]
    if not variances[-1]:
        return None, n
    return k / (k - 1) * (1 - sum(variances[:-1]) / variances[-1]), n


def numeric_type(ind: Indicator) -> bool:
    return (
        ind.type
        in (
            IndicatorType.LIKERT,
            IndicatorType.BINARY,
            IndicatorType.COUNT,
            IndicatorType.NUMERIC,
        )
        or ind.composite is not None
    )

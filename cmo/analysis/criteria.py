"""Evaluation criteria and critical success factors: targets estimated per office and period,
and over all offices with a stated estimand.

**What an "all offices" interval estimates** (``criteria_offices`` in cmo.yaml):

- ``population`` (default) — *these* offices are the population, as for a unit evaluating its
  own offices: the estimate is the share or mean over all of their cases, and its interval
  is stratified by office (each office's own sampling variation, Σ (n_g/N)² s_g²/n_g), so
  fixed differences between the offices are not uncertainty.
- ``sample`` — the offices are a sample of offices (e.g. to speak of Lapland's offices in
  general): the interval is clustered by office (the between-office variation of the office
  estimates, G/(G − 1) Σ (n_g(ȳ_g − ȳ))²/N²), with t on G − 1 degrees of freedom.

A share's interval is Wilson's with the design's effective number of cases
(n_eff = p(1 − p)/var, at most N; Korn & Graubard 1998) and the design's t quantile.
"""

from __future__ import annotations

import math
from typing import Any

from cmo.analysis.inference import t_quantile
from cmo.analysis.results import CriterionCell, CriterionResult, FactorResult
from cmo.analysis.stats import t_interval, wilson
from cmo.store.sql import ident, point_order, scope, sql_str
from cmo.theory.models import (
    Criterion,
    Indicator,
    Level,
    MeasurementPoint,
    ProgrammeTheory,
    Statistic,
)

ALL_OFFICES = ("population", "sample")


def criterion(
    store: Any,
    th: ProgrammeTheory,
    crit: Criterion,
    indicators: dict[str, Indicator],
    points: dict[str, MeasurementPoint],
    offices: list[str],
    periods: list[str],
    lang: str,
    all_offices: str = "population",
) -> CriterionResult:
    ind = indicators[crit.indicator]
    stats = _criterion_stats(store, crit, ind, points, offices, periods)
    exact = ind.level is Level.OFFICE
    cells: list[CriterionCell] = []
    by_office: dict[str, list[CriterionCell]] = {}
    per_period: dict[str, list[tuple[int, float, float]]] = {}
    for office, period, n, s1, s2 in stats:
        per_period.setdefault(period, []).append((n, s1, s2))
        cell = _cell(crit, office, period, int(n), float(s1), float(s2), exact=exact)
        cells.append(cell)
        by_office.setdefault(office, []).append(cell)
    for period, strata in sorted(per_period.items()):
        cell = _all_cell(crit, period, strata, all_offices, exact=exact)
        cells.append(cell)
        by_office.setdefault("all", []).append(cell)
    trends = {office: _trend(cs) for office, cs in sorted(by_office.items())}
    return CriterionResult(
        theory=th.id,
        criterion=crit.id,
        label=crit.label.get(lang),
        indicator=ind.id,
        statistic=crit.statistic.value,
        target={"at_least": crit.target.at_least, "at_most": crit.target.at_most},
        cells=cells,
        trends=trends,
        all_offices=all_offices,
    )


def _all_cell(
    crit: Criterion,
    period: str,
    strata: list[tuple[int, float, float]],
    all_offices: str,
    *,
    exact: bool,
) -> CriterionCell:
    """The all-offices cell of one period, for the chosen estimand."""
    N = sum(n for n, _, _ in strata)
    G = len(strata)
    if N == 0:
        return CriterionCell("all", period, 0, None, None, None, "no data")
    estimate = sum(s1 for _, s1, _ in strata) / N
    if all_offices == "sample":
        if G < 2:
            return CriterionCell("all", period, N, estimate, None, None, "uncertain")
        var = G / (G - 1) * sum((n * (s1 / n - estimate)) ** 2 for n, s1, _ in strata) / N**2
        df = float(G - 1)
    else:
        var = 0.0
        for n, s1, s2 in strata:
            if n >= 2:
                mean = s1 / n
                s2_g = max(0.0, (s2 - n * mean * mean) / (n - 1))
                var += (n / N) ** 2 * s2_g / n
        df = float(max(N - G, 1))
        if exact or (var == 0 and N == G):
            status = _status(crit, estimate, math.nan, math.nan)
            return CriterionCell("all", period, N, estimate, None, None, status)
    crit_t = t_quantile(df)
    if crit.statistic is Statistic.SHARE:
        p = estimate
        n_eff = float(N) if var <= 0 or p in (0.0, 1.0) else min(float(N), p * (1 - p) / var)
        low, high = _wilson_n(p, n_eff, crit_t)
    else:
        half = crit_t * math.sqrt(var)
        low, high = estimate - half, estimate + half
    return CriterionCell("all", period, N, estimate, low, high, _status(crit, estimate, low, high))


def _wilson_n(p: float, n: float, z: float) -> tuple[float, float]:
    """Wilson's interval for a proportion with a (possibly fractional) effective n."""
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def _success_sql(crit: Criterion, v: str) -> str:
    """SQL: does the value count as a success for a share criterion?"""
    test = crit.counts
    if test is None:
        return f"{v} = 1"
    parts = []

    def lit(x: Any) -> str:
        return sql_str(x) if isinstance(x, str) else repr(float(x))

    if test.equals is not None:
        parts.append(f"{v} = {lit(test.equals)}")
    if test.in_ is not None:
        parts.append(f"{v} IN ({', '.join(lit(x) for x in test.in_)})")
    for op, sym in (("at_least", ">="), ("at_most", "<="), ("above", ">"), ("below", "<")):
        bound = getattr(test, op)
        if bound is not None:
            parts.append(f"{v} {sym} {float(bound)!r}")
    return " AND ".join(parts) or "TRUE"


def _criterion_stats(
    store: Any,
    crit: Criterion,
    ind: Indicator,
    points: dict[str, MeasurementPoint],
    offices: list[str],
    periods: list[str],
) -> list[tuple[str, str, int, float, float]]:
    """Per office and period: n, Σvalue and Σvalue² (a share's value is 1 for a success).

    The sums are exact decimal sums (each value to 1e-10): a floating-point sum in parallel
    threads depends on the order, and the same inputs must give byte-identical results."""
    table = {
        "case": "case_observations",
        "worker": "worker_observations",
        "office": "office_observations",
    }[ind.level.value]
    cols = set(store.columns(table))
    if ind.id not in cols:
        return []
    unit = {"case": "case_key", "worker": "worker_key", "office": "office"}[ind.level.value]
    has_points = "measurement_point" in cols
    mp_order = point_order({p.id: p.order for p in points.values()}) if has_points else "0"
    conditions, params = scope(offices, periods)
    where = [f"{ident(ind.id)} IS NOT NULL", *conditions]
    v = ident(ind.id)
    point = "measurement_point" if has_points else "NULL"
    if crit.statistic is Statistic.MEAN_CHANGE and crit.change is not None:
        # the latest value at each point (by period, batch and row); the change is counted
        # in the period of its later value
        later = "struct_pack(p := period, b := batch_id, r := source_row)"
        to, frm = sql_str(crit.change.to), sql_str(crit.change.from_)
        per_unit = (
            f"SELECT office, arg_max(period, k) FILTER (WHERE point = {to}) AS period, "
            f"arg_max(v, k) FILTER (WHERE point = {to}) - "
            f"arg_max(v, k) FILTER (WHERE point = {frm}) AS value "
            f"FROM (SELECT office, period, {unit} AS unit, {point} AS point, {later} AS k, "
            f"CAST({v} AS DOUBLE) AS v FROM {table} WHERE {' AND '.join(where)}) "
            f"GROUP BY office, unit HAVING value IS NOT NULL"
        )
    else:
        point_filter = ""
        if crit.measurement_point and has_points:
            point_filter = f" AND measurement_point = {sql_str(crit.measurement_point)}"
        value = (
            f"CASE WHEN {_success_sql(crit, 'v')} THEN 1.0 ELSE 0.0 END"
            if crit.statistic is Statistic.SHARE
            else "CAST(v AS DOUBLE)"
        )
        per_unit = (
            f"SELECT office, period, {value} AS value FROM (SELECT office, period, unit, "
            f"arg_max(v, mp) AS v FROM (SELECT office, period, {unit} AS unit, "
            f"struct_pack(m := {mp_order}, b := batch_id, r := source_row) AS mp, {v} AS v "
            f"FROM {table} WHERE {' AND '.join(where)}"
            f"{point_filter}) GROUP BY office, period, unit)"
        )
    sql = (
        f"SELECT office, period, count(*), sum(CAST(value AS DECIMAL(38, 10))), "
        f"sum(CAST(value * value AS DECIMAL(38, 10))) FROM "
        f"({per_unit}) GROUP BY office, period ORDER BY office, period"
    )
    return [
        (str(o), str(p), int(n), float(s1), float(s2))
        for o, p, n, s1, s2 in store.con.execute(sql, params).fetchall()
    ]


def _cell(
    crit: Criterion,
    office: str,
    period: str,
    n: int,
    s1: float,
    s2: float,
    *,
    exact: bool = False,
) -> CriterionCell:
    if n == 0:
        return CriterionCell(office, period, 0, None, None, None, "no data")
    estimate = s1 / n
    if crit.statistic is Statistic.SHARE:
        low, high = wilson(round(s1), n)
    elif n >= 2:
        var = max(0.0, (s2 - n * estimate * estimate) / (n - 1))
        low, high = t_interval(estimate, math.sqrt(var), n)
    else:
        low = high = math.nan
    # one case or worker gives no interval, so no claim either way
    no_claim = math.isnan(low) and not exact
    status = "uncertain" if no_claim else _status(crit, estimate, low, high)
    return CriterionCell(office, period, n, estimate, _nan(low), _nan(high), status)


def _nan(v: float) -> float | None:
    return None if math.isnan(v) else v


def _status(crit: Criterion, est: float, low: float, high: float) -> str:
    if math.isnan(low):
        low = high = est  # a single value: no sampling interval
    verdicts = []
    if crit.target.at_least is not None:
        t = crit.target.at_least
        verdicts.append("met" if low >= t else "not met" if high < t else "uncertain")
    if crit.target.at_most is not None:
        t = crit.target.at_most
        verdicts.append("met" if high <= t else "not met" if low > t else "uncertain")
    if "not met" in verdicts:
        return "not met"
    if "uncertain" in verdicts:
        return "uncertain"
    return "met"


def _trend(cells: list[CriterionCell]) -> str:
    known = [c for c in sorted(cells, key=lambda c: c.period) if c.estimate is not None]
    if len(known) < 2:
        return "one period"
    first, last = known[0], known[-1]
    assert first.estimate is not None and last.estimate is not None
    if first.ci_high is not None and last.ci_low is not None and last.ci_low > first.ci_high:
        return "up"
    if first.ci_low is not None and last.ci_high is not None and last.ci_high < first.ci_low:
        return "down"
    return "no clear change"


def factors(
    theories: list[ProgrammeTheory], criteria: list[CriterionResult], lang: str
) -> list[FactorResult]:
    by_id = {(c.theory, c.criterion): c for c in criteria}
    out = []
    for th in theories:
        for csf in th.critical_success_factors:
            counts: dict[str, dict[str, int]] = {}
            for ref in csf.criteria:
                owner, cid = ref.split(".", 1) if "." in ref else (th.id, ref)
                crit = by_id.get((owner, cid))
                if crit is None:
                    continue
                latest: dict[str, CriterionCell] = {}
                for cell in crit.cells:
                    if cell.office not in latest or cell.period > latest[cell.office].period:
                        latest[cell.office] = cell
                for office, cell in latest.items():
                    slot = counts.setdefault(
                        office, {"met": 0, "not met": 0, "uncertain": 0, "no data": 0}
                    )
                    slot[cell.status] += 1
            out.append(
                FactorResult(
                    th.id,
                    csf.id,
                    csf.label.get(lang),
                    csf.perspective.value,
                    list(csf.criteria),
                    dict(sorted(counts.items())),
                )
            )
    return out

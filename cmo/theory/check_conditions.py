"""Checks of conditions (contexts, criteria's counts): operators that fit the indicator,
values on its scale or among its codes, ranges that can hold."""

from __future__ import annotations

from typing import Any

from cmo.source import Loc
from cmo.strict import Model
from cmo.theory.index import (
    Workspace,
    indicator_ref,
    point_ref,
)
from cmo.theory.load import LoadedFile
from cmo.theory.models import (
    AllOf,
    AnyOf,
    Comparison,
    Condition,
    Indicator,
    IndicatorType,
    NotOf,
)

RANGE_OPS = ("at_least", "at_most", "above", "below", "between")
LOWER_OPS = ("at_least", "above")
UPPER_OPS = ("at_most", "below")
SINGLE_OPS = ("equals", "in", "not_in", "between", "missing", "present")


def op_value(cond: Model, op: str) -> Any:
    return getattr(cond, "in_" if op == "in" else op, None)


def check_condition(ws: Workspace, lf: LoadedFile, cond: Condition, loc: Loc) -> None:
    if isinstance(cond, AllOf):
        for j, sub in enumerate(cond.all):
            check_condition(ws, lf, sub, (*loc, "all", j))
        return
    if isinstance(cond, AnyOf):
        for j, sub in enumerate(cond.any):
            check_condition(ws, lf, sub, (*loc, "any", j))
        return
    if isinstance(cond, NotOf):
        check_condition(ws, lf, cond.not_, (*loc, "not"))
        return
    assert isinstance(cond, Comparison)
    ops = [op for op in (*SINGLE_OPS, *LOWER_OPS, *UPPER_OPS) if op_value(cond, op) is not None]
    ops = list(dict.fromkeys(ops))
    lower = [op for op in ops if op in LOWER_OPS]
    upper = [op for op in ops if op in UPPER_OPS]
    single = [op for op in ops if op in SINGLE_OPS]
    if not ops:
        ws.add(
            lf.finding(
                "T004",
                "the condition has no operator (equals, in, not_in, "
                "at_least, at_most, above, below, between, missing, present)",
                loc,
            )
        )
    elif impossible(ws, lf, cond, ops, loc):
        pass
    elif (single and len(ops) > 1) or len(lower) > 1 or len(upper) > 1:
        conflicting(ws, lf, ops, loc)
    point_ref(ws, lf, cond.measurement_point, (*loc, "measurement_point"))
    ind = indicator_ref(ws, lf, cond.indicator, (*loc, "indicator"))
    if ind is not None:
        check_ops(ws, lf, ind, cond, ops, loc)


def conflicting(ws: Workspace, lf: LoadedFile, ops: list[str], loc: Loc) -> None:
    ws.add(
        lf.finding(
            "T004",
            f"conflicting operators {', '.join(ops)}: use one, or one lower and one upper bound",
            (*loc, ops[1]),
            key=True,
        )
    )


def impossible(ws: Workspace, lf: LoadedFile, cond: Model, ops: list[str], loc: Loc) -> bool:
    """T006: conditions no value can meet (an empty list, a range whose ends are swapped)."""
    for op in ("in", "not_in"):
        if op in ops and not op_value(cond, op):
            ws.add(lf.finding("T006", f"'{op}' has an empty list", (*loc, op)))
            return True
    between = op_value(cond, "between")
    if between is not None and between[0] > between[1]:
        ws.add(
            lf.finding(
                "T006",
                f"between [{between[0]:g}, {between[1]:g}]: the low end is above the high end",
                (*loc, "between"),
            )
        )
        return True
    lows = [(op, op_value(cond, op)) for op in LOWER_OPS if op_value(cond, op) is not None]
    highs = [(op, op_value(cond, op)) for op in UPPER_OPS if op_value(cond, op) is not None]
    for lo_op, lo in lows:
        for hi_op, hi in highs:
            if type(lo) is type(hi) and (lo > hi or (lo == hi and "at" not in lo_op + hi_op)):
                ws.add(
                    lf.finding(
                        "T006", f"{lo_op} {lo} and {hi_op} {hi}: no value is both", (*loc, hi_op)
                    )
                )
                return True
    return False


def check_ops(
    ws: Workspace, lf: LoadedFile, ind: Indicator, cond: Model, ops: list[str], loc: Loc
) -> None:
    t = ind.type
    for op in ops:
        value = op_value(cond, op)
        oloc = (*loc, op)
        if op in ("missing", "present"):
            continue
        if op in RANGE_OPS and t in (IndicatorType.CATEGORY, IndicatorType.BINARY):
            ws.add(
                lf.finding(
                    "T001",
                    f"'{op}' compares sizes, but '{ind.id}' is a {t.value}; use 'equals' or 'in'",
                    oloc,
                    key=True,
                )
            )
            continue
        values = list(value) if isinstance(value, list | tuple) else [value]
        for k, v in enumerate(values):
            vloc = (*oloc, k) if isinstance(value, list) else oloc
            _check_value(ws, lf, ind, op, v, vloc)


def _check_value(ws: Workspace, lf: LoadedFile, ind: Indicator, op: str, v: Any, loc: Loc) -> None:
    import datetime as dt

    t = ind.type
    if t is IndicatorType.DATE:
        if not isinstance(v, dt.date):
            ws.add(
                lf.finding(
                    "T001",
                    f"'{ind.id}' is a date; compare it with a date such as 2024-01-31, not {v!r}",
                    loc,
                )
            )
        return
    if isinstance(v, dt.date):
        ws.add(lf.finding("T001", f"'{ind.id}' is {t.value}, not a date", loc))
        return
    if t is IndicatorType.CATEGORY:
        codes = {value.code for value in ind.values}
        if codes and v not in codes:
            known = ", ".join(repr(c) for c in sorted(codes, key=str))
            ws.add(lf.finding("T003", f"'{ind.id}' has no category {v!r}; known: {known}", loc))
        return
    if isinstance(v, bool):
        v = int(v)
    if not isinstance(v, int | float):
        ws.add(
            lf.finding("T001", f"'{ind.id}' is {t.value}; compare it with a number, not {v!r}", loc)
        )
        return
    if v != v or v in (float("inf"), float("-inf")):
        ws.add(lf.finding("T002", f"{v} is not a usable number", loc))
    elif t is IndicatorType.LIKERT and op in ("equals", "in", "not_in") and v != int(v):
        ws.add(lf.finding("T002", f"{v:g} is not a point of the scale of '{ind.id}'", loc))
    elif t is IndicatorType.BINARY and v not in (0, 1):
        ws.add(lf.finding("T002", f"'{ind.id}' is binary: 0 or 1, not {v:g}", loc))
    elif t is IndicatorType.LIKERT and ind.scale is not None:
        if not ind.scale.min <= v <= ind.scale.max:
            ws.add(
                lf.finding(
                    "T002",
                    f"{v:g} is outside the scale {ind.scale.min}–{ind.scale.max} of '{ind.id}'",
                    loc,
                )
            )
    elif ind.range is not None:
        lo, hi = ind.range.min, ind.range.max
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            shown = f"{'' if lo is None else f'{lo:g}'}–{'' if hi is None else f'{hi:g}'}"
            ws.add(
                lf.finding("T002", f"{v:g} is outside the valid range {shown} of '{ind.id}'", loc)
            )
    elif t is IndicatorType.COUNT and v < 0:
        ws.add(lf.finding("T002", f"'{ind.id}' is a count; {v:g} is negative", loc))

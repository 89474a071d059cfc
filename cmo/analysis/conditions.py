"""Evaluating a context's condition on a table of cases (vectorised, three-valued).

A condition is true, false or unknown (NULL) for a case: a comparison on a missing value is
unknown (except ``missing``/``present``), ``all`` is false if any part is false, ``any`` is true
if any part is true, ``not`` flips true and false. Cases where a context is unknown are left out
of that context's tests (and counted).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cmo.theory.models import AllOf, AnyOf, Comparison, Condition, NotOf

if TYPE_CHECKING:
    import pandas as pd

#: Column name of an indicator's value at a point ("" = the condition default: first point).
ColumnFor = Callable[[str, str | None], str]


def condition_columns(cond: Condition) -> list[tuple[str, str | None]]:
    """Every (indicator, measurement point) a condition reads."""
    if isinstance(cond, AllOf):
        return [c for sub in cond.all for c in condition_columns(sub)]
    if isinstance(cond, AnyOf):
        return [c for sub in cond.any for c in condition_columns(sub)]
    if isinstance(cond, NotOf):
        return condition_columns(cond.not_)
    assert isinstance(cond, Comparison)
    return [(cond.indicator, cond.measurement_point)]


def evaluate(cond: Condition, frame: pd.DataFrame, column: ColumnFor) -> pd.Series:
    """A nullable boolean Series: the condition for each row of ``frame``."""
    import pandas as pd

    if isinstance(cond, AllOf):
        parts = [evaluate(sub, frame, column) for sub in cond.all]
        out = parts[0]
        for part in parts[1:]:
            out = out & part
        return out
    if isinstance(cond, AnyOf):
        parts = [evaluate(sub, frame, column) for sub in cond.any]
        out = parts[0]
        for part in parts[1:]:
            out = out | part
        return out
    if isinstance(cond, NotOf):
        return ~evaluate(cond.not_, frame, column)
    assert isinstance(cond, Comparison)
    values = frame[column(cond.indicator, cond.measurement_point)]
    missing = values.isna()
    if cond.missing:
        return missing.astype("boolean")
    if cond.present:
        return (~missing).astype("boolean")
    result = pd.Series(True, index=frame.index, dtype="boolean")

    def both(mask: Any) -> None:
        nonlocal result
        result = result & pd.array(mask, dtype="boolean")

    if cond.equals is not None:
        both(values == _value(cond.equals))
    if cond.in_ is not None:
        both(values.isin([_value(v) for v in cond.in_]))
    if cond.not_in is not None:
        both(~values.isin([_value(v) for v in cond.not_in]))
    if cond.between is not None:
        both((values >= cond.between[0]) & (values <= cond.between[1]))
    for op in ("at_least", "at_most", "above", "below"):
        bound = getattr(cond, op)
        if bound is not None:
            both(compare(op, values, _value(bound)))
    result[missing] = pd.NA
    return result


def compare(op: str, a: Any, b: Any) -> Any:
    if op == "at_least":
        return a >= b
    if op == "at_most":
        return a <= b
    if op == "above":
        return a > b
    return a < b


def _value(v: Any) -> Any:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, dt.date):
        import pandas as pd

        return pd.Timestamp(v)
    return v

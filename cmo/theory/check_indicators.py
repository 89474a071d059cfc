"""Checks of indicators and measurement points: types, scales, value labels, composite
scales, column names claimed twice, measurement point order."""

from __future__ import annotations

from typing import Any

from cmo.source import Loc
from cmo.text import normalise, normalise_header
from cmo.theory.check_graph import rotate, simple_cycles
from cmo.theory.index import (
    Placed,
    Workspace,
    indicator_ref,
)
from cmo.theory.models import (
    QUANTITATIVE,
    Indicator,
    IndicatorType,
)


def check_indicator(ws: Workspace, placed: Placed[Indicator]) -> None:
    ind, lf, loc = placed.obj, placed.file, placed.loc
    t = ind.type
    if t is IndicatorType.LIKERT and ind.scale is None:
        ws.add(
            lf.finding(
                "I001",
                f"Likert indicator '{ind.id}' needs a 'scale' (e.g. scale: {{min: 1, max: 5}})",
                loc,
            )
        )
    if ind.scale is not None:
        if t is not IndicatorType.LIKERT:
            ws.add(
                lf.finding(
                    "I001", f"'scale' only fits Likert indicators, not {t.value}", (*loc, "scale")
                )
            )
        elif ind.scale.min >= ind.scale.max:
            ws.add(
                lf.finding(
                    "I001",
                    f"scale min ({ind.scale.min}) must be below max ({ind.scale.max})",
                    (*loc, "scale"),
                )
            )
    if t is IndicatorType.CATEGORY and not ind.values:
        ws.add(
            lf.finding(
                "I001", f"category indicator '{ind.id}' needs 'values' (its categories)", loc
            )
        )
    if ind.range is not None:
        if t not in (IndicatorType.NUMERIC, IndicatorType.COUNT):
            ws.add(
                lf.finding(
                    "I001",
                    f"'range' only fits numeric and count indicators, not {t.value}",
                    (*loc, "range"),
                )
            )
        elif (
            ind.range.min is not None
            and ind.range.max is not None
            and ind.range.min > ind.range.max
        ):
            ws.add(
                lf.finding(
                    "I001",
                    f"range min ({ind.range.min:g}) is above max ({ind.range.max:g})",
                    (*loc, "range"),
                )
            )
    if t in (IndicatorType.NUMERIC, IndicatorType.COUNT, IndicatorType.DATE) and ind.values:
        ws.add(
            lf.finding(
                "I001", f"'values' (value labels) do not fit {t.value} indicators", (*loc, "values")
            )
        )
    # Value codes fit the type; labels and synonyms are unambiguous.
    seen_codes: dict[Any, int] = {}
    seen_words: dict[str, Any] = {}
    for j, value in enumerate(ind.values):
        vloc = (*loc, "values", j, "code")
        code = value.code
        if t is IndicatorType.BINARY and code not in (0, 1):
            ws.add(lf.finding("T002", f"binary codes are 0 and 1, not {code!r}", vloc))
        elif t is IndicatorType.LIKERT and ind.scale is not None and not _on_scale(code, ind):
            ws.add(
                lf.finding(
                    "T002",
                    f"code {code!r} is outside the scale {ind.scale.min}–{ind.scale.max}",
                    vloc,
                )
            )
        if str(code) in seen_codes:
            ws.add(lf.finding("D001", f"code {code!r} is listed twice", vloc))
        seen_codes.setdefault(str(code), j)
        words = [w for w in (value.label.fi, value.label.sv, value.label.en) if w]
        words += value.synonyms
        if isinstance(code, str):
            words.append(code)
        for word in words:
            norm = normalise(word)
            if norm in seen_words and seen_words[norm] != code:
                ws.add(
                    lf.finding(
                        "I002",
                        f"'{word}' would mean both {seen_words[norm]!r} and {code!r}",
                        (*loc, "values", j),
                    )
                )
            seen_words.setdefault(norm, code)
    if ind.composite is not None:
        _check_composite(ws, placed)


def _on_scale(code: Any, ind: Indicator) -> bool:
    scale = ind.scale
    return scale is not None and isinstance(code, int) and scale.min <= code <= scale.max


def _check_composite(ws: Workspace, placed: Placed[Indicator]) -> None:
    ind, lf, loc = placed.obj, placed.file, placed.loc
    comp = ind.composite
    assert comp is not None
    cloc = (*loc, "composite")
    if ind.type not in (IndicatorType.NUMERIC, IndicatorType.LIKERT):
        ws.add(
            lf.finding(
                "I004",
                f"a composite scale must be numeric or likert, not {ind.type.value}",
                (*loc, "type"),
            )
        )
    for j, item_id in enumerate(comp.items):
        iloc = (*cloc, "items", j)
        if item_id in comp.items[:j]:
            ws.add(lf.finding("I004", f"item '{item_id}' is listed twice", iloc))
            continue
        if item_id == ind.id:
            ws.add(lf.finding("I004", "a composite cannot contain itself", iloc))
            continue
        item = indicator_ref(ws, lf, item_id, iloc)
        if item is None:
            continue
        if item.type not in QUANTITATIVE:
            ws.add(
                lf.finding(
                    "I004",
                    f"item '{item_id}' is {item.type.value}; composite items "
                    "must be likert, numeric, count or binary",
                    iloc,
                )
            )
        if item.level != ind.level:
            ws.add(
                lf.finding(
                    "I004",
                    f"item '{item_id}' is measured per {item.level.value}, the "
                    f"composite per {ind.level.value}",
                    iloc,
                )
            )
    for j, rev in enumerate(comp.reverse):
        if rev not in comp.items:
            ws.add(
                lf.finding(
                    "I004", f"reverse-scored '{rev}' is not one of the items", (*cloc, "reverse", j)
                )
            )
    if comp.min_items is not None and comp.min_items > len(comp.items):
        ws.add(
            lf.finding(
                "I004",
                f"min_items ({comp.min_items}) exceeds the number of items ({len(comp.items)})",
                (*cloc, "min_items"),
            )
        )


def check_composite_cycles(ws: Workspace) -> None:
    edges = []
    for ident, placed in ws.indicators.items():
        if placed.obj.composite is not None:
            for item in placed.obj.composite.items:
                if item != ident and item in ws.indicators:
                    edges.append((ident, item))
    for cycle in sorted(simple_cycles(edges), key=lambda c: sorted(c)):
        start = min(cycle)
        placed = ws.indicators[start]
        ring = " → ".join([*rotate(cycle, start), start])
        ws.add(
            placed.file.finding(
                "I004", f"composite scales form a circle: {ring}", (*placed.loc, "composite")
            )
        )


def check_aliases(ws: Workspace) -> None:
    owners: dict[str, tuple[str, Placed[Indicator], Loc]] = {}
    for ident, placed in ws.indicators.items():
        names: list[tuple[str, Loc]] = [(ident, (*placed.loc, "id"))]
        names += [(a, (*placed.loc, "aliases", j)) for j, a in enumerate(placed.obj.aliases)]
        mine: set[str] = set()
        for name, loc in names:
            norm = normalise_header(name)
            if norm in mine:
                continue
            mine.add(norm)
            if norm in owners and owners[norm][0] != ident:
                other = owners[norm][0]
                ws.add(
                    placed.file.finding(
                        "I003",
                        f"column name '{name}' is claimed by both '{other}' and '{ident}'",
                        loc,
                    )
                )
            else:
                owners.setdefault(norm, (ident, placed, loc))


def check_point_orders(ws: Workspace) -> None:
    seen: dict[int, str] = {}
    for ident, placed in ws.points.items():
        order = placed.obj.order
        if order in seen:
            ws.add(
                placed.file.finding(
                    "D001",
                    f"measurement points '{seen[order]}' and '{ident}' share order {order}; "
                    "changes need a clear earlier and later point",
                    (*placed.loc, "order"),
                )
            )
        else:
            seen[order] = ident

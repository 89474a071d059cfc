"""Semantic checks across files: identity, references, types, graph and languages.

The schema (the models) says whether each file is well-formed on its own; these checks say whether
the workspace makes sense as a whole. Each check appends findings with a code from
:mod:`cmo.findings` and the position of the offending value.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from cmo.findings import Finding
from cmo.source import Loc
from cmo.strict import Model
from cmo.text import normalise, normalise_header
from cmo.theory.load import LoadedFile
from cmo.theory.models import (
    QUANTITATIVE,
    AllOf,
    AnyOf,
    Comparison,
    Condition,
    Criterion,
    Indicator,
    IndicatorType,
    MeasurementPoint,
    NotOf,
    ProgrammeTheory,
    Statistic,
    Text,
    ValueTest,
)

RANGE_OPS = ("at_least", "at_most", "above", "below", "between")
LOWER_OPS = ("at_least", "above")
UPPER_OPS = ("at_most", "below")
SINGLE_OPS = ("equals", "in", "not_in", "between", "missing", "present")


T = TypeVar("T")


@dataclass
class Placed(Generic[T]):
    """A model object with the file and YAML path it came from."""

    obj: T
    file: LoadedFile
    loc: Loc


@dataclass
class Workspace:
    """Everything loaded, indexed by id, for the checks."""

    files: list[LoadedFile]
    languages: list[str]
    findings: list[Finding] = field(default_factory=list)
    indicators: dict[str, Placed[Indicator]] = field(default_factory=dict)
    points: dict[str, Placed[MeasurementPoint]] = field(default_factory=dict)
    theories: dict[str, Placed[ProgrammeTheory]] = field(default_factory=dict)
    broken_indicators: set[str] = field(default_factory=set)
    broken_points: set[str] = field(default_factory=set)
    broken_theories: set[str] = field(default_factory=set)
    #: Every valid theory, duplicates of an id included (all are checked).
    all_theories: list[Placed[ProgrammeTheory]] = field(default_factory=list)
    #: Theories with a chain reference that did not resolve (their "unused" is noise).
    unresolved_chains: set[str] = field(default_factory=set)
    #: (id of a theory, section) → {element id: element}, filled by :func:`resolve`.
    elements: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)


def run_checks(files: list[LoadedFile], languages: Iterable[str]) -> list[Finding]:
    ws = Workspace(files=files, languages=list(languages))
    _index(ws)
    for ind in ws.indicators.values():
        _check_indicator(ws, ind)
    _check_aliases(ws)
    _check_point_orders(ws)
    _check_composite_cycles(ws)
    from cmo.theory.design_checks import check_design, check_identity_codes

    for th in ws.all_theories:
        _check_theory(ws, th)
        check_design(ws, th)
    _check_graph(ws)
    _check_languages(ws)
    for lf in files:
        check_identity_codes(ws, lf)
    return ws.findings


# --------------------------------------------------------------------------------------------
# Identity
# --------------------------------------------------------------------------------------------


def _index(ws: Workspace) -> None:
    for lf in ws.files:
        if lf.kind == "indicators":
            ws.broken_indicators |= lf.broken_ids.get("indicators", set())
            ws.broken_points |= lf.broken_ids.get("measurement_points", set())
            if lf.model is None:
                continue
            for i, ind in lf.items("indicators"):
                _register(ws, ws.indicators, Placed(ind, lf, ("indicators", i)), "indicator")
            for i, mp in lf.items("measurement_points"):
                _register(
                    ws, ws.points, Placed(mp, lf, ("measurement_points", i)), "measurement point"
                )
        elif lf.kind == "theory":
            if lf.theory is None:
                if lf.raw_id:
                    ws.broken_theories.add(lf.raw_id)
                continue
            ws.all_theories.append(Placed(lf.theory, lf, ()))
            _register(ws, ws.theories, Placed(lf.theory, lf, ()), "theory")
            for section, word in _sections().items():
                seen: dict[str, int] = {}
                for i, item in lf.items(section):
                    if item.id in seen:
                        first = lf.doc.position((section, seen[item.id], "id"))
                        ws.add(
                            lf.finding(
                                "D001",
                                f"duplicate {word} id '{item.id}' (first on line {first.line})",
                                (section, i, "id"),
                            )
                        )
                    else:
                        seen[item.id] = i


def _check_point_orders(ws: Workspace) -> None:
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


def _sections() -> dict[str, str]:
    from cmo.theory.models import THEORY_SECTIONS

    return THEORY_SECTIONS


def _register(ws: Workspace, table: dict[str, Any], placed: Placed[Any], word: str) -> None:
    ident = placed.obj.id
    if ident in table:
        first = table[ident]
        pos = first.file.doc.position((*first.loc, "id"))
        ws.add(
            placed.file.finding(
                "D001",
                f"duplicate {word} id '{ident}' (first defined in {first.file.display}:{pos.line})",
                (*placed.loc, "id"),
            )
        )
        if word == "theory" and first.file is not placed.file:
            # Also on the first file: validating either file alone must not pass.
            again = placed.file.doc.position((*placed.loc, "id"))
            ws.add(
                first.file.finding(
                    "D001",
                    f"duplicate {word} id '{ident}' (also defined in "
                    f"{placed.file.display}:{again.line})",
                    (*first.loc, "id"),
                )
            )
        return
    table[ident] = placed


# --------------------------------------------------------------------------------------------
# Indicators
# --------------------------------------------------------------------------------------------


def _check_indicator(ws: Workspace, placed: Placed[Indicator]) -> None:
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
        item = _indicator(ws, lf, item_id, iloc)
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


def _check_composite_cycles(ws: Workspace) -> None:
    edges = []
    for ident, placed in ws.indicators.items():
        if placed.obj.composite is not None:
            for item in placed.obj.composite.items:
                if item != ident and item in ws.indicators:
                    edges.append((ident, item))
    for cycle in sorted(simple_cycles(edges), key=lambda c: sorted(c)):
        start = min(cycle)
        placed = ws.indicators[start]
        ring = " → ".join([*_rotate(cycle, start), start])
        ws.add(
            placed.file.finding(
                "I004", f"composite scales form a circle: {ring}", (*placed.loc, "composite")
            )
        )


def simple_cycles(edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """Every simple cycle of a directed graph given by its edges. Most workspaces have none:
    a depth-first search says so without importing networkx (fast start); only a graph with a
    cycle is handed to ``networkx.simple_cycles``."""
    edges = list(edges)
    succ: dict[str, list[str]] = defaultdict(list)
    for a, b in edges:
        succ[a].append(b)
    if not _has_cycle(succ):
        return []
    import networkx as nx

    return [list(c) for c in nx.simple_cycles(nx.DiGraph(edges))]


def _has_cycle(succ: dict[str, list[str]]) -> bool:
    state: dict[str, int] = {}  # 1: on the path, 2: done
    for root in list(succ):
        if root in state:
            continue
        state[root] = 1
        path = [(root, iter(succ.get(root, ())))]
        while path:
            node, children = path[-1]
            for child in children:
                seen = state.get(child)
                if seen == 1:
                    return True
                if seen is None:
                    state[child] = 1
                    path.append((child, iter(succ.get(child, ()))))
                    break
            else:
                state[node] = 2
                path.pop()
    return False


def _rotate(cycle: list[str], start: str) -> list[str]:
    i = cycle.index(start)
    return cycle[i:] + cycle[:i]


def _check_aliases(ws: Workspace) -> None:
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


# --------------------------------------------------------------------------------------------
# Theories
# --------------------------------------------------------------------------------------------


def _indicator(ws: Workspace, lf: LoadedFile, ref: str, loc: Loc) -> Indicator | None:
    placed = ws.indicators.get(ref)
    if placed is not None:
        return placed.obj
    if ref not in ws.broken_indicators:
        ws.add(lf.finding("R001", f"unknown indicator '{ref}'{_suggest(ref, ws.indicators)}", loc))
    return None


def _point(ws: Workspace, lf: LoadedFile, ref: str | None, loc: Loc) -> MeasurementPoint | None:
    if ref is None:
        return None
    placed = ws.points.get(ref)
    if placed is not None:
        return placed.obj
    if ref not in ws.broken_points:
        ws.add(
            lf.finding("R001", f"unknown measurement point '{ref}'{_suggest(ref, ws.points)}", loc)
        )
    return None


def _suggest(ref: str, names: Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(ref, list(names), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def index_theories(files: list[LoadedFile]) -> Workspace:
    """A workspace index of the valid theories only (for resolving references)."""
    ws = Workspace(files=files, languages=[])
    for lf in files:
        if lf.theory is not None:
            ws.theories.setdefault(lf.theory.id, Placed(lf.theory, lf, ()))
    return ws


def resolve(ws: Workspace, theory: ProgrammeTheory, section: str, ref: str) -> Any | None:
    """The element ``ref`` of ``section``, local or ``other_theory.id``; None if unknown."""
    owner, ident = ref.split(".", 1) if "." in ref else (theory.id, ref)
    placed = ws.theories.get(owner)
    if placed is None:
        return None
    # One index per theory and section, built on first use: a lookup per reference stays O(1).
    key = (id(placed.obj), section)
    index = ws.elements.get(key)
    if index is None:
        index = {}
        for item in getattr(placed.obj, section):
            index.setdefault(item.id, item)
        ws.elements[key] = index
    return index.get(ident)


def _ref(
    ws: Workspace, th: Placed[ProgrammeTheory], section: str, ref: str, loc: Loc
) -> Any | None:
    found = resolve(ws, th.obj, section, ref)
    if found is not None:
        return found
    owner, ident = ref.split(".", 1) if "." in ref else (th.obj.id, ref)
    word = _sections()[section]
    if owner in ws.broken_theories:
        return None
    target = ws.theories.get(owner)
    if target is None:
        if loc and loc[0] == "chains":
            ws.unresolved_chains.add(th.obj.id)
        ws.add(
            th.file.finding(
                "R001",
                f"unknown theory '{owner}' in reference '{ref}'{_suggest(owner, ws.theories)}",
                loc,
            )
        )
        return None
    if ident in target.file.broken_ids.get(section, set()):
        return None
    if loc and loc[0] == "chains":
        ws.unresolved_chains.add(th.obj.id)
    local = [item.id for item in getattr(target.obj, section)]
    where = "" if owner == th.obj.id else f" in theory '{owner}'"
    ws.add(th.file.finding("R001", f"unknown {word} '{ident}'{where}{_suggest(ident, local)}", loc))
    return None


def _check_theory(ws: Workspace, th: Placed[ProgrammeTheory]) -> None:
    lf = th.file
    for i, ctx in lf.items("contexts"):
        _check_condition(ws, lf, ctx.when, ("contexts", i, "when"))
    for section in ("mechanisms", "outcomes", "interventions"):
        role = _sections()[section]
        for i, item in lf.items(section):
            ind = _indicator(ws, lf, item.indicator, (section, i, "indicator"))
            if ind is not None and ind.level.value != "case":
                ws.add(
                    lf.finding(
                        "T005",
                        f"{role} '{item.id}' is measured per {ind.level.value}; mechanisms, "
                        "outcomes and interventions are measured per case (use a "
                        f"{ind.level.value}-level indicator in a context instead)",
                        (section, i, "indicator"),
                    )
                )
            elif ind is not None and ind.type not in QUANTITATIVE:
                ws.add(
                    lf.finding(
                        "T005",
                        f"{role} '{item.id}' is measured by a {ind.type.value} "
                        "indicator; it needs a likert, numeric, count or binary one",
                        (section, i, "indicator"),
                    )
                )
            mp = getattr(item, "measurement_point", None)
            _point(ws, lf, mp, (section, i, "measurement_point"))
            change = getattr(item, "change", None)
            if change is not None:
                if mp is not None:
                    ws.add(
                        lf.finding(
                            "T005",
                            "give either 'measurement_point' or 'change', not both",
                            (section, i, "change"),
                        )
                    )
                _check_change(ws, lf, change.from_, change.to, (section, i, "change"))
    for i, chain in lf.items("chains"):
        base = ("chains", i)
        for j, ref in enumerate(chain.contexts):
            _ref(ws, th, "contexts", ref, (*base, "contexts", j))
        if chain.intervention is not None:
            _ref(ws, th, "interventions", chain.intervention, (*base, "intervention"))
        _ref(ws, th, "mechanisms", chain.mechanism, (*base, "mechanism"))
        _ref(ws, th, "outcomes", chain.outcome, (*base, "outcome"))
        if chain.negative_control is not None:
            _ref(ws, th, "outcomes", chain.negative_control, (*base, "negative_control"))
        for j, cov in enumerate(chain.covariates):
            ind = _indicator(ws, lf, cov, (*base, "covariates", j))
            if ind is not None and ind.type is IndicatorType.DATE:
                ws.add(
                    lf.finding(
                        "T005",
                        f"covariate '{cov}' is a date; adjust for a number or category instead",
                        (*base, "covariates", j),
                    )
                )
    for i, crit in lf.items("criteria"):
        _check_criterion(ws, lf, crit, ("criteria", i))
    for i, csf in lf.items("critical_success_factors"):
        for j, ref in enumerate(csf.criteria):
            _ref(ws, th, "criteria", ref, ("critical_success_factors", i, "criteria", j))


def _check_change(ws: Workspace, lf: LoadedFile, frm: str, to: str, loc: Loc) -> None:
    a = _point(ws, lf, frm, (*loc, "from"))
    b = _point(ws, lf, to, (*loc, "to"))
    if a is not None and b is not None and a.order >= b.order:
        ws.add(
            lf.finding(
                "T005",
                f"change must go from an earlier to a later point: '{frm}' "
                f"(order {a.order}) is not before '{to}' (order {b.order})",
                loc,
            )
        )


def _check_criterion(ws: Workspace, lf: LoadedFile, crit: Criterion, loc: Loc) -> None:
    ind = _indicator(ws, lf, crit.indicator, (*loc, "indicator"))
    _point(ws, lf, crit.measurement_point, (*loc, "measurement_point"))
    if crit.change is not None:
        _check_change(ws, lf, crit.change.from_, crit.change.to, (*loc, "change"))
    target = crit.target
    if (
        target.at_least is not None
        and target.at_most is not None
        and target.at_least > target.at_most
    ):
        ws.add(
            lf.finding(
                "T006",
                f"target at_least {target.at_least:g} is above at_most {target.at_most:g}",
                (*loc, "target"),
            )
        )
    if target.at_least is None and target.at_most is None:
        ws.add(lf.finding("S002", "the target needs 'at_least' and/or 'at_most'", (*loc, "target")))
    stat = crit.statistic
    if stat is Statistic.MEAN_CHANGE and crit.change is None:
        ws.add(lf.finding("S002", "a 'mean_change' criterion needs 'change' (from, to)", loc))
    if stat is not Statistic.MEAN_CHANGE and crit.change is not None:
        ws.add(
            lf.finding(
                "T005",
                f"'change' only fits the 'mean_change' statistic, not '{stat.value}'",
                (*loc, "change"),
            )
        )
    if stat is Statistic.SHARE:
        for bound in ("at_least", "at_most"):
            value = getattr(target, bound)
            if value is not None and not 0 <= value <= 1:
                ws.add(
                    lf.finding(
                        "T002",
                        f"a share target is a proportion between 0 and 1, not {value:g}",
                        (*loc, "target", bound),
                    )
                )
    elif crit.counts is not None:
        ws.add(
            lf.finding(
                "T005",
                f"'counts' only fits the 'share' statistic, not '{stat.value}'",
                (*loc, "counts"),
            )
        )
    if ind is None:
        return
    if stat is Statistic.SHARE:
        if crit.counts is None and ind.type is not IndicatorType.BINARY:
            ws.add(
                lf.finding(
                    "S002",
                    f"a share of a {ind.type.value} indicator needs 'counts' "
                    "(which values count as a success)",
                    loc,
                )
            )
        if crit.counts is not None:
            _check_value_test(ws, lf, ind, crit.counts, (*loc, "counts"))
    elif ind.type not in QUANTITATIVE:
        ws.add(
            lf.finding(
                "T005",
                f"'{stat.value}' needs a likert, numeric, count or binary "
                f"indicator; '{ind.id}' is {ind.type.value}",
                (*loc, "statistic"),
            )
        )
    elif stat is Statistic.MEAN and ind.type is IndicatorType.LIKERT and ind.scale is not None:
        for bound in ("at_least", "at_most"):
            value = getattr(target, bound)
            if value is not None and not ind.scale.min <= value <= ind.scale.max:
                ws.add(
                    lf.finding(
                        "T002",
                        f"target {value:g} is outside the scale {ind.scale.min}–{ind.scale.max}",
                        (*loc, "target", bound),
                    )
                )


def _check_value_test(
    ws: Workspace, lf: LoadedFile, ind: Indicator, test: ValueTest, loc: Loc
) -> None:
    ops = [
        op
        for op in ("equals", "in", "at_least", "at_most", "above", "below")
        if _op_value(test, op) is not None
    ]
    exact = [op for op in ops if op in ("equals", "in")]
    if exact and len(ops) > 1:
        _conflicting(ws, lf, ops, loc)
    elif _impossible(ws, lf, test, ops, loc):
        pass
    if not ops:
        ws.add(lf.finding("T004", "say which values count (equals, in, at_least, ...)", loc))
    _check_ops(ws, lf, ind, test, ops, loc)


# --------------------------------------------------------------------------------------------
# Conditions
# --------------------------------------------------------------------------------------------


def _op_value(cond: Model, op: str) -> Any:
    return getattr(cond, "in_" if op == "in" else op, None)


def _check_condition(ws: Workspace, lf: LoadedFile, cond: Condition, loc: Loc) -> None:
    if isinstance(cond, AllOf):
        for j, sub in enumerate(cond.all):
            _check_condition(ws, lf, sub, (*loc, "all", j))
        return
    if isinstance(cond, AnyOf):
        for j, sub in enumerate(cond.any):
            _check_condition(ws, lf, sub, (*loc, "any", j))
        return
    if isinstance(cond, NotOf):
        _check_condition(ws, lf, cond.not_, (*loc, "not"))
        return
    assert isinstance(cond, Comparison)
    ops = [op for op in (*SINGLE_OPS, *LOWER_OPS, *UPPER_OPS) if _op_value(cond, op) is not None]
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
    elif _impossible(ws, lf, cond, ops, loc):
        pass
    elif (single and len(ops) > 1) or len(lower) > 1 or len(upper) > 1:
        _conflicting(ws, lf, ops, loc)
    _point(ws, lf, cond.measurement_point, (*loc, "measurement_point"))
    ind = _indicator(ws, lf, cond.indicator, (*loc, "indicator"))
    if ind is not None:
        _check_ops(ws, lf, ind, cond, ops, loc)


def _conflicting(ws: Workspace, lf: LoadedFile, ops: list[str], loc: Loc) -> None:
    ws.add(
        lf.finding(
            "T004",
            f"conflicting operators {', '.join(ops)}: use one, or one lower and one upper bound",
            (*loc, ops[1]),
            key=True,
        )
    )


def _impossible(ws: Workspace, lf: LoadedFile, cond: Model, ops: list[str], loc: Loc) -> bool:
    """T006: conditions no value can meet (an empty list, a range whose ends are swapped)."""
    for op in ("in", "not_in"):
        if op in ops and not _op_value(cond, op):
            ws.add(lf.finding("T006", f"'{op}' has an empty list", (*loc, op)))
            return True
    between = _op_value(cond, "between")
    if between is not None and between[0] > between[1]:
        ws.add(
            lf.finding(
                "T006",
                f"between [{between[0]:g}, {between[1]:g}]: the low end is above the high end",
                (*loc, "between"),
            )
        )
        return True
    lows = [(op, _op_value(cond, op)) for op in LOWER_OPS if _op_value(cond, op) is not None]
    highs = [(op, _op_value(cond, op)) for op in UPPER_OPS if _op_value(cond, op) is not None]
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


def _check_ops(
    ws: Workspace, lf: LoadedFile, ind: Indicator, cond: Model, ops: list[str], loc: Loc
) -> None:
    t = ind.type
    for op in ops:
        value = _op_value(cond, op)
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


# --------------------------------------------------------------------------------------------
# Graph
# --------------------------------------------------------------------------------------------


def _check_graph(ws: Workspace) -> None:
    used: dict[tuple[str, str], set[str]] = defaultdict(set)  # (theory, section) -> ids
    graph: dict[tuple[str, str], list[tuple[str, int, str]]] = defaultdict(list)  # edge -> chains
    criterion_indicators = set()
    in_factor: set[tuple[str, str]] = set()
    for th in ws.all_theories:
        theory = th.obj
        for crit in theory.criteria:
            criterion_indicators.add(crit.indicator)
        for csf in theory.critical_success_factors:
            for ref in csf.criteria:
                in_factor.add(_split(theory.id, ref))
        for i, chain in th.file.items("chains"):
            for section, refs in (
                ("contexts", chain.contexts),
                ("interventions", [chain.intervention] if chain.intervention else []),
                ("mechanisms", [chain.mechanism]),
                ("outcomes", [chain.outcome, *filter(None, [chain.negative_control])]),
            ):
                for ref in refs:
                    used[(_split(theory.id, ref))[0], section].add(_split(theory.id, ref)[1])
            mech = resolve(ws, theory, "mechanisms", chain.mechanism)
            out = resolve(ws, theory, "outcomes", chain.outcome)
            if mech is not None and out is not None:
                graph[_node(mech), _node(out)].append((theory.id, i, chain.id))
    # G001: cycles among chains (through the indicators that measure mechanisms and outcomes).
    reported: set[frozenset[str]] = set()
    cycles = [_rotate(c, min(c)) for c in simple_cycles(graph)]
    for cycle in sorted(cycles):
        key = frozenset(cycle)
        if key in reported:
            continue
        reported.add(key)
        chains = []
        for a, b in zip(cycle, [*cycle[1:], cycle[0]], strict=True):
            chains.append(min(graph[a, b]))
        theory_id, index, _ = min(chains)
        th = ws.theories[theory_id]
        names = " → ".join(f"{t}.{c}" if t != theory_id else c for t, _, c in sorted(chains))
        ring = " → ".join(n.removesuffix("@*") for n in [*cycle, cycle[0]])
        ws.add(
            th.file.finding(
                "G001",
                f"chains form a circle ({names}) through the indicators {ring}",
                ("chains", index),
            )
        )
    # G002, G003, G004
    factors_complete = all(
        lf.model is not None and not lf.broken_ids.get("critical_success_factors")
        for lf in ws.files
        if lf.kind == "theory"
    )
    for th in ws.all_theories:
        theory, lf = th.obj, th.file
        raw_chains = lf.doc.data.get("chains") if isinstance(lf.doc.data, dict) else None
        # When chains were set aside for schema errors, "unused" would only be noise.
        complete = (
            not isinstance(raw_chains, list) or len(raw_chains) == len(theory.chains)
        ) and theory.id not in ws.unresolved_chains
        for section in ("contexts", "interventions", "mechanisms", "outcomes"):
            for i, item in lf.items(section) if complete else ():
                if item.id not in used[(theory.id, section)]:
                    ws.add(
                        lf.finding(
                            "G002",
                            f"{_sections()[section]} '{item.id}' is not used by any chain",
                            (section, i, "id"),
                        )
                    )
        for i, chain in lf.items("chains"):
            out = resolve(ws, theory, "outcomes", chain.outcome)
            if (
                out is not None
                and out.indicator in ws.indicators
                and out.indicator not in criterion_indicators
            ):
                ws.add(
                    lf.finding(
                        "G003",
                        f"outcome '{chain.outcome}' ({out.indicator}) has no "
                        "evaluation criterion in the workspace",
                        ("chains", i, "outcome"),
                    )
                )
        for i, crit in lf.items("criteria") if factors_complete else ():
            if (theory.id, crit.id) not in in_factor:
                ws.add(
                    lf.finding(
                        "G004",
                        f"criterion '{crit.id}' belongs to no critical success factor",
                        ("criteria", i, "id"),
                    )
                )


def _node(element: Any) -> str:
    """A graph node: an indicator at a measurement point (or a change, or any point: *)."""
    change = getattr(element, "change", None)
    if change is not None:
        return f"{element.indicator}@{change.from_}→{change.to}"
    return f"{element.indicator}@{getattr(element, 'measurement_point', None) or '*'}"


def _split(theory_id: str, ref: str) -> tuple[str, str]:
    if "." in ref:
        owner, ident = ref.split(".", 1)
        return owner, ident
    return theory_id, ref


# --------------------------------------------------------------------------------------------
# Languages
# --------------------------------------------------------------------------------------------


def _texts(obj: Any, loc: Loc) -> Iterator[tuple[Loc, Text]]:
    if isinstance(obj, Text):
        yield loc, obj
    elif isinstance(obj, Model):
        for name, info in type(obj).model_fields.items():
            yield from _texts(getattr(obj, name), (*loc, info.key))
    elif isinstance(obj, list):
        for j, item in enumerate(obj):
            yield from _texts(item, (*loc, j))


def _check_languages(ws: Workspace) -> None:
    wanted = [lang for lang in ws.languages if lang in ("fi", "sv", "en")]
    if not wanted:
        return
    for lf in ws.files:
        if lf.model is None:
            continue
        for name in type(lf.model).model_fields:
            value = getattr(lf.model, name)
            if isinstance(value, list):
                # The original indices, looked up once per section (not once per item).
                index = lf.index_map.get(name) or range(len(value))
                for orig, item in zip(index, value, strict=False):
                    for loc, text in _texts(item, (name, orig)):
                        _missing(ws, lf, text, loc, wanted)
            else:
                for loc, text in _texts(value, (name,)):
                    _missing(ws, lf, text, loc, wanted)


def _missing(ws: Workspace, lf: LoadedFile, text: Text, loc: Loc, wanted: list[str]) -> None:
    lacking = [lang for lang in wanted if lang not in text.languages()]
    if lacking:
        ws.add(lf.finding("L001", f"no {'/'.join(lacking)} text", loc))

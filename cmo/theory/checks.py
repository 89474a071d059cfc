"""Semantic checks across files, run in order (:func:`run_checks`); the checks of theories'
references, changes and criteria, and of languages, are here; indicators, conditions and the
graph have rooms of their own, and :mod:`cmo.theory.index` is what they share.

The schema (the models) says whether each file is well-formed on its own; these checks say whether
the workspace makes sense as a whole. Each check appends findings with a code from
:mod:`cmo.findings` and the position of the offending value.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from cmo.findings import Finding
from cmo.source import Loc
from cmo.strict import Model
from cmo.theory.check_conditions import (
    check_condition,
    check_ops,
    conflicting,
    impossible,
    op_value,
)
from cmo.theory.check_graph import check_graph
from cmo.theory.check_indicators import (
    check_aliases,
    check_composite_cycles,
    check_indicator,
    check_point_orders,
)
from cmo.theory.index import (
    Placed,
    Workspace,
    element_ref,
    index_workspace,
    indicator_ref,
    point_ref,
    sections,
)
from cmo.theory.load import LoadedFile
from cmo.theory.models import (
    QUANTITATIVE,
    Criterion,
    Indicator,
    IndicatorType,
    ProgrammeTheory,
    Statistic,
    Text,
    ValueTest,
)


def run_checks(files: list[LoadedFile], languages: Iterable[str]) -> list[Finding]:
    ws = Workspace(files=files, languages=list(languages))
    index_workspace(ws)
    for ind in ws.indicators.values():
        check_indicator(ws, ind)
    check_aliases(ws)
    check_point_orders(ws)
    check_composite_cycles(ws)
    from cmo.theory.design_checks import check_design, check_identity_codes

    for th in ws.all_theories:
        _check_theory(ws, th)
        check_design(ws, th)
    check_graph(ws)
    check_languages(ws)
    for lf in files:
        check_identity_codes(ws, lf)
    return ws.findings


def _check_theory(ws: Workspace, th: Placed[ProgrammeTheory]) -> None:
    lf = th.file
    for i, ctx in lf.items("contexts"):
        check_condition(ws, lf, ctx.when, ("contexts", i, "when"))
    for section in ("mechanisms", "outcomes", "interventions"):
        role = sections()[section]
        for i, item in lf.items(section):
            ind = indicator_ref(ws, lf, item.indicator, (section, i, "indicator"))
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
            point_ref(ws, lf, mp, (section, i, "measurement_point"))
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
            element_ref(ws, th, "contexts", ref, (*base, "contexts", j))
        if chain.intervention is not None:
            element_ref(ws, th, "interventions", chain.intervention, (*base, "intervention"))
        element_ref(ws, th, "mechanisms", chain.mechanism, (*base, "mechanism"))
        element_ref(ws, th, "outcomes", chain.outcome, (*base, "outcome"))
        if chain.negative_control is not None:
            element_ref(ws, th, "outcomes", chain.negative_control, (*base, "negative_control"))
        for j, cov in enumerate(chain.covariates):
            ind = indicator_ref(ws, lf, cov, (*base, "covariates", j))
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
            element_ref(ws, th, "criteria", ref, ("critical_success_factors", i, "criteria", j))


def _check_change(ws: Workspace, lf: LoadedFile, frm: str, to: str, loc: Loc) -> None:
    a = point_ref(ws, lf, frm, (*loc, "from"))
    b = point_ref(ws, lf, to, (*loc, "to"))
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
    ind = indicator_ref(ws, lf, crit.indicator, (*loc, "indicator"))
    point_ref(ws, lf, crit.measurement_point, (*loc, "measurement_point"))
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
        if op_value(test, op) is not None
    ]
    exact = [op for op in ops if op in ("equals", "in")]
    if exact and len(ops) > 1:
        conflicting(ws, lf, ops, loc)
    elif impossible(ws, lf, test, ops, loc):
        pass
    if not ops:
        ws.add(lf.finding("T004", "say which values count (equals, in, at_least, ...)", loc))
    check_ops(ws, lf, ind, test, ops, loc)


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


def check_languages(ws: Workspace) -> None:
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

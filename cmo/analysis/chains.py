"""One chain of a programme theory, tested on the case table: in each context, elsewhere, the
mechanism × context interactions, each office on its own, and design warnings from the data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cmo.analysis.conditions import evaluate
from cmo.analysis.data import FIRST, LAST, LAST_POINT, CaseData, column
from cmo.analysis.mediation import mediation
from cmo.analysis.models import FitError, family_of, fit_effect
from cmo.analysis.results import (
    ELSEWHERE,
    EVERYWHERE,
    ChainResult,
    ContextTest,
    DesignWarning,
    Effect,
    Interaction,
)
from cmo.theory.models import Chain, Indicator, IndicatorType, ProgrammeTheory

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

#: A context that splits the offices with fewer than this many on one side gets A004.
FEW_OFFICES = 3
#: Share of cases whose mechanism and outcome come from the same point that gives A002.
SAME_POINT_SHARE = 0.5


@dataclass
class Plan:
    """A chain with its elements resolved (contexts, mechanism, outcome, intervention)."""

    theory: ProgrammeTheory
    chain: Chain
    mechanism: Any
    outcome: Any
    intervention: Any
    contexts: list[Any]
    negative_control: Any = None


@dataclass(frozen=True)
class Rules:
    """How much data a test needs, and which covariance it uses (from cmo.yaml)."""

    min_cases: int
    min_offices: int
    covariance: str
    lang: str = "fi"

    @property
    def counts_offices(self) -> bool:
        return self.covariance == "CR2"


def needs_of(plan: Plan, indicators: dict[str, Indicator]) -> set[tuple[str, str]]:
    """The (indicator, point) columns a chain needs from the store."""
    from cmo.analysis.conditions import condition_columns
    from cmo.theory.models import Level

    needs: set[tuple[str, str]] = set()

    def need(ind_id: str, point: str | None, default: str) -> None:
        ind = indicators[ind_id]
        needs.add((ind_id, "unit" if ind.level is not Level.CASE else (point or default)))

    need(plan.mechanism.indicator, plan.mechanism.measurement_point, LAST)
    if plan.mechanism.measurement_point is None:
        need(plan.mechanism.indicator, LAST_POINT, LAST)
    if plan.outcome.change is not None:
        need(plan.outcome.indicator, plan.outcome.change.from_, LAST)
        need(plan.outcome.indicator, plan.outcome.change.to, LAST)
    else:
        need(plan.outcome.indicator, plan.outcome.measurement_point, LAST)
        if plan.outcome.measurement_point is None:
            need(plan.outcome.indicator, LAST_POINT, LAST)
    if plan.negative_control is not None:
        nc = plan.negative_control
        if nc.change is not None:
            need(nc.indicator, nc.change.from_, LAST)
            need(nc.indicator, nc.change.to, LAST)
        else:
            need(nc.indicator, nc.measurement_point, LAST)
    if plan.intervention is not None:
        need(plan.intervention.indicator, None, LAST)
    for cov in plan.chain.covariates:
        need(cov, None, FIRST)
    for ctx in plan.contexts:
        for ind_id, point in condition_columns(ctx.when):
            need(ind_id, point, FIRST)
    return needs


@dataclass
class ChainData:
    """What a chain's tests were computed from, kept for the refuters (arrays over the cases
    with complete data; ``groups``: each test's cases)."""

    family: str
    y: np.ndarray
    x: np.ndarray
    covs: np.ndarray
    office: np.ndarray
    office_names: list[str]
    groups: dict[str, np.ndarray]
    #: The declared negative-control outcome: (id, label, values, family), or None.
    negative_control: tuple[str, str, np.ndarray, str] | None = None


def outcome_series(
    outcome: Any, frame: pd.DataFrame, indicators: dict[str, Indicator]
) -> tuple[pd.Series, str]:
    """An outcome's value per case (its measurement point, or the change between two) and the
    model family its type calls for."""
    import pandas as pd

    ind = indicators[outcome.indicator]
    change = outcome.change
    family = family_of(ind.type.value, change is not None)
    if change is not None:
        y = pd.to_numeric(frame[column(ind, change.to, LAST)], errors="coerce") - pd.to_numeric(
            frame[column(ind, change.from_, LAST)], errors="coerce"
        )
    else:
        y = pd.to_numeric(frame[column(ind, outcome.measurement_point, LAST)], errors="coerce")
    return y, family


def test_chain(
    plan: Plan, data: CaseData, indicators: dict[str, Indicator], rules: Rules
) -> tuple[ChainResult, ChainData]:
    import numpy as np
    import pandas as pd

    frame = data.frame
    lang = rules.lang

    def col(ind_id: str, point: str | None, default: str = FIRST) -> str:
        return column(indicators[ind_id], point, default)

    # offices as integer codes (sorted by name): fast grouping in the models
    codes, office_names = pd.factorize(frame["office"], sort=True)
    office_codes = pd.Series(codes, index=frame.index)
    y, family = outcome_series(plan.outcome, frame, indicators)
    x = pd.to_numeric(
        frame[col(plan.mechanism.indicator, plan.mechanism.measurement_point, LAST)],
        errors="coerce",
    )
    covs, cov_ok = _covariates(frame, plan.chain.covariates, indicators)
    complete = x.notna() & y.notna() & cov_ok & frame["office"].notna()
    flags = {
        ctx.id: evaluate(ctx.when, frame, lambda i, p: col(i, p, FIRST)) for ctx in plan.contexts
    }
    label = (
        plan.chain.label.get(lang)
        if plan.chain.label
        else f"{plan.mechanism.label.get(lang)} → {plan.outcome.label.get(lang)}"
    )
    chain = ChainResult(
        theory=plan.theory.id,
        chain=plan.chain.id,
        label=label,
        mechanism=plan.mechanism.id,
        outcome=plan.outcome.id,
        intervention=plan.intervention.id if plan.intervention else None,
        intervention_label=plan.intervention.label.get(lang) if plan.intervention else None,
        direction=plan.chain.direction.value,
        family=family,
        mechanism_label=plan.mechanism.label.get(lang),
        measure_label=(
            plan.outcome.label.get(lang)  # a change: "change in …"
            if plan.outcome.change is not None
            else indicators[plan.outcome.indicator].label.get(lang)
        ),
    )
    treat = None
    if plan.intervention is not None:
        treat = pd.to_numeric(frame[col(plan.intervention.indicator, None, LAST)], errors="coerce")
    groups: list[tuple[str, str, pd.Series]] = []
    if not plan.contexts:
        groups.append((EVERYWHERE, EVERYWHERE, pd.Series(True, index=frame.index)))
    else:
        for ctx in plan.contexts:
            groups.append((ctx.id, ctx.label.get(lang), flags[ctx.id].fillna(False).astype(bool)))
        known = pd.Series(True, index=frame.index)
        inside = pd.Series(False, index=frame.index)
        for f in flags.values():
            known &= f.notna()
            inside |= f.fillna(False).astype(bool)
        groups.append((ELSEWHERE, ELSEWHERE, (~inside) & known))
    complete_np = complete.to_numpy()
    kept = ChainData(
        family=family,
        y=y.to_numpy(float)[complete_np],
        x=x.to_numpy(float)[complete_np],
        covs=covs[complete_np],
        office=office_codes.to_numpy()[complete_np],
        office_names=[str(o) for o in office_names],
        groups={},
    )
    if plan.negative_control is not None:
        y_nc, family_nc = outcome_series(plan.negative_control, frame, indicators)
        kept.negative_control = (
            plan.negative_control.id,
            plan.negative_control.label.get(lang),
            y_nc.to_numpy(float)[complete_np],
            family_nc,
        )
    for name, text, member in groups:
        subset = member & complete
        kept.groups[name] = member.to_numpy()[complete_np]
        excluded = {"missing values": int((member & ~complete).sum())}
        if name not in (ELSEWHERE, EVERYWHERE):
            excluded["context unknown"] = int((complete & flags[name].isna()).sum())
        mask = subset.to_numpy()
        test = ContextTest(
            context=name,
            label=text,
            n=int(mask.sum()),
            n_offices=len(np.unique(office_codes.to_numpy()[mask])),
            excluded=excluded,
        )
        ys, xs = y[subset].to_numpy(float), x[subset].to_numpy(float)
        offs, cs = office_codes[subset].to_numpy(), covs[mask]
        run_test(test, family, ys, xs, offs, cs, rules)
        if treat is not None and test.effect is not None and family == "gaussian":
            test.mediation = mediation(
                ys, xs, treat[subset].to_numpy(float), offs, cs, rules.min_cases, rules.covariance
            )
            if test.mediation.get("constant_within_offices"):
                chain.warnings.append(
                    DesignWarning(
                        "A003",
                        chain.chain,
                        None if name in (ELSEWHERE, EVERYWHERE) else name,
                        "the intervention does not vary within offices: its effect cannot be "
                        "told apart from the office's, so no mediation is estimated",
                    )
                )
        chain.tests.append(test)
    for ctx in plan.contexts:
        chain.interactions.append(
            _interaction(ctx.id, flags[ctx.id], complete, y, x, office_codes, covs, family, rules)
        )
        inter = chain.interactions[-1]
        if min(inter.offices_inside, inter.offices_outside) < FEW_OFFICES:
            chain.warnings.append(
                DesignWarning(
                    "A004",
                    chain.chain,
                    ctx.id,
                    f"the context splits the offices {inter.offices_inside} (in it) to "
                    f"{inter.offices_outside} (not): with fewer than {FEW_OFFICES} offices on one "
                    "side, a difference between the sides is a difference between a few offices",
                )
            )
    chain.warnings += _same_point(plan, frame, complete, data.point_orders)
    # Each office on its own, over all of the chain's cases there (descriptive, for the
    # forest plots): one office has no office-level replication; model-based uncertainty
    # from the office's sufficient statistics (cheap on any size).
    for code, office in enumerate(office_names):
        subset = complete & (office_codes == code)
        mask = subset.to_numpy()
        test = ContextTest(
            context=str(office), label=str(office), n=int(mask.sum()), n_offices=1, excluded={}
        )
        run_test(
            test,
            family,
            y[subset].to_numpy(float),
            x[subset].to_numpy(float),
            office_codes[subset].to_numpy(),
            covs[mask],
            Rules(
                rules.min_cases, 1, "classical" if rules.covariance == "CR2" else rules.covariance
            ),
        )
        if test.effect is not None and rules.covariance == "CR2":
            test.effect.reason = (
                "one office on its own: descriptive, model-based standard errors (the office "
                "gives no replication of its own)"
            )
        test.verdict = ""  # descriptive: not part of the corrected tests
        chain.by_office.append(test)
    return chain, kept


def _interaction(
    context: str,
    flag: pd.Series,
    complete: pd.Series,
    y: pd.Series,
    x: pd.Series,
    office_codes: pd.Series,
    covs: np.ndarray,
    family: str,
    rules: Rules,
) -> Interaction:
    import numpy as np

    subset = complete & flag.notna()
    mask = subset.to_numpy()
    inter = Interaction(context=context, n=int(mask.sum()), effect=None)
    xs = x[subset].to_numpy(float)
    cs = flag[subset].astype(float).to_numpy()
    offs = office_codes[subset].to_numpy()
    inter.offices_inside = len(np.unique(offs[cs == 1]))
    inter.offices_outside = len(np.unique(offs[cs == 0]))
    inside_n = int(cs.sum())
    if min(inside_n, inter.n - inside_n) < rules.min_cases:
        inter.why = (
            f"{inside_n} cases in the context and {inter.n - inside_n} outside it; at least "
            f"{rules.min_cases} are needed on each side"
        )
    elif rules.counts_offices and min(inter.offices_inside, inter.offices_outside) < (
        rules.min_offices
    ):
        inter.why = (
            f"too few offices: {inter.offices_inside} with cases in the context and "
            f"{inter.offices_outside} with cases outside it; at least {rules.min_offices} "
            "are needed on each side"
        )
    elif np.std(xs) == 0:
        inter.why = "the mechanism does not vary"
    else:
        try:
            fit = fit_effect(
                family,  # type: ignore[arg-type]
                y[subset].to_numpy(float),
                xs,
                offs,
                covs[mask],
                extra=[cs, xs * cs],
                coef=3,
                covariance=rules.covariance,
            )
            inter.effect = Effect.of(fit, family)
        except FitError as exc:
            inter.why = str(exc)
    return inter


def _same_point(
    plan: Plan, frame: pd.DataFrame, complete: pd.Series, orders: dict[str, int]
) -> list[DesignWarning]:
    """A002: the mechanism and the outcome taken at the same measurement point."""
    mech, out = plan.mechanism, plan.outcome
    if out.change is not None:
        return []
    mech_point = mech.measurement_point
    out_point = out.measurement_point
    if mech_point is not None and out_point is not None:
        return []  # both named: `cmo validate` reports it from the theory
    m = (
        frame[f"{mech.indicator}@{LAST_POINT}"]
        if mech_point is None and f"{mech.indicator}@{LAST_POINT}" in frame
        else None
    )
    o = (
        frame[f"{out.indicator}@{LAST_POINT}"]
        if out_point is None and f"{out.indicator}@{LAST_POINT}" in frame
        else None
    )
    if m is None and o is None:
        return []
    ms = m[complete] if m is not None else None
    os_ = o[complete] if o is not None else None
    if ms is not None and os_ is not None:
        same = ms == os_
    elif ms is not None:
        same = ms == orders.get(str(out_point))
    else:
        assert os_ is not None
        same = os_ == orders.get(str(mech_point))
    if len(same) == 0 or float(same.mean()) < SAME_POINT_SHARE:
        return []
    mode = (ms if ms is not None else os_).mode()  # type: ignore[union-attr]
    names = {order: point for point, order in orders.items()}
    where = f" ({names.get(int(mode.iloc[0]), '')})" if len(mode) else ""
    return [
        DesignWarning(
            "A002",
            plan.chain.id,
            None,
            f"for {float(same.mean()):.0%} of the cases the mechanism and the outcome were "
            f"measured at the same point{where}: the data cannot tell which came first",
        )
    ]


def _covariates(
    frame: pd.DataFrame, names: list[str], indicators: dict[str, Indicator]
) -> tuple[np.ndarray, pd.Series]:
    import numpy as np
    import pandas as pd

    cols: list[np.ndarray] = []
    ok = pd.Series(True, index=frame.index)
    for name in names:
        ind = indicators[name]
        values = frame[column(ind, None, FIRST)]
        ok &= values.notna()
        if ind.type is IndicatorType.CATEGORY:
            levels = sorted(v for v in values.dropna().unique())
            for level in levels[1:]:
                cols.append((values == level).astype(float).to_numpy())
        else:
            cols.append(pd.to_numeric(values, errors="coerce").to_numpy(float))
    matrix = np.column_stack(cols) if cols else np.empty((len(frame), 0))
    return matrix, ok


def run_test(
    test: ContextTest,
    family: str,
    y: np.ndarray,
    x: np.ndarray,
    office: np.ndarray,
    covs: np.ndarray,
    rules: Rules,
) -> None:
    """Fit one test, or say why there are too few data for it."""
    import numpy as np

    if test.n < rules.min_cases:
        test.why = f"{test.n} cases with complete data; at least {rules.min_cases} are needed"
        return
    if rules.counts_offices and test.n_offices < rules.min_offices:
        test.why = (
            f"too few offices: {test.n_offices} (at least {rules.min_offices} are needed to "
            "tell a mechanism from one office's story)"
        )
        return
    if np.std(x) == 0 or np.std(y) == 0:
        test.why = "no variation in the mechanism or the outcome"
        return
    try:
        fit = fit_effect(family, y, x, office, covs, covariance=rules.covariance)  # type: ignore[arg-type]
    except FitError as exc:
        test.why = f"no model could be fitted ({exc})"
        return
    test.effect = Effect.of(fit, family)

"""`cmo analyse`: which mechanisms held, in which contexts, for whom — with honest uncertainty."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cmo import __version__
from cmo.analysis.conditions import condition_columns, evaluate
from cmo.analysis.data import FIRST, LAST, CaseData, column, load_cases
from cmo.analysis.models import Fit, FitError, family_of, fit_effect
from cmo.analysis.stats import benjamini_hochberg, t_interval, wilson
from cmo.errors import WorkspaceError
from cmo.store import open_store
from cmo.store.sql import ident, point_order, scope, sql_str
from cmo.theory import ValidationResult, validate
from cmo.theory.checks import index_theories, resolve
from cmo.theory.models import (
    Chain,
    Criterion,
    ExpectedDirection,
    Indicator,
    IndicatorType,
    Level,
    MeasurementPoint,
    ProgrammeTheory,
    Statistic,
)
from cmo.workspace import Workspace

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

ALPHA = 0.05
HELD, NOT_SUPPORTED, CONTRADICTED, INSUFFICIENT = (
    "held",
    "not supported",
    "contradicted",
    "insufficient data",
)
EVERYWHERE, ELSEWHERE = "everywhere", "elsewhere"


def _r(x: float | None, digits: int = 6) -> float | None:
    """Round for output (stable JSON); None for missing or non-finite numbers."""
    if x is None or not math.isfinite(x):
        return None
    return round(float(x), digits)


@dataclass
class Effect:
    """The mechanism's effect on the outcome in one context (or its interaction with it)."""

    estimate: float
    ci_low: float
    ci_high: float
    p: float
    per_sd: tuple[float, float, float]
    scale: str  # difference, log odds, log rate
    model: str
    reason: str
    notes: list[str]
    q: float | None = None

    @classmethod
    def of(cls, fit: Fit, family: str) -> Effect:
        scale = {"gaussian": "difference", "binomial": "log odds", "poisson": "log rate"}[family]
        return cls(
            fit.estimate,
            fit.ci_low,
            fit.ci_high,
            fit.p,
            fit.per_sd,
            scale,
            fit.model,
            fit.reason,
            list(fit.notes),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "estimate": _r(self.estimate),
            "ci_low": _r(self.ci_low),
            "ci_high": _r(self.ci_high),
            "p": _r(self.p, 8),
            "q": _r(self.q, 8),
            "scale": self.scale,
            "per_sd": {
                "estimate": _r(self.per_sd[0]),
                "ci_low": _r(self.per_sd[1]),
                "ci_high": _r(self.per_sd[2]),
            },
            "model": self.model,
            "reason": self.reason,
            "notes": self.notes,
        }
        if self.scale != "difference":
            name = "odds_ratio" if self.scale == "log odds" else "rate_ratio"
            out[f"{name}_per_sd"] = {
                k: _r(math.exp(v))
                for k, v in zip(("estimate", "ci_low", "ci_high"), self.per_sd, strict=True)
            }
            out[name] = {
                k: _r(math.exp(v))
                for k, v in zip(
                    ("estimate", "ci_low", "ci_high"),
                    (self.estimate, self.ci_low, self.ci_high),
                    strict=True,
                )
            }
        return out


@dataclass
class ContextTest:
    """A chain in one context (or elsewhere, or everywhere)."""

    context: str
    label: str
    n: int
    n_offices: int
    excluded: dict[str, int]
    verdict: str = INSUFFICIENT
    why: str = ""
    effect: Effect | None = None
    mediation: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "context": self.context,
            "label": self.label,
            "verdict": self.verdict,
            "why": self.why,
            "n": self.n,
            "n_offices": self.n_offices,
            "excluded": self.excluded,
            "effect": self.effect.to_dict() if self.effect else None,
            "mediation": self.mediation,
        }


@dataclass
class Interaction:
    """Context-specificity: mechanism × context in a model pooled over the context and the
    rest."""

    context: str
    n: int
    effect: Effect | None
    why: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "context": self.context,
            "n": self.n,
            "effect": self.effect.to_dict() if self.effect else None,
            "why": self.why,
        }


@dataclass
class ChainResult:
    theory: str
    chain: str
    label: str
    mechanism: str
    outcome: str
    intervention: str | None
    direction: str
    family: str
    intervention_label: str | None = None
    tests: list[ContextTest] = field(default_factory=list)
    interactions: list[Interaction] = field(default_factory=list)
    #: The effect in each office separately (all of the chain's cases there).
    by_office: list[ContextTest] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "theory": self.theory,
            "chain": self.chain,
            "label": self.label,
            "mechanism": self.mechanism,
            "outcome": self.outcome,
            "intervention": self.intervention,
            "intervention_label": self.intervention_label,
            "direction": self.direction,
            "family": self.family,
            "tests": [t.to_dict() for t in self.tests],
            "interactions": [i.to_dict() for i in self.interactions],
            "by_office": [t.to_dict() for t in self.by_office],
        }


@dataclass
class CriterionCell:
    office: str
    period: str
    n: int
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    status: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "office": self.office,
            "period": self.period,
            "n": self.n,
            "estimate": _r(self.estimate),
            "ci_low": _r(self.ci_low),
            "ci_high": _r(self.ci_high),
            "status": self.status,
        }


@dataclass
class CriterionResult:
    theory: str
    criterion: str
    label: str
    indicator: str
    statistic: str
    target: dict[str, float | None]
    cells: list[CriterionCell]
    trends: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "theory": self.theory,
            "criterion": self.criterion,
            "label": self.label,
            "indicator": self.indicator,
            "statistic": self.statistic,
            "target": self.target,
            "cells": [c.to_dict() for c in self.cells],
            "trends": self.trends,
        }


@dataclass
class FactorResult:
    theory: str
    factor: str
    label: str
    perspective: str
    criteria: list[str]
    by_office: dict[str, dict[str, int]]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class AnalysisResult:
    """Everything ``cmo analyse`` found, and what it was computed from."""

    chains: list[ChainResult]
    criteria: list[CriterionResult]
    factors: list[FactorResult]
    scales: dict[str, dict[str, Any]]
    settings: dict[str, Any]
    provenance: dict[str, Any]
    language: str = "fi"

    def verdict_counts(self) -> dict[str, int]:
        counts = {HELD: 0, NOT_SUPPORTED: 0, CONTRADICTED: 0, INSUFFICIENT: 0}
        for chain in self.chains:
            for test in chain.tests:
                counts[test.verdict] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "cmo_version": __version__,
            "settings": self.settings,
            "provenance": self.provenance,
            "verdicts": self.verdict_counts(),
            "chains": [c.to_dict() for c in self.chains],
            "scales": self.scales,
            "criteria": [c.to_dict() for c in self.criteria],
            "success_factors": [f.to_dict() for f in self.factors],
        }


# ------------------------------------------------------------------------------------------


@dataclass
class _Plan:
    theory: ProgrammeTheory
    chain: Chain
    mechanism: Any
    outcome: Any
    intervention: Any
    contexts: list[Any]


def analyse(
    ws: Workspace,
    theories: Sequence[str] = (),
    *,
    offices: Sequence[str] = (),
    periods: Sequence[str] = (),
    lang: str = "fi",
    min_cases: int | None = None,
) -> AnalysisResult:
    """Test every chain of the chosen theories (default: all) on the workspace's store."""
    result = validate(workspace=ws.root)
    if result.errors:
        raise WorkspaceError(
            f"the theory or indicator files have {len(result.errors)} error(s), e.g. "
            f"{result.errors[0].format()}",
            hint="run 'cmo validate' and fix them before analysing",
        )
    indicators = {i.id: i for f in result.indicator_files for i in f.indicators}
    points = {p.id: p for f in result.indicator_files for p in f.measurement_points}
    chosen = _choose(result, theories)
    minimum = min_cases or ws.settings.min_cases
    plans = _plans(result, chosen)
    needs = _needs(plans, chosen, indicators)
    with open_store(ws.store_path, read_only=True) as store:
        data = load_cases(
            store, indicators, points, needs, list(offices) or None, list(periods) or None
        )
        criteria = [
            _criterion(store, th, crit, indicators, points, list(offices), list(periods), lang)
            for th in chosen
            for crit in th.criteria
        ]
    chains = [_chain(p, data, indicators, minimum, lang) for p in plans]
    _correct(chains)
    factors = _factors(chosen, criteria, lang)
    scales = {
        ind_id: {"alpha": _r(alpha), "n": n, "items": indicators[ind_id].composite.items}  # type: ignore[union-attr]
        for ind_id, (alpha, n) in sorted(data.alphas.items())
    }
    provenance = _provenance(result, data, chosen)
    settings = {
        "min_cases": minimum,
        "alpha": ALPHA,
        "offices": sorted(offices),
        "periods": sorted(periods),
        "correction": "Benjamini-Hochberg",
        "ci_level": 0.95,
    }
    return AnalysisResult(
        chains=chains,
        criteria=criteria,
        factors=factors,
        scales=scales,
        settings=settings,
        provenance=provenance,
        language=lang,
    )


def _choose(result: ValidationResult, names: Sequence[str]) -> list[ProgrammeTheory]:
    from cmo.errors import InputError

    theories = sorted(result.theories, key=lambda t: t.id)
    if not names:
        return theories
    by_id = {t.id: t for t in theories}
    chosen = []
    for name in names:
        path = Path(name)
        match = by_id.get(name) or next(
            (
                lf.theory
                for lf in result.files
                if lf.theory is not None and path.exists() and lf.path.resolve() == path.resolve()
            ),
            None,
        )
        if match is None:
            raise InputError(f"no theory '{name}' (known: {', '.join(by_id) or 'none'})")
        chosen.append(match)
    return chosen


def _plans(result: ValidationResult, theories: list[ProgrammeTheory]) -> list[_Plan]:
    ws = index_theories(result.files)
    plans = []
    for th in theories:
        for chain in th.chains:
            plans.append(
                _Plan(
                    theory=th,
                    chain=chain,
                    mechanism=resolve(ws, th, "mechanisms", chain.mechanism),
                    outcome=resolve(ws, th, "outcomes", chain.outcome),
                    intervention=resolve(ws, th, "interventions", chain.intervention)
                    if chain.intervention
                    else None,
                    contexts=[resolve(ws, th, "contexts", c) for c in chain.contexts],
                )
            )
    return plans


def _needs(
    plans: list[_Plan], theories: list[ProgrammeTheory], indicators: dict[str, Indicator]
) -> set[tuple[str, str]]:
    needs: set[tuple[str, str]] = set()

    def need(ind_id: str, point: str | None, default: str) -> None:
        ind = indicators[ind_id]
        needs.add((ind_id, "unit" if ind.level is not Level.CASE else (point or default)))

    for p in plans:
        need(p.mechanism.indicator, p.mechanism.measurement_point, LAST)
        if p.outcome.change is not None:
            need(p.outcome.indicator, p.outcome.change.from_, LAST)
            need(p.outcome.indicator, p.outcome.change.to, LAST)
        else:
            need(p.outcome.indicator, p.outcome.measurement_point, LAST)
        if p.intervention is not None:
            need(p.intervention.indicator, None, LAST)
        for cov in p.chain.covariates:
            need(cov, None, FIRST)
        for ctx in p.contexts:
            for ind_id, point in condition_columns(ctx.when):
                need(ind_id, point, FIRST)
    return {n for n in needs if n[1] != "unit" or True}


# ------------------------------------------------------------------------------------------
# Chains
# ------------------------------------------------------------------------------------------


def _col(indicators: dict[str, Indicator]) -> Any:
    def col(ind_id: str, point: str | None, default: str = FIRST) -> str:
        return column(indicators[ind_id], point, default)

    return col


def _chain(
    plan: _Plan, data: CaseData, indicators: dict[str, Indicator], minimum: int, lang: str
) -> ChainResult:
    import numpy as np
    import pandas as pd

    frame = data.frame
    col = _col(indicators)
    # offices as integer codes (sorted by name): fast grouping in the models
    codes, _ = pd.factorize(frame["office"], sort=True)
    office_codes = pd.Series(codes, index=frame.index)
    out_ind = indicators[plan.outcome.indicator]
    change = plan.outcome.change
    family = family_of(out_ind.type.value, change is not None)
    x = pd.to_numeric(
        frame[col(plan.mechanism.indicator, plan.mechanism.measurement_point, LAST)],
        errors="coerce",
    )
    if change is not None:
        y = pd.to_numeric(frame[col(out_ind.id, change.to, LAST)], errors="coerce") - pd.to_numeric(
            frame[col(out_ind.id, change.from_, LAST)], errors="coerce"
        )
    else:
        y = pd.to_numeric(
            frame[col(out_ind.id, plan.outcome.measurement_point, LAST)], errors="coerce"
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
    )
    mediator_x = x
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
    for name, text, member in groups:
        subset = member & complete
        excluded = {"missing values": int((member & ~complete).sum())}
        if name == ELSEWHERE or not plan.contexts:
            pass
        else:
            excluded["context unknown"] = int((complete & flags[name].isna()).sum())
        test = ContextTest(
            context=name,
            label=text,
            n=int(subset.sum()),
            n_offices=int(frame.loc[subset, "office"].nunique()),
            excluded=excluded,
        )
        _test(
            test,
            family,
            y[subset].to_numpy(float),
            x[subset].to_numpy(float),
            office_codes[subset].to_numpy(),
            covs[subset.to_numpy()],
            minimum,
        )
        if treat is not None and test.effect is not None and family == "gaussian":
            test.mediation = _mediation(
                y[subset].to_numpy(float),
                mediator_x[subset].to_numpy(float),
                treat[subset].to_numpy(float),
                office_codes[subset].to_numpy(),
                covs[subset.to_numpy()],
                minimum,
            )
        chain.tests.append(test)
    for ctx in plan.contexts:
        flag = flags[ctx.id]
        subset = complete & flag.notna()
        inter = Interaction(context=ctx.id, n=int(subset.sum()), effect=None)
        xs = x[subset].to_numpy(float)
        cs = flag[subset].astype(float).to_numpy()
        inside_n = int(cs.sum())
        if min(inside_n, inter.n - inside_n) < minimum or np.std(xs) == 0:
            inter.why = f"fewer than {minimum} cases in the context or outside it, or no variation"
        else:
            try:
                fit = fit_effect(
                    family,
                    y[subset].to_numpy(float),
                    xs,
                    office_codes[subset].to_numpy(),
                    covs[subset.to_numpy()],
                    extra=[cs, xs * cs],
                    coef=3,
                )
                inter.effect = Effect.of(fit, family)
            except FitError as exc:
                inter.why = str(exc)
        chain.interactions.append(inter)
    # Each office on its own, over all of the chain's cases there (for forest plots).
    names = frame["office"]
    for office in sorted(names.dropna().unique()):
        subset = complete & (names == office)
        test = ContextTest(
            context=str(office), label=str(office), n=int(subset.sum()), n_offices=1, excluded={}
        )
        _test(
            test,
            family,
            y[subset].to_numpy(float),
            x[subset].to_numpy(float),
            office_codes[subset].to_numpy(),
            covs[subset.to_numpy()],
            minimum,
        )
        if test.effect is not None:
            test.verdict = ""  # descriptive: not part of the corrected tests
        chain.by_office.append(test)
    return chain


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


def _test(
    test: ContextTest,
    family: str,
    y: np.ndarray,
    x: np.ndarray,
    office: np.ndarray,
    covs: np.ndarray,
    minimum: int,
) -> None:
    import numpy as np

    if test.n < minimum:
        test.why = f"{test.n} cases with complete data; at least {minimum} are needed"
        return
    if np.std(x) == 0 or np.std(y) == 0:
        test.why = "no variation in the mechanism or the outcome"
        return
    try:
        fit = fit_effect(family, y, x, office, covs)  # type: ignore[arg-type]
    except FitError as exc:
        test.why = f"no model could be fitted ({exc})"
        return
    test.effect = Effect.of(fit, family)


def _mediation(
    y: np.ndarray, m: np.ndarray, t: np.ndarray, office: np.ndarray, covs: np.ndarray, minimum: int
) -> dict[str, Any] | None:
    """Intervention → mechanism → outcome, as the product of coefficients.

    a: intervention → mechanism (mechanism model), b: mechanism → outcome given the
    intervention (outcome model); both OLS with the chain's covariates and office fixed
    effects. For linear models without an intervention × mechanism interaction the average
    indirect effect (ACME) is a·b and the direct effect is the intervention's coefficient in
    the outcome model. The 95% interval of a·b is the Monte Carlo interval of Preacher & Selig
    (2012): 20,000 draws of (a, b) from their estimated sampling distributions, seeded.
    """
    import numpy as np

    from cmo.analysis.models import _drop_constant, _office_dummies

    ok = ~np.isnan(t)
    y, m, t, office, covs = y[ok], m[ok], t[ok], office[ok], covs[ok]
    if len(y) < minimum or np.std(t) == 0:
        return {"why": "too few cases, or the intervention does not vary"}
    dummies = _office_dummies(office)
    rest = [covs[:, j] for j in range(covs.shape[1])] + [
        dummies[:, j] for j in range(dummies.shape[1])
    ]
    med_exog = _drop_constant(np.column_stack([np.ones_like(t), t, *rest]), 2)
    out_exog = _drop_constant(np.column_stack([np.ones_like(t), t, m, *rest]), 3)
    med_b, med_se, _ = _ols(m, med_exog)
    out_b, out_se, _ = _ols(y, out_exog)
    a, se_a = float(med_b[1]), float(med_se[1])
    b, se_b = float(out_b[2]), float(out_se[2])
    rng = np.random.default_rng(20071008)
    draws = rng.normal(a, se_a, 20000) * rng.normal(b, se_b, 20000)
    low, high = (float(v) for v in np.quantile(draws, [0.025, 0.975]))
    p = float(min(1.0, 2 * min((draws <= 0).mean(), (draws >= 0).mean())))
    direct = float(out_b[1])
    half = float(out_se[1]) * 1.959963984540054
    direct_p = math.erfc(abs(direct / float(out_se[1])) / math.sqrt(2))
    return {
        "indirect": {"estimate": _r(a * b), "ci_low": _r(low), "ci_high": _r(high), "p": _r(p, 8)},
        "direct": {
            "estimate": _r(direct),
            "ci_low": _r(direct - half),
            "ci_high": _r(direct + half),
            "p": _r(direct_p, 8),
        },
        "a": _r(a),
        "b": _r(b),
        "method": "product of coefficients a·b (OLS mediator and outcome models with the "
        "chain's covariates and office fixed effects); Monte Carlo 95% interval, "
        "20,000 draws (Preacher & Selig 2012)",
        "n": len(y),
    }


def _ols(y: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Ordinary least squares by the normal equations: coefficients, their model-based
    standard errors, residual degrees of freedom."""
    import numpy as np

    gram = X.T @ X
    inverse = np.linalg.inv(gram)
    beta = inverse @ (X.T @ y)
    resid = y - X @ beta
    dof = len(y) - X.shape[1]
    sigma2 = float(resid @ resid) / dof
    return beta, np.sqrt(np.diag(inverse) * sigma2), dof


def _correct(chains: list[ChainResult]) -> None:
    """Benjamini–Hochberg over every test of the run; then the verdicts."""
    effects: list[Effect] = []
    for chain in chains:
        effects += [t.effect for t in chain.tests if t.effect is not None]
        effects += [i.effect for i in chain.interactions if i.effect is not None]
    for effect, q in zip(effects, benjamini_hochberg([e.p for e in effects]), strict=True):
        effect.q = q
    for chain in chains:
        sign = 1 if chain.direction == ExpectedDirection.POSITIVE.value else -1
        for test in chain.tests:
            e = test.effect
            if e is None:
                test.verdict = INSUFFICIENT
                continue
            assert e.q is not None
            significant = e.q <= ALPHA
            if significant and sign * e.estimate > 0:
                test.verdict = HELD
                test.why = f"effect in the declared direction, q = {e.q:.3g} ≤ {ALPHA}"
            elif significant:
                test.verdict = CONTRADICTED
                test.why = f"effect against the declared direction, q = {e.q:.3g} ≤ {ALPHA}"
            else:
                test.verdict = NOT_SUPPORTED
                test.why = f"q = {e.q:.3g} > {ALPHA}: the data do not show the effect"


# ------------------------------------------------------------------------------------------
# Criteria and success factors
# ------------------------------------------------------------------------------------------


def _criterion(
    store: Any,
    th: ProgrammeTheory,
    crit: Criterion,
    indicators: dict[str, Indicator],
    points: dict[str, MeasurementPoint],
    offices: list[str],
    periods: list[str],
    lang: str,
) -> CriterionResult:
    ind = indicators[crit.indicator]
    stats = _criterion_stats(store, crit, ind, points, offices, periods)
    cells: list[CriterionCell] = []
    by_office: dict[str, list[CriterionCell]] = {}
    totals: dict[str, list[float]] = {}
    for _office, period, n, s1, s2 in stats:
        acc = totals.setdefault(period, [0, 0.0, 0.0])
        acc[0] += n
        acc[1] += s1
        acc[2] += s2
    rows = [*stats, *(("all", p, int(a[0]), a[1], a[2]) for p, a in sorted(totals.items()))]
    for office, period, n, s1, s2 in rows:
        cell = _cell(
            crit, office, period, int(n), float(s1), float(s2), exact=ind.level is Level.OFFICE
        )
        cells.append(cell)
        by_office.setdefault(office, []).append(cell)
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
    )


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
    """Per office and period: n, Σvalue and Σvalue² (a share's value is 1 for a success)."""
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
        f"SELECT office, period, count(*), sum(value), sum(value * value) FROM "
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


def _factors(
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


def _provenance(
    result: ValidationResult, data: CaseData, theories: list[ProgrammeTheory]
) -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    libraries: dict[str, str | None] = {}
    for lib in ("statsmodels", "numpy", "scipy", "pandas", "duckdb"):
        try:
            libraries[lib] = version(lib)
        except PackageNotFoundError:  # pragma: no cover
            libraries[lib] = None
    root = result.workspace.root.resolve() if result.workspace else Path.cwd().resolve()

    def where(path: Path) -> str:
        try:  # relative to the workspace: the same wherever cmo is run from
            return path.resolve().relative_to(root).as_posix()
        except ValueError:
            return path.resolve().as_posix()

    files = sorted(
        ({"file": where(lf.path), "sha256": lf.sha256} for lf in result.files),
        key=lambda f: f["file"],
    )
    return {
        "theories": [t.id for t in theories],
        "files": files,
        "batches": [
            {
                "batch_id": b.batch_id,
                "office": b.office,
                "period": b.period,
                "level": b.level,
                "source_sha256": b.source_sha256,
            }
            for b in sorted(data.batches, key=lambda b: b.batch_id)
        ],
        "cmo_version": __version__,
        "libraries": libraries,
    }

"""How often does cmo say "held" — or "the context matters" — when it should not? And how often
does it find a planted effect?

    python benchmarks/calibration.py               # 1000 simulated data sets per situation
    python benchmarks/calibration.py --reps 200

Each simulated data set is one chain, run through cmo's own code (the same functions as
`cmo analyse`: the office-fixed-effects model, CR2 by office with Satterthwaite df, the
too-few-offices rule, the interaction, Benjamini–Hochberg over the chain's tests and the
verdict rules). The situations are the ones users meet: offices whose mechanism slopes differ
(SD 0.3), few offices, contexts that hold in some offices only, worker-level contexts with
worker-varying slopes, a lopsided 80/20 case-level split, overdispersed counts, and criteria
intervals with offices that differ. Printed per situation: how often cmo says "held" (in the
declared direction) and how often it says the context matters (a clear interaction), each with
its 95% Wilson interval — under the null these should be at most 5% (2.5% for "held", which
is one-sided); under a planted effect, the power.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from cmo.analysis.chains import Rules, _interaction, run_test
from cmo.analysis.criteria import _all_cell
from cmo.analysis.results import ELSEWHERE, EVERYWHERE, ChainResult, ContextTest
from cmo.analysis.stats import wilson
from cmo.analysis.verdicts import correct
from cmo.theory.models import Criterion

RULES = Rules(min_cases=30, min_offices=3, covariance="CR2")
Sim = Callable[[np.random.Generator], tuple[ChainResult, dict[str, bool]]]


def chain_verdicts(
    y: np.ndarray,
    x: np.ndarray,
    office: np.ndarray,
    context: np.ndarray | None,
    family: str = "gaussian",
    rules: Rules = RULES,
) -> ChainResult:
    """One chain, tested as `cmo analyse` tests it (everywhere, or in a context and
    elsewhere, with the interaction), verdicts after Benjamini–Hochberg."""
    chain = ChainResult("sim", "chain", "", "m", "o", None, "positive", family)
    covs = np.empty((len(y), 0))
    groups = (
        [(EVERYWHERE, np.ones(len(y), bool))]
        if context is None
        else [("context", context.astype(bool)), (ELSEWHERE, ~context.astype(bool))]
    )
    for name, member in groups:
        test = ContextTest(name, name, int(member.sum()), len(set(office[member].tolist())), {})
        run_test(test, family, y[member], x[member], office[member], covs[member], rules)
        chain.tests.append(test)
    if context is not None:
        index = pd.RangeIndex(len(y))
        chain.interactions.append(
            _interaction(
                "context",
                pd.Series(context.astype(float), index=index),
                pd.Series(True, index=index),
                pd.Series(y, index=index),
                pd.Series(x, index=index),
                pd.Series(office, index=index),
                covs,
                family,
                rules,
            )
        )
    correct([chain])
    return chain


def outcomes(chain: ChainResult) -> dict[str, bool]:
    first = chain.tests[0]
    inter = chain.interactions[0] if chain.interactions else None
    e = first.effect
    return {
        "raw": e is not None and e.p < 0.05 and e.estimate > 0,
        "held": first.verdict_class == "held",
        "clear": first.verdict_class in ("held", "contradicted"),
        "differs": inter is not None and inter.difference in ("stronger", "weaker"),
        "held_not_elsewhere": len(chain.tests) > 1
        and first.verdict_class == "held"
        and chain.tests[1].verdict_class != "held",
    }


def linear(
    rng: np.random.Generator,
    *,
    offices: int,
    per_office: int,
    slope_sd: float = 0.0,
    beta: float = 0.0,
    context: str | None = None,
    beta_in_context: float | None = None,
    workers: int = 0,
) -> tuple[ChainResult, dict[str, bool]]:
    """Linear outcome: y = u_office + (β + b_office [+ b_worker]) x + ε, ε ~ N(0, 1).

    ``context``: ``None`` (test everywhere), ``"offices"`` (true in 3 of the offices),
    ``"case50"``/``"case80"`` (a case-level context holding 50% / 80% of cases),
    ``"worker"`` (half of the workers; with ``workers`` per office and worker-varying slopes).
    ``beta_in_context``: the slope inside the context (default: the same as outside)."""
    office = np.repeat(np.arange(offices), per_office)
    n = len(office)
    x = rng.normal(size=n)
    slope = beta + rng.normal(0, slope_sd, offices)[office]
    worker = None
    if workers:
        worker = office * workers + rng.integers(0, workers, n)
        slope = slope + rng.normal(0, slope_sd, offices * workers)[worker]
    flag = None
    if context == "offices":
        flag = np.isin(office, np.arange(3))
    elif context in ("case50", "case80"):
        flag = rng.random(n) < (0.5 if context == "case50" else 0.8)
    elif context == "worker":
        assert worker is not None
        flag = (rng.random(offices * workers) < 0.5)[worker]
    if flag is not None and beta_in_context is not None:
        slope = np.where(flag, beta_in_context, slope)
    y = rng.normal(0, 0.5, offices)[office] + slope * x + rng.normal(size=n)
    chain = chain_verdicts(y, x, office, flag)
    return chain, outcomes(chain)


def counts(rng: np.random.Generator, *, n: int, offices: int, size: float):
    """Overdispersed counts (negative binomial, ``size``), no effect of the mechanism."""
    office = rng.integers(0, offices, n)
    x = rng.normal(size=n)
    mu = np.exp(0.5 + rng.normal(0, 0.3, offices)[office])
    y = rng.negative_binomial(size, size / (size + mu)).astype(float)
    chain = chain_verdicts(y, x, office, None, "poisson")
    return chain, outcomes(chain)


def binary(rng: np.random.Generator, *, offices: int, per_office: int, slope_sd: float):
    """A yes/no outcome whose log-odds slope varies between offices around zero."""
    office = np.repeat(np.arange(offices), per_office)
    x = rng.normal(size=len(office))
    eta = rng.normal(0, 0.5, offices)[office] + rng.normal(0, slope_sd, offices)[office] * x
    y = (rng.random(len(office)) < 1 / (1 + np.exp(-eta))).astype(float)
    chain = chain_verdicts(y, x, office, None, "binomial")
    return chain, outcomes(chain)


SITUATIONS: list[tuple[str, str, Sim, str]] = [
    # (name, truth, simulation, what to read)
    (
        "slopes vary between 7 offices (SD 0.3), 300 cases each",
        "null",
        lambda r: linear(r, offices=7, per_office=300, slope_sd=0.3),
        "held",
    ),
    (
        "slopes vary between 4 offices (SD 0.3), 300 cases each",
        "null",
        lambda r: linear(r, offices=4, per_office=300, slope_sd=0.3),
        "held",
    ),
    (
        "context true in 3 of 7 offices, no difference, slopes vary",
        "null",
        lambda r: linear(r, offices=7, per_office=300, slope_sd=0.3, context="offices"),
        "differs",
    ),
    (
        "worker-level context, slopes vary by office and worker (SD 0.3)",
        "null",
        lambda r: linear(r, offices=7, per_office=300, slope_sd=0.3, context="worker", workers=10),
        "differs",
    ),
    (
        "same slope 0.12 everywhere, case-level context holding 80% of cases",
        "null",
        lambda r: linear(r, offices=7, per_office=300, beta=0.12, context="case80"),
        "differs",
    ),
    (
        "overdispersed counts (negative binomial, size 0.5), n = 40, 7 offices",
        "null",
        lambda r: counts(r, n=40, offices=7, size=0.5),
        "clear",
    ),
    (
        "overdispersed counts (negative binomial, size 0.5), n = 400, 7 offices",
        "null",
        lambda r: counts(r, n=400, offices=7, size=0.5),
        "clear",
    ),
    (
        "yes/no outcome, log-odds slopes vary between 7 offices (SD 0.3)",
        "null",
        lambda r: binary(r, offices=7, per_office=300, slope_sd=0.3),
        "held",
    ),
    (
        "β = 0.2 in a case-level context (50%), none elsewhere, 7 offices, n = 300 per context",
        "effect",
        lambda r: linear(
            r, offices=7, per_office=600 // 7 + 1, context="case50", beta_in_context=0.2
        ),
        "held",
    ),
    (
        "β = 0.2 in a case-level context (50%), none elsewhere, 7 offices, n = 500 per context",
        "effect",
        lambda r: linear(
            r, offices=7, per_office=1000 // 7 + 1, context="case50", beta_in_context=0.2
        ),
        "held",
    ),
    (
        "β = 0.2 everywhere, 7 offices, 300 cases in all (no slope variation)",
        "effect",
        lambda r: linear(r, offices=7, per_office=300 // 7 + 1, beta=0.2),
        "held",
    ),
    (
        "β = 0.2 everywhere, 7 offices × 300 cases, slopes vary (SD 0.1)",
        "effect",
        lambda r: linear(r, offices=7, per_office=300, beta=0.2, slope_sd=0.1),
        "held",
    ),
    (
        "β = 0.4 in a case-level context (50%), none elsewhere, 7 offices × 300",
        "effect",
        lambda r: linear(r, offices=7, per_office=300, context="case50", beta_in_context=0.4),
        "differs",
    ),
]


def criteria_coverage(rng: np.random.Generator, reps: int, view: str) -> float:
    """Coverage of the 'all offices' interval of a mean criterion, 7 offices of unequal size,
    ICC 0.1. ``population``: the office means are fixed and the target is these offices'
    case-weighted mean; ``sample``: offices are drawn afresh and the target is the mean of the
    office population (the estimate weights offices by cases, so sizes are kept equal)."""
    crit = Criterion.model_validate(
        {
            "id": "c",
            "label": {"en": "c"},
            "indicator": "i",
            "statistic": "mean",
            "target": {"at_least": 0.0},
        }
    )
    sizes = (
        np.array([60, 60, 60, 60, 60, 60, 60])
        if view == "sample"
        else np.array([20, 35, 50, 80, 120, 60, 30])
    )
    fixed = rng.normal(0, math.sqrt(0.1), len(sizes))
    covered = 0
    for _ in range(reps):
        means = rng.normal(0, math.sqrt(0.1), len(sizes)) if view == "sample" else fixed
        target = 0.0 if view == "sample" else float((sizes * means).sum() / sizes.sum())
        strata = []
        for n, m in zip(sizes, means, strict=True):
            v = m + rng.normal(0, math.sqrt(0.9), n)
            strata.append((int(n), float(v.sum()), float((v * v).sum())))
        cell = _all_cell(crit, "p", strata, view, exact=False)
        assert cell.ci_low is not None and cell.ci_high is not None
        covered += cell.ci_low <= target <= cell.ci_high
    return covered / reps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1000, help="data sets per situation (≥ 200)")
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    print(f"cmo calibration: {args.reps} simulated data sets per situation (seed {args.seed})\n")
    print(
        "| Situation | Truth | the test alone: p < 0.05, declared direction | cmo says "
        '"held" (after BH) | cmo says "the context matters" |'
    )
    print("|---|---|---|---|---|")
    for name, truth, sim, _read in SITUATIONS:
        results = [sim(rng)[1] for _ in range(args.reps)]
        cells = []
        for key in ("raw", "held", "differs"):
            k = sum(r[key] for r in results)
            lo, hi = wilson(k, args.reps)
            cells.append(f"{k / args.reps:.1%} [{lo:.1%}, {hi:.1%}]")
        if "counts" in name:
            k = sum(r["clear"] for r in results)
            lo, hi = wilson(k, args.reps)
            cells[1] += f"; clear either way {k / args.reps:.1%} [{lo:.1%}, {hi:.1%}]"
        if "context" in name and truth == "null":
            k = sum(r["held_not_elsewhere"] for r in results)
            cells[2] += f" (old reading, held here but not elsewhere: {k / args.reps:.1%})"
        print(f"| {name} | {truth} | {cells[0]} | {cells[1]} | {cells[2]} |")
    print("\n| 'All offices' criterion interval | Coverage of 95% interval |")
    print("|---|---|")
    for view, what in (
        ("population", "these offices (stratified), unequal offices, ICC 0.1"),
        ("sample", "offices as a sample (clustered, t on 6 df), ICC 0.1"),
    ):
        cov = criteria_coverage(rng, args.reps, view)
        lo, hi = wilson(round(cov * args.reps), args.reps)
        print(f"| {what} | {cov:.1%} [{lo:.1%}, {hi:.1%}] |")
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()

"""How often does cmo say "held"? Under the null (no effect) and under a planted effect.

    python benchmarks/calibration.py            # 400 data sets per cell
    python benchmarks/calibration.py --reps 200

Each simulated data set is one chain with one context: seven offices with a random office
intercept (SD 0.5), a mechanism x ~ N(0, 1), and an outcome
    y = office + β · x · [case in the context] + ε,   ε ~ N(0, 1),
with half of the cases in the context. β = 0 is the null; β = 0.2 (a small effect: 0.2 SD of
the outcome per SD of the mechanism) is the planted effect. For each data set cmo's own chain
test runs (the same code as `cmo analyse`: model choice, REML mixed model, the interaction,
Benjamini–Hochberg over the run's tests, verdict rules), and the share of data sets in which
the context's verdict is "held" is printed, with its 95% Wilson interval, for n = 100, 300
and 1000 cases per context. The baseline is the unadjusted test's rejection rate at 5%.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from cmo.analysis.models import fit_effect
from cmo.analysis.run import (
    HELD,
    ChainResult,
    ContextTest,
    Effect,
    Interaction,
    _correct,
    _test,
)
from cmo.analysis.stats import wilson

OFFICES = 7


def one(rng: np.random.Generator, n_per_context: int, beta: float) -> tuple[bool, bool]:
    n = 2 * n_per_context
    office = rng.integers(0, OFFICES, n)
    intercepts = rng.normal(0, 0.5, OFFICES)
    x = rng.normal(size=n)
    inside = np.arange(n) < n_per_context
    y = intercepts[office] + beta * x * inside + rng.normal(size=n)
    covs = np.empty((n, 0))
    chain = ChainResult("sim", "chain", "", "m", "o", None, "positive", "gaussian")
    for name, member in (("context", inside), ("elsewhere", ~inside)):
        test = ContextTest(name, name, int(member.sum()), OFFICES, {})
        _test(test, "gaussian", y[member], x[member], office[member], covs[member], 30)
        chain.tests.append(test)
    flag = inside.astype(float)
    fit = fit_effect("gaussian", y, x, office, covs, extra=[flag, x * flag], coef=3)
    chain.interactions.append(Interaction("context", n, Effect.of(fit, "gaussian")))
    _correct([chain])
    raw = chain.tests[0].effect
    assert raw is not None
    return chain.tests[0].verdict == HELD, raw.p <= 0.05 and raw.estimate > 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=400, help="data sets per cell (≥ 200)")
    parser.add_argument("--effect", type=float, default=0.2, help="planted β (SD units)")
    args = parser.parse_args()
    rng = np.random.default_rng(20071008)
    print(
        f"cmo calibration: {args.reps} simulated data sets per cell, 7 offices, "
        f"planted effect β = {args.effect}"
    )
    print(f"{'':10s} {'n/context':>9s} {'cmo: held':>22s} {'baseline: p<0.05':>22s}")
    started = time.perf_counter()
    for label, beta in (("null", 0.0), ("effect", args.effect)):
        for n in (100, 300, 1000):
            results = [one(rng, n, beta) for _ in range(args.reps)]
            held = sum(r[0] for r in results)
            raw = sum(r[1] for r in results)
            lo, hi = wilson(held, args.reps)
            rlo, rhi = wilson(raw, args.reps)
            print(
                f"{label:10s} {n:9d} {held / args.reps:8.1%} [{lo:5.1%}, {hi:5.1%}] "
                f"{raw / args.reps:8.1%} [{rlo:5.1%}, {rhi:5.1%}]"
            )
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()

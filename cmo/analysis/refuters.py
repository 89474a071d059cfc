"""Refuters: try to break every "held" before a meeting acts on it.

With seven offices, a "held" can be one office's story, a coincidence, or a mechanism that goes
with everything. Each held test is tried three ways, all of which respect offices:

- **Leave one office out.** The test is refitted without each office in turn (same model and
  covariance). If leaving one office out makes the effect unclear (p > 0.05) or turns it
  around, the verdict *rests on one office*, and that office is named.
- **Placebo mechanism.** The mechanism is shuffled *within* offices (so that what differs
  between offices stays as it was) many times, and the test statistic is recomputed. The share
  of shuffles that give an effect at least as large as the real one is a randomisation p-value
  that relies on no distributional assumption; the placebo effects centre on zero. The statistic
  is the score of the mechanism in the model without it (for a linear outcome the covariance
  of the mechanism and the outcome after removing covariates and offices), computed on at
  most :data:`PLACEBO_CASES` cases (a seeded sample) so that it stays fast on any store.
  Seeded: the same inputs give the same p.
- **Negative-control outcome.** A chain may declare an outcome the mechanism should *not*
  affect (`negative_control:` in the theory). The mechanism is tested against it with the
  same model; a clear effect there (p ≤ 0.05) suggests that something else drives both.

A held test whose every refuter passed is *robust*; if one failed, *fragile*, with the refuter
and why. Refuters that could not be tried (e.g. too few offices left) say so.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cmo.analysis.inference import t_pvalue
from cmo.analysis.models import FitError, _drop_constant, _office_dummies, fit_effect
from cmo.analysis.results import num

if TYPE_CHECKING:
    import numpy as np

    from cmo.analysis.chains import ChainData, Rules
    from cmo.analysis.results import ChainResult

LEVELS = ("none", "quick", "full")
PERMUTATIONS = {"quick": 199, "full": 999}
#: At most this many cases (a seeded sample) enter the placebo refuter.
PLACEBO_CASES = {"quick": 20_000, "full": 100_000}
ALPHA = 0.05


@dataclass
class Refutation:
    """What the refuters made of one held test."""

    status: str  # robust, fragile, partly tried (none failed, some could not run), not tried
    checks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [c for c in self.checks if c["passed"] is False]

    def summary(self) -> str:
        if self.status == "fragile":
            return "fragile: " + "; ".join(c["why"] for c in self.failed)
        if self.status == "partly tried":
            missing = [c["why"] for c in self.checks if c["passed"] is None]
            return "passed the refuters that could be tried; " + "; ".join(missing)
        return self.status

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "summary": self.summary(), "checks": self.checks}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Refutation:
        return cls(d["status"], [dict(c) for c in d["checks"]])


def refute_chain(chain: ChainResult, data: ChainData, rules: Rules, level: str) -> None:
    """Try every held test of the chain; sets ``test.refutation``."""
    if level == "none":
        return
    sign = 1 if chain.direction == "positive" else -1
    for test in chain.tests:
        if test.verdict_class != "held" or test.effect is None:
            continue
        member = data.groups.get(test.context)
        if member is None:
            continue
        seed = zlib.crc32(f"{chain.theory}.{chain.chain}.{test.context}".encode())
        checks = [
            leave_one_office_out(data, member, sign, rules),
            placebo(data, member, level, seed),
        ]
        if data.negative_control is not None:
            checks.append(negative_control(data, member, rules))
        tried = [c for c in checks if c["passed"] is not None]
        if not tried:
            status = "not tried"
        elif any(c["passed"] is False for c in tried):
            status = "fragile"
        elif len(tried) < len(checks):
            status = "partly tried"
        else:
            status = "robust"
        test.refutation = Refutation(status, checks)


def leave_one_office_out(
    data: ChainData, member: np.ndarray, sign: int, rules: Rules
) -> dict[str, Any]:
    import numpy as np

    y, x, covs, office = data.y[member], data.x[member], data.covs[member], data.office[member]
    codes = np.unique(office)
    out: dict[str, Any] = {"refuter": "leave one office out", "passed": None}
    weakest: tuple[float, int, float] | None = None
    # a linear model leaves an office out from per-office sufficient statistics (no refit)
    stats = None
    if data.family == "gaussian" and rules.covariance == "CR2":
        from cmo.analysis.models import OfficeStats, _design

        stats = OfficeStats(y, _design(x, covs), office)
    for position, code in enumerate(codes):
        keep = office != code
        n_left = len(codes) - 1
        if int(keep.sum()) < rules.min_cases or (
            rules.counts_offices and n_left < rules.min_offices
        ):
            continue
        try:
            if stats is not None:
                rest = [k for k in range(len(codes)) if k != position]
                est, u = stats.fit(2, 1, rules.covariance, rest)
                p = t_pvalue(est / u.se, u.df) if u.se > 0 and u.df > 0 else 1.0
            else:
                fit = fit_effect(
                    data.family,  # type: ignore[arg-type]
                    y[keep],
                    x[keep],
                    office[keep],
                    covs[keep],
                    covariance=rules.covariance,
                )
                p, est = fit.p, fit.estimate
        except (FitError, np.linalg.LinAlgError):
            p, est = 1.0, 0.0
        # weakest: the largest p, with an estimate against the declared direction as worst
        strength = p if sign * est > 0 else 1.0 + (1.0 - p)
        if weakest is None or strength > weakest[0]:
            weakest = (strength, int(code), est)
            out.update({"without": data.office_names[int(code)], "estimate": num(est), "p": num(p)})
    if weakest is None:
        out["why"] = (
            f"only {len(codes)} offices: leaving one out leaves too few to test "
            f"(at least {rules.min_offices} are needed)"
        )
        return out
    name = out["without"]
    if weakest[0] > ALPHA:
        out["passed"] = False
        out["why"] = f"rests on one office: {name} (without it, p = {out['p']:.2g})"
    else:
        out["passed"] = True
        out["why"] = f"holds without any one office (weakest without {name}: p = {out['p']:.2g})"
    return out


def placebo(data: ChainData, member: np.ndarray, level: str, seed: int) -> dict[str, Any]:
    """Randomisation test of the mechanism's score, the mechanism shuffled within offices."""
    import numpy as np

    rng = np.random.default_rng(seed)
    idx = np.flatnonzero(member)
    cap = PLACEBO_CASES[level]
    if len(idx) > cap:
        idx = np.sort(rng.choice(idx, cap, replace=False))
    y, x, covs, office = data.y[idx], data.x[idx], data.covs[idx], data.office[idx]
    out: dict[str, Any] = {
        "refuter": "placebo mechanism",
        "passed": None,
        "permutations": PERMUTATIONS[level],
        "cases": len(idx),
    }
    null = _null_model(data.family, y, covs, office)
    if null is None:
        out["why"] = "the model without the mechanism could not be fitted"
        return out
    basis, resid, weight = null
    basis_t = np.ascontiguousarray(basis.T)  # row-major both ways: fast products on any BLAS
    order = np.argsort(office, kind="stable")
    _, starts = np.unique(office[order], return_index=True)
    blocks = np.split(order, starts[1:])

    def effect(xv: np.ndarray) -> float:
        """One-step estimate of the mechanism's coefficient: its score over its information
        in the model without it (the exact OLS coefficient for a linear outcome)."""
        wx = xv * weight
        xt = xv - basis @ (basis_t @ wx)  # weighted residual of x on covariates and offices
        info = float(xt @ (xt * weight))
        return float(xt @ resid) / info if info > 0 else 0.0

    observed = effect(x)
    placebos = np.empty(PERMUTATIONS[level])
    shuffled = x.copy()
    for r in range(len(placebos)):
        for block in blocks:
            shuffled[block] = x[rng.permutation(block)]
        placebos[r] = effect(shuffled)
    p = float((1 + np.sum(np.abs(placebos) >= abs(observed) - 1e-12)) / (len(placebos) + 1))
    out.update(
        {
            "p": num(p),
            "estimate": num(observed),
            "placebo_mean": num(float(placebos.mean())),
            "placebo_sd": num(float(placebos.std(ddof=1))),
        }
    )
    if p <= ALPHA:
        out["passed"] = True
        out["why"] = (
            f"the real mechanism beats {len(placebos)} shuffles within offices (p = {p:.2g})"
        )
    else:
        out["passed"] = False
        out["why"] = (
            f"shuffled mechanisms within offices give effects as large (randomisation p = {p:.2g})"
        )
    return out


def _null_model(
    family: str, y: np.ndarray, covs: np.ndarray, office: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The model without the mechanism: a weighted orthonormal basis of its design (so that
    residualising the mechanism is one product), the response residuals and the weights."""
    import numpy as np

    from cmo.analysis.models import _irls

    W = _drop_constant(np.column_stack([np.ones(len(y)), covs, _office_dummies(office)]), 1)
    try:
        if family == "gaussian":
            weight = np.ones(len(y))
            mu = W @ np.linalg.lstsq(W, y, rcond=None)[0]
        else:
            _, mu = _irls(family, y, W)  # type: ignore[arg-type]
            weight = mu * (1 - mu) if family == "binomial" else mu
    except (FitError, np.linalg.LinAlgError):
        return None
    root = np.sqrt(weight)
    if np.any(root <= 0):
        return None
    q, _ = np.linalg.qr(W * root[:, None])
    # with D^(1/2) W = Q R, the weighted projection onto W is D^(-1/2) Q Qᵀ D^(1/2): so the
    # weighted residual of x is x − B (Bᵀ (w x)) with B = D^(-1/2) Q
    return q / root[:, None], y - mu, weight


def negative_control(data: ChainData, member: np.ndarray, rules: Rules) -> dict[str, Any]:
    import numpy as np

    assert data.negative_control is not None
    name, label, values, family = data.negative_control
    out: dict[str, Any] = {
        "refuter": "negative-control outcome",
        "outcome": name,
        "outcome_label": label,
        "passed": None,
    }
    ok = member & ~np.isnan(values)
    n = int(ok.sum())
    if n < rules.min_cases:
        out["why"] = (
            f"{n} cases with the negative-control outcome; at least {rules.min_cases} needed"
        )
        return out
    try:
        fit = fit_effect(
            family,  # type: ignore[arg-type]
            values[ok],
            data.x[ok],
            data.office[ok],
            data.covs[ok],
            covariance=rules.covariance,
        )
    except FitError as exc:
        out["why"] = f"no model could be fitted ({exc})"
        return out
    out.update({"estimate": num(fit.estimate), "p": num(fit.p), "n": n})
    if fit.p <= ALPHA:
        out["passed"] = False
        out["why"] = (
            f"the mechanism also goes with '{name}', which it should not affect "
            f"(p = {fit.p:.2g}): something else may drive both"
        )
    else:
        out["passed"] = True
        out["why"] = f"no effect on the negative control '{name}' (p = {fit.p:.2g})"
    return out

"""Fitting the mechanism → outcome effect, with the model chosen by the outcome's type.

Design matrices are built with numpy (a formula parser would cost more than the fit on large
data). Every fit is checked, not trusted: a mixed model whose optimiser warns (a Hessian that is
not positive definite, no convergence) is refitted with other optimisers, and if none succeeds
the analysis falls back to office fixed effects — and says so in ``model`` and ``reason``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

Family = Literal["gaussian", "binomial", "poisson"]
#: Fewest offices with data for a random office intercept (fewer: office fixed effects).
MIN_OFFICES_MIXED = 5
Z95 = 1.959963984540054


@dataclass
class Fit:
    """One estimated coefficient (the mechanism's, or an interaction's) and how it was got."""

    n: int
    n_offices: int
    model: str
    reason: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p: float
    sd_x: float
    notes: list[str] = field(default_factory=list)

    @property
    def per_sd(self) -> tuple[float, float, float]:
        """The effect per standard deviation of the mechanism (and its CI)."""
        return (self.estimate * self.sd_x, self.ci_low * self.sd_x, self.ci_high * self.sd_x)


class FitError(Exception):
    """No model could be fitted (e.g. perfect separation); the test gets no numbers."""


def _design(
    x: np.ndarray, covariates: np.ndarray | None, extra: list[np.ndarray] | None = None
) -> np.ndarray:
    import numpy as np

    cols = [np.ones_like(x), x, *(extra or [])]
    if covariates is not None and covariates.size:
        cols += [covariates[:, j] for j in range(covariates.shape[1])]
    return np.column_stack(cols)


def _office_dummies(office: np.ndarray) -> np.ndarray:
    import numpy as np

    levels = sorted(set(office.tolist()))
    if len(levels) <= 1:
        return np.empty((len(office), 0))
    return np.column_stack([(office == lv).astype(float) for lv in levels[1:]])


def _drop_constant(matrix: np.ndarray, keep: int) -> np.ndarray:
    """Drop columns without variation (after the first ``keep`` columns) and columns that are
    linear combinations of earlier ones (e.g. an office dummy equal to a covariate). Works on
    the small Gram matrix XᵀX, not on the tall design."""
    import numpy as np

    gram = matrix.T @ matrix
    n = matrix.shape[0]
    means = matrix.sum(axis=0) / max(n, 1)
    variances = np.diag(gram) / max(n, 1) - means**2
    kept: list[int] = []
    for j in range(matrix.shape[1]):
        if j >= keep and variances[j] <= 1e-12 * max(1.0, abs(means[j])):
            continue
        if kept and j >= keep:
            sub = gram[np.ix_(kept, kept)]
            cross = gram[kept, j]
            try:
                coef = np.linalg.solve(sub, cross)
            except np.linalg.LinAlgError:
                continue
            residual = gram[j, j] - cross @ coef
            if residual <= 1e-10 * gram[j, j]:
                continue
        kept.append(j)
    return matrix[:, kept]


def fit_effect(
    family: Family,
    y: np.ndarray,
    x: np.ndarray,
    office: np.ndarray,
    covariates: np.ndarray | None = None,
    *,
    extra: list[np.ndarray] | None = None,
    coef: int = 1,
) -> Fit:
    """Fit the model and return the coefficient at column ``coef`` of [1, x, extra…, cov…]."""
    import numpy as np

    n = len(y)
    offices = sorted(set(office.tolist()))
    base = _design(x, covariates, extra)
    keep = 2 + len(extra or [])
    sd_x = float(np.std(x, ddof=1)) if n > 1 else float("nan")
    if family == "gaussian" and len(offices) >= MIN_OFFICES_MIXED:
        exog = _drop_constant(base, keep)
        fit = _mixed(y, exog, office, coef, sd_x, len(offices))
        if fit is not None:
            return fit
        reason = (
            f"{len(offices)} offices, but the mixed model could not be fitted (singular "
            "design): office fixed effects instead"
        )
    elif len(offices) >= MIN_OFFICES_MIXED:
        reason = f"{len(offices)} offices, but no random-intercept model for a {family} outcome"
    else:
        reason = f"{len(offices)} office{'s' * (len(offices) != 1)}: too few for a random intercept"
    exog = _drop_constant(np.column_stack([base, _office_dummies(office)]), keep)
    return _fixed(family, y, exog, coef, sd_x, len(offices), reason)


def _mixed(
    y: np.ndarray, exog: np.ndarray, office: np.ndarray, coef: int, sd_x: float, k: int
) -> Fit | None:
    """Random intercept per office, REML (see :mod:`cmo.analysis.lmm`); None if the fit fails
    (a singular design), so that the caller falls back to office fixed effects."""
    import numpy as np

    from cmo.analysis.lmm import fit_random_intercept

    try:
        fit = fit_random_intercept(y, exog, office)
    except (np.linalg.LinAlgError, ValueError, FloatingPointError):
        return None
    est = float(fit.beta[coef])
    se = float(math.sqrt(fit.cov[coef, coef]))
    if not math.isfinite(se) or se <= 0:
        return None
    p = math.erfc(abs(est / se) / math.sqrt(2))  # two-sided normal p
    notes = []
    why = f"{k} offices: random intercept per office (REML)"
    if fit.boundary:
        notes.append(
            "the office variance is estimated at zero: offices do not differ beyond "
            "what the covariates explain"
        )
    return Fit(
        n=len(y),
        n_offices=k,
        model="linear mixed model",
        reason=why,
        estimate=est,
        se=se,
        ci_low=est - Z95 * se,
        ci_high=est + Z95 * se,
        p=p,
        sd_x=sd_x,
        notes=notes,
    )


def _fixed(
    family: Family, y: np.ndarray, exog: np.ndarray, coef: int, sd_x: float, k: int, why: str
) -> Fit:
    """Office fixed effects (dummies in ``exog``): OLS with HC3 standard errors, logistic
    regression with model-based standard errors, Poisson regression with HC0 (robust to
    overdispersion). Solved with the normal equations (IRLS for the GLMs) on the small Gram
    matrix; pinned against statsmodels and published results in the tests."""
    import numpy as np

    label = {
        "gaussian": "linear model",
        "binomial": "logistic regression",
        "poisson": "Poisson regression",
    }[family]
    try:
        if family == "gaussian":
            beta, cov, dof = _ols_hc3(y, exog)
            errors = "robust (HC3)"
        else:
            beta, cov = _irls(family, y, exog)
            dof = 0
            errors = "model-based" if family == "binomial" else "robust (HC0)"
    except np.linalg.LinAlgError:
        raise FitError(f"{label}: singular design") from None
    est = float(beta[coef])
    se = float(math.sqrt(cov[coef, coef])) if cov[coef, coef] > 0 else math.nan
    if not math.isfinite(se) or se <= 0:
        raise FitError(f"{label}: no standard error")
    if family == "gaussian":
        from scipy.special import stdtr, stdtrit

        crit = float(stdtrit(dof, 0.975))
        p = float(2 * stdtr(dof, -abs(est / se)))
    else:
        crit = Z95
        p = math.erfc(abs(est / se) / math.sqrt(2))
    fe = "office fixed effects" if k > 1 else "one office"
    return Fit(
        n=len(y),
        n_offices=k,
        model=f"{label}, {fe}, {errors} standard errors",
        reason=why,
        estimate=est,
        se=se,
        ci_low=est - crit * se,
        ci_high=est + crit * se,
        p=p,
        sd_x=sd_x,
    )


def _ols_hc3(y: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """OLS with the HC3 covariance (MacKinnon & White 1985)."""
    import numpy as np

    inverse = np.linalg.inv(X.T @ X)
    beta = inverse @ (X.T @ y)
    resid = y - X @ beta
    leverage = np.einsum("ij,jk,ik->i", X, inverse, X)
    scaled = resid / (1 - np.minimum(leverage, 1 - 1e-12))
    meat = (X * (scaled**2)[:, None]).T @ X
    return beta, inverse @ meat @ inverse, len(y) - X.shape[1]


def _irls(family: Family, y: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Iteratively reweighted least squares for the canonical logit and log links."""
    import numpy as np

    if family == "binomial":
        mu = (y + 0.5) / 2
        eta = np.log(mu / (1 - mu))
    else:
        mu = y + 0.1
        eta = np.log(mu)
    beta = np.zeros(X.shape[1])
    previous = math.inf
    for _ in range(100):
        weight = mu * (1 - mu) if family == "binomial" else mu
        z = eta + (y - mu) / weight
        gram = (X * weight[:, None]).T @ X
        beta = np.linalg.solve(gram, (X * weight[:, None]).T @ z)
        eta = X @ beta
        if family == "binomial":
            if np.max(np.abs(eta)) > 35:
                raise FitError("logistic regression: perfect separation")
            mu = 1 / (1 + np.exp(-eta))
            deviance = -2 * float(np.sum(y * np.log(mu) + (1 - y) * np.log(1 - mu)))
        else:
            if np.max(eta) > 50:
                raise FitError("Poisson regression: diverged")
            mu = np.exp(eta)
            deviance = 2 * float(
                np.sum(np.where(y > 0, y * np.log(np.where(y > 0, y, 1) / mu), 0) - (y - mu))
            )
        if abs(previous - deviance) <= 1e-12 * (abs(deviance) + 1):
            break
        previous = deviance
    else:
        raise FitError(f"{family} regression did not converge")
    weight = mu * (1 - mu) if family == "binomial" else mu
    inverse = np.linalg.inv((X * weight[:, None]).T @ X)
    if family == "binomial":
        return beta, inverse
    meat = (X * ((y - mu) ** 2)[:, None]).T @ X
    return beta, inverse @ meat @ inverse


def family_of(outcome_type: str, change: bool) -> Family:
    if change:
        return "gaussian"
    return {"binary": "binomial", "count": "poisson"}.get(outcome_type, "gaussian")  # type: ignore[return-value]


def to_arrays(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    import numpy as np

    if not columns:
        return np.empty((len(frame), 0))
    out: np.ndarray = frame[columns].to_numpy(dtype=float)
    return out


def any_to_float(value: Any) -> float | None:
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None

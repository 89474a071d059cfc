"""Fitting the mechanism → outcome effect, with the model chosen by the outcome's type.

Design matrices are built with numpy (a formula parser would cost more than the fit on large
data). Every fit is checked, not trusted: a mixed model whose optimiser warns (a Hessian that is
not positive definite, no convergence) is refitted with other optimisers, and if none succeeds
the analysis falls back to office fixed effects — and says so in ``model`` and ``reason``.
"""

from __future__ import annotations

import math
import warnings
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
    """Drop columns without variation (after the first ``keep`` columns) and duplicates."""
    import numpy as np

    cols = list(range(keep))
    for j in range(keep, matrix.shape[1]):
        col = matrix[:, j]
        if np.nanstd(col) > 0:
            cols.append(j)
    reduced = matrix[:, cols]
    # drop linearly dependent columns (e.g. an office dummy equal to a covariate)
    _q, r = np.linalg.qr(reduced)
    diag = np.abs(np.diag(r))
    tol = diag.max() * 1e-10 if diag.size else 0
    independent = [j for j in range(reduced.shape[1]) if j < keep or diag[j] > tol]
    return reduced[:, independent]


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
            f"{len(offices)} offices, but the mixed model failed with every optimiser "
            "(lbfgs, powell, nm): office fixed effects instead"
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
    from scipy import stats

    from cmo.analysis.lmm import fit_random_intercept

    try:
        fit = fit_random_intercept(y, exog, office)
    except (np.linalg.LinAlgError, ValueError, FloatingPointError):
        return None
    est = float(fit.beta[coef])
    se = float(math.sqrt(fit.cov[coef, coef]))
    if not math.isfinite(se) or se <= 0:
        return None
    p = float(2 * stats.norm.sf(abs(est / se)))
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
    import numpy as np
    import statsmodels.api as sm

    names = {
        "gaussian": ("linear model", "HC3"),
        "binomial": ("logistic regression", "nonrobust"),
        "poisson": ("Poisson regression", "HC0"),
    }
    label, cov = names[family]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if family == "gaussian":
                result = sm.OLS(y, exog).fit(cov_type=cov)
            else:
                fam = sm.families.Binomial() if family == "binomial" else sm.families.Poisson()
                result = sm.GLM(y, exog, family=fam).fit(cov_type=cov, maxiter=200)
        except (np.linalg.LinAlgError, ValueError) as exc:
            raise FitError(f"{label}: {type(exc).__name__}") from None
    messages = [str(w.message) for w in caught]
    if any("separation" in m.lower() or "overflow" in m.lower() for m in messages):
        raise FitError(f"{label}: perfect separation")
    if family != "gaussian" and not getattr(result, "converged", True):
        raise FitError(f"{label}: did not converge")
    est = float(np.asarray(result.params)[coef])
    se = float(np.asarray(result.bse)[coef])
    if not math.isfinite(se) or se <= 0:
        raise FitError(f"{label}: no standard error")
    p = float(np.asarray(result.pvalues)[coef])
    if family == "gaussian":
        from scipy import stats

        crit = float(stats.t.ppf(0.975, result.df_resid))
    else:
        crit = Z95
    fe = "office fixed effects" if k > 1 else "one office"
    return Fit(
        n=len(y),
        n_offices=k,
        model=f"{label}, {fe}, robust ({cov}) standard errors",
        reason=why,
        estimate=est,
        se=se,
        ci_low=est - crit * se,
        ci_high=est + crit * se,
        p=p,
        sd_x=sd_x,
    )


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

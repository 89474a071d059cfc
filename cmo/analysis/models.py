"""Fitting the mechanism → outcome effect, with the model chosen by the outcome's type.

The effect is estimated **within offices** (office fixed effects), so that offices differing in
their level of the outcome never pass for an effect of the mechanism; its uncertainty comes
from :mod:`cmo.analysis.inference` (by default CR2 by office). Design matrices are built with
numpy (a formula parser would cost more than the fit on large data). Every fit is checked, not
trusted: a singular design or a diverging GLM is a :class:`FitError`, and the test then gets no
numbers, with the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from cmo.analysis.inference import (
    ClusterCR2,
    Uncertainty,
    classical,
    hc3,
    t_pvalue,
    t_quantile,
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

Family = Literal["gaussian", "binomial", "poisson"]
#: Fewest offices for the random-intercept model of ``covariance: classical`` (lme4's SEs).
MIN_OFFICES_MIXED = 5
Z95 = 1.959963984540054
LABELS = {
    "gaussian": "linear model",
    "binomial": "logistic regression",
    "poisson": "Poisson regression",
}


@dataclass
class Fit:
    """One estimated coefficient (the mechanism's, or an interaction's) and how it was got."""

    n: int
    n_offices: int
    model: str
    reason: str
    estimate: float
    se: float
    df: float
    covariance: str
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

    levels = np.unique(office)
    if len(levels) <= 1:
        return np.empty((len(office), 0))
    dummies: np.ndarray = (office[:, None] == levels[None, 1:]).astype(float)
    return dummies


def _drop_constant(matrix: np.ndarray, keep: int) -> np.ndarray:
    """Drop columns without variation (after the first ``keep`` columns) and columns that are
    linear combinations of earlier ones (e.g. an office dummy equal to a covariate). Works on
    the small Gram matrix XᵀX, not on the tall design."""
    gram = matrix.T @ matrix
    return matrix[:, _kept(gram, matrix.sum(axis=0), matrix.shape[0], keep)]


def _kept(gram: np.ndarray, sums: np.ndarray, n: int, keep: int) -> list[int]:
    """The columns :func:`_drop_constant` keeps, from the Gram matrix and column sums."""
    import numpy as np

    means = sums / max(n, 1)
    variances = np.diag(gram) / max(n, 1) - means**2
    kept: list[int] = []
    for j in range(gram.shape[0]):
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
    return kept


class OfficeStats:
    """A linear model's sufficient statistics per office: each office's BᵀB, Bᵀ1, Bᵀy, Σy,
    Σy² and n for the base design B (intercept, mechanism, extras, covariates). OLS with
    office fixed effects over any set of the offices then needs no row: the office dummies'
    blocks of the Gram matrix are the offices' sizes and column sums. The data are read once
    — and leaving one office out (a refuter) costs p × p work, not a refit."""

    def __init__(self, y: np.ndarray, base: np.ndarray, office: np.ndarray) -> None:
        import numpy as np

        self.levels, index = np.unique(office, return_inverse=True)
        G = len(self.levels)
        if len(index) > 1 and bool(np.all(index[1:] >= index[:-1])):
            Bo, yo = base, y
        else:
            order = np.argsort(index, kind="stable")
            Bo, yo = base[order], y[order]
        self.counts = np.bincount(index, minlength=G)
        bounds = np.concatenate([[0], np.cumsum(self.counts)])
        self.gram, self.colsum, self.xy, self.ysum, self.yy = [], [], [], [], []
        for g in range(G):
            Bg, yg = Bo[bounds[g] : bounds[g + 1]], yo[bounds[g] : bounds[g + 1]]
            self.gram.append(Bg.T @ Bg)
            self.colsum.append(Bg.sum(axis=0))
            self.xy.append(Bg.T @ yg)
            self.ysum.append(float(yg.sum()))
            self.yy.append(float(yg @ yg))

    def fit(
        self, keep: int, j: int, covariance: str, offices: list[int] | None = None
    ) -> tuple[float, Uncertainty]:
        """The coefficient ``j`` and its uncertainty (CR2 or classical), over ``offices``
        (indices into the sorted office codes; default all)."""
        import numpy as np

        chosen = list(range(len(self.levels))) if offices is None else offices
        p0 = self.gram[0].shape[0]
        p = p0 + len(chosen) - 1
        grams, sums, xys = [], [], []
        for k, g in enumerate(chosen):
            full = np.zeros((p, p))
            full[:p0, :p0] = self.gram[g]
            xy = np.zeros(p)
            xy[:p0] = self.xy[g]
            total = np.zeros(p)
            total[:p0] = self.colsum[g]
            if k > 0:  # the dummy of this office (the first chosen is the reference)
                d = p0 + k - 1
                full[d, :p0] = full[:p0, d] = self.colsum[g]
                full[d, d] = self.counts[g]
                xy[d] = self.ysum[g]
                total[d] = self.counts[g]
            grams.append(full)
            sums.append(total)
            xys.append(xy)
        n = int(sum(self.counts[g] for g in chosen))
        gram, xty = np.sum(grams, axis=0), np.sum(xys, axis=0)
        kept = _kept(gram, np.sum(sums, axis=0), n, keep)
        idx = np.ix_(kept, kept)
        beta = np.linalg.solve(gram[idx], xty[kept])
        if covariance == "CR2":
            scores = [xy[kept] - g_[idx] @ beta for g_, xy in zip(grams, xys, strict=True)]
            cr2 = ClusterCR2.from_grams([g_[idx] for g_ in grams], scores)
            return float(beta[j]), cr2.coefficient(j)
        yy = sum(self.yy[g] for g in chosen)
        rss = yy - 2 * float(beta @ xty[kept]) + float(beta @ gram[idx] @ beta)
        dof = n - len(kept)
        cov = np.linalg.inv(gram[idx]) * max(rss, 0.0) / dof
        se = math.sqrt(max(float(cov[j, j]), 0.0))
        return float(beta[j]), Uncertainty(se, float(dof), "classical")


@dataclass
class WorkingModel:
    """A fitted model as its whitened working model: coefficients, design ``Z`` and residuals
    ``r`` with working covariance I (see :mod:`cmo.analysis.inference`)."""

    family: Family
    beta: np.ndarray
    Z: np.ndarray
    r: np.ndarray
    groups: np.ndarray
    _cr2: ClusterCR2 | None = None

    def uncertainty(self, j: int, covariance: str) -> Uncertainty:
        if covariance == "CR2":
            if self._cr2 is None:
                self._cr2 = ClusterCR2(self.Z, self.r, self.groups)
            return self._cr2.coefficient(j)
        if covariance == "HC3":
            return hc3(self.Z, self.r, j)
        return classical(
            self.Z, self.r, j, dispersion="fixed" if self.family == "binomial" else "estimated"
        )


def fit_working(
    family: Family, y: np.ndarray, exog: np.ndarray, groups: np.ndarray
) -> WorkingModel:
    """OLS (gaussian) or IRLS (logit, log link) on ``exog``; raises :class:`FitError`."""
    import numpy as np

    label = LABELS[family]
    try:
        if family == "gaussian":
            beta = np.linalg.solve(exog.T @ exog, exog.T @ y)
            return WorkingModel(family, beta, exog, y - exog @ beta, groups)
        beta, mu = _irls(family, y, exog)
    except np.linalg.LinAlgError:
        raise FitError(f"{label}: singular design") from None
    weight = mu * (1 - mu) if family == "binomial" else mu
    root = np.sqrt(weight)
    return WorkingModel(family, beta, exog * root[:, None], (y - mu) / root, groups)


def fit_effect(
    family: Family,
    y: np.ndarray,
    x: np.ndarray,
    office: np.ndarray,
    covariates: np.ndarray | None = None,
    *,
    extra: list[np.ndarray] | None = None,
    coef: int = 1,
    covariance: str = "CR2",
) -> Fit:
    """Fit the model and return the coefficient at column ``coef`` of [1, x, extra…, cov…].

    ``covariance``: ``CR2`` (default; cluster-robust by office, Satterthwaite df), ``HC3`` or
    ``classical`` (model-based; for a linear outcome with at least five offices the random
    intercept model by REML with lme4's standard errors)."""
    import numpy as np

    n = len(y)
    k = len(np.unique(office))
    base = _design(x, covariates, extra)
    keep = 2 + len(extra or [])
    sd_x = float(np.std(x, ddof=1)) if n > 1 else float("nan")
    if covariance == "classical" and family == "gaussian" and k >= MIN_OFFICES_MIXED:
        fit = _mixed(y, _drop_constant(base, keep), office, coef, sd_x, k)
        if fit is not None:
            return fit
        why = f"{k} offices, but the mixed model could not be fitted: office fixed effects"
    else:
        why = ""
    if covariance == "CR2" and k < 2:
        raise FitError("one office: office-clustered uncertainty needs at least two")
    fe = "office fixed effects" if k > 1 else "one office"
    if family == "gaussian" and covariance in ("CR2", "classical"):
        try:
            est, u = OfficeStats(y, base, office).fit(keep, coef, covariance)
        except np.linalg.LinAlgError:
            raise FitError(f"{LABELS[family]}: singular design") from None
        reason = why or _reason(covariance, k, u)
        return _fit(n, k, f"{LABELS[family]}, {fe}", reason, est, u, sd_x)
    exog = _drop_constant(np.column_stack([base, _office_dummies(office)]), keep)
    model = fit_working(family, y, exog, office)
    u = model.uncertainty(coef, covariance)
    reason = why or _reason(covariance, k, u)
    return _fit(n, k, f"{LABELS[family]}, {fe}", reason, float(model.beta[coef]), u, sd_x)


def _reason(covariance: str, k: int, u: Uncertainty) -> str:
    if covariance == "CR2":
        return (
            f"{k} offices: effect within offices, uncertainty cluster-robust by office (CR2) "
            f"with {u.df:.1f} Satterthwaite degrees of freedom"
        )
    if covariance == "HC3":
        return "covariance: HC3 chosen in cmo.yaml: cases treated as independent"
    return "covariance: classical chosen in cmo.yaml: model-based standard errors"


def _fit(n: int, k: int, model: str, reason: str, est: float, u: Uncertainty, sd_x: float) -> Fit:
    if not math.isfinite(u.se) or u.se <= 0 or not (u.df > 0):
        raise FitError(f"{model}: no standard error")
    crit = t_quantile(u.df)
    return Fit(
        n=n,
        n_offices=k,
        model=model,
        reason=reason,
        estimate=est,
        se=u.se,
        df=u.df,
        covariance=u.method,
        ci_low=est - crit * u.se,
        ci_high=est + crit * u.se,
        p=t_pvalue(est / u.se, u.df),
        sd_x=sd_x,
    )


def _mixed(
    y: np.ndarray, exog: np.ndarray, office: np.ndarray, coef: int, sd_x: float, k: int
) -> Fit | None:
    """Random intercept per office, REML (see :mod:`cmo.analysis.lmm`), lme4's standard
    errors with a normal reference; None if the fit fails (a singular design)."""
    import numpy as np

    from cmo.analysis.lmm import fit_random_intercept

    try:
        fit = fit_random_intercept(y, exog, office)
    except (np.linalg.LinAlgError, ValueError, FloatingPointError):
        return None
    u = Uncertainty(float(math.sqrt(fit.cov[coef, coef])), math.inf, "classical (REML)")
    why = f"{k} offices: random intercept per office (REML), model-based standard errors"
    out = _fit(len(y), k, "linear mixed model", why, float(fit.beta[coef]), u, sd_x)
    if fit.boundary:
        out.notes.append(
            "the office variance is estimated at zero: offices do not differ beyond "
            "what the covariates explain"
        )
    return out


def _irls(family: Family, y: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Iteratively reweighted least squares for the canonical logit and log links: the
    coefficients and the fitted means."""
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
    return beta, mu


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

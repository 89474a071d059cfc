"""The random-intercept linear mixed model by REML, from per-office sufficient statistics.

    y = Xβ + u_office + ε,   u ~ N(0, τ²),   ε ~ N(0, σ²)

For one office with n rows, V = σ²(I + γ11ᵀ) with γ = τ²/σ², and
V⁻¹ = σ⁻²(I − w11ᵀ) with w = γ/(1 + nγ). So XᵀV⁻¹X, XᵀV⁻¹y and yᵀV⁻¹y need only each
office's XᵀX, Xᵀ1, Xᵀy, Σy, Σy² and n — one pass over the data — and the REML likelihood,
with σ² profiled out, is a function of γ alone (Harville 1977; Bates et al. 2015, lme4):

    −2ℓ_R(γ) = (N − p) log σ̂²(γ) + Σ log(1 + n_g γ) + log |A(γ)| + const,
    A(γ) = Σ (X_gᵀX_g − w_g s_g s_gᵀ),   β̂ = A⁻¹b,   σ̂² = (c − bᵀβ̂)/(N − p).

γ is found by a bounded one-dimensional search, with γ = 0 (no office variance: the boundary
where general-purpose optimisers report a non-positive-definite Hessian) compared
explicitly. Cov(β̂) = σ̂²A⁻¹, as lme4 reports it. The tests pin this against lme4's published
sleepstudy fit and against statsmodels' MixedLM.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


@dataclass
class LmmFit:
    beta: np.ndarray
    cov: np.ndarray
    sigma2: float
    tau2: float
    reml_criterion: float  # −2 ℓ_R, comparable with lme4's "REML criterion at convergence"
    boundary: bool


def fit_random_intercept(y: np.ndarray, X: np.ndarray, groups: np.ndarray) -> LmmFit:
    import numpy as np
    from scipy import optimize

    n_obs, p = X.shape
    labels, index = np.unique(groups, return_inverse=True)
    k = len(labels)
    # per-office sufficient statistics
    xtx = np.zeros((k, p, p))
    s = np.zeros((k, p))
    xty = np.zeros((k, p))
    t = np.zeros(k)
    yty = np.zeros(k)
    n = np.bincount(index, minlength=k).astype(float)
    order = np.argsort(index, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(index, minlength=k))])
    Xs, ys = X[order], y[order]  # one copy, then a view per office
    for g in range(k):
        Xg, yg = Xs[bounds[g] : bounds[g + 1]], ys[bounds[g] : bounds[g + 1]]
        xtx[g] = Xg.T @ Xg
        s[g] = Xg.sum(axis=0)
        xty[g] = Xg.T @ yg
        t[g] = yg.sum()
        yty[g] = yg @ yg
    dof = n_obs - p
    const = dof * (1 + math.log(2 * math.pi))

    def pieces(gamma: float) -> tuple[float, np.ndarray, np.ndarray, float]:
        w = gamma / (1 + n * gamma)
        A = xtx.sum(0) - np.einsum("g,gi,gj->ij", w, s, s)
        b = xty.sum(0) - (w * t) @ s
        c = yty.sum() - (w * t) @ t
        beta = np.linalg.solve(A, b)
        rss = float(c - b @ beta)
        return rss, A, beta, float(np.log1p(n * gamma).sum())

    def criterion(gamma: float) -> float:
        rss, A, _, logdet_v = pieces(gamma)
        if rss <= 0:
            return math.inf
        _sign, logdet_a = np.linalg.slogdet(A)
        return float(dof * math.log(rss / dof) + logdet_v + logdet_a + const)

    found = optimize.minimize_scalar(
        lambda lg: criterion(math.exp(lg)),
        bounds=(-25.0, 12.0),
        method="bounded",
        options={"xatol": 1e-10, "maxiter": 500},
    )
    gamma = math.exp(found.x)
    best = criterion(gamma)
    at_zero = criterion(0.0)
    boundary = at_zero <= best
    if boundary:
        gamma, best = 0.0, at_zero
    rss, A, beta, _ = pieces(gamma)
    sigma2 = rss / dof
    cov = sigma2 * np.linalg.inv(A)
    return LmmFit(
        beta=beta,
        cov=cov,
        sigma2=sigma2,
        tau2=gamma * sigma2,
        reml_criterion=best,
        boundary=boundary,
    )

"""How sure can we be? Standard errors and degrees of freedom for one coefficient.

A mechanism's effect differs from office to office — that is what realist evaluation expects.
Clients in an office are then not independent evidence about the mechanism: what one office's
clients share (its way of working, its workers) moves all of their outcomes together. The
default is therefore **cluster-robust by office with the CR2 small-sample correction and
Satterthwaite (Bell–McCaffrey) degrees of freedom** (Bell & McCaffrey 2002; Pustejovsky &
Tipton 2018), the method of R's clubSandwich, against which the tests pin it. Between-office
variation in the effect enters the standard error, and the t reference has as many degrees
of freedom as the offices can carry — with seven offices, a handful, not thousands.

Every estimator here works on a *whitened working model*: a design ``Z`` and residuals ``r``
whose working covariance is the identity. For a linear model that is the design and the
residuals themselves; for a logistic or Poisson model it is the IRLS working model at
convergence, ``Z = √w X`` and Pearson residuals ``r = (y − μ)/√w`` (``w`` the working
weights). CR2 on that working model is exactly unbiased when the working model is right (the
defining property of CR2); for a GLM it takes the symmetric square root of the whitened
``I − H_gg`` where clubSandwich takes the Cholesky factor of the target variance — the two agree
to a few per cent (see tests/fixtures/reference/cr2/results.csv), and only this one has the
fast path below.

**The fast path.** An office can hold 140,000 rows, so ``(I − H_gg)^(-1/2)`` is never formed.
``H_gg = Z_g M Z_gᵀ`` (``M = (ZᵀZ)⁻¹``) has rank at most p: with ``Z_gᵀZ_g = V S Vᵀ`` write
``Z_g = Q R`` (``Q = Z_g V S^(-1/2)`` orthonormal, ``R = S^(1/2) Vᵀ``), so
``H_gg = Q (R M Rᵀ) Qᵀ`` and, with ``R M Rᵀ = U Λ Uᵀ``,

    (I − H_gg)^(-1/2) = I + Q U [(1 − Λ)^(-1/2) − I] Uᵀ Qᵀ.

Everything the estimator needs is then a p × p product: ``Z_gᵀ A_g r_g = Rᵀ K (Qᵀ r_g)`` with
``K = U (1 − Λ)^(-1/2) Uᵀ``, ``Qᵀ r_g = S^(-1/2) Vᵀ Z_gᵀ r_g``, and for the degrees of freedom
``Z_gᵀ A_g Z_g = Rᵀ K R`` and ``Z_gᵀ A_g² Z_g = Rᵀ K² R``. The Satterthwaite df of coefficient j
(``c`` its unit vector, ``v = M c``, ``p_g = A_g Z_g v``) is

    df = (Σ_g Ω_gg)² / Σ_gh Ω_gh²,   Ω_gh = δ_gh p_gᵀp_g − (Z_gᵀ p_g)ᵀ M (Z_hᵀ p_h),

the Satterthwaite approximation for the quadratic form cᵀV̂c under the working model
(clubSandwich's ``P_array``). Work: O(n p²) for the Gram matrices, O(G p³) for the rest. As in
clubSandwich, eigenvalues of ``I − H_gg`` at or below 1e-12 count as zero (pseudo-inverse): an
office's own fixed effect is such a direction, and the residuals are orthogonal to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import numpy as np

#: The covariance methods a workspace can choose (``covariance:`` in cmo.yaml).
Covariance = Literal["CR2", "HC3", "classical"]
COVARIANCES: tuple[str, ...] = ("CR2", "HC3", "classical")
#: Eigenvalues of I − H_gg at or below this count as zero (clubSandwich's matrix_power).
EIGEN_TOL = 1e-12


@dataclass(frozen=True)
class Uncertainty:
    """A coefficient's standard error, the degrees of freedom of its t reference
    (``math.inf``: normal reference) and the method, in words."""

    se: float
    df: float
    method: str


def t_quantile(df: float, prob: float = 0.975) -> float:
    from scipy.special import ndtri, stdtrit

    return float(ndtri(prob)) if math.isinf(df) else float(stdtrit(df, prob))


def t_pvalue(t: float, df: float) -> float:
    """Two-sided p of a t statistic (normal when ``df`` is infinite), at full precision."""
    from scipy.special import ndtr, stdtr

    if math.isinf(df):
        return float(2 * ndtr(-abs(t)))
    return float(2 * stdtr(df, -abs(t)))


def _column_scale(Z: np.ndarray) -> np.ndarray:
    """Root mean square of each column: dividing by it conditions the Gram matrices without
    changing any hat matrix (a diagonal change of basis)."""
    import numpy as np

    scale = np.sqrt(np.einsum("ij,ij->j", Z, Z) / max(len(Z), 1))
    scale[scale == 0] = 1.0
    out: np.ndarray = scale
    return out


class ClusterCR2:
    """CR2 cluster-robust covariance with Satterthwaite df, through the rank-p structure of each
    cluster's block of the hat matrix. ``groups`` are integer codes (any order)."""

    def __init__(self, Z: np.ndarray, r: np.ndarray, groups: np.ndarray) -> None:
        import numpy as np

        if len(groups) > 1 and bool(np.all(groups[1:] >= groups[:-1])):
            Zo, ro, sorted_groups = Z, r, groups  # already in office order: no copy
        else:
            order = np.argsort(groups, kind="stable")
            Zo, ro, sorted_groups = Z[order], r[order], groups[order]
        _, counts = np.unique(sorted_groups, return_counts=True)
        bounds = np.concatenate([[0], np.cumsum(counts)])
        grams, scores = [], []
        for g in range(len(counts)):
            Zg, rg = Zo[bounds[g] : bounds[g + 1]], ro[bounds[g] : bounds[g + 1]]
            grams.append(Zg.T @ Zg)
            scores.append(Zg.T @ rg)
        self._setup(grams, scores)

    @classmethod
    def from_grams(cls, grams: list[np.ndarray], scores: list[np.ndarray]) -> ClusterCR2:
        """From each cluster's Gram matrix Z_gᵀZ_g and score Z_gᵀr_g (sufficient statistics:
        no row is needed)."""
        self = cls.__new__(cls)
        self._setup(grams, scores)
        return self

    def _setup(self, grams: list[np.ndarray], scores: list[np.ndarray]) -> None:
        import numpy as np

        total = np.sum(grams, axis=0)
        n_scale = np.sqrt(np.maximum(np.diag(total), 0.0))
        n_scale[n_scale == 0] = 1.0
        # a diagonal change of basis (columns of unit length) conditions the Gram matrices
        # without changing any hat matrix
        self.scale = n_scale
        inv = 1.0 / n_scale
        self.M = np.linalg.inv(total * np.outer(inv, inv))
        p = len(n_scale)
        self.n_clusters = len(grams)
        meat = np.zeros((p, p))
        self._RK: list[np.ndarray] = []
        self._RK2: list[np.ndarray] = []
        for gram, score in zip(grams, scores, strict=True):
            s, V = np.linalg.eigh(gram * np.outer(inv, inv))
            keep = s > 1e-12 * max(float(s.max()), 1e-300)
            s, V = s[keep], V[:, keep]
            R = np.sqrt(s)[:, None] * V.T  # r × p, Z_g = Q R
            Qr = (V.T @ (score * inv)) / np.sqrt(s)
            lam, U = np.linalg.eigh(R @ self.M @ R.T)
            one_minus = 1.0 - lam
            a = np.where(one_minus > EIGEN_TOL, 1.0 / np.sqrt(np.maximum(one_minus, EIGEN_TOL)), 0)
            K = (U * a) @ U.T
            u = R.T @ (K @ Qr)
            meat += np.outer(u, u)
            KR = K @ R
            self._RK.append(R.T @ KR)
            self._RK2.append(KR.T @ KR)
        self.cov_scaled = self.M @ meat @ self.M

    def coefficient(self, j: int) -> Uncertainty:
        import numpy as np

        se = math.sqrt(max(float(self.cov_scaled[j, j]), 0.0)) / float(self.scale[j])
        v = self.M[:, j]
        F = np.stack([RK @ v for RK in self._RK])  # G × p: Z_gᵀ p_g
        s = np.array([float(v @ RK2 @ v) for RK2 in self._RK2])  # p_gᵀ p_g
        omega = np.diag(s) - F @ self.M @ F.T
        denominator = float((omega**2).sum())
        df = float(np.trace(omega)) ** 2 / denominator if denominator > 0 else math.nan
        return Uncertainty(se, df, "CR2")


def hc3(Z: np.ndarray, r: np.ndarray, j: int) -> Uncertainty:
    """HC3 heteroskedasticity-robust (MacKinnon & White 1985), t on n − p df: cases as
    independent, for reproducing textbook tables — not valid when offices differ."""
    import numpy as np

    scale = _column_scale(Z)
    Zs = Z / scale
    M = np.linalg.inv(Zs.T @ Zs)
    leverage = np.einsum("ij,jk,ik->i", Zs, M, Zs)
    scaled = r / (1 - np.minimum(leverage, 1 - 1e-12))
    meat = (Zs * (scaled**2)[:, None]).T @ Zs
    cov = M @ meat @ M
    se = math.sqrt(max(float(cov[j, j]), 0.0)) / float(scale[j])
    return Uncertainty(se, float(len(r) - Z.shape[1]), "HC3")


def classical(
    Z: np.ndarray, r: np.ndarray, j: int, *, dispersion: str = "estimated"
) -> Uncertainty:
    """Model-based: σ̂²(ZᵀZ)⁻¹ with t on n − p df (``estimated``: OLS; a quasi-likelihood
    scale for Poisson counts, the Pearson χ²/(n − p)); ``fixed``: dispersion 1 with a normal
    reference (logistic regression)."""
    import numpy as np

    scale = _column_scale(Z)
    Zs = Z / scale
    M = np.linalg.inv(Zs.T @ Zs)
    dof = len(r) - Z.shape[1]
    if dispersion == "fixed":
        phi, df = 1.0, math.inf
    else:
        phi, df = float(r @ r) / dof, float(dof)
    se = math.sqrt(max(float(M[j, j]) * phi, 0.0)) / float(scale[j])
    return Uncertainty(se, df, "classical")

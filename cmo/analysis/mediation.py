"""Intervention → mechanism → outcome, as the product of coefficients.

a: intervention → mechanism (mechanism model), b: mechanism → outcome given the intervention
(outcome model); both linear with the chain's covariates and office fixed effects, so both
paths are estimated within offices. For linear models without an intervention × mechanism
interaction the average indirect effect is a·b and the direct effect is the intervention's
coefficient in the outcome model. Every path's uncertainty is the run's covariance (by default
CR2 by office with Satterthwaite df). The 95% interval of a·b is the Monte Carlo interval of
Preacher & Selig (2012) with t draws on each path's df: 20,000 seeded draws. The p of the
indirect effect is descriptive and not part of the run's correction.

An intervention that does not vary within any office cannot be separated from the office
(office fixed effects absorb it): the mediation would compare offices, not people. Then no
mediation is estimated and the chain gets design warning A003.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from cmo.analysis.inference import t_pvalue, t_quantile
from cmo.analysis.models import FitError, _drop_constant, _office_dummies, fit_working
from cmo.analysis.results import num

if TYPE_CHECKING:
    import numpy as np

DRAWS = 20_000
SEED = 20071008


def _varies_within_offices(t: np.ndarray, office: np.ndarray) -> bool:
    import numpy as np

    order = np.argsort(office, kind="stable")
    t, office = t[order], office[order]
    _, starts = np.unique(office, return_index=True)
    mins = np.minimum.reduceat(t, starts)
    maxs = np.maximum.reduceat(t, starts)
    return bool(np.any(maxs > mins))


def mediation(
    y: np.ndarray,
    m: np.ndarray,
    t: np.ndarray,
    office: np.ndarray,
    covs: np.ndarray,
    minimum: int,
    covariance: str = "CR2",
) -> dict[str, Any]:
    import numpy as np

    ok = ~np.isnan(t)
    y, m, t, office, covs = y[ok], m[ok], t[ok], office[ok], covs[ok]
    if len(y) < minimum or np.std(t) == 0:
        return {"why": "too few cases, or the intervention does not vary"}
    if not _varies_within_offices(t, office):
        return {
            "why": "the intervention does not vary within any office: mediation would compare "
            "offices, not people",
            "constant_within_offices": True,
        }
    dummies = _office_dummies(office)
    rest = [covs[:, j] for j in range(covs.shape[1])] + [
        dummies[:, j] for j in range(dummies.shape[1])
    ]
    med_exog = _drop_constant(np.column_stack([np.ones_like(t), t, *rest]), 2)
    out_exog = _drop_constant(np.column_stack([np.ones_like(t), t, m, *rest]), 3)
    try:
        med = fit_working("gaussian", m, med_exog, office)
        out = fit_working("gaussian", y, out_exog, office)
        ua = med.uncertainty(1, covariance)
        ub = out.uncertainty(2, covariance)
        ud = out.uncertainty(1, covariance)
    except (FitError, np.linalg.LinAlgError):
        return {"why": "the mediation models could not be fitted"}
    if not all(u.se > 0 and u.df > 0 for u in (ua, ub, ud)):
        return {"why": "the mediation models gave no standard errors"}
    a, b = float(med.beta[1]), float(out.beta[2])
    rng = np.random.default_rng(SEED)

    def draws(est: float, se: float, df: float) -> np.ndarray:
        z = rng.standard_normal(DRAWS) if math.isinf(df) else rng.standard_t(df, DRAWS)
        return est + se * z

    product = draws(a, ua.se, ua.df) * draws(b, ub.se, ub.df)
    low, high = (float(v) for v in np.quantile(product, [0.025, 0.975]))
    p = float(min(1.0, 2 * min((product <= 0).mean(), (product >= 0).mean())))
    direct = float(out.beta[1])
    half = t_quantile(ud.df) * ud.se
    return {
        "indirect": {"estimate": num(a * b), "ci_low": num(low), "ci_high": num(high), "p": num(p)},
        "direct": {
            "estimate": num(direct),
            "se": num(ud.se),
            "df": num(ud.df),
            "ci_low": num(direct - half),
            "ci_high": num(direct + half),
            "p": num(t_pvalue(direct / ud.se, ud.df)),
        },
        "a": {"estimate": num(a), "se": num(ua.se), "df": num(ua.df)},
        "b": {"estimate": num(b), "se": num(ub.se), "df": num(ub.df)},
        "covariance": ua.method,
        "method": "product of coefficients a·b (linear mediator and outcome models with the "
        "chain's covariates and office fixed effects); Monte Carlo 95% interval, 20,000 "
        "draws on each path's t distribution (Preacher & Selig 2012)",
        "n": len(y),
    }

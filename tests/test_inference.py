"""Office-aware inference pinned against R.

CR2 standard errors and Satterthwaite degrees of freedom against clubSandwich's
``coef_test(..., vcov = "CR2", test = "Satterthwaite")`` on a balanced and an unbalanced data set
(tests/fixtures/reference/cr2/results.csv). Regenerate the numbers and the data with:

    cd tests/fixtures/reference/cr2 && Rscript cr2.R

(Debian: apt-get install r-base-core r-cran-clubsandwich r-cran-sandwich r-cran-lme4.) CI does
not need R: the script's output is committed beside it.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from cmo.analysis.inference import ClusterCR2
from cmo.analysis.models import _drop_constant, _office_dummies, fit_effect

CR2 = Path(__file__).parent / "fixtures" / "reference" / "cr2"
REFERENCE = Path(__file__).parent / "fixtures" / "reference"


def _results() -> dict[tuple[str, str, str], dict[str, float]]:
    out = {}
    with (CR2 / "results.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out[(row["dataset"], row["model"], row["method"])] = {
                k: float(row[k]) if row[k] != "NA" else math.nan for k in ("estimate", "se", "df")
            }
    return out


def _data(name: str) -> dict[str, np.ndarray]:
    with (CR2 / f"data_{name}.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}


GOLDEN = _results()
DATASETS = ("balanced", "unbalanced")


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize(
    ("model", "extra"),
    [("main", None), ("case_context", "ctx"), ("office_context", "sparse")],
)
def test_cr2_and_satterthwaite_df_match_clubsandwich(dataset, model, extra) -> None:
    """lm(y ~ x [+ C + x:C] + age + factor(office)), CR2 by office: the estimate, SE and df of
    the mechanism (or of the interaction) equal clubSandwich's to 1e-10 — through cmo's own
    fit_effect, whose CR2 goes through the rank-p structure of each office's hat block."""
    d = _data(dataset)
    office = d["office"].astype(int)
    kwargs = {}
    if extra is not None:
        kwargs = {"extra": [d[extra], d["x"] * d[extra]], "coef": 3}
    fit = fit_effect("gaussian", d["y"], d["x"], office, d["age"][:, None], **kwargs)
    ref = GOLDEN[(dataset, model, "CR2")]
    assert fit.estimate == pytest.approx(ref["estimate"], rel=1e-10)
    assert fit.se == pytest.approx(ref["se"], rel=1e-10)
    assert fit.df == pytest.approx(ref["df"], rel=1e-10)
    assert fit.covariance == "CR2" and fit.n_offices == 7
    p = 2 * (1 - __import__("scipy").stats.t.cdf(abs(fit.estimate / fit.se), fit.df))
    assert fit.p == pytest.approx(p, rel=1e-8)


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize(
    ("model", "family", "column"), [("logit", "binomial", "yb"), ("poisson", "poisson", "yc")]
)
def test_glm_cr2_matches_the_working_model_computation_in_r(dataset, model, family, column) -> None:
    """Logistic and Poisson: CR2 on the IRLS working model, against the dense computation
    in cr2.R (R's glm converges to ~1e-8, hence the tolerance), and within a few per cent of
    clubSandwich's own glm CR2 (which takes another square root; docs/analysis.md)."""
    d = _data(dataset)
    fit = fit_effect(family, d[column], d["x"], d["office"].astype(int), d["age"][:, None])
    ref = GOLDEN[(dataset, model, "CR2 working")]
    assert fit.estimate == pytest.approx(ref["estimate"], rel=1e-6)
    assert fit.se == pytest.approx(ref["se"], rel=1e-5)
    assert fit.df == pytest.approx(ref["df"], rel=1e-5)
    club = GOLDEN[(dataset, model, "CR2 clubSandwich")]
    assert fit.se == pytest.approx(club["se"], rel=0.1)
    assert fit.df == pytest.approx(club["df"], rel=0.1)


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize(
    ("model", "family", "column"),
    [("main", "gaussian", "y"), ("logit", "binomial", "yb"), ("poisson", "poisson", "yc")],
)
def test_hc3_matches_r_sandwich(dataset, model, family, column) -> None:
    """`covariance: HC3` equals R's sandwich::vcovHC(fit, type = "HC3") for lm and glm."""
    d = _data(dataset)
    fit = fit_effect(
        family, d[column], d["x"], d["office"].astype(int), d["age"][:, None], covariance="HC3"
    )
    ref = GOLDEN[(dataset, model, "HC3")]
    assert fit.se == pytest.approx(ref["se"], rel=1e-5 if family != "gaussian" else 1e-10)
    assert fit.covariance == "HC3"


def _textbook_cr2(X: np.ndarray, e: np.ndarray, groups: np.ndarray, j: int) -> tuple[float, float]:
    """CR2 and its Satterthwaite df with every n_g × n_g matrix formed (for small data only)."""
    M = np.linalg.inv(X.T @ X)
    n = len(e)
    IH = np.eye(n) - X @ M @ X.T
    meat = np.zeros((X.shape[1],) * 2)
    ps = []
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        vals, vecs = np.linalg.eigh(IH[np.ix_(idx, idx)])
        inv_sqrt = np.where(vals > 1e-12, 1 / np.sqrt(np.maximum(vals, 1e-12)), 0)
        A = (vecs * inv_sqrt) @ vecs.T
        u = X[idx].T @ A @ e[idx]
        meat += np.outer(u, u)
        ps.append((idx, A @ X[idx] @ M[:, j]))
    V = M @ meat @ M
    omega = np.array([[pa @ IH[np.ix_(ia, ib)] @ pb for ib, pb in ps] for ia, pa in ps])
    return math.sqrt(V[j, j]), np.trace(omega) ** 2 / (omega**2).sum()


def test_fast_path_equals_the_textbook_formula() -> None:
    """The rank-p path equals (I − H_gg)^(-1/2) formed explicitly, on unbalanced offices with
    a covariate that is constant within one office and an office-level context."""
    rng = np.random.default_rng(5)
    sizes = [3, 8, 25, 60, 14, 41]
    office = np.repeat(np.arange(len(sizes)), sizes)
    n = office.size
    x = rng.normal(size=n) * 3 + 100
    cov = np.where(office == 2, 1.0, rng.normal(size=n))
    flag = (office % 2).astype(float)
    X = _drop_constant(
        np.column_stack([np.ones(n), x, flag, x * flag, cov, _office_dummies(office)]), 4
    )
    y = X[:, :4] @ [1, 0.3, 0.2, -0.1] + rng.normal(size=n) + rng.normal(size=len(sizes))[office]
    e = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
    fast = ClusterCR2(X, e, office)
    for j in (1, 3):
        se, df = _textbook_cr2(X, e, office, j)
        u = fast.coefficient(j)
        assert u.se == pytest.approx(se, rel=1e-9)
        assert u.df == pytest.approx(df, rel=1e-9)


def test_cr2_at_scale_is_linear_in_the_rows() -> None:
    """An office of 140,000 rows: no n_g × n_g matrix is formed (it would need 150 GB)."""
    rng = np.random.default_rng(1)
    office = np.repeat(np.arange(7), 140_000)
    X = np.column_stack(
        [np.ones(office.size), rng.normal(size=office.size), _office_dummies(office)]
    )
    y = 0.1 * X[:, 1] + rng.normal(size=office.size)
    u = ClusterCR2(X, y - X @ np.linalg.lstsq(X, y, rcond=None)[0], office).coefficient(1)
    assert 0 < u.se < 0.01 and 1 < u.df < 7


def test_sleepstudy_with_cr2_matches_clubsandwich() -> None:
    """lme4's sleepstudy with subjects as offices: CR2 for Days equals clubSandwich's."""
    rows = list(csv.DictReader((REFERENCE / "sleepstudy.csv").read_text("utf-8").splitlines()))
    subject = np.array([int(r["Subject"]) for r in rows])
    days = np.array([float(r["Days"]) for r in rows])
    reaction = np.array([float(r["Reaction"]) for r in rows])
    fit = fit_effect("gaussian", reaction, days, subject)
    ref = GOLDEN[("sleepstudy", "main", "CR2")]
    assert fit.estimate == pytest.approx(ref["estimate"], rel=1e-10)
    assert fit.se == pytest.approx(ref["se"], rel=1e-10)
    assert fit.df == pytest.approx(ref["df"], rel=1e-10)


WAGE_INDICATORS = """
indicators:
  - {id: lwage, label: Log wage, type: numeric, aliases: [lwage]}
  - {id: educ, label: Education, type: numeric, aliases: [educ]}
  - {id: female, label: Female, type: binary, aliases: [female]}
  - {id: exper, label: Experience, type: numeric, aliases: [exper]}
  - {id: expersq, label: Experience squared, type: numeric, aliases: [expersq]}
  - {id: tenure, label: Tenure, type: numeric, aliases: [tenure]}
  - {id: tenursq, label: Tenure squared, type: numeric, aliases: [tenursq]}
"""
WAGE_THEORY = """
id: wages
title: Wage equation 7.18
contexts: [{id: women, label: Women, when: {indicator: female, equals: 1}}]
mechanisms: [{id: schooling, label: Education, indicator: educ}]
outcomes: [{id: pay, label: Log wage, indicator: lwage}]
chains:
  - id: education_pay
    contexts: [women]
    mechanism: schooling
    outcome: pay
    covariates: [exper, expersq, tenure, tenursq]
criteria:
  - {id: pay_level, label: Pay, indicator: lwage, statistic: mean, target: {at_least: 1}}
critical_success_factors:
  - {id: fair_pay, label: Pay, perspective: personnel, criteria: [pay_level]}
"""


def test_wooldridge_7_18_through_the_pipeline_with_classical_covariance(tmp_path) -> None:
    """Wooldridge, Introductory Econometrics, equation 7.18: female·educ −0.00556
    (SE 0.01306); R gives −0.0055645129544 (0.0130618325205), see fixtures/reference/wage1.md.
    Collected as one office's export, analysed as a chain with `covariance: classical`: the
    mechanism × context interaction is the textbook coefficient."""
    from cmo.analysis import analyse
    from cmo.collect import collect
    from cmo.workspace import load_workspace, write_key

    root = tmp_path / "ws"
    (root / "indicators").mkdir(parents=True)
    (root / "programme_theories").mkdir()
    (root / "cmo.yaml").write_text("languages: [en]\ncovariance: classical\n", encoding="utf-8")
    (root / "indicators" / "wage.yaml").write_text(WAGE_INDICATORS, encoding="utf-8")
    (root / "programme_theories" / "wage.yaml").write_text(WAGE_THEORY, encoding="utf-8")
    write_key(root / ".cmo" / "pseudonymisation.key")
    ws = load_workspace(root)
    rows = list(csv.DictReader((REFERENCE / "wage1.csv").read_text("utf-8").splitlines()))
    export = tmp_path / "wage1.csv"
    with export.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["client_id", *rows[0].keys()])
        writer.writerows([f"w{i}", *r.values()] for i, r in enumerate(rows))
    assert collect(ws, "cps", [export], period="1976").rows_accepted == 526
    result = analyse(ws, lang="en")
    (chain,) = result.chains
    (inter,) = chain.interactions
    assert inter.n == 526 and inter.effect is not None
    assert inter.effect.covariance == "classical"
    assert inter.effect.estimate == pytest.approx(-0.0055645129544, rel=1e-8)
    assert inter.effect.se == pytest.approx(0.0130618325205, rel=1e-8)
    assert inter.effect.df == 526 - 8
    assert inter.effect.p == pytest.approx(0.6702751923, rel=1e-8)
    assert result.settings["covariance"] == "classical"


def test_tiny_p_values_survive_into_json() -> None:
    """Full precision: p = 3.8e-130 is printed as such, never as 0.0."""
    import json

    from cmo.analysis.results import Effect

    effect = Effect(
        estimate=0.123456789012345,
        se=0.001,
        df=5.73,
        ci_low=0.1,
        ci_high=0.2,
        p=3.8e-130,
        per_sd=(0.1, 0.05, 0.15),
        scale="difference",
        model="linear model, office fixed effects",
        covariance="CR2",
        reason="",
        notes=[],
        n_offices=7,
        q=7.6e-129,
    )
    text = json.dumps(effect.to_dict())
    assert '"p": 3.8e-130' in text and '"q": 7.6e-129' in text
    assert '"estimate": 0.123456789012345' in text and '"df": 5.73' in text


@pytest.mark.parametrize(
    ("view", "low", "high"), [("population", 0.93, 0.975), ("sample", 0.93, 0.975)]
)
def test_all_offices_criterion_intervals_cover_their_estimand(view, low, high) -> None:
    """The two estimands of an 'all offices' interval, each against a simulation of what it
    claims (7 offices, ICC 0.1; 400 data sets): `population` covers these offices' mean,
    `sample` covers the mean of the population of offices."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
    from calibration import criteria_coverage

    coverage = criteria_coverage(np.random.default_rng(11), 400, view)
    assert low <= coverage <= high, coverage

"""cmo's estimates pinned against independently published results, reached through cmo's own
pipeline: the data are written as office exports, collected into the store through indicators,
and analysed as a chain. Sources and the printed outputs are in tests/fixtures/reference/*.md.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from cmo.analysis import analyse
from cmo.collect import collect
from cmo.workspace import load_workspace, write_key

REFERENCE = Path(__file__).parent / "fixtures" / "reference"


def _workspace(root: Path, indicators: str, theory: str, settings: str = "") -> object:
    (root / "indicators").mkdir(parents=True)
    (root / "programme_theories").mkdir()
    (root / "cmo.yaml").write_text("languages: [fi]\n" + settings, encoding="utf-8")
    (root / "indicators" / "ref.yaml").write_text(indicators, encoding="utf-8")
    (root / "programme_theories" / "ref.yaml").write_text(theory, encoding="utf-8")
    write_key(root / ".cmo" / "pseudonymisation.key")
    return load_workspace(root)


SLEEP_INDICATORS = """
indicators:
  - {id: reaction, label: Reaktioaika, type: numeric, aliases: [Reaction], unit: ms}
  - {id: days, label: Univajepäivät, type: numeric, aliases: [Days]}
"""
SLEEP_THEORY = """
id: sleep
title: Univaje ja reaktioaika
mechanisms: [{id: sleep_debt, label: Univaje, indicator: days}]
outcomes: [{id: slower, label: Hitaampi reaktio, indicator: reaction}]
chains: [{id: days_reaction, mechanism: sleep_debt, outcome: slower}]
criteria:
  - {id: quick, label: Nopea, indicator: reaction, statistic: mean, target: {at_most: 300}}
critical_success_factors:
  - {id: alert, label: Vireys, perspective: client, criteria: [quick]}
"""


def test_mixed_model_matches_lme4_sleepstudy(tmp_path: Path) -> None:
    """Bates et al., lme4: lmer(Reaction ~ Days + (1 | Subject), sleepstudy), REML, reached
    with `covariance: classical` (model-based standard errors).

    Published: Days 10.467285959595 (lme4 tests/lmer-1.Rout.save; the balanced design gives
    the random-slope model's fixed effects), SE 0.8042214 (benwhalley/just-enough-r,
    multilevel-models.md, printing summary(m)$coefficients). Each subject is an office.
    """
    ws = _workspace(tmp_path / "ws", SLEEP_INDICATORS, SLEEP_THEORY, "covariance: classical\n")
    rows = list(csv.DictReader((REFERENCE / "sleepstudy.csv").read_text("utf-8").splitlines()))
    assert len(rows) == 180
    by_subject: dict[str, list[dict[str, str]]] = {}
    for i, row in enumerate(rows):
        by_subject.setdefault(row["Subject"], []).append({**row, "Asiakasnumero": f"r{i}"})
    for subject, items in by_subject.items():
        path = tmp_path / f"{subject}.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(
                fh, ["Asiakasnumero", "Reaction", "Days"], delimiter=";", extrasaction="ignore"
            )
            writer.writeheader()
            writer.writerows(items)
        collect(ws, f"s{subject}", [path], period="2026H1")
    result = analyse(ws)
    (chain,) = result.chains
    (test,) = chain.tests
    assert (test.context, test.n, test.n_offices) == ("everywhere", 180, 18)
    effect = test.effect
    assert effect is not None
    assert effect.model == "linear mixed model"
    assert effect.estimate == pytest.approx(10.467285959595, rel=1e-6)
    # lme4 prints the standard error to seven significant figures
    assert effect.se == pytest.approx(0.8042214, rel=1e-6)
    assert effect.ci_high - effect.estimate == pytest.approx(
        1.959963984540054 * 0.8042214, rel=1e-6
    )
    assert test.verdict == "held"


BINARY_INDICATORS = """
indicators:
  - {id: admit, label: Hyväksytty, type: binary, aliases: [admit]}
  - {id: gre, label: GRE, type: numeric, aliases: [gre]}
  - {id: gpa, label: GPA, type: numeric, aliases: [gpa]}
  - id: rank
    label: Oppilaitoksen taso
    type: category
    aliases: [rank]
    values:
      - {code: "1", label: ylin}
      - {code: "2", label: toinen}
      - {code: "3", label: kolmas}
      - {code: "4", label: alin}
"""
BINARY_THEORY = """
id: admissions
title: Hyväksyminen
mechanisms: [{id: grades, label: Arvosanat, indicator: gpa}]
outcomes: [{id: admitted, label: Hyväksytty, indicator: admit}]
chains: [{id: grades_admission, mechanism: grades, outcome: admitted, covariates: [gre, rank]}]
criteria:
  - {id: admitted_share, label: Osuus, indicator: admit, statistic: share, target: {at_least: 0.3}}
critical_success_factors:
  - {id: intake, label: Sisäänotto, perspective: process, criteria: [admitted_share]}
"""


def test_logistic_regression_matches_ucla_binary(tmp_path: Path) -> None:
    """UCLA OARC, "Logit Regression | R Data Analysis Examples":
    glm(admit ~ gre + gpa + factor(rank), family = binomial) gives gpa 0.804038 (SE 0.331819),
    printed to six decimals (shravan-kuchkula/Classification, LogisticRegression.md)."""
    ws = _workspace(tmp_path / "ws", BINARY_INDICATORS, BINARY_THEORY, "covariance: classical\n")
    source = REFERENCE / "binary.csv"
    rows = list(csv.DictReader(source.read_text("utf-8").splitlines()))
    assert len(rows) == 400
    path = tmp_path / "ucla.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter=";")
        writer.writerow(["Asiakasnumero", "admit", "gre", "gpa", "rank"])
        for i, row in enumerate(rows):
            writer.writerow(
                [f"u{i}", row["admit"], row["gre"], row["gpa"].replace(".", ","), row["rank"]]
            )
    collected = collect(ws, "ucla", [path], period="1990")
    assert collected.rows_accepted == 400
    result = analyse(ws)
    (chain,) = result.chains
    (test,) = chain.tests
    effect = test.effect
    assert effect is not None
    assert chain.family == "binomial"
    assert effect.model.startswith("logistic regression")
    assert effect.estimate == pytest.approx(0.804038, rel=1e-6)
    se = (effect.ci_high - effect.estimate) / 1.959963984540054
    assert se == pytest.approx(0.331819, rel=2e-6)
    assert effect.se == pytest.approx(0.331819, rel=2e-6)
    assert effect.p == pytest.approx(0.015388, abs=5e-7)


def test_random_intercept_reml_agrees_with_statsmodels_mixedlm() -> None:
    """cmo's profiled REML (cmo.analysis.lmm) against statsmodels' MixedLM on data with a
    real office variance, several covariates and unbalanced offices."""
    import numpy as np
    import statsmodels.api as sm

    from cmo.analysis.lmm import fit_random_intercept

    rng = np.random.default_rng(7)
    sizes = [40, 75, 120, 33, 260, 90, 58]
    office = np.repeat(np.arange(len(sizes)), sizes)
    n = office.size
    X = np.column_stack([np.ones(n), rng.normal(size=n), rng.integers(0, 2, n), rng.normal(size=n)])
    y = X @ [1.0, 0.5, -0.3, 0.2] + rng.normal(0, 0.7, len(sizes))[office] + rng.normal(size=n)
    ours = fit_random_intercept(y, X, office)
    theirs = sm.MixedLM(y, X, groups=office).fit(reml=True, method=["bfgs"], gtol=1e-10)
    assert ours.beta == pytest.approx(np.asarray(theirs.fe_params), rel=1e-6)
    # Standard errors: cmo reports σ²(XᵀV⁻¹X)⁻¹ as lme4 does (matching lme4 to 1e-7 above);
    # statsmodels inverts the joint observed information, which differs by ~1e-4.
    assert np.sqrt(np.diag(ours.cov)) == pytest.approx(np.asarray(theirs.bse_fe), rel=5e-4)
    assert ours.tau2 == pytest.approx(float(np.asarray(theirs.cov_re)[0, 0]), rel=1e-5)
    assert ours.sigma2 == pytest.approx(float(theirs.scale), rel=1e-5)


@pytest.mark.parametrize(
    ("family", "covariance"),
    [
        ("gaussian", "HC3"),
        ("gaussian", "classical"),
        ("binomial", "classical"),
        ("poisson", "classical"),
    ],
)
def test_fixed_effects_models_agree_with_statsmodels(family: str, covariance: str) -> None:
    """cmo's OLS / logistic / Poisson fits with office dummies against statsmodels' OLS and
    GLM with the same covariance: HC3; classical (OLS; logistic with dispersion 1;
    quasi-Poisson with the Pearson χ² scale and t on n − p df)."""
    import numpy as np
    import statsmodels.api as sm

    from cmo.analysis.models import _office_dummies, fit_working

    rng = np.random.default_rng(11)
    n = 900
    office = rng.integers(0, 4, n)
    x = rng.normal(size=n)
    cov = rng.normal(size=n)
    X = np.column_stack([np.ones(n), x, cov, _office_dummies(office)])
    eta = X @ np.r_[0.2, 0.4, -0.3, 0.1, -0.2, 0.3]
    if family == "gaussian":
        y = eta + rng.normal(size=n) * (1 + np.abs(x))
        ref = sm.OLS(y, X).fit(cov_type="HC3" if covariance == "HC3" else "nonrobust")
    elif family == "binomial":
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
        ref = sm.GLM(y, X, family=sm.families.Binomial()).fit(
            cov_type="HC3" if covariance == "HC3" else "nonrobust"
        )
    else:
        y = rng.poisson(np.exp(eta) * rng.gamma(2, 0.5, n)).astype(float)
        ref = sm.GLM(y, X, family=sm.families.Poisson()).fit(scale="X2", use_t=True)
    model = fit_working(family, y, X, office)  # type: ignore[arg-type]
    u = model.uncertainty(1, covariance)
    assert float(model.beta[1]) == pytest.approx(float(ref.params[1]), rel=1e-8)
    assert u.se == pytest.approx(float(ref.bse[1]), rel=1e-6)
    if family == "poisson":
        assert u.df == ref.df_resid

"""Refuters that respect offices, each tried on data where the truth was planted."""

from __future__ import annotations

import numpy as np
import pytest

from cmo.analysis.chains import ChainData, Rules
from cmo.analysis.refuters import leave_one_office_out, negative_control, placebo, refute_chain
from cmo.analysis.results import ChainResult, ContextTest

RULES = Rules(min_cases=30, min_offices=3, covariance="CR2")
NAMES = ["rovaniemi", "kemi", "tornio", "kemijarvi", "sodankyla", "inari", "kittila"]


def _data(y, x, office, nc=None, family="gaussian") -> ChainData:
    return ChainData(
        family=family,
        y=y,
        x=x,
        covs=np.empty((len(y), 0)),
        office=office,
        office_names=NAMES,
        groups={"everywhere": np.ones(len(y), bool)},
        negative_control=None if nc is None else ("unrelated", "Unrelated", nc, "gaussian"),
    )


def _chain(data: ChainData) -> ChainResult:
    """A chain whose one test is 'held' (the refuters try held tests only)."""
    from cmo.analysis.models import fit_effect
    from cmo.analysis.results import Effect

    chain = ChainResult("t", "c", "", "m", "o", None, "positive", data.family)
    test = ContextTest("everywhere", "everywhere", len(data.y), 7, {}, verdict="held")
    test.effect = Effect.of(fit_effect("gaussian", data.y, data.x, data.office), "gaussian")
    chain.tests.append(test)
    return chain


def test_planted_effect_in_only_one_of_seven_offices_rests_on_that_office() -> None:
    """Planted: the mechanism works in Kemi only (strongly, with many clients there)."""
    rng = np.random.default_rng(1)
    office = np.repeat(np.arange(7), [150, 600, 150, 150, 150, 150, 150])
    x = rng.normal(size=office.size)
    y = np.where(office == 1, 0.8, 0.0) * x + rng.normal(size=office.size)
    data = _data(y, x, office)
    check = leave_one_office_out(data, np.ones(office.size, bool), 1, RULES)
    assert check["passed"] is False
    assert check["without"] == "kemi"
    assert check["why"].startswith("rests on one office: kemi")


def test_planted_confounder_is_caught_by_the_negative_control() -> None:
    """Planted: a variable z drives the mechanism, the outcome and the declared negative
    control; the mechanism itself does nothing."""
    rng = np.random.default_rng(2)
    office = np.repeat(np.arange(7), 200)
    z = rng.normal(size=office.size)
    x = z + rng.normal(size=office.size)
    y = 0.5 * z + rng.normal(size=office.size)
    nc = 0.5 * z + rng.normal(size=office.size)
    data = _data(y, x, office, nc)
    chain = _chain(data)
    refute_chain(chain, data, RULES, "quick")
    ref = chain.tests[0].refutation
    assert ref.status == "fragile"
    (failed,) = ref.failed
    assert failed["refuter"] == "negative-control outcome"
    assert "something else may drive both" in failed["why"]


def test_planted_broad_effect_passes_every_refuter() -> None:
    """Planted: the mechanism works the same in all seven offices; the negative control is
    unrelated to it."""
    rng = np.random.default_rng(3)
    office = np.repeat(np.arange(7), 200)
    x = rng.normal(size=office.size)
    y = 0.4 * x + rng.normal(0, 0.5, 7)[office] + rng.normal(size=office.size)
    nc = rng.normal(size=office.size)
    data = _data(y, x, office, nc)
    chain = _chain(data)
    refute_chain(chain, data, RULES, "quick")
    ref = chain.tests[0].refutation
    assert ref.status == "robust", ref.to_dict()
    assert [c["passed"] for c in ref.checks] == [True, True, True]
    assert chain.tests[0].to_dict()["refutation"]["status"] == "robust"


def test_placebo_p_is_uniform_under_the_null_and_placebos_centre_on_zero() -> None:
    """Planted: no effect at all (offices differ in level). Over 200 data sets the placebo's
    randomisation p is below 0.05 about 5% of the time, and the placebo effects centre on 0."""
    rng = np.random.default_rng(4)
    ps, means, sds = [], [], []
    for _ in range(200):
        office = np.repeat(np.arange(7), 40)
        x = rng.normal(size=office.size) + rng.normal(0, 1, 7)[office]
        y = rng.normal(0, 1, 7)[office] + rng.normal(size=office.size)
        check = placebo(
            _data(y, x, office), np.ones(office.size, bool), "quick", int(rng.integers(1 << 30))
        )
        ps.append(check["p"])
        means.append(check["placebo_mean"])
        sds.append(check["placebo_sd"])
    rate = np.mean(np.array(ps) < 0.05)
    assert 0.02 <= rate <= 0.09, rate
    assert abs(np.mean(np.array(ps)) - 0.5) < 0.05  # uniform: mean 1/2
    assert abs(np.mean(means)) < 0.1 * np.mean(sds)


def test_placebo_is_seeded_and_deterministic() -> None:
    rng = np.random.default_rng(5)
    office = np.repeat(np.arange(7), 50)
    x = rng.normal(size=office.size)
    y = 0.1 * x + rng.normal(size=office.size)
    data = _data(y, x, office)
    one = placebo(data, np.ones(office.size, bool), "quick", 42)
    two = placebo(data, np.ones(office.size, bool), "quick", 42)
    assert one == two


def test_placebo_on_counts_and_yes_no_outcomes() -> None:
    """The placebo's statistic is the mechanism's score in the model without it: it works for
    logistic and Poisson models too, and finds a planted effect."""
    rng = np.random.default_rng(6)
    office = np.repeat(np.arange(7), 150)
    x = rng.normal(size=office.size)
    yb = (rng.random(office.size) < 1 / (1 + np.exp(-0.8 * x))).astype(float)
    yc = rng.poisson(np.exp(0.2 + 0.4 * x)).astype(float)
    for y, family in ((yb, "binomial"), (yc, "poisson")):
        check = placebo(_data(y, x, office, family=family), np.ones(office.size, bool), "quick", 7)
        assert check["passed"] is True and check["p"] <= 0.01, family
        assert check["estimate"] > 0


def test_negative_control_without_enough_cases_is_not_tried() -> None:
    rng = np.random.default_rng(8)
    office = np.repeat(np.arange(7), 30)
    x = rng.normal(size=office.size)
    nc = np.full(office.size, np.nan)
    nc[:10] = 1.0
    check = negative_control(_data(x, x, office, nc), np.ones(office.size, bool), RULES)
    assert check["passed"] is None and "10 cases" in check["why"]


@pytest.mark.parametrize("level", ["quick", "full"])
def test_levels_set_the_number_of_shuffles(level) -> None:
    rng = np.random.default_rng(9)
    office = np.repeat(np.arange(7), 40)
    x = rng.normal(size=office.size)
    check = placebo(
        _data(x + rng.normal(size=office.size), x, office), np.ones(office.size, bool), level, 1
    )
    assert check["permutations"] == {"quick": 199, "full": 999}[level]


def test_a_negative_control_is_validated_like_every_reference(tmp_path) -> None:
    """`negative_control:` must name an outcome: a typo is R001 with its place, and the
    outcome it names counts as used."""
    import shutil
    from pathlib import Path

    from cmo.theory import validate

    case = Path(__file__).parent / "fixtures" / "broken" / "outcome_without_criterion"
    for name in ("theory.yaml", "indicators.yaml"):
        shutil.copy(case / name, tmp_path / name)
    theory = (tmp_path / "theory.yaml").read_text(encoding="utf-8")
    typo = theory.replace(
        "    outcome: participation\n",
        "    outcome: participation\n    negative_control: participatoin\n",
        1,
    )
    (tmp_path / "theory.yaml").write_text(typo, encoding="utf-8")
    findings = validate([tmp_path]).findings
    (ref,) = [f for f in findings if f.code == "R001"]
    assert ref.path == "chains[0].negative_control" and "participatoin" in ref.message

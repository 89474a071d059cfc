"""`cmo analyse` on the examples: the planted truth is found; results are reproducible."""

from __future__ import annotations

import json
import math

import pytest

from cmo.analysis import analyse
from cmo.analysis.stats import benjamini_hochberg, wilson


@pytest.fixture(scope="module")
def result(examples_collected):
    ws, _ = examples_collected
    return analyse(ws, lang="en")


def _verdicts(result) -> dict[tuple[str, str], str]:
    return {(c.chain, t.context): t.verdict for c in result.chains for t in c.tests}


# Each assertion names the planted effect of examples/README.md it checks. Planted only in a
# context: "held, and stronger in this context than elsewhere" (from the interaction); planted
# everywhere (P2): "held here; no evidence that the context matters", and held elsewhere.
PLANTED = [
    ("P1", "outreach_equal_participation", "sparsely_populated", "held_stronger"),
    ("P1", "outreach_equal_participation", "long_distance", "held_stronger"),
    ("P1", "outreach_equal_participation", "elsewhere", "not_supported"),
    ("P2", "heard_participation", "low_motivation", "held_no_difference"),
    ("P2", "heard_participation", "elsewhere", "held"),
    ("P3", "trust_solutions", "same_worker", "held_stronger"),
    ("P3", "trust_solutions", "elsewhere", "not_supported"),
    ("P4", "relationship_life_situation", "manageable_caseload", "held_stronger"),
    ("P4", "relationship_life_situation", "elsewhere", "not_supported"),
    ("P5", "coordination_continuity", "many_services", "held_stronger"),
    ("P5", "coordination_continuity", "elsewhere", "not_supported"),
]

# What each chain shows as a whole.
SUMMARIES = {
    "outreach_equal_participation": "context_matters",  # P1
    "heard_participation": "held_everywhere",  # P2
    "trust_solutions": "context_matters",  # P3
    "relationship_life_situation": "context_matters",  # P4
    "coordination_continuity": "context_matters",  # P5
    "coherence_overlaps": "not_supported",  # P6
}


@pytest.mark.parametrize(
    ("planted", "chain", "context", "verdict"),
    PLANTED,
    ids=[f"{p}-{c}-{x}" for p, c, x, _ in PLANTED],
)
def test_planted_effects_are_found(result, planted, chain, context, verdict) -> None:
    assert _verdicts(result)[(chain, context)] == verdict, planted


def test_chain_summaries_say_what_was_planted(result) -> None:
    assert {c.chain: c.summary for c in result.chains} == SUMMARIES


def test_every_test_counts_offices(result) -> None:
    """Every test's result carries its offices, degrees of freedom and covariance method."""
    for chain in result.chains:
        for test in chain.tests:
            assert test.effect is not None
            assert test.effect.covariance == "CR2"
            assert test.effect.n_offices == test.n_offices >= 3
            assert 1 < test.effect.df < 50  # offices, not cases, carry the evidence
            d = test.to_dict()["effect"]
            assert d["df"] == test.effect.df and d["covariance"] == "CR2"


def test_p6_the_planted_null_holds_nowhere(result) -> None:
    """P6: coherent support was planted to have no effect on overlapping services anywhere."""
    found = {
        ctx: v for (chain, ctx), v in _verdicts(result).items() if chain == "coherence_overlaps"
    }
    assert found
    assert not any(v.startswith("held") for v in found.values())


def test_context_specificity_shows_in_the_interaction(result) -> None:
    """P1 and P3 were planted only inside their contexts: the interaction is clear; P2 was
    planted everywhere: its interaction with low motivation is not."""
    inter = {(c.chain, i.context): i.effect for c in result.chains for i in c.interactions}
    for key in (
        ("outreach_equal_participation", "long_distance"),
        ("trust_solutions", "same_worker"),
    ):
        e = inter[key]
        assert e is not None and e.q is not None and e.q <= 0.05 and e.estimate > 0
    e = inter[("heard_participation", "low_motivation")]
    assert e is not None and e.q is not None and e.q > 0.05


def test_mediation_for_chains_with_an_intervention(result) -> None:
    chain = next(c for c in result.chains if c.chain == "outreach_equal_participation")
    test = next(t for t in chain.tests if t.context == "sparsely_populated")
    assert test.mediation is not None
    indirect = test.mediation["indirect"]
    assert indirect["ci_low"] > 0  # outreach raises the equal encounter, which raises participation


def test_every_number_comes_with_its_model_and_reason(result) -> None:
    for chain in result.chains:
        for test in chain.tests:
            if test.effect is None:
                assert test.verdict == "too_little_data"
                continue
            e = test.effect
            assert e.model and e.reason
            assert e.ci_low <= e.estimate <= e.ci_high
            assert 0 <= e.p <= 1 and e.q is not None and e.q >= e.p - 1e-12


def test_composite_scale_reports_cronbachs_alpha(result) -> None:
    scale = result.scales["working_relationship"]
    assert scale["n"] > 1000
    assert -1 < scale["alpha"] < 1


def test_same_inputs_give_byte_identical_json(examples_collected, result) -> None:
    ws, _ = examples_collected
    again = analyse(ws, lang="en")
    one = json.dumps(result.to_dict(), sort_keys=True, ensure_ascii=False)
    two = json.dumps(again.to_dict(), sort_keys=True, ensure_ascii=False)
    assert one == two
    prov = result.to_dict()["provenance"]
    assert len(prov["batches"]) == 42
    assert all(len(b["source_sha256"]) == 64 for b in prov["batches"])
    assert any(f["file"].endswith("outreach.yaml") for f in prov["files"])
    assert prov["libraries"]["numpy"] and "statsmodels" not in prov["libraries"]


def test_too_few_cases_gives_insufficient_data_and_no_numbers(examples_collected) -> None:
    ws, _ = examples_collected
    small = analyse(ws, ["outreach"], offices=["kittila"], periods=["2026H1"])
    tests = [t for c in small.chains for t in c.tests]
    assert tests and all(t.verdict == "too_little_data" for t in tests)
    for t in tests:
        assert t.effect is None
        # one office: never a number, and the reason names the count
        assert "at least 30" in t.why or "too few offices: 1" in t.why


def test_a_context_in_two_offices_says_too_few_offices(examples_collected) -> None:
    """Two offices can tell nothing about what varies between offices: 'too few offices',
    with the count, never a precise-looking number."""
    ws, _ = examples_collected
    two = analyse(ws, ["outreach"], offices=["inari", "kittila"])
    tests = [t for c in two.chains for t in c.tests]
    assert tests
    for t in tests:
        assert t.verdict == "too_little_data" and t.effect is None
        assert t.why.startswith("too few offices: 2") or "at least 30" in t.why
    assert any(t.why.startswith("too few offices: 2") for t in tests)


def test_criteria_have_intervals_and_statuses(result) -> None:
    crit = next(c for c in result.criteria if c.criterion == "participation_reached")
    cells = [c for c in crit.cells if c.n > 0]
    assert {c.office for c in cells} >= {"rovaniemi", "all"}
    for c in cells:
        assert c.ci_low is not None and c.ci_low <= c.estimate <= c.ci_high
        assert c.status in ("met", "not met", "uncertain")
    factors = {f.perspective for f in result.factors}
    assert factors == {"client", "personnel", "process", "economy"}


def test_cli_json_equals_library_and_table_is_readable(cmo, examples_collected, result) -> None:
    ws, _ = examples_collected
    run = cmo("analyse", "--format", "json", "--lang", "en", cwd=ws.root)
    assert run.exit_code == 0, run.stderr
    assert run.json() == json.loads(json.dumps(result.to_dict()))
    table = cmo("analyse", "--lang", "en", cwd=ws.root)
    assert "held" in table.stdout and "not supported" in table.stdout
    assert max(len(line) for line in table.stdout.splitlines()) <= 100
    rows = cmo("analyse", "--format", "csv", cwd=ws.root).stdout.splitlines()
    assert rows[0].startswith(
        "theory,chain,context,verdict,verdict_text,chain_summary,refutation,n,"
    )
    assert len(rows) == 1 + sum(len(c.tests) for c in result.chains)


def test_benjamini_hochberg_matches_r_p_adjust() -> None:
    """R: p.adjust(c(0.01, 0.02, 0.03, 0.04, 0.05), "BH") = 0.05 for all five;
    p.adjust(c(0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205), "BH") =
    0.0080 0.0320 0.0672 0.0672 0.0672 0.0800 0.0846 0.2050 (Benjamini & Hochberg 1995's
    example, as printed by R)."""
    assert benjamini_hochberg([0.01, 0.02, 0.03, 0.04, 0.05]) == pytest.approx([0.05] * 5)
    got = benjamini_hochberg([0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205])
    assert got == pytest.approx(
        [0.008, 0.032, 0.0672, 0.0672, 0.0672, 0.08, 0.0845714, 0.205], abs=5e-5
    )


def test_wilson_interval_matches_newcombe_1998() -> None:
    """Newcombe (1998), Statistics in Medicine 17:857–872, Table I: 81/263 → 0.2553–0.3662;
    15/148 → 0.0624–0.1605; 0/20 → 0.0000–0.1611."""
    for (k, n), (lo, hi) in {
        (81, 263): (0.2553, 0.3662),
        (15, 148): (0.0624, 0.1605),
        (0, 20): (0.0, 0.1611),
    }.items():
        low, high = wilson(k, n)
        assert math.isclose(low, lo, abs_tol=5e-5) and math.isclose(high, hi, abs_tol=5e-5)


def test_a_failing_mixed_model_falls_back_visibly(monkeypatch) -> None:
    """With `covariance: classical`, when the random-intercept fit fails, the test is still
    run, with office fixed effects, and the result says why."""
    import numpy as np

    import cmo.analysis.lmm as lmm
    from cmo.analysis.models import fit_effect

    def broken(*args, **kwargs):
        raise np.linalg.LinAlgError("singular")

    monkeypatch.setattr(lmm, "fit_random_intercept", broken)
    rng = np.random.default_rng(3)
    office = rng.integers(0, 7, 400)
    x = rng.normal(size=400)
    y = 0.5 * x + rng.normal(size=400)
    fit = fit_effect("gaussian", y, x, office, covariance="classical")
    assert fit.model.startswith("linear model, office fixed effects")
    assert "could not be fitted" in fit.reason
    assert fit.estimate == pytest.approx(0.5, abs=0.15)


def _store_workspace(tmp_path, rows: str, workers: str = ""):
    """A workspace with the shipped framework and case rows given as an export."""
    from cmo.collect import collect

    from .collect_helpers import make_workspace, write

    ws = make_workspace(tmp_path / "ws", offices=("kemi", "inari"))
    header = "Asiakasnumero;Työntekijä;Jakso;Mittauskerta;Elämäntilanne;Luottamus\n"
    collect(ws, "kemi", [write(tmp_path / "cases.csv", header + rows)])
    if workers:
        collect(
            ws,
            "kemi",
            [write(tmp_path / "workers.csv", "Työntekijä;Jakso;Asiakasmäärä\n" + workers)],
        )
    return ws


def test_change_pairs_the_latest_values_at_each_point(tmp_path) -> None:
    """Baseline 3 and follow-up 4 in 2026H1, then follow-up 2 in 2026H2: the latest change is
    2 − 3 = −1, counted in 2026H2 (not max(4, 2) − 3 = +1)."""
    rows = "".join(  # five clients alike: a cell of fewer than k = 5 gets no estimate
        f"{c};T1;2026H1;alku;3;4\n{c};T1;2026H1;seuranta;4;4\n{c};T1;2026H2;seuranta;2;4\n"
        for c in "ABCDE"
    )
    ws = _store_workspace(tmp_path, rows)
    result = analyse(ws, ["lapland_framework"])
    crit = next(c for c in result.criteria if c.criterion == "life_situation_improves")
    cells = {(c.office, c.period): c for c in crit.cells}
    assert cells[("kemi", "2026H2")].estimate == -1.0 and cells[("kemi", "2026H2")].n == 5
    assert ("kemi", "2026H1") not in cells


def test_ties_are_broken_deterministically(tmp_path) -> None:
    """Several rows of a case without measurement points: the choice between them is made
    by period, batch and row, so repeated runs give identical results."""
    from cmo.collect import collect

    from .collect_helpers import make_workspace, write

    ws = make_workspace(tmp_path / "ws", offices=("kemi",))
    header = "Asiakasnumero;Työntekijä;Elämäntilanne;Luottamus\n"
    for name, period, shift in (("a.csv", "2026H1", 0), ("b.csv", "2026H2", 3)):
        rows = "".join(f"C{i};T1;{(i + shift) % 10};{1 + (i + shift) % 5}\n" for i in range(60))
        rows += "".join(f"C{i};T1;{(i + shift + 5) % 10};{1 + i % 5}\n" for i in range(60))
        collect(ws, "kemi", [write(tmp_path / name, header + rows)], period=period)
    one = json.dumps(analyse(ws).to_dict(), sort_keys=True)
    two = json.dumps(analyse(ws).to_dict(), sort_keys=True)
    assert one == two


def test_worker_values_join_within_the_office(tmp_path) -> None:
    """The same local worker number in two offices is two workers."""
    from cmo.analysis.data import load_cases
    from cmo.collect import collect
    from cmo.store import open_store
    from cmo.theory import validate

    from .collect_helpers import make_workspace, write

    ws = make_workspace(tmp_path / "ws", offices=("kemi", "inari"))
    header = "Asiakasnumero;Työntekijä;Jakso;Luottamus\n"
    collect(ws, "kemi", [write(tmp_path / "k.csv", header + "K1;T01;2026H1;4\n")])
    collect(ws, "inari", [write(tmp_path / "i.csv", header + "I1;T01;2026H1;4\n")])
    load = "Työntekijä;Jakso;Asiakasmäärä\n"
    collect(ws, "kemi", [write(tmp_path / "kw.csv", load + "T01;2026H1;20\n")])
    collect(ws, "inari", [write(tmp_path / "iw.csv", load + "T01;2026H1;60\n")])
    result = validate(workspace=ws.root)
    indicators = {i.id: i for f in result.indicator_files for i in f.indicators}
    points = {p.id: p for f in result.indicator_files for p in f.measurement_points}
    with open_store(ws.store_path, read_only=True) as store:
        data = load_cases(store, indicators, points, {("worker_caseload", "unit")})
    loads = dict(zip(data.frame["office"], data.frame["worker_caseload@unit"], strict=True))
    assert loads == {"kemi": 20, "inari": 60}


def test_composite_scores_mean_reverse_and_prorated_sum() -> None:
    """Composite scales: reversed items are min + max − value; a mean needs min_items answers;
    a sum over fewer than all items is prorated."""
    import duckdb

    from cmo.analysis.data import _composite_sql
    from cmo.theory.models import Indicator

    def likert(i: str) -> Indicator:
        return Indicator.model_validate(
            {"id": i, "label": i, "type": "likert", "scale": {"min": 1, "max": 5}}
        )

    inds = {i: likert(i) for i in "abc"}
    mean = Indicator.model_validate(
        {
            "id": "m",
            "label": "M",
            "type": "numeric",
            "composite": {"items": ["a", "b", "c"], "reverse": ["c"], "min_items": 2},
        }
    )
    total = Indicator.model_validate(
        {
            "id": "s",
            "label": "S",
            "type": "numeric",
            "composite": {"items": ["a", "b", "c"], "method": "sum", "min_items": 2},
        }
    )
    con = duckdb.connect()
    rows = "(VALUES (1, 2, 5), (4, NULL, 2), (3, NULL, NULL)) t(a, b, c)"
    got = con.execute(
        f"SELECT {_composite_sql(mean, inds, set('abc'))}, "
        f"{_composite_sql(total, inds, set('abc'))} FROM {rows}"
    ).fetchall()
    assert got == [(pytest.approx(4 / 3), 8.0), (4.0, 9.0), (None, None)]


def test_design_warnings_from_the_data(examples_collected) -> None:
    """A004: with Kemi and the three sparsely populated offices, 'sparsely populated' splits
    the offices 3 to 1; A002: the examples' mechanisms and outcomes are all measured at the
    follow-up; A003: an intervention that is the same for every case of an office gets no
    mediation."""
    import numpy as np

    from cmo.analysis.mediation import mediation

    ws, _ = examples_collected
    four = analyse(ws, ["outreach"], offices=["kemi", "inari", "kittila", "sodankyla"])
    chain = next(c for c in four.chains if c.chain == "outreach_equal_participation")
    codes = {(w.code, w.context) for w in chain.warnings}
    assert ("A004", "sparsely_populated") in codes
    assert ("A002", None) in codes
    inter = next(i for i in chain.interactions if i.context == "sparsely_populated")
    assert inter.effect is None and inter.why.startswith("too few offices: 3 with cases")
    rng = np.random.default_rng(2)
    office = np.repeat(np.arange(5), 40)
    treat = (office % 2).astype(float)  # the same for every case of an office
    m = treat + rng.normal(size=200)
    y = m + rng.normal(size=200)
    out = mediation(y, m, treat, office, np.empty((200, 0)), 30)
    assert out.get("constant_within_offices") and "indirect" not in out


def test_every_held_verdict_carries_its_refuters(result, examples_collected) -> None:
    """Refuters run by default on held results; the examples' planted effects survive them
    (the sparsely populated context, three offices, cannot leave one out and says so); the
    declared negative control of trust_solutions is tried. `refuters='none'` skips them."""
    statuses = {}
    for chain in result.chains:
        for test in chain.tests:
            if test.verdict_class == "held":
                assert test.refutation is not None, (chain.chain, test.context)
                statuses[(chain.chain, test.context)] = test.refutation.status
            else:
                assert test.refutation is None
    assert statuses[("outreach_equal_participation", "sparsely_populated")] == "partly tried"
    assert set(statuses.values()) <= {"robust", "partly tried"}
    trust = next(c for c in result.chains if c.chain == "trust_solutions").tests[0]
    refuters = [c["refuter"] for c in trust.refutation.checks]
    assert refuters == ["leave one office out", "placebo mechanism", "negative-control outcome"]
    ws, _ = examples_collected
    bare = analyse(ws, ["outreach"], refuters="none")
    assert all(t.refutation is None for c in bare.chains for t in c.tests)
    assert bare.settings["refuters"] == "none"


@pytest.mark.parametrize("columns", [80, 200])
def test_terminal_output_fits_the_terminal(cmo, examples_collected, monkeypatch, columns) -> None:
    """At 80 columns one block per chain, at 200 a table: no line is wider than the terminal,
    chain ids are never broken, the verdicts' words are whole, office names come from cmo.yaml
    and, with --lang fi, the headings are Finnish."""
    ws, _ = examples_collected
    monkeypatch.setenv("COLUMNS", str(columns))
    for lang, heading, words in (
        ("en", "What held where", "held, and stronger in this context than elsewhere"),
        ("fi", "Mikä piti missäkin", "piti, ja vahvempi tässä kontekstissa kuin muualla"),
    ):
        run = cmo("analyse", "--lang", lang, "--refuters", "none", cwd=ws.root)
        assert run.exit_code == 0, run.stderr
        lines = run.stdout.splitlines()
        assert max(len(line) for line in lines) <= columns
        assert heading in run.stdout
        flat = " ".join(" ".join(line.replace("│", " ").split()) for line in lines)
        assert words in flat or columns == 200  # wrapped words read whole once joined
        for chain in (
            "continuity_trust.relationship_life_situation",
            "outreach.heard_participation",
        ):
            assert any(chain in line for line in lines), chain
        assert "Kemijärvi" in run.stdout and "Rovaniemi" in run.stdout
        if columns == 200:
            assert any(words in line for line in lines)


def test_swedish_is_refused_by_analyse_as_by_report(cmo, examples_collected) -> None:
    ws, _ = examples_collected
    for command in (("analyse",), ("report", "--out", str(ws.root / "r.html"))):
        run = cmo(*command, "--lang", "sv", cwd=ws.root)
        assert run.exit_code == 2
        assert "Finnish or English" in run.stderr


def test_no_estimate_or_verdict_from_fewer_than_k_cases(examples_collected, tmp_path) -> None:
    """The disclosure threshold k holds in the analysis itself, so in its JSON and CSV too:
    min_cases below k is refused, and a criterion cell of fewer than k people has no estimate
    and no trend."""
    from cmo.errors import InputError

    from .collect_helpers import make_workspace, write

    ws, _ = examples_collected
    with pytest.raises(InputError, match="below the disclosure threshold"):
        analyse(ws, ["outreach"], min_cases=4)
    from cmo.collect import collect

    small = make_workspace(tmp_path / "ws", offices=("kemi",))
    header = "Asiakasnumero;Työntekijä;Jakso;Mittauskerta;Osallisuus\n"
    rows = "".join(
        f"C{i};T1;{p};seuranta;{1 + (i + j) % 5}\n"
        for j, p in enumerate(("2026H1", "2026H2"))
        for i in range(3)
    )
    collect(small, "kemi", [write(tmp_path / "few.csv", header + rows)])
    result = analyse(small, ["lapland_framework"])
    crit = next(c for c in result.criteria if c.criterion == "participation_reached")
    for cell in crit.cells:
        assert cell.n == 3 and cell.estimate is None and cell.ci_low is None
    assert set(crit.trends.values()) == {"one period"}


def test_unknown_offices_and_periods_are_refused(cmo, examples_collected, tmp_path) -> None:
    """`--office nosuch` or `--period 2030H1` names nothing in the store: exit 2 with what
    there is, for analyse and report alike (never an empty result that looks like data)."""
    ws, _ = examples_collected
    for args in (["--office", "nosuch"], ["--period", "2030H1"], ["--period", "131052-308T"]):
        for command in (["analyse"], ["report", "--out", str(tmp_path / "r.html")]):
            run = cmo(*command, *args, cwd=ws.root)
            assert run.exit_code == 2, (command, args, run.stdout)
            assert "131052-308T" not in run.stderr + run.stdout
    assert not (tmp_path / "r.html").exists()


def test_shareable_output_follows_the_reports_rules(cmo, examples_collected, tmp_path) -> None:
    """`cmo analyse --format json|csv` is for the evaluators (it says so on stderr and in its
    `disclosure` field); `--shareable` applies the report's rules: no count below k, no
    counts by office. A shareable JSON is refused by `cmo report --from`."""
    ws, _ = examples_collected
    plain = cmo("analyse", "outreach", "--format", "json", "--refuters", "none", cwd=ws.root)
    assert plain.exit_code == 0 and "for the evaluators only" in plain.stderr
    assert plain.json()["disclosure"] == {"k": 5, "applied": False}
    shared = cmo(
        "analyse", "outreach", "--format", "json", "--shareable", "--refuters", "none", cwd=ws.root
    )
    assert shared.exit_code == 0, shared.stderr
    data = shared.json()
    assert data["disclosure"]["applied"] is True
    for chain in data["chains"]:
        for test in chain["tests"]:
            assert test["n"] == "<5" or test["n"] == "·" or test["n"] >= 5
        for office in chain["by_office"]:
            assert office["n"] is None
    saved = tmp_path / "shared.json"
    saved.write_text(shared.stdout, encoding="utf-8")
    refused = cmo("report", "--from", str(saved), "--out", str(tmp_path / "r.html"), cwd=ws.root)
    assert refused.exit_code == 2 and "shareable" in refused.stderr
    rows = cmo("analyse", "outreach", "--format", "csv", "--shareable", cwd=ws.root).stdout
    assert rows.splitlines()[0].startswith("theory,chain,context,verdict,")
    assert len(rows.splitlines()) == 1 + sum(len(c["tests"]) for c in data["chains"])

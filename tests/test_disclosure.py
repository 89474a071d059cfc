"""Disclosure control that is proven: every hidden count named in issue 10 is attacked from the
rendered HTML — the page is parsed, the relations a reader knows are written down as a linear
system, and each hidden cell's feasible interval is computed by integer programming here, in
the test, independently of cmo's own audit. A cell is recoverable if its interval is narrower
than the protection rule allows (``<k``: all of 1 … k−1; ``·`` with a true value 1 … k−1: at
least k values). Also: the audit itself, on crafted models that leak."""

from __future__ import annotations

import copy
import math
import re
import shutil
from dataclasses import dataclass, field

import numpy as np
import pytest

from cmo.report import build_report
from cmo.report.audit import DisclosureError, Model
from cmo.store import open_store
from cmo.workspace import load_workspace

from .collect_helpers import make_workspace, write
from .test_report import parse

K = 5
# a context only Inari's three cases are in
FAR = """
id: far_away
title: {fi: Kaukana, en: Far away}
contexts:
  - id: very_far
    label: {fi: Hyvin kaukana, en: Very far}
    when: {indicator: distance_km, above: 65}
mechanisms:
  - id: trusting
    label: {fi: Luottamus, en: Trust}
    indicator: trust
outcomes:
  - id: taking_part
    label: {fi: Osallisuus, en: Participation}
    indicator: participation
chains:
  - id: far_chain
    contexts: [very_far]
    mechanism: trusting
    outcome: taking_part
"""
HEAD = "Asiakasnumero;Jakso;Mittauskerta;Osallisuus;Luottamus;Etäisyys km\n"


# ---- the attacker: a linear system over what the page shows ---------------------------------


@dataclass
class System:
    """Unknowns with bounds, and linear relations ``low ≤ Σ coef·x ≤ high``."""

    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)
    rows: list[tuple[dict[str, float], float, float]] = field(default_factory=list)

    def cell(self, name: str, text: str) -> str:
        """A cell as the page shows it: a number, ``<k`` or ``·``."""
        text = text.strip()
        if text == f"<{K}":
            self.bounds[name] = (1, K - 1)
        elif text in ("·", ""):
            self.bounds[name] = (0, math.inf)
        else:
            v = int(text.replace(",", "").replace("\u202f", "").replace(" ", ""))
            self.bounds[name] = (v, v)
        return name

    def unknown(self, name: str) -> str:
        self.bounds.setdefault(name, (0, math.inf))
        return name

    def eq(self, terms: dict[str, float], rhs: float = 0) -> None:
        self.rows.append((terms, rhs, rhs))

    def ge(self, terms: dict[str, float], rhs: float = 0) -> None:
        self.rows.append((terms, rhs, math.inf))

    def interval(self, name: str) -> tuple[float, float]:
        from scipy.optimize import Bounds, LinearConstraint, milp

        names = list(self.bounds)
        index = {n: i for i, n in enumerate(names)}
        a = np.zeros((max(len(self.rows), 1), len(names)))
        lo, hi = [], []
        for i, (terms, low, high) in enumerate(self.rows):
            for n, c in terms.items():
                a[i, index[n]] += c
            lo.append(low)
            hi.append(high)
        if not self.rows:
            lo, hi = [-math.inf], [math.inf]
        b = Bounds([self.bounds[n][0] for n in names], [self.bounds[n][1] for n in names])
        out = []
        for sign in (1, -1):
            c = np.zeros(len(names))
            c[index[name]] = sign
            res = milp(
                c,
                constraints=[LinearConstraint(a, lo, hi)],
                integrality=np.ones(len(names)),
                bounds=b,
            )
            if res.status != 0:
                assert sign == -1, res.message  # only the maximum may be unbounded
                out.append(math.inf)
            else:
                out.append(round(sign * res.fun))
        return out[0], out[1]

    def recoverable(self, name: str, true: int) -> bool:
        """Whether the page narrows the cell more than the protection rule allows."""
        low, high = self.interval(name)
        assert low <= true <= high, (name, low, high, true)  # the system is right
        if self.bounds[name] == (1, K - 1):
            return not (low <= 1 and high >= K - 1)
        if 0 < true < K and self.bounds[name][0] != self.bounds[name][1]:
            return not (low <= 1 and high >= K - 1) and high - low < K - 1
        return False


def table(page, first: list[str]) -> list[list[str]]:
    return next(rows for rows in page.tables.values() if rows and rows[0][: len(first)] == first)


# ---- a workspace with small groups -----------------------------------------------------------


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    root = tmp_path_factory.mktemp("disclosure")
    ws = make_workspace(root / "ws", offices=("kemi", "inari", "tornio"))
    from cmo.collect import collect

    rows = "".join(
        f"K{i};2026H1;seuranta;{1 + i % 5};{1 + (i * 3) % 5};{i % 50}\n" for i in range(60)
    )
    rows += "K-bad1;2026H1;seuranta;9;5;10\nK-bad2;2026H1;seuranta;9;5;10\n"
    collect(ws, "kemi", [write(root / "kemi.csv", HEAD + rows)])
    inari = "".join(f"I{i};2026H1;seuranta;{1 + i % 5};4;70\n" for i in range(3))
    inari += "I-bad;2026H1;seuranta;x;4;70\n"
    collect(ws, "inari", [write(root / "inari.csv", HEAD + inari)])
    # Tornio: 12 cases, one without trust (a missing value), 7 quarantined rows
    tornio = "".join(f"T{i};2026H1;seuranta;{1 + i % 5};2;5\n" for i in range(11))
    tornio += "T11;2026H1;seuranta;3;;5\n"
    tornio += "".join(f"T-bad{i};2026H1;seuranta;4;2;ei\n" for i in range(7))
    collect(ws, "tornio", [write(root / "tornio.csv", HEAD + tornio)])
    (ws.root / "programme_theories" / "far.yaml").write_text(FAR, encoding="utf-8")
    return load_workspace(ws.root)


# ---- batch table against quarantine table ----------------------------------------------------


def _unprotected(monkeypatch) -> None:
    """cmo without complementary suppression and audit: the attacks below must then win."""
    monkeypatch.setattr(Model, "protect_all", lambda self, max_rounds=200: [])
    monkeypatch.setattr(Model, "audit", lambda self: None)


def test_the_attacks_win_against_a_report_without_suppression(small, monkeypatch) -> None:
    _unprotected(monkeypatch)
    report = build_report(small, lang="en")
    assert _batch_leaks(small, parse(report.html))
    import cmo.report.build as build

    real = build.analyse
    monkeypatch.setattr(build, "analyse", lambda *a, **kw: _crafted(real(*a, **kw)))
    report = build_report(small, lang="en")
    assert _matrix_leaks(report, parse(report.html))


def test_batch_and_quarantine_tables_reveal_no_small_count(small) -> None:
    report = build_report(small, lang="en")
    page = parse(report.html)
    assert _batch_leaks(small, page) == []
    shown = table(page, ["Office", "Period", "Level"])[1:]
    # and the table still says something: every office's batch size or its <5 is shown
    assert all(row[3] != "·" for row in shown)
    assert report.disclosure["hidden"] >= 1


def _batch_leaks(small, page) -> list[str]:
    with open_store(small.store_path, read_only=True) as store:
        batches = store.batches()
        reasons = {
            b.batch_id: {r: n for r, _c, n in store.quarantine_reasons(b.batch_id)} for b in batches
        }
    shown = table(page, ["Office", "Period", "Level"])[1:]
    assert len(shown) == len(batches)
    s = System()
    truth: dict[str, int] = {}
    rows_of: dict[str, list[str]] = {}
    for b, row in zip(batches, shown, strict=True):
        assert row[:2] == [b.office, b.period]
        names = [s.cell(f"{b.batch_id}|{part}", row[3 + i]) for i, part in enumerate("iaq")]
        truth.update(zip(names, (b.rows_in, b.rows_accepted, b.rows_quarantined), strict=True))
        s.eq({names[0]: 1, names[1]: -1, names[2]: -1})
        rows_of.setdefault(b.office, []).append(names[2])
    header, *body = page.tables["quarantine-table"]
    totals = header[-1] == "Total"
    offices = header[1:-1] if totals else header[1:]
    cols: dict[str, dict[str, float]] = {o: {} for o in offices}
    for row in body:
        if row[0] == "Total":
            for o, text in zip(offices, row[1:], strict=False):
                s.eq({**cols[o], s.cell(f"qcol-shown|{o}", text): -1})
            continue
        terms = {}
        for o, text in zip(offices, row[1 : 1 + len(offices)], strict=True):
            name = s.cell(f"q|{row[0]}|{o}", text)
            terms[name] = 1.0
            cols[o][name] = 1.0
        if totals:
            s.eq({**terms, s.cell(f"qrow|{row[0]}", row[-1]): -1})
    for o in offices:
        s.eq({**cols[o], s.unknown(f"qcol|{o}"): -1})
    # the strongest reader: knows that each quarantined row had exactly one bad value (true here)
    for o in offices:
        true_cells = sum(sum(reasons[b.batch_id].values()) for b in batches if b.office == o)
        true_rows = sum(truth[n] for n in rows_of[o])
        assert true_cells == true_rows
        s.eq({f"qcol|{o}": 1, **dict.fromkeys(rows_of[o], -1)})
    return [n for n in truth if s.recoverable(n, truth[n])]


# ---- matrix: partition of contexts, "left out" notes across chains ---------------------------


def _crafted(result):
    """Two chains on the same context: chain A has 3 cases in it (17 left out for missing
    values), chain B 20 (none left out) — so A's 3 = 20 − its left-out part, bounded by A's
    note; chain A also reports "everywhere" = its contexts' sum (a partition)."""
    base = result.chains[0]
    a, b = copy.deepcopy(base), copy.deepcopy(base)
    b.chain = base.chain + "_b"
    b.label = base.label + " (B)"
    proto = base.tests[0]

    def test(context, n, missing):
        t = copy.deepcopy(proto)
        t.context, t.label, t.n, t.effect, t.mediation = context, context, n, None, None
        t.verdict = "too_little_data"
        t.excluded = {"missing values": missing}
        return t

    a.tests = [test("far", 3, 17), test("elsewhere", 40, 0), test("everywhere", 43, 17)]
    b.tests = [test("far", 20, 0), test("elsewhere", 40, 0)]
    a.interactions = b.interactions = []
    result.chains = [a, b]
    return result


@pytest.fixture(scope="module")
def crafted_page(small):
    import cmo.report.build as build

    real = build.analyse
    patch = pytest.MonkeyPatch()
    patch.setattr(build, "analyse", lambda *a, **kw: _crafted(real(*a, **kw)))
    try:
        report = build_report(small, lang="en")
    finally:
        patch.undo()
    return report, parse(report.html)


def test_context_partition_and_left_out_notes_reveal_nothing(crafted_page) -> None:
    report, page = crafted_page
    assert _matrix_leaks(report, page) == []
    a = report.analysis.chains[0]
    matrix = table(page, ["Chain", "Context"])[1:]
    # the small cell is shown as <5, and the chains are not blanked altogether
    assert matrix[0][-1] == "<5" and a.tests[0].n == 3
    assert sum(1 for row in matrix if re.fullmatch(r"\d+", row[-1])) >= 2


def _matrix_leaks(report, page) -> list[str]:
    matrix = table(page, ["Chain", "Context"])[1:]
    a, b = report.analysis.chains
    s = System()
    truth = {}
    i = 0
    for chain in (a, b):
        names = {}
        for test in chain.tests:
            row = matrix[i]
            i += 1
            text = row[-1]
            names[test.context] = s.cell(f"n|{chain.chain}|{test.context}", text)
            truth[names[test.context]] = test.n
        section = report.html.split(f'id="{chain.theory}-{chain.chain}"', 1)[1].split("</section>")[
            0
        ]
        m = re.search(r"Left out for missing values: ([^.<]+)\.", section)
        note = s.cell(f"left|{chain.chain}", m.group(1) if m else "0")
        parts = {}
        for test in chain.tests:
            miss = s.unknown(f"miss|{chain.chain}|{test.context}")
            parts[miss] = 1.0
            member = s.unknown(f"members|{test.context}")
            s.eq({names[test.context]: 1, miss: 1, member: -1})
        s.eq({**parts, note: -1})
        if "everywhere" in names:
            others = {n: 1.0 for c, n in names.items() if c != "everywhere"}
            s.eq({**others, names["everywhere"]: -1})
    assert i == len(matrix)
    return [n for n in truth if s.recoverable(n, truth[n])]


def test_a_partition_with_everything_else_shown_leaks() -> None:
    s = System()
    s.cell("a_far", "<5")
    s.cell("a_else", "40")
    s.cell("a_every", "43")
    s.eq({"a_far": 1, "a_else": 1, "a_every": -1})
    assert s.recoverable("a_far", 3)


def test_verdicts_and_interactions_need_k_cases_whatever_min_cases_says(small) -> None:
    import cmo.report.build as build

    real = build.analyse
    patch = pytest.MonkeyPatch()

    # An analysis made with k = 2 (cmo analyse refuses min_cases below its k) rendered by a
    # report whose k is 5: the report's own gates must still hold.
    def small_k(ws, *a, **kw):  # type: ignore[no-untyped-def]
        import dataclasses

        lowered = ws.settings.model_copy(update={"disclosure_threshold": 2})
        return real(dataclasses.replace(ws, settings=lowered), *a, **{**kw, "min_cases": 2})

    patch.setattr(build, "analyse", small_k)
    try:
        report = build_report(small, lang="en")
    finally:
        patch.undo()
    page = parse(report.html)
    small_tests = [t for c in report.analysis.chains for t in c.tests if 0 < t.n < K]
    assert small_tests, "the crafted data has no small group"
    for row in table(page, ["Chain", "Context"])[1:]:
        if row[-1] == "<5":
            assert "too little data" in row[2].lower() or "insufficient" in row[2].lower(), row
            assert row[-2] == ""
    text = " ".join(page.text)
    for chain in report.analysis.chains:
        inside = {t.context: t.n for t in chain.tests}
        for i in chain.interactions:
            if i.effect is not None and min(inside[i.context], i.n - inside[i.context]) < K:
                label = next(t.label for t in chain.tests if t.context == i.context)
                assert f"{label}: difference" not in text


# ---- missing values: shares × rows -----------------------------------------------------------


def test_missing_shares_do_not_give_a_small_count_back(small) -> None:
    report = build_report(small, lang="en")
    page = parse(report.html)
    rows = table(page, ["Indicator", "Missing"])[1:]
    assert rows
    with open_store(small.store_path, read_only=True) as store:
        total = store.con.execute("SELECT count(*) FROM case_observations").fetchone()[0]
    for _, text in rows:
        m = re.fullmatch(r"(\d+) %", text)
        if m:  # a share: the reader knows the rows (the batch table) and can multiply
            share = int(m.group(1)) / 100
            low = math.ceil(total * max(share - 0.005, 0))
            high = math.floor(total * (share + 0.005))
            assert not (low >= 1 and high <= K - 1), text
            assert not (total - high >= 1 and total - low <= K - 1), text
    # Tornio's one missing trust value is among 73 rows: "fewer than 5 rows", not "1 %"
    assert any(text == "fewer than 5 rows" for _, text in rows)


# ---- two reports: differencing across a filter -----------------------------------------------


def test_a_filter_leaving_out_fewer_than_k_cases_is_refused(small, cmo) -> None:
    out = small.root / "out" / "two.html"
    run = cmo(
        "report",
        "--lang",
        "en",
        "--office",
        "kemi",
        "--office",
        "tornio",
        "--out",
        str(out),
        cwd=small.root,
    )
    assert run.exit_code == 2
    assert "fewer than k = 5" in run.stderr
    assert not out.exists()


def test_filtered_and_full_report_differ_by_no_small_count(small, cmo) -> None:
    full_path = small.root / "out" / "full.html"
    part_path = small.root / "out" / "part.html"
    assert cmo("report", "--lang", "en", "--out", str(full_path), cwd=small.root).exit_code == 0
    run = cmo(
        "report",
        "--lang",
        "en",
        "--office",
        "kemi",
        "--office",
        "inari",
        "--out",
        str(part_path),
        cwd=small.root,
    )
    assert run.exit_code == 0, run.stderr
    full = table(parse(full_path.read_text("utf-8")), ["Chain", "Context"])[1:]
    part = table(parse(part_path.read_text("utf-8")), ["Chain", "Context"])[1:]
    assert len(full) == len(part)
    compared = 0
    for f, p in zip(full, part, strict=True):
        if re.fullmatch(r"\d+", f[-1]) and re.fullmatch(r"\d+", p[-1]):
            assert not 0 < int(f[-1]) - int(p[-1]) < K, (f, p)
            compared += 1
        if f[-1] == "<5" and re.fullmatch(r"\d+", p[-1]):
            raise AssertionError((f, p))  # a filtered count larger than a small full one
    assert compared >= 1


# ---- the audit itself ------------------------------------------------------------------------


def test_audit_refuses_a_crafted_model_that_leaks() -> None:
    m = Model(K)
    m.count("part", 3)  # <5
    m.count("other", 40)
    m.count("whole", 43)
    m.equal({"part": 1, "other": 1, "whole": -1})
    assert [f.cell for f in m.failures()] == ["part"]
    with pytest.raises(DisclosureError, match="part"):
        m.audit()
    hidden = m.protect_all()
    assert hidden == ["other"]  # the smaller partner, not the total
    m.audit()
    assert m.text("part") == "<5" and m.text("other") == "·" and m.text("whole") == "43"
    assert m.interval("part") == (1, 4)


def test_audit_fails_when_nothing_can_be_hidden() -> None:
    m = Model(K)
    m.count("part", 2)
    m.count("whole", 50)
    m.cells["whole"].fixed = True  # already published (the unfiltered report)
    m.equal({"part": 1, "whole": -1}, -48)
    with pytest.raises(DisclosureError):
        m.protect_all()


def test_hidden_cells_need_k_possible_values() -> None:
    """A hidden cell (·) with a small true value must not be pinned to fewer than k values:
    shares of a known total are intervals."""
    m = Model(K)
    m.count("total", 800)
    m.count("few", 2, published=False)
    m.between({"few": 1, "total": -0.005}, -4, 0)  # "0 %" of 800 rows: 0 … 4, all possible
    assert m.failures() == []
    m.between({"few": 1}, 1.5, 4.5)  # "0.4 %" of 800 rows (one decimal): 2 … 4
    assert [f.cell for f in m.failures()] == ["few"]
    m2 = Model(K)
    m2.count("total", 6)
    m2.count("few", 1, published=False)
    m2.between({"few": 1}, 6 * 0.165, 6 * 0.175)  # "17 %" of 6 rows
    assert [f.cell for f in m2.failures()] == ["few"]


def test_relations_are_checked_against_the_true_values() -> None:
    m = Model(K)
    m.count("a", 10)
    m.count("b", 20)
    with pytest.raises(ValueError, match="does not hold"):
        m.equal({"a": 1, "b": -1})


def test_demo_report_passes_the_audit_with_an_informative_quality_section(examples_collected):
    ws, _ = examples_collected
    root = ws.root.parent / "demo-audit"
    if not root.exists():
        shutil.copytree(ws.root, root)
    report = build_report(load_workspace(root), lang="en")
    page = parse(report.html)
    cells = [c for row in table(page, ["Office", "Period", "Level"])[1:] for c in row[3:]]
    cells += [c for row in page.tables["quarantine-table"][1:] for c in row[1:]]
    hidden = sum(1 for c in cells if c == "·")
    assert hidden <= len(cells) // 10, (hidden, len(cells))
    office_rows = [r for r in table(page, ["Office", "Period", "Level"])[1:] if r[2] == "office"]
    assert office_rows and all(re.fullmatch(r"[\d,]+", r[3]) for r in office_rows)
    assert report.disclosure["audit_seconds"] < 30


# ---- trends ----------------------------------------------------------------------------------


def test_no_trend_from_a_hidden_estimate() -> None:
    """The issue's case: "down" shown from a 3-client pooled estimate."""
    from cmo.analysis.results import CriterionCell, CriterionResult
    from cmo.report.build import _criterion_row
    from cmo.report.disclosure import Rule
    from cmo.report.i18n import Texts

    def crit(n_early: int, n_kemi: int) -> CriterionResult:
        cells = [
            CriterionCell("all", "2025H2", n_early, 0.8, 0.5, 0.95, "met"),
            CriterionCell("all", "2026H1", 40, 0.5, 0.4, 0.6, "not met"),
            CriterionCell("kemi", "2026H1", n_kemi, 0.5, 0.3, 0.7, "not met"),
            CriterionCell("inari", "2026H1", 40 - n_kemi, 0.5, 0.4, 0.6, "not met"),
        ]
        return CriterionResult(
            "t", "c", "Share", "trust", "share", {"at_least": 0.7}, cells, {"all": "down"}
        )

    t = Texts("en")
    shown = _criterion_row(crit(30, 20), ["inari", "kemi"], t, Rule(K), False)
    assert shown["trend"] == t("trend_down")
    for early, kemi in ((3, 20), (30, 3)):  # a 3-client pooled estimate; a hidden office
        row = _criterion_row(crit(early, kemi), ["inari", "kemi"], t, Rule(K), False)
        assert row["trend"] == t("trend_hidden"), (early, kemi)


def test_a_filtered_count_is_hidden_when_the_unfiltered_one_would_give_a_small_part_back():
    from cmo.report.counts import add_filtered

    full = Model(K)
    full.count("n|t|c|far", 20)
    full.count("n|t|c|elsewhere", 50)
    part = Model(K)
    part.count("n|t|c|far", 17)  # 3 of the 20 are outside the filter
    part.count("n|t|c|elsewhere", 30)  # 20 outside: fine
    add_filtered(part, full, ["n|t|c|far", "n|t|c|elsewhere"])
    assert [f.cell for f in part.failures()] == ["outside|n|t|c|far"]
    assert part.protect_all() == ["n|t|c|far"]  # the filtered one: the full one is out already
    assert part.text("n|t|c|far") == "·" and part.text("n|t|c|elsewhere") == "30"
    assert part.cells["full|n|t|c|far"].state == "exact"

"""Disclosure control proven: the audit (integer programming over the report's system of
tables) against brute force, the attacks of issue 10 replayed on rendered pages — each hidden
count recomputed from the parsed HTML by an attacker's own linear system — and the audit
refusing pages that would leak."""

from __future__ import annotations

import itertools
import random
import re
from types import SimpleNamespace

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from cmo.report import build_report
from cmo.report.audit import (
    DisclosureError,
    Published,
    Tables,
    audit,
    audit_page,
    protect,
    protection,
    read_page,
    share_percent,
)
from cmo.report.disclosure import FilterRefused, Rule

from .collect_helpers import make_workspace, write
from .test_report import parse, reports, workspace  # noqa: F401  (fixtures)

K = 5

# ---- the attacker: an independent integer program over what a page shows --------------------


def attack(
    names: list[str],
    equalities: list[dict[str, int]],
    shown: dict[str, tuple[float, float]],
    targets: list[str],
) -> dict[str, tuple[int, int]]:
    """Min and max of each target given equalities (Σ coef·x = 0) and known ranges."""
    index = {n: i for i, n in enumerate(names)}
    a = np.zeros((max(len(equalities), 1), len(names)))
    for r, eq in enumerate(equalities):
        for name, coef in eq.items():
            a[r, index[name]] += coef
    low = np.array([shown.get(n, (0, np.inf))[0] for n in names], float)
    high = np.array([shown.get(n, (0, np.inf))[1] for n in names], float)
    out = {}
    for name in targets:
        ends = []
        for sign in (1, -1):
            c = np.zeros(len(names))
            c[index[name]] = sign
            res = milp(
                c,
                constraints=[LinearConstraint(a, 0, 0)],
                bounds=Bounds(low, high),
                integrality=np.ones(len(names)),
            )
            assert res.status == 0, res.message
            ends.append(round(sign * res.fun))
        out[name] = (ends[0], ends[1])
    return out


def known(text: str, sensitive: bool = True) -> tuple[float, float]:
    """What an attacker knows of a count from its text on the page."""
    text = text.replace(",", "").replace("\u00a0", "")
    if text == f"<{K}":
        return (1, K - 1)
    if text == "·":
        return (K, np.inf) if sensitive else (0, np.inf)
    return (int(text), int(text))


def assert_protected(bounds: dict[str, tuple[int, int]], small: list[str]) -> None:
    for name in small:
        low, high = bounds[name]
        assert high - low >= 2, f"{name} recomputed to {low}…{high}"  # k = 5: three values


# ---- the audit against brute force ---------------------------------------------------------


def brute(tables: Tables, published: dict[str, Published], key: str, top: int = 14) -> set[int]:
    """Every value of ``key`` in some assignment of 0 … top to all cells that is consistent
    with the page and the relations (exhaustive enumeration)."""
    names = sorted(tables.cells)
    ranges = []
    for n in names:
        pub = published.get(n)
        if pub is None:
            ranges.append(range(top + 1))
        elif pub.kind == "exact":
            ranges.append(range(int(pub.value), int(pub.value) + 1))
        elif pub.kind == "small":
            ranges.append(range(1, K))
        else:
            ranges.append(range(K if tables.cells[n].sensitive else 0, top + 1))
    values = set()
    for combo in itertools.product(*ranges):
        x = dict(zip(names, combo, strict=True))
        if all(
            (s := sum(c * x[k] for k, c in r.coefs)) == 0 if r.equal else s >= 0
            for r in tables.relations
        ):
            values.add(x[key])
    return values


def test_audit_intervals_equal_brute_force_on_random_tables() -> None:
    """A 2 × 2 table with margins, random values and random suppression patterns: the audit
    flags a ``<k`` cell exactly when enumeration shows it narrowed, with the same ends."""
    rng = random.Random(10)
    checked = flagged = 0
    for _ in range(25):
        t = Tables()
        v = [[rng.choice([0, 1, 2, 3, 6, 7]) for _ in range(2)] for _ in range(2)]
        for i, j in itertools.product(range(2), range(2)):
            t.cell(f"c{i}{j}", v[i][j])
        for i in range(2):
            t.cell(f"r{i}", sum(v[i]))
            t.total(f"r{i}", [f"c{i}0", f"c{i}1"], "row")
            t.cell(f"s{i}", v[0][i] + v[1][i])
            t.total(f"s{i}", [f"c0{i}", f"c1{i}"], "column")
        published = {}
        for key, cell in t.cells.items():
            if 0 < cell.value < K:
                published[key] = Published("small")
            elif cell.value >= K and rng.random() < 0.3:
                published[key] = Published("hidden")
            else:
                published[key] = Published("exact", cell.value)
        findings = {f.key: (f.low, f.high) for f in audit(t, published, K)}
        for key, pub in published.items():
            if pub.kind != "small":
                continue
            values = brute(t, published, key)
            narrowed = max(values) - min(values) < 2  # k = 5: at least three values
            assert (key in findings) == narrowed, (v, key, values)
            if narrowed:
                assert findings[key] == (min(values), max(values))
                flagged += 1
            checked += 1
    assert checked > 20 and flagged > 5


def test_protect_hides_complements_until_the_audit_passes() -> None:
    t = Tables()
    for key, value in {"a": 3, "b": 7, "c": 20}.items():
        t.cell(key, value)
    t.cell("total", 30)
    t.total("total", ["a", "b", "c"], "a context partition")
    bare = {k: Published("exact", c.value) for k, c in t.cells.items()} | {"a": Published("small")}
    assert [(f.low, f.high) for f in audit(t, bare, K)] == [(3, 3)]  # 30 − 7 − 20
    assert protection(K) == 2 and protection(10) == 5 and protection(3) == 1
    published = protect(t, K)
    assert published["a"].kind == "small" and published["b"].kind == "hidden"
    assert not audit(t, published, K)


def test_shares_times_totals_are_constraints() -> None:
    """17 % of 6 rows is 1: a share is an interval constraint on its numerator."""
    t = Tables()
    t.cell("rows", 6)
    t.cell("missing", 1)
    leaky = {"rows": Published("exact", 6), "missing": Published("small")}
    assert not audit(t, leaky, K)
    t2 = Tables(cells=dict(t.cells))
    shown = {"rows": Published("exact", 6), "missing": Published("share", 17, of="rows")}
    published = {"missing": Published("small"), "rows": Published("exact", 6)}
    # the page shows the share instead of <k: the audit reads that as an exact constraint
    assert share_percent(1, 6) == 17
    page = '<span data-cell="rows">6</span><span data-cell="missing" data-share="rows">17%</span>'
    assert read_page(page, K) == shown
    assert audit_page(page, t2, K)[0].key == "missing"
    assert not audit(t2, published, K)
    # protect never shows a share of fewer than k
    assert protect(t2, K, shares={"missing": "rows"})["missing"].kind == "small"


def test_an_inconsistent_page_is_refused() -> None:
    """A page whose numbers contradict its own relations is not audited into a pass."""
    t = Tables()
    for key, value in {"a": 3, "b": 27}.items():
        t.cell(key, value)
    t.cell("total", 30)
    t.total("total", ["a", "b"], "parts")
    page = '<span data-cell="a">&lt;5</span><span data-cell="b">27</span>'
    with pytest.raises(DisclosureError, match="not on the page"):
        audit_page(page, t, K)
    page += '<span data-cell="total">40</span>'
    with pytest.raises(DisclosureError, match="inconsistent"):
        audit_page(page, t, K)


def test_relations_must_hold_in_the_data() -> None:
    t = Tables()
    t.cell("a", 2)
    t.cell("b", 3)
    with pytest.raises(ValueError, match="does not hold"):
        t.total("a", ["b"], "wrong")


# ---- the attacks replayed on a rendered report ---------------------------------------------

SMALL = "Asiakasnumero;Jakso;Mittauskerta;Osallisuus;Luottamus;Etäisyys km\n"


@pytest.fixture(scope="module")
def small_ws(tmp_path_factory):
    """Three offices: Kemi 62 rows (2 quarantined), Inari 4 (1 quarantined: 3 clients),
    Tornio 19 (7 quarantined); a few clients far away."""
    from cmo.collect import collect

    root = tmp_path_factory.mktemp("small")
    ws = make_workspace(root / "ws", offices=("kemi", "inari", "tornio"))
    rows = "".join(
        f"K{i};2026H1;seuranta;{1 + i % 5};{1 + (i * 3) % 5};{i % 50}\n" for i in range(60)
    )
    rows += "K-bad1;2026H1;seuranta;9;5;10\nK-bad2;2026H1;seuranta;9;5;10\n"
    collect(ws, "kemi", [write(root / "kemi.csv", SMALL + rows)])
    inari = "".join(f"I{i};2026H1;seuranta;{1 + i % 5};4;70\n" for i in range(3))
    inari += "I-bad;2026H1;seuranta;x;4;70\n"
    collect(ws, "inari", [write(root / "inari.csv", SMALL + inari)])
    tornio = "".join(f"T{i};2026H1;seuranta;{1 + i % 5};2;5\n" for i in range(12))
    tornio += "".join(f"T-bad{i};2026H1;seuranta;4;2;ei\n" for i in range(7))
    collect(ws, "tornio", [write(root / "tornio.csv", SMALL + tornio)])
    return ws


@pytest.fixture(scope="module")
def small_report(small_ws):
    report = build_report(small_ws, lang="en")
    return report, parse(report.html)


def spans(html: str) -> dict[str, str]:
    return {
        k: " ".join(v.split())
        for k, v in re.findall(r'<span data-cell="([^"]+)"[^>]*>([^<]*)</span>', html)
    } | {
        k: v.replace("&lt;", "<")
        for k, v in re.findall(r'<span data-cell="([^"]+)"[^>]*>(&lt;\d+)</span>', html)
    }


def test_batch_table_people_suppressed_data_shown(small_report) -> None:
    _, page = small_report
    header, *body = page.tables["batch-table"]
    assert header[3:] == ["Rows in", "Accepted", "Quarantined"]
    by = {(r[0].lower(), r[2]): r for r in body}
    assert by[("inari", "cases")][3:5] == ["<5", "<5"]  # 4 rows in, 3 clients accepted
    assert by[("kemi", "cases")][3:] == ["62", "60", "2"]  # quarantined rows: data, shown
    # the attacker: rows in = accepted + quarantined, per row
    for row in body:
        names = ["in", "ok", "q"]
        shown = {n: known(c, n != "q") for n, c in zip(names, row[3:], strict=True)}
        small = [n for n, c in zip(names, row[3:], strict=True) if c == "<5"]
        bounds = attack(names, [{"in": 1, "ok": -1, "q": -1}], shown, small)
        assert_protected(bounds, small)


def test_quarantine_table_is_informative_and_safe(small_report) -> None:
    """The quarantine table suppresses nothing here (it describes the data), and together
    with the batch table's quarantined rows nothing hidden can be recomputed."""
    _, page = small_report
    header, *body = page.tables["quarantine-table"]
    assert header[-1] == "Total"
    cells = [c for row in body for c in row[1:]]
    assert "·" not in cells and "<5" not in cells
    assert body[-1][0] == "Total" and int(body[-1][-1]) == 10  # 2 + 1 + 7 cells


def test_missing_values_where_expected(small_report) -> None:
    _, page = small_report
    header, *body = page.tables["missing-table"]
    assert header == ["Indicator", "Expected at", "Rows", "Missing"]
    assert body and all(row[3] in ("0%", "<5", "·") or row[3].endswith("%") for row in body)
    # no indicator is "half missing" because it is measured at one point only
    assert not any(row[3] == "50%" for row in body)


def test_hidden_counts_cannot_be_recomputed_from_the_page(small_report) -> None:
    """Every relation of issue 10 on the parsed page — the batch table, the quarantine table
    against the batch table, chains' contexts against their totals and each other, missing
    shares × rows — as one attacker's integer program: no ``<5`` narrows."""
    report, _ = small_report
    text = spans(report.html)
    # what an attacker reads from the structure of the page
    names = sorted(text)
    eqs: list[dict[str, int]] = []
    batches = {k.split(":")[1] for k in names if k.startswith("b:")}
    for b in batches:
        eqs.append({f"b:{b}:in": 1, f"b:{b}:ok": -1, f"b:{b}:q": -1})
    offices = {k.split(":")[2] for k in names if k.startswith("q:") and not k.endswith(":*")}
    reasons = {k.split(":")[1] for k in names if k.startswith("q:")} - {"*"}
    for r in reasons:
        eqs.append({f"q:{r}:*": 1, **{f"q:{r}:{o}": -1 for o in offices if o != "*"}})
    for o in offices - {"*"}:
        eqs.append({f"q:*:{o}": 1, **{f"q:{r}:{o}": -1 for r in reasons}})
    # chains whose contexts partition their cases: guess they all share one total
    chains: dict[str, list[str]] = {}
    for k in names:
        if k.startswith("n:"):
            chains.setdefault(k.split(":")[1], []).append(k)
    names.append("T")
    for keys in chains.values():
        if len(keys) > 1:
            eqs.append({"T": 1, **dict.fromkeys(keys, -1)})
    shown = {}
    for k, v in text.items():
        if "%" in v:
            continue
        shown[k] = known(v, not (k.startswith("q:") or k.endswith(":q")))
    small = [k for k, v in text.items() if v == "<5"]
    assert small, "the crafted data has small counts"
    # shares × rows: p % of d, rounded: the attacker brackets the numerator
    for k, v in text.items():
        if v.endswith("%"):
            p = int(v.rstrip("%"))
            d = shown[f"r:{k.split(':')[2]}:{k.split(':')[3]}"]
            shown[k] = (np.floor((p - 0.5) * d[0] / 100), np.ceil((p + 0.5) * d[1] / 100))
    bounds = attack(names, eqs, shown, small)
    assert_protected(bounds, small)


def test_the_audit_refuses_a_page_that_would_leak(small_report, small_ws) -> None:
    """The rendered page passes; the same page with one hidden count written out, or with
    a complement un-hidden, is refused."""
    report, _ = small_report
    from cmo.report.audit import Tables as _T  # noqa: F401  (the model is rebuilt below)

    tables = _model(small_ws)
    assert audit_page(report.html, tables, K) == []
    text = spans(report.html)
    small = next(k for k, v in text.items() if v == "<5" and k.startswith("b:"))
    true = tables.cells[small].value
    leaked = report.html.replace(
        f'<span data-cell="{small}">&lt;5</span>', f'<span data-cell="{small}">{true}</span>'
    )
    assert audit_page(leaked, tables, K)
    hidden = [k for k, v in text.items() if v == "·"]
    for key in hidden:  # un-hide a complementary cell: the audit must notice
        value = tables.cells[key].value
        page = report.html.replace(
            f'<span data-cell="{key}">·</span>', f'<span data-cell="{key}">{value}</span>'
        )
        if audit_page(page, tables, K):
            break
    else:
        pytest.fail(f"no complement was needed: {hidden}")


def _model(ws):
    from cmo.analysis import analyse
    from cmo.report.disclosure import chain_tables
    from cmo.report.quality import gather, quality_tables
    from cmo.store import open_store
    from cmo.theory import validate

    result = analyse(ws, (), lang="en", refuters="quick")
    with open_store(ws.store_path, read_only=True) as store:
        facts = gather(store, validate(workspace=ws.root), "en", (), ())
    tables = Tables()
    chain_tables(tables, result)
    quality_tables(tables, facts)
    return tables


def test_build_refuses_to_write_when_the_audit_fails(small_ws, monkeypatch) -> None:
    """Without complementary suppression the page would leak: the render fails."""
    import cmo.report.build as build
    from cmo.report.audit import primary
    from cmo.report.disclosure import Shown

    def primary_only(tables, rule, t, base, shares):
        return Shown(primary(tables, rule.k, base), t, rule.k)

    monkeypatch.setattr(build, "settle", primary_only)
    with pytest.raises(DisclosureError, match="would show hidden counts"):
        build_report(small_ws, lang="en")


# ---- the scorecard and the forest plots (kept from test_report.py) ---------------------


def test_estimates_from_fewer_than_k_cases_are_not_shown(small_report) -> None:
    _, page = small_report
    checked = 0
    for rows in page.tables.values():
        if rows and rows[0][:2] == ["Criterion", "Target"]:
            offices = rows[0][2:-2]
            for row in rows[1:]:
                # Inari: 3 accepted cases
                cell = row[2 + [o.lower() for o in offices].index("inari")]
                if "no data" in cell:
                    continue
                assert "%" not in cell, row
                assert "n <5" in cell, row
                checked += 1
    assert checked >= 1
    matrix = next(
        rows for rows in page.tables.values() if rows and rows[0][:2] == ["Chain", "Context"]
    )
    for row in matrix[1:]:
        if row[-1] == "<5":
            assert row[-2] == ""


def test_pooled_estimate_is_hidden_when_an_office_is(small_report) -> None:
    """All offices' share minus the shown offices' would reveal Inari's (3 cases)."""
    _, page = small_report
    for rows in page.tables.values():
        if rows and rows[0][:2] == ["Criterion", "Target"]:
            offices = rows[0][2:-1]
            for row in rows[1:]:
                inari = row[2 + [o.lower() for o in offices].index("inari")]
                pooled = row[2 + offices.index("all offices")]
                if "n <5" in inari:
                    assert "%" not in pooled and not re.search(r"\d", pooled), row


def test_no_n_by_office_and_no_small_interactions(small_report) -> None:
    report, page = small_report
    html = report.html
    text = " ".join(page.text)
    assert "Far: difference" not in text
    for chain in report.analysis.chains:
        for inter in chain.interactions:
            inside = next(t for t in chain.tests if t.context == inter.context)
            if inside.n < 30:
                assert inter.effect is None
    # forest plots by office carry no counts (they would add up to the context's n)
    for svg in re.findall(r"<svg.*?</svg>", html, flags=re.S):
        if "by office" in svg:
            assert "(n " not in svg


# ---- filtered reports: differencing --------------------------------------------------------


def test_filter_leaving_out_fewer_than_k_rows_is_refused(small_ws) -> None:
    """Kemi and Tornio without Inari: 4 rows left out, so set against the full report the
    Inari rows would show."""
    with pytest.raises(FilterRefused, match=r"fewer than 5 (rows of )?clients"):
        build_report(small_ws, lang="en", offices=["kemi", "tornio"])


def test_filter_leaving_out_few_clients_in_many_rows_is_refused() -> None:
    """The count of clients on page one would differ by 2 although 6 rows are left out."""
    import duckdb

    from cmo.report.disclosure import check_filter

    con = duckdb.connect()
    con.execute("CREATE TABLE case_observations (case_key VARCHAR, office VARCHAR, period VARCHAR)")
    con.execute(
        "CREATE TABLE worker_observations (worker_key VARCHAR, office VARCHAR, period VARCHAR)"
    )
    con.execute("INSERT INTO case_observations SELECT 'a' || i, 'a', 'p' FROM range(40) t(i)")
    con.execute("INSERT INTO case_observations SELECT 'b' || (i % 2), 'b', 'p' FROM range(6) t(i)")
    store = SimpleNamespace(con=con)
    assert check_filter(store, [], [], Rule(K)) == 1
    with pytest.raises(FilterRefused, match="fewer than 5 clients"):
        check_filter(store, ["a"], [], Rule(K))
    con.execute("INSERT INTO case_observations SELECT 'c' || i, 'b', 'p' FROM range(3) t(i)")
    assert check_filter(store, ["a"], [], Rule(K)) == K  # 5 clients left out: rounded instead


def test_filtered_report_rounds_counts_of_people(small_ws) -> None:
    """Kemi alone (Inari and Tornio left out: 23 rows): every count of people on the page is
    rounded to a multiple of 5 (or <5), and the page passes the audit read as rounded."""
    filtered = build_report(small_ws, lang="en", offices=["kemi"])
    assert 'data-rounding="5"' in filtered.html
    tables = _model_filtered(small_ws)
    checked = 0
    for key, text in spans(filtered.html).items():
        if tables.cells[key].sensitive and text not in ("<5", "·") and "%" not in text:
            assert int(text.replace(",", "")) % 5 == 0, (key, text)
            checked += 1
    assert checked
    assert audit_page(filtered.html, tables, K) == []


def test_rounding_defeats_differencing() -> None:
    """Full report exact X, filtered report rounded to 5: the left-out count X − Y keeps at
    least k possible values whatever Y was (the audit reads a rounded count as that range)."""
    from cmo.report.audit import Cell as C
    from cmo.report.audit import _bounds, rounded

    for y in range(5, 300):
        shown = rounded(y, K)
        same = [v for v in range(400) if v >= K and rounded(v, K) == shown]
        assert y in same
        low, high = _bounds(C("y", y), Published("rounded", shown, K), K)
        assert (low, high) == (min(same), max(same))
        if shown > K:  # 150 − 152: the left-out count could be any of five
            assert len(same) == K


def _model_filtered(ws):
    from cmo.analysis import analyse
    from cmo.report.disclosure import chain_tables
    from cmo.report.quality import gather, quality_tables
    from cmo.store import open_store
    from cmo.theory import validate

    result = analyse(ws, (), offices=["kemi"], lang="en", refuters="quick")
    with open_store(ws.store_path, read_only=True) as store:
        facts = gather(store, validate(workspace=ws.root), "en", ["kemi"], ())
    tables = Tables()
    chain_tables(tables, result)
    quality_tables(tables, facts)
    return tables


# ---- every k-rule: verdicts, interactions, trends ------------------------------------------


def _test(context: str, n: int, verdict: str = "held") -> SimpleNamespace:
    from cmo.analysis.results import ContextTest

    return ContextTest(
        context=context, label=context, n=n, n_offices=1, excluded={}, verdict=verdict
    )


def test_no_verdict_from_fewer_than_k_cases() -> None:
    """Even with min_cases below k, a verdict from 3 cases is shown as too little data."""
    from cmo.report.build import _matrix
    from cmo.report.disclosure import Shown
    from cmo.report.i18n import Texts

    chain = SimpleNamespace(
        theory="th", chain="c", label="C", tests=[_test("far", 3), _test("elsewhere", 40)]
    )
    result = SimpleNamespace(chains=[chain], office_names={})
    t = Texts("en")
    shown = Shown(
        {"n:th-c:far": Published("small"), "n:th-c:elsewhere": Published("exact", 40)}, t, K
    )
    rows = _matrix(result, t, Rule(K), shown)
    assert rows[0]["verdict"]["word"] == "too little data" and rows[0]["refutation"] is None
    assert rows[1]["verdict"]["word"] == "held"


def test_no_trend_from_a_hidden_estimate() -> None:
    """A trend compares two periods: when either rests on fewer than k cases (here 3 clients
    in an office in the latest period), it is not shown."""
    from cmo.analysis.results import CriterionCell
    from cmo.report.scorecard import _trend_safe

    def cells(n_latest: int) -> SimpleNamespace:
        return SimpleNamespace(
            cells=[
                CriterionCell("a", "2025H2", 40, 0.5, 0.4, 0.6, "met"),
                CriterionCell("b", "2025H2", 40, 0.5, 0.4, 0.6, "met"),
                CriterionCell("all", "2025H2", 80, 0.5, 0.4, 0.6, "met"),
                CriterionCell("a", "2026H1", 40, 0.3, 0.2, 0.4, "met"),
                CriterionCell("b", "2026H1", n_latest, 0.3, 0.2, 0.4, "met"),
                CriterionCell("all", "2026H1", 40 + n_latest, 0.3, 0.2, 0.4, "met"),
            ]
        )

    assert _trend_safe(cells(40), Rule(K), office_level=False)
    assert not _trend_safe(cells(3), Rule(K), office_level=False)
    assert _trend_safe(cells(3), Rule(K), office_level=True)  # offices, not people


def test_no_interaction_line_from_fewer_than_k_on_a_side(reports) -> None:  # noqa: F811
    """A demo chain with its context's cases cut to 3 (min_cases below k would allow an
    effect): the context comparison is not shown; with 30 it is."""
    import copy

    from cmo.report.audit import primary
    from cmo.report.build import _chain
    from cmo.report.disclosure import Shown, chain_tables
    from cmo.report.i18n import Texts

    report, _ = reports["en"]
    chain = next(
        c for c in report.analysis.chains if any(i.effect is not None for i in c.interactions)
    )
    t = Texts("en")
    lines = {}
    for n in (3, 30):
        cut = copy.deepcopy(chain)
        inter = next(i for i in cut.interactions if i.effect is not None)
        test = next(x for x in cut.tests if x.context == inter.context)
        test.n = n
        tables = Tables()
        chain_tables(tables, SimpleNamespace(chains=[cut], provenance={}))
        shown = Shown(primary(tables, K), t, K)
        lines[n] = _chain(cut, t, Rule(K), {}, shown)["interactions"]
    assert lines[3] == [] or all(test.label not in line for line in lines[3])
    assert any(test.label in line for line in lines[30])


def test_demo_report_audit_and_data_quality(reports) -> None:  # noqa: F811
    """The bundled examples: the audit passes, hides few counts, and the data-quality section
    shows numbers, not dots."""
    _report, path = reports["en"]
    html = path.read_text("utf-8")
    pub = read_page(html, K)
    hidden = [k for k, p in pub.items() if p.kind in ("small", "hidden")]
    quality = [k for k in pub if k[:2] in ("b:", "q:", "m:", "r:")]
    assert len(quality) > 100
    assert sum(1 for k in quality if k in hidden) <= 0.1 * len(quality)


def test_shareable_analysis_obeys_the_k_rules(small_report) -> None:
    """What `cmo analyse --format json` can hand out: no count of people from 1 to k−1, no
    estimate from fewer than k cases, no counts by office."""
    import json

    from cmo.report.disclosure import shareable

    report, _ = small_report
    d = shareable(report.analysis, Rule(K))
    json.dumps(d)  # still JSON
    assert d["disclosure"] == {"k": K, "applied": True}
    for chain in d["chains"]:
        for test in chain["tests"]:
            assert not (isinstance(test["n"], int) and 0 < test["n"] < K)
            assert all(not (isinstance(v, int) and 0 < v < K) for v in test["excluded"].values())
            if not isinstance(test["n"], int) or test["n"] < K:
                assert test["effect"] is None and test["verdict"] == "too_little_data"
        assert all(o["n"] is None for o in chain["by_office"])
        assert all(i["n"] is None for i in chain["interactions"])
    inari = [c for cr in d["criteria"] for c in cr["cells"] if c["office"] == "inari"]
    assert inari and all(c["estimate"] is None and c["n"] == "<5" for c in inari)
    pooled = [c for cr in d["criteria"] for c in cr["cells"] if c["office"] == "all"]
    assert pooled and all(c["estimate"] is None for c in pooled)


def test_a_share_never_tells_how_many_few_people() -> None:
    """The threshold applies to a share's numerator too: 3 of 40 (or 37 of 40) is not shown
    as 8 % (or 93 %), and then neither is the pooled share nor the trend."""
    from cmo.analysis.results import CriterionCell, CriterionResult
    from cmo.report.disclosure import Rule
    from cmo.report.i18n import Texts
    from cmo.report.scorecard import _criterion_row

    def crit(estimates: dict[str, float]) -> CriterionResult:
        cells = []
        for period in ("2025H2", "2026H1"):
            for office, p in estimates.items():
                cells.append(CriterionCell(office, period, 40, p, p - 0.05, p + 0.05, "uncertain"))
        return CriterionResult(
            "t",
            "c",
            "Share",
            "i",
            "share",
            {"at_least": 0.5, "at_most": None},
            cells,
            {"all": "up"},
        )

    t = Texts("en")
    few = _criterion_row(
        crit({"a": 3 / 40, "b": 0.5, "all": 23 / 80}), ["a", "b"], t, Rule(5), False
    )
    assert [c["text"] for c in few["cells"]] == ["·", "50%", "·"]
    assert few["trend"] == t("trend_hidden")
    many = _criterion_row(
        crit({"a": 37 / 40, "b": 0.5, "all": 57 / 80}), ["a", "b"], t, Rule(5), False
    )
    assert many["cells"][0]["text"] == "·"
    fine = _criterion_row(
        crit({"a": 10 / 40, "b": 0.5, "all": 30 / 80}), ["a", "b"], t, Rule(5), False
    )
    assert [c["text"] for c in fine["cells"]] == ["25%", "50%", "38%"]


def test_clients_under_two_offices_are_reported_by_count(tmp_path) -> None:
    """The same pseudonym collected under two offices is named in the report's data quality,
    as a count that obeys the k-rule (issue: collect in the wild)."""
    from cmo.collect import collect
    from cmo.report import build_report

    from .collect_helpers import make_workspace, write

    ws = make_workspace(tmp_path / "ws", offices=("kemi", "inari"))
    header = "Asiakasnumero;Työntekijä;Jakso;Mittauskerta;Osallisuus;Luottamus\n"
    rows = "".join(
        f"C{i};T{i % 3};2026H1;seuranta;{1 + i % 5};{1 + (i * 3) % 5}\n" for i in range(40)
    )
    collect(ws, "kemi", [write(tmp_path / "kemi.csv", header + rows)])
    shared = "".join(f"C{i};T9;2026H1;seuranta;3;3\n" for i in range(3))  # 3 seen in Kemi too
    more = "".join(f"I{i};T8;2026H1;seuranta;{1 + i % 5};2\n" for i in range(40))
    collect(ws, "inari", [write(tmp_path / "inari.csv", header + shared + more)])
    html = build_report(ws, lang="en", refuters="none").html
    assert "appear under more than one office" in html
    line = next(part for part in html.split("<p>") if "under more than one office" in part)
    assert "&lt;5" in line and ">3<" not in line  # 3 clients: shown as <5, never as 3

"""Disclosure control for the report: the k-rule, the report's counts as one system of tables
(:mod:`cmo.report.audit` proves it safe), the rule against differencing filtered reports, and
the text of each published count.

What describes **people** — clients and workers: rows in and accepted per batch, cases per
chain and context, cases left out, rows missing an indicator — is a sensitive cell: 1 … k−1
is shown as ``<k``. What describes **the data** — quarantined rows and cells by reason, rows
of office-level batches (one row is the office itself) — is shown as it is, but it is in the
same system: where it would let a hidden count be worked out, it is hidden too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from cmo.report.audit import HIDDEN, SMALL, DisclosureError, Published, Tables, protect


@dataclass(frozen=True)
class Rule:
    k: int

    def small(self, n: int | None) -> bool:
        """A count that must not be shown (1 … k−1)."""
        return n is not None and 0 < n < self.k

    def enough(self, n: int | None) -> bool:
        """Whether an estimate, verdict, share or trend from ``n`` cases may be shown."""
        return n is not None and n >= self.k

    def label(self) -> str:
        return f"<{self.k}"


class FilterRefused(DisclosureError):
    """A filtered report whose difference from the unfiltered one would show a small count."""


def check_filter(store: Any, offices: Sequence[str], periods: Sequence[str], rule: Rule) -> int:
    """The rule against differencing: a report filtered by office or period is refused when
    the rows or the clients or workers it leaves out (against the unfiltered report) are
    1 … k−1; it is made with every count of people rounded to a multiple of k. Returns the
    rounding base (1 when nothing is filtered)."""
    if not offices and not periods:
        return 1
    from cmo.store.sql import scope

    conditions, params = scope(offices, periods)
    where = " AND ".join(["1=1", *conditions])
    for table, key, unit in (
        ("case_observations", "case_key", "clients"),
        ("worker_observations", "worker_key", "workers"),
    ):
        for what, count in ((f"rows of {unit}", "count(*)"), (unit, f"count(DISTINCT {key})")):
            everything = int(store.con.execute(f"SELECT {count} FROM {table}").fetchone()[0])
            sql = f"SELECT {count} FROM {table} WHERE {where}"
            chosen = int(store.con.execute(sql, params).fetchone()[0])
            if rule.small(everything - chosen):
                raise FilterRefused(
                    f"the filter leaves out fewer than {rule.k} {what}: set against the "
                    "unfiltered report it would show them",
                    hint="widen or drop --office/--period",
                )
    return rule.k


def chain_tables(tables: Tables, result: Any) -> None:
    """Clients, cases per chain and context, and cases left out, with what a reader can infer:
    contexts that partition a chain's cases add up to the chain's cases (an *everywhere*
    test, or the cases of the context comparison); chains over the same cases have the same
    total; the same context with the same cases in two chains has the same count."""
    totals: dict[int, list[str]] = {}
    by_context: dict[tuple[str, int], list[str]] = {}
    clients = tables.cell("c:clients", int(result.provenance.get("cases", 0)))
    for chain in result.chains:
        cid = f"{chain.theory}-{chain.chain}"
        keys = {}
        for test in chain.tests:
            keys[test.context] = tables.cell(f"n:{cid}:{test.context}", test.n)
            by_context.setdefault((test.context, test.n), []).append(keys[test.context])
            for reason, count in sorted(test.excluded.items()):
                tables.cell(f"x:{cid}:{test.context}:{reason.replace(' ', '_')}", count)
        parts = [k for c, k in keys.items() if c != "everywhere"]
        total = sum(t.n for t in chain.tests if t.context != "everywhere")
        known = {i.n for i in chain.interactions}
        everywhere = next((t.n for t in chain.tests if t.context == "everywhere"), None)
        if len(parts) > 1 and (known == {total} or everywhere == total):
            latent = tables.cell(f"latent:{cid}", total, sensitive=False)
            tables.total(latent, parts, f"the contexts of {cid} partition its cases")
            if everywhere == total:
                tables.same(latent, keys["everywhere"], f"{cid}: everywhere = its contexts")
            totals.setdefault(total, []).append(latent)
            if tables.cells[clients].value >= total:  # a chain's cases are among the clients
                tables.at_least(clients, [latent], f"{cid}'s cases are clients")
    for group in [*totals.values(), *by_context.values()]:
        for other in group[1:]:
            tables.same(group[0], other, "the same cases in two chains")


def batch_tables(tables: Tables, batches: Sequence[Any]) -> None:
    """Rows in = accepted + quarantined, per batch. Rows of office-level batches are offices."""
    for b in batches:
        people = b.level != "office"
        rows_in = tables.cell(f"b:{b.batch_id}:in", b.rows_in, sensitive=people)
        ok = tables.cell(f"b:{b.batch_id}:ok", b.rows_accepted, sensitive=people)
        q = tables.cell(f"b:{b.batch_id}:q", b.rows_quarantined, sensitive=False)
        tables.total(rows_in, [ok, q], "rows in = accepted + quarantined")


@dataclass
class Shown:
    """The text of every published count, once suppression is settled."""

    published: dict[str, Published]
    t: Any
    k: int

    def text(self, key: str) -> str:
        pub = self.published[key]
        if pub.kind == SMALL:
            return f"<{self.k}"
        if pub.kind == HIDDEN:
            return "·"
        if pub.kind == "share":
            return str(self.t.percent(pub.value / 100, 0))
        return str(self.t.integer(int(pub.value)))

    def cell(self, key: str, *, percent: bool = False) -> Markup:
        """The count as it goes on the page, marked for the audit (``percent``: a column of
        shares, where an exact none reads 0 %)."""
        pub = self.published[key]
        share = f' data-share="{escape(pub.of)}"' if pub.kind == "share" else ""
        text = self.text(key)
        if percent and pub.kind == "exact" and pub.value == 0:
            text = str(self.t.percent(0.0, 0))
        return Markup(f'<span data-cell="{escape(key)}"{share}>{escape(text)}</span>')

    def hidden(self, key: str) -> bool:
        return self.published[key].kind in (SMALL, HIDDEN)


def settle(tables: Tables, rule: Rule, t: Any, base: int, shares: dict[str, str]) -> Shown:
    """Primary and complementary suppression over all of the report's tables."""
    return Shown(protect(tables, rule.k, base, shares), t, rule.k)


def shareable(
    result: Any, rule: Rule, office_level: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """``result.to_dict()`` with the report's k-rules applied, for an analysis that leaves the
    evaluators (``cmo analyse --format json|csv`` may offer it): every count of people as the
    report shows it (``"<k"``, ``"·"`` or the number, after complementary suppression), no
    verdict, effect, mediation, refutation, interaction or trend from fewer than k cases, no
    counts by office (they add up to the contexts'), criteria cells from fewer than k cases
    without estimates — and then the pooled cell of that period too. Criteria on
    ``office_level`` indicators describe offices and are left as they are."""
    tables = Tables()
    chain_tables(tables, result)
    published = protect(tables, rule.k)

    def count(key: str) -> int | str:
        pub = published[key]
        return f"<{rule.k}" if pub.kind == SMALL else "·" if pub.kind == HIDDEN else int(pub.value)

    d: dict[str, Any] = result.to_dict()
    d["disclosure"] = {"k": rule.k, "applied": True}
    d["provenance"]["cases"] = count("c:clients")
    for chain, cd in zip(result.chains, d["chains"], strict=True):
        cid = f"{chain.theory}-{chain.chain}"
        sizes = {t.context: t.n for t in chain.tests}
        for test, td in zip(chain.tests, cd["tests"], strict=True):
            td["n"] = count(f"n:{cid}:{test.context}")
            td["excluded"] = {
                r: count(f"x:{cid}:{test.context}:{r.replace(' ', '_')}") for r in test.excluded
            }
            if not rule.enough(test.n):
                td.update(verdict="too_little_data", verdict_text="too little data")
                td.update(effect=None, mediation=None, refutation=None)
        for inter, idd in zip(chain.interactions, cd["interactions"], strict=True):
            inside = sizes.get(inter.context, 0)
            idd["n"] = None  # the contexts' total: it would undo their suppression
            if not (rule.enough(inside) and rule.enough(inter.n - inside)):
                idd.update(effect=None, difference="untested")
        for test, od in zip(chain.by_office, cd["by_office"], strict=True):
            od["n"] = None
            if not rule.enough(test.n):
                od.update(effect=None, mediation=None, refutation=None)
    for crit, cr in zip(result.criteria, d["criteria"], strict=True):
        if crit.indicator in office_level:
            continue
        small = {c.period for c in crit.cells if c.office != "all" and rule.small(c.n)}
        for cell, cd in zip(crit.cells, cr["cells"], strict=True):
            cd["n"] = f"<{rule.k}" if rule.small(cell.n) else cell.n
            if not rule.enough(cell.n) or (cell.office == "all" and cell.period in small):
                cd.update(estimate=None, ci_low=None, ci_high=None, status="no data")
        if small:
            cr["trends"] = dict.fromkeys(cr["trends"], "hidden")
    return d

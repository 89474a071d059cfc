"""Disclosure control that is proven: every count a report shows is a cell of one system of
tables with its linear relations, and the rendered page is audited by integer programming.

The model (:class:`Tables`):

- a **cell** is a true count with a key; *sensitive* cells count people (clients, workers),
  the others describe the data (quarantined rows and cells, office-level rows);
- **relations** are what a reader can know or guess about the cells: equalities
  ``Σ coef·x = 0`` (a total is the sum of its parts; a chain's contexts partition its cases;
  two chains that evidently share their cases have the same total) and inequalities
  ``Σ coef·x ≥ 0`` (every quarantined row has at least one quarantined cell);
- what a page **publishes** of a cell is read back from the page itself (``data-cell``
  attributes): a number (exact, or rounded to a base), ``<k`` (1 … k−1), ``·`` (hidden; for
  a sensitive cell that means 0 is ruled out and so is 1 … k−1: it is at least k), or a share
  of another cell rounded to whole per cents (``data-share``: numerator and denominator keys).

**The protection rule** (documented in docs/report.md): for every small count of people,
the feasible integer interval given everything on the page and all relations must stay at
least half as wide as what ``<k`` says (1 … k−1): for k = 5, at least three possible values
(such as 2…4) — never pinned, never narrowed to two. The audit computes, per such cell, the
minimum and maximum by mixed-integer linear programming (``scipy.optimize.milp``, HiGHS):
the protection intervals of τ-ARGUS and sdcTable.

:func:`protect` chooses the complementary suppressions (greedy: while the audit finds a
narrowed cell, hide the smallest eligible other cell of one of its relations) and
:func:`audit_page` re-checks the rendered HTML before the report is written.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser

from cmo.errors import CmoError

SMALL, HIDDEN = "small", "hidden"


class DisclosureError(CmoError):
    """A report would let a hidden count be worked out: it is not written."""


@dataclass(frozen=True)
class Cell:
    key: str
    value: int
    #: Counts people (clients, workers): primary suppression applies.
    sensitive: bool = True


@dataclass(frozen=True)
class Relation:
    """``Σ coef·x = 0`` (``equal``) or ``Σ coef·x ≥ 0``; ``why`` says what a reader knows."""

    coefs: tuple[tuple[str, int], ...]
    equal: bool
    why: str

    @property
    def keys(self) -> list[str]:
        return [k for k, _ in self.coefs]


@dataclass
class Tables:
    """The counts one report shows and what links them."""

    cells: dict[str, Cell] = field(default_factory=dict)
    relations: list[Relation] = field(default_factory=list)

    def cell(self, key: str, value: int, *, sensitive: bool = True) -> str:
        if key in self.cells and self.cells[key].value != value:
            raise ValueError(f"cell {key} given two values")
        self.cells[key] = Cell(key, int(value), sensitive)
        return key

    def total(self, total: str, parts: Iterable[str], why: str) -> None:
        """``total = Σ parts``."""
        coefs = [(total, 1), *((p, -1) for p in parts)]
        self._add(Relation(tuple(coefs), True, why))

    def same(self, a: str, b: str, why: str) -> None:
        self._add(Relation(((a, 1), (b, -1)), True, why))

    def at_least(self, big: str, small: Iterable[str], why: str) -> None:
        """``big ≥ Σ small``."""
        self._add(Relation(((big, 1), *((s, -1) for s in small)), False, why))

    def _add(self, rel: Relation) -> None:
        value = sum(c * self.cells[k].value for k, c in rel.coefs)
        if value != 0 if rel.equal else value < 0:  # a relation must hold in the data
            raise ValueError(f"relation does not hold: {rel.why}")
        self.relations.append(rel)


@dataclass(frozen=True)
class Published:
    """What a page shows of one cell."""

    kind: str  # "exact", "rounded", "small", "hidden", "share"
    value: float = 0.0  # the number shown (for a share: per cent)
    base: int = 1  # rounding base
    of: str = ""  # a share's denominator


@dataclass(frozen=True)
class Finding:
    """A ``<k`` cell the page narrows: feasible values ``low … high``."""

    key: str
    low: int
    high: int

    def __str__(self) -> str:
        return f"{self.key}: can be narrowed to {self.low}…{self.high}"


# -- display --------------------------------------------------------------------------------


def rounded(n: int, base: int) -> int:
    """Round half up to a multiple of ``base``."""
    return math.floor(n / base + 0.5) * base if base > 1 else n


def share_percent(num: int, den: int) -> int:
    """A share in whole per cents, never 0 % unless exactly none nor 100 % unless all."""
    p = math.floor(100 * num / den + 0.5)
    if num and p == 0:
        return 1
    if num < den and p == 100:
        return 99
    return p


# -- the audit ------------------------------------------------------------------------------


def protection(k: int) -> int:
    """The width a small count's feasible interval must keep: half of what ``<k`` leaves
    (1 … k−1), rounded up — for k = 5, three possible values such as 2…4."""
    return math.ceil((k - 1) / 2)


def protected(low: int, high: int, k: int) -> bool:
    return high - low >= protection(k)


def _bounds(cell: Cell, pub: Published | None, k: int) -> tuple[float, float]:
    if pub is None:
        return (0.0, math.inf)
    if pub.kind == "exact":
        return (pub.value, pub.value)
    if pub.kind == "small":
        return (1.0, float(k - 1))
    if pub.kind == "hidden":
        return (float(k), math.inf) if cell.sensitive else (0.0, math.inf)
    if pub.kind == "rounded":
        low = pub.value - (pub.base - 1) // 2 if pub.base % 2 else pub.value - pub.base / 2
        high = pub.value + pub.base / 2 - (1 if pub.base % 2 == 0 else 0.5)
        low = max(low, float(k) if cell.sensitive else 0.0)
        return (math.ceil(low), math.floor(high))
    return (0.0, math.inf)  # share: linked to its denominator by two inequalities


def _components(
    tables: Tables, keys: Iterable[str], published: dict[str, Published]
) -> list[tuple[set[str], list[Relation]]]:
    """The connected parts of the system (by relations and shares) that hold ``keys``."""
    parent: dict[str, str] = {}

    def find(a: str) -> str:
        while parent.setdefault(a, a) != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for rel in tables.relations:
        for other in rel.keys[1:]:
            parent[find(other)] = find(rel.keys[0])
    for key, pub in published.items():
        if pub.kind == "share":
            parent[find(key)] = find(pub.of)
    roots = {find(key) for key in keys}
    members: dict[str, set[str]] = {r: set() for r in roots}
    for key in list(parent):
        if find(key) in members:
            members[find(key)].add(key)
    for key in keys:
        members[find(key)].add(key)
    return [
        (members[r], [rel for rel in tables.relations if find(rel.keys[0]) == r])
        for r in sorted(roots)
    ]


def audit(
    tables: Tables, published: dict[str, Published], k: int, only: Iterable[str] | None = None
) -> list[Finding]:
    """Every small count of people (of ``only``, if given) whose feasible integer interval,
    given what is published and the relations, is narrower than :func:`protection`."""
    # the cells shown as <k, and any small count of people shown some other way (a share, …)
    small = [
        key
        for key, p in published.items()
        if p.kind == SMALL or (tables.cells[key].sensitive and 0 < tables.cells[key].value < k)
    ]
    if only is not None:
        wanted = set(only)
        small = [key for key in small if key in wanted]
    findings = []
    for members, rels in _components(tables, small, published):
        findings += _audit_component(tables, published, k, members, rels, set(small))
    return findings


def _audit_component(
    tables: Tables,
    published: dict[str, Published],
    k: int,
    members: set[str],
    rels: list[Relation],
    small: set[str],
) -> list[Finding]:
    import numpy as np
    from scipy.optimize import Bounds, LinearConstraint, milp

    names = sorted(members)
    index = {n: i for i, n in enumerate(names)}
    lows, highs = zip(*(_bounds(tables.cells[n], published.get(n), k) for n in names), strict=True)
    rows, lo, hi = [], [], []
    for rel in rels:
        row = np.zeros(len(names))
        for key, c in rel.coefs:
            row[index[key]] += c
        rows.append(row)
        lo.append(0.0)
        hi.append(0.0 if rel.equal else math.inf)
    for n in names:  # a share p % of d: (p − ½)·d ≤ 100·x ≤ (p + ½)·d
        pub = published.get(n)
        if pub is not None and pub.kind == "share":
            if pub.of not in index:
                raise DisclosureError(f"share {n} of {pub.of}, which is not linked to it")
            row = np.zeros(len(names))
            row[index[n]] = 100.0
            row[index[pub.of]] -= pub.value + 0.5
            rows.append(row.copy())
            lo.append(-math.inf)
            hi.append(0.0)
            row[index[pub.of]] += 1.0  # now − (p − ½)
            rows.append(row)
            lo.append(0.0)
            hi.append(math.inf)
    constraints = [LinearConstraint(np.array(rows), lo, hi)] if rows else []
    bounds = Bounds(np.array(lows, float), np.array(highs, float))
    integral = np.ones(len(names))
    findings = []
    for key in sorted(members & small):
        ends = []
        for sign in (1.0, -1.0):
            objective = np.zeros(len(names))
            objective[index[key]] = sign
            res = milp(objective, constraints=constraints, bounds=bounds, integrality=integral)
            if res.status != 0:
                raise DisclosureError(f"the published counts are inconsistent at {key}")
            ends.append(round(sign * res.fun))
        if not protected(ends[0], ends[1], k):
            findings.append(Finding(key, ends[0], ends[1]))
    return findings


# -- choosing what to hide ------------------------------------------------------------------


def primary(tables: Tables, k: int, base: int = 1) -> dict[str, Published]:
    """Sensitive counts 1 … k−1 as ``<k``; everything else as it is (rounded to ``base``)."""
    out = {}
    for key, cell in tables.cells.items():
        if key.startswith("latent:"):
            continue
        if cell.sensitive and 0 < cell.value < k:
            out[key] = Published(SMALL)
        elif cell.sensitive and base > 1 and cell.value:
            out[key] = Published("rounded", rounded(cell.value, base), base)
        else:
            out[key] = Published("exact", cell.value)
    return out


def protect(
    tables: Tables, k: int, base: int = 1, shares: dict[str, str] | None = None
) -> dict[str, Published]:
    """Primary suppression, then complementary suppression until the audit passes.

    ``shares``: cells published as a share of another (numerator → denominator key)."""
    published = primary(tables, k, base)
    for num, den in (shares or {}).items():
        if published[num].kind != SMALL and tables.cells[den].value:
            published[num] = Published(
                "share", share_percent(tables.cells[num].value, tables.cells[den].value), of=den
            )
    for _ in range(len(tables.cells) + 1):
        findings = audit(tables, published, k)
        if not findings:
            return published
        key = _complement(tables, published, k, findings[0])
        published[key] = Published(HIDDEN)
        for num, pub in list(published.items()):  # a share of a hidden count goes too
            if pub.kind == "share" and pub.of == key:
                value = tables.cells[num].value
                published[num] = Published("exact", 0) if value == 0 else Published(HIDDEN)
    raise DisclosureError("complementary suppression did not settle")


def _complement(tables: Tables, published: dict[str, Published], k: int, finding: Finding) -> str:
    """The cell to hide for a narrowed one: among the shown cells of its relations, then of
    their neighbours' and so on — nearest first, then smallest — the first whose hiding alone
    protects it; if none does, the nearest smallest (and the loop goes on)."""
    seen, frontier = {finding.key}, {finding.key}
    candidates: list[tuple[int, bool, int, str]] = []
    distance = 0
    while frontier:
        distance += 1
        rels = [r for r in tables.relations if frontier & set(r.keys)]
        frontier = {key for r in rels for key in r.keys} - seen
        seen |= frontier
        candidates += sorted(
            (distance, c.value == 0, c.value, c.key)
            for c in (tables.cells[key] for key in frontier)
            if c.key in published
            and published[c.key].kind not in (SMALL, HIDDEN)
            and (not c.sensitive or c.value >= k)
        )
    if not candidates:
        raise DisclosureError(f"cannot protect {finding}: nothing left to hide")
    for *_, key in candidates[:40]:
        trial = {**published, key: Published(HIDDEN)}
        if not audit(tables, trial, k, only=[finding.key]):
            return key
    return candidates[0][3]


# -- reading a page back --------------------------------------------------------------------

_NUMBER = re.compile(r"-?\d[\d\u00a0\u202f, ]*")


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, tuple[str, str]] = {}  # key → (text, share denominator)
        self._open: list[tuple[str, str, list[str]] | None] = []
        self.base = 1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "body" and a.get("data-rounding"):
            self.base = int(a["data-rounding"] or 1)
        key = a.get("data-cell")
        self._open.append((key, a.get("data-share") or "", []) if key else None)

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            item = self._open.pop()
            if item is not None:
                key, share, text = item
                if key in self.found and self.found[key][0] != " ".join("".join(text).split()):
                    raise DisclosureError(f"cell {key} is shown twice with different values")
                self.found[key] = (" ".join("".join(text).split()), share)
            break

    def handle_data(self, data: str) -> None:
        for item in self._open:
            if item is not None:
                item[2].append(data)


def read_page(html: str, k: int) -> dict[str, Published]:
    """What a rendered page publishes of each ``data-cell``."""
    parser = _Cells()
    parser.feed(html)
    out = {}
    for key, (text, share) in parser.found.items():
        if text == f"<{k}" or text.startswith((f"<{k} ", f"< {k}")):
            out[key] = Published(SMALL)
        elif text in ("·", ""):
            out[key] = Published(HIDDEN)
        else:
            match = _NUMBER.search(text.replace("−", "-"))
            if match is None:
                raise DisclosureError(f"cell {key}: cannot read {text!r}")
            value = float(re.sub(r"[\u00a0\u202f, ]", "", match.group()))
            if share:
                out[key] = Published("share", value, of=share)
            elif parser.base > 1 and value:
                out[key] = Published("rounded", value, parser.base)
            else:
                out[key] = Published("exact", value)
    return out


def audit_page(html: str, tables: Tables, k: int) -> list[Finding]:
    """Audit a rendered page: read what it shows, check every cell it shows exactly against
    the model (a shown number must be the true one, a share its true rounding), and return
    the ``<k`` cells the page narrows."""
    published = read_page(html, k)
    for key, pub in published.items():
        cell = tables.cells.get(key)
        if cell is None:
            raise DisclosureError(f"the page shows a count the audit does not know: {key}")
        if pub.kind == "exact" and cell.sensitive and 0 < cell.value < k:
            return [Finding(key, cell.value, cell.value)]
    missing = [
        key for key in tables.cells if not key.startswith("latent:") and key not in published
    ]
    if missing:
        raise DisclosureError(f"counts the audit expected are not on the page: {missing[:5]}")
    return audit(tables, published, k)

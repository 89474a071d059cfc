"""Disclosure audit: the counts a report publishes as one system of linear relations, an exact
check that no hidden count can be worked out, and complementary suppression until it cannot.

A report's counts are *cells*. Each cell has its true value and one of four states:

- ``exact``: published as a number;
- ``small``: published as ``<k`` — the reader knows only that it lies in 1 … k−1;
- ``hidden``: published as ``·`` — the reader knows only that it is a count (≥ 0);
- ``latent``: never published, but tied to published cells by relations (the members of a
  context, the cases a chain left out, the part of a count outside an ``--office`` filter).

*Relations* are linear (in)equalities between cells that a reader can know: rows in =
accepted + quarantined, the parts of a partition add up to the whole, a share × its total lies
within the share's rounding interval, a filtered count plus the filtered-out part equals the
unfiltered count.

**Protection rule.** For every cell that counts people and is not published exactly, the reader's
feasible set — the integers the cell can take given everything published, found by integer
linear programming (``scipy.optimize.milp``, minimise and maximise the cell) — must be

- the whole of 1 … k−1 for a cell shown as ``<k`` (nothing beyond the label is learned);
- for any other hidden or latent cell whose true value is 1 … k−1: the whole of 1 … k−1, or
  at least k consecutive values (max − min ≥ k−1).

Cells that describe the data rather than people (quarantined cells by reason) need no
protection of their own, but are part of the relations, so they are hidden when they would
reveal a protected cell. This is the protection-interval audit of τ-ARGUS and sdcTable, with
the interval required to cover the whole small range.

Complementary suppression is greedy: while a cell fails, the smallest exactly published cell
that shares a relation with it is hidden (cells marked ``last_resort`` only when no other is
left); then the audit is run again. If nothing is left to hide, :class:`DisclosureError`."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from cmo.errors import CmoError

State = Literal["exact", "small", "hidden", "latent"]


class DisclosureError(CmoError):
    """The report would disclose a small count; it is not written."""


@dataclass
class Cell:
    name: str
    value: int
    state: State
    protect: bool = True  # counts people (False: describes the data)
    last_resort: bool = False  # hide only when nothing else is left
    fixed: bool = False  # published elsewhere already (the unfiltered report): never hidden


@dataclass
class Relation:
    terms: dict[str, float]
    low: float  # low ≤ Σ coef · cell ≤ high
    high: float


@dataclass
class Finding:
    """A protected cell whose feasible interval is too narrow."""

    cell: str
    value: int
    low: float
    high: float

    def __str__(self) -> str:
        # no true value: the message may end up in a log that is shared
        return f"{self.cell} could be narrowed to [{self.low:g}, {self.high:g}]"


@dataclass
class Model:
    k: int
    cells: dict[str, Cell] = field(default_factory=dict)
    relations: list[Relation] = field(default_factory=list)

    # ---- building -----------------------------------------------------------------------------

    def count(
        self,
        name: str,
        value: int,
        *,
        published: bool = True,
        protect: bool = True,
        last_resort: bool = False,
    ) -> str:
        """A count; published ones start as ``exact`` or, when 1 … k−1, ``small`` (also
        cells that describe the data: "<k" says "a few" without pinning a count of people)."""
        if name in self.cells:
            raise ValueError(f"cell {name!r} twice")
        state: State
        if not published:
            state = "latent"
        elif 0 < value < self.k:
            state = "small"
        else:
            state = "exact"
        self.cells[name] = Cell(name, int(value), state, protect, last_resort)
        return name

    def equal(self, terms: dict[str, float], rhs: float = 0.0) -> None:
        """Σ coef · cell = rhs (checked against the true values)."""
        self.between(terms, rhs, rhs)

    def between(self, terms: dict[str, float], low: float, high: float) -> None:
        true = sum(c * self.cells[n].value for n, c in terms.items())
        if not low - 1e-6 <= true <= high + 1e-6:
            raise ValueError(f"relation does not hold on the true values: {terms} = {true}")
        self.relations.append(Relation(dict(terms), low, high))

    def hide(self, name: str) -> None:
        cell = self.cells[name]
        if cell.state in ("exact", "small"):
            cell.state = "hidden"

    def shown(self, name: str) -> bool:
        return self.cells[name].state == "exact"

    def text(self, name: str, integer: object = str) -> str:
        cell = self.cells[name]
        if cell.state == "exact":
            return integer(cell.value)  # type: ignore[operator,no-any-return]
        if cell.state == "small":
            return f"<{self.k}"
        return "·"

    def published_states(self) -> dict[str, State]:
        return {n: c.state for n, c in self.cells.items()}

    # ---- the audit ----------------------------------------------------------------------------

    def bounds(self, cell: Cell) -> tuple[float, float]:
        if cell.state == "exact":
            return cell.value, cell.value
        if cell.state == "small":
            return 1, self.k - 1
        return 0, math.inf

    def interval(self, name: str) -> tuple[float, float]:
        """The reader's feasible [min, max] of a cell given everything published."""
        return _interval(self, name, _component(self, name))

    def failures(self, names: Iterable[str] | None = None) -> list[Finding]:
        out = []
        for name in names if names is not None else list(self.cells):
            cell = self.cells[name]
            if not cell.protect or cell.state == "exact":
                continue
            small = 0 < cell.value < self.k
            if cell.state != "small" and not small:
                continue
            if not any(name in r.terms for r in self.relations):
                continue  # no relation: the reader knows only what the label says
            low, high = self.interval(name)
            # nothing beyond "<k": all of 1 … k−1 stays possible; a hidden cell may instead
            # keep any k consecutive values
            ok = low <= 1 and high >= self.k - 1
            if cell.state != "small":
                ok = ok or high - low >= self.k - 1
            if not ok:
                out.append(Finding(name, cell.value, low, high))
        return out

    def protect_all(self, max_rounds: int = 200) -> list[str]:
        """Complementary suppression until the audit passes; returns the cells hidden."""
        hidden: list[str] = []
        for _ in range(max_rounds):
            failing = self.failures()
            if not failing:
                return hidden
            progress = False
            for finding in failing:
                pick = self._partner(finding.cell)
                if pick is not None and self.cells[pick].state in ("exact", "small"):
                    self.hide(pick)
                    hidden.append(pick)
                    progress = True
            if not progress:
                break
        failing = self.failures()
        if failing:
            raise DisclosureError(
                "disclosure audit failed: "
                + "; ".join(str(f) for f in failing[:5])
                + (f" and {len(failing) - 5} more" if len(failing) > 5 else "")
            )
        return hidden

    def _partner(self, name: str) -> str | None:
        """The published cell to hide next for a failing cell. Candidates are the cells in a
        relation with it — directly, or through unpublished cells: ordinary before
        ``last_resort``, then nearest first, exact before ``<k`` (a ``<k`` turned into ``·``
        says less), smallest first. Of the first few, the first whose hiding protects the
        failing cell is taken; otherwise the first."""
        distance = _distances(self, name)
        options = [
            self.cells[n]
            for n in distance
            if n != name
            and self.cells[n].state in ("exact", "small")
            and self.cells[n].value > 0
            and not self.cells[n].fixed
        ]
        if not options:
            return None
        options.sort(
            key=lambda c: (c.last_resort, distance[c.name], c.state != "exact", c.value, c.name)
        )
        ordinary = [c for c in options if not c.last_resort] or options
        for cell in ordinary[:6]:
            state = cell.state
            cell.state = "hidden"
            fixed = not self.failures([name])
            cell.state = state
            if fixed:
                return cell.name
        return options[0].name

    def audit(self) -> None:
        """Raise :class:`DisclosureError` if any protected cell can be narrowed."""
        failing = self.failures()
        if failing:
            raise DisclosureError(
                "disclosure audit failed: " + "; ".join(str(f) for f in failing[:5]),
                hint="this is a bug in cmo's suppression: please report it",
            )


def _distances(model: Model, name: str) -> dict[str, int]:
    """Cells reachable from ``name`` through relations, walking on only through cells that are
    not published exactly, with the number of relations crossed."""
    by_cell: dict[str, list[int]] = {}
    for i, r in enumerate(model.relations):
        for n in r.terms:
            by_cell.setdefault(n, []).append(i)
    distance = {name: 0}
    todo = [name]
    while todo:
        nxt = []
        for n in todo:
            if n != name and model.cells[n].state == "exact":
                continue
            for i in by_cell.get(n, []):
                for m in model.relations[i].terms:
                    if m not in distance:
                        distance[m] = distance[n] + 1
                        nxt.append(m)
        todo = nxt
    return distance


def _component(model: Model, name: str) -> list[str]:
    """The cells connected with ``name`` through relations."""
    by_cell: dict[str, list[int]] = {}
    for i, r in enumerate(model.relations):
        for n in r.terms:
            by_cell.setdefault(n, []).append(i)
    seen = {name}
    todo = [name]
    while todo:
        n = todo.pop()
        for i in by_cell.get(n, []):
            for m in model.relations[i].terms:
                if m not in seen:
                    seen.add(m)
                    todo.append(m)
    return sorted(seen)


def _interval(model: Model, name: str, component: list[str]) -> tuple[float, float]:
    import numpy as np
    from scipy.optimize import Bounds, LinearConstraint, milp

    index = {n: i for i, n in enumerate(component)}
    rels = [r for r in model.relations if any(n in index for n in r.terms)]
    lows, highs = zip(*(model.bounds(model.cells[n]) for n in component), strict=True)
    bounds = Bounds(np.array(lows, float), np.array(highs, float))
    constraints = []
    if rels:
        a = np.zeros((len(rels), len(component)))
        for i, r in enumerate(rels):
            for n, coef in r.terms.items():
                a[i, index[n]] = coef
        constraints.append(LinearConstraint(a, [r.low for r in rels], [r.high for r in rels]))
    integrality = np.ones(len(component))
    out = []
    for sign in (1.0, -1.0):
        c = np.zeros(len(component))
        c[index[name]] = sign
        res = milp(c, constraints=constraints, integrality=integrality, bounds=bounds)
        if res.status == 3 or (res.status != 0 and sign < 0):  # unbounded above
            out.append(math.inf if sign < 0 else -math.inf)
        elif res.status != 0:
            raise DisclosureError(f"disclosure audit: no solution for {name} ({res.message})")
        else:
            out.append(round(sign * res.fun))
    return out[0], out[1]

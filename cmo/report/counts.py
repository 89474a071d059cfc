"""Every count a report publishes, as one :class:`~cmo.report.audit.Model` with the relations a
reader can know between them — built before the report is rendered, protected by complementary
suppression, audited, and then read by the sections for their texts.

Cell names: ``n|theory|chain|context`` (cases in the matrix), ``left|theory|chain`` (the note
"left out for missing values"), ``batch|id|in|acc|quar`` (the batch table), ``q|reason|office``,
(the quarantine table). Latent: ``members|…`` (a context's members), ``miss|…``/``unknown|…``
(a test's cases left out), ``qcol|office`` (an office's quarantined cells)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cmo.analysis import AnalysisResult
from cmo.report.audit import Model

EVERYWHERE = "everywhere"
ELSEWHERE = "elsewhere"


def n_cell(chain: Any, context: str) -> str:
    return f"n|{chain.theory}|{chain.chain}|{context}"


def left_cell(chain: Any) -> str:
    return f"left|{chain.theory}|{chain.chain}"


def _members_key(chain: Any, test: Any) -> str:
    if test.context == EVERYWHERE:
        return "members|everywhere"
    if test.context == ELSEWHERE:
        others = sorted(t.context for t in chain.tests if t.context not in (EVERYWHERE, ELSEWHERE))
        return "members|elsewhere|" + "+".join(others)
    return f"members|context|{test.context}"


def add_chains(model: Model, result: AnalysisResult) -> None:
    """The matrix's n per chain and context, and each chain's "left out" note.

    Relations: a test's cases + its cases left out for missing values = the members of its
    context, and the members of a context are the same people in every chain that tests it
    (so one chain's counts can be set against another's); the note is the sum of the left-out
    parts; within a chain, a context is a subset of "everywhere", and when the contexts and
    "elsewhere" partition the cases, their n add up to everywhere's n."""
    members: dict[str, int] = {}
    for chain in result.chains:
        for test in chain.tests:
            key = _members_key(chain, test)
            value = test.n + int(test.excluded.get("missing values", 0))
            if members.setdefault(key, value) != value:  # not the same people: keep apart
                members[f"{key}|{chain.theory}|{chain.chain}"] = value
    for key, value in members.items():
        model.count(key, value, published=False)
    for chain in result.chains:
        parts: dict[str, float] = {}
        left = 0
        for test in chain.tests:
            name = model.count(n_cell(chain, test.context), test.n, last_resort=True)
            missing = int(test.excluded.get("missing values", 0))
            unknown = sum(int(v) for k, v in test.excluded.items() if k != "missing values")
            miss = model.count(
                f"miss|{chain.theory}|{chain.chain}|{test.context}", missing, published=False
            )
            unk = model.count(
                f"unknown|{chain.theory}|{chain.chain}|{test.context}", unknown, published=False
            )
            parts[miss] = 1
            parts[unk] = 1
            left += missing + unknown
            key = _members_key(chain, test)
            own = f"{key}|{chain.theory}|{chain.chain}"
            key = own if own in members else key
            model.equal({name: 1, miss: 1, key: -1})
        # the note is left out when nothing was: its absence publishes a zero
        model.count(left_cell(chain), left)
        model.equal({**parts, left_cell(chain): -1})
        every = next((t for t in chain.tests if t.context == EVERYWHERE), None)
        if every is not None and len(chain.tests) > 1:
            others = [t for t in chain.tests if t is not every]
            for t in others:
                model.between(
                    {n_cell(chain, t.context): 1, n_cell(chain, EVERYWHERE): -1}, -math.inf, 0
                )
            if sum(t.n for t in others) == every.n:
                model.equal(
                    {**{n_cell(chain, t.context): 1 for t in others}, n_cell(chain, EVERYWHERE): -1}
                )


@dataclass
class QualityCounts:
    batches: list[Any]  # the batches shown, in order
    offices: list[str]
    reasons: list[str]
    cells: dict[tuple[str, str], int]  # (reason, office) → quarantined cells


def add_quality(model: Model, q: QualityCounts) -> None:
    """The batch table and the quarantine table.

    Batch rows of cases and workers count people: rows in = accepted + quarantined. Office-level
    batches (one row per office) describe offices and are not part of the model: they are shown
    as they are. Quarantined cells by reason describe the data: they need no protection of their
    own, but every quarantined row has at least one quarantined cell, so an office's quarantined
    cells are at least its quarantined rows (equal when each row had one bad value) — they are
    hidden where they would reveal a row count. The table has no totals: a total of cells shown
    as "<k" would narrow each of them."""
    office_quar: dict[str, int] = {}
    people: dict[str, list[str]] = {}
    for b in q.batches:
        if b.level == "office":
            office_quar[b.office] = office_quar.get(b.office, 0) + b.rows_quarantined
            continue
        base = f"batch|{b.batch_id}"
        model.count(f"{base}|in", b.rows_in, last_resort=True)  # the batch's size: keep
        model.count(f"{base}|acc", b.rows_accepted)
        model.count(f"{base}|quar", b.rows_quarantined)
        model.equal({f"{base}|in": 1, f"{base}|acc": -1, f"{base}|quar": -1})
        people.setdefault(b.office, []).append(f"{base}|quar")
    if not q.reasons:
        return
    for reason in q.reasons:
        for office in q.offices:
            model.count(f"q|{reason}|{office}", q.cells.get((reason, office), 0), protect=False)
    for office in q.offices:
        total = sum(q.cells.get((r, office), 0) for r in q.reasons)
        # an office's quarantined cells: not shown (a total of small cells would narrow them)
        model.count(f"qcol|{office}", total, published=False, protect=False)
        model.equal({**{f"q|{r}|{office}": 1 for r in q.reasons}, f"qcol|{office}": -1})
        rows = people.get(office, [])
        if rows:
            rows_true = sum(model.cells[n].value for n in rows) + office_quar.get(office, 0)
            terms = {f"qcol|{office}": 1.0, **dict.fromkeys(rows, -1.0)}
            low = float(office_quar.get(office, 0))
            high = low if total == rows_true else math.inf
            model.between(terms, low, high)


def add_filtered(model: Model, full: Model, names: Sequence[str]) -> None:
    """A filtered report against the unfiltered one (as published, with its relations): the
    filtered count + the part outside the filter = the unfiltered count. The unfiltered
    report's cells are fixed (it may already be out); only the filtered report's are hidden."""
    for name, cell in full.cells.items():
        model.count(f"full|{name}", cell.value, published=False, protect=cell.protect)
        new = model.cells[f"full|{name}"]
        new.state = cell.state
        new.fixed = True
    for r in full.relations:
        model.relations.append(type(r)({f"full|{n}": c for n, c in r.terms.items()}, r.low, r.high))
    for name in names:
        if name in full.cells and name in model.cells:
            outside = model.count(
                f"outside|{name}",
                full.cells[name].value - model.cells[name].value,
                published=False,
                protect=full.cells[name].protect,
            )
            model.equal({name: 1, outside: 1, f"full|{name}": -1})

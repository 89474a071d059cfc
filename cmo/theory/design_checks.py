"""Checks of a theory's design and of what its texts may hold, beside the language checks of
:mod:`cmo.theory.checks` (which runs them): designs that can mislead (A001, A002; `cmo analyse`
adds A002–A004 from the data) and personal identity codes in any text (P001)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cmo.source import Loc
from cmo.theory.index import Placed, Workspace, resolve
from cmo.theory.load import LoadedFile
from cmo.theory.models import ProgrammeTheory

# --------------------------------------------------------------------------------------------
# Designs that can mislead (A001, A002; `cmo analyse` adds what only the data show)
# --------------------------------------------------------------------------------------------


def _condition_indicators(cond: Any) -> Iterator[str]:
    """Every indicator a (structured) condition reads, through all/any/not."""
    if cond is None:
        return
    if isinstance(cond, list):
        for c in cond:
            yield from _condition_indicators(c)
        return
    indicator = getattr(cond, "indicator", None)
    if isinstance(indicator, str):
        yield indicator
    for key in ("all", "any", "not_", "not"):
        yield from _condition_indicators(getattr(cond, key, None))


def check_design(ws: Workspace, th: Placed[ProgrammeTheory]) -> None:
    lf = th.file
    theory = th.obj
    for i, chain in lf.items("chains"):
        outcome = resolve(ws, theory, "outcomes", chain.outcome)
        mechanism = resolve(ws, theory, "mechanisms", chain.mechanism)
        if outcome is None:
            continue
        for j, ref in enumerate(chain.contexts):
            ctx = resolve(ws, theory, "contexts", ref)
            if ctx is not None and outcome.indicator in set(_condition_indicators(ctx.when)):
                ws.add(
                    lf.finding(
                        "A001",
                        f"context '{ctx.id}' is defined on '{outcome.indicator}', the "
                        f"indicator of the chain's outcome '{outcome.id}': cases chosen for a "
                        "low or high value move back towards the average by themselves",
                        ("chains", i, "contexts", j),
                    )
                )
        point = getattr(mechanism, "measurement_point", None)
        if (
            mechanism is not None
            and outcome.change is None
            and point is not None
            and point == outcome.measurement_point
        ):
            ws.add(
                lf.finding(
                    "A002",
                    f"mechanism '{mechanism.id}' and outcome '{outcome.id}' are both taken at "
                    f"'{point}': the data cannot tell which came first",
                    ("chains", i, "mechanism"),
                )
            )


# --------------------------------------------------------------------------------------------
# Personal identity codes (P001): theory and indicator texts are shown in every report
# --------------------------------------------------------------------------------------------

#: Walk at most this many values of a document (a hostile file is bounded elsewhere).
_MAX_SCAN = 1_000_000


def check_identity_codes(ws: Workspace, lf: LoadedFile) -> None:
    """Every text of a theory or indicator file (labels, descriptions, aliases, sources, ids)
    ends up in reports, summaries or the store: one holding a personal identity code is an
    error, named by its place only — the code itself is never echoed."""
    from cmo.workspace.privacy import contains_identity_code, looks_like_identity_code

    stack: list[tuple[Loc, Any]] = [((), lf.doc.data)]
    seen = 0
    while stack and seen < _MAX_SCAN:
        loc, value = stack.pop()
        seen += 1
        if isinstance(value, dict):
            for key, item in value.items():
                if (
                    isinstance(key, str)
                    and looks_like_identity_code(key)
                    and contains_identity_code(key)
                ):
                    ws.add(
                        lf.finding(
                            "P001", "a key holds a personal identity code", (*loc, key), key=True
                        )
                    )
                stack.append(((*loc, key), item))
        elif isinstance(value, list):
            stack.extend(((*loc, i), item) for i, item in enumerate(value))
        elif (
            isinstance(value, str)
            and looks_like_identity_code(value)
            and contains_identity_code(value)
        ):
            ws.add(
                lf.finding(
                    "P001",
                    "this text holds a personal identity code; it would be shown in reports "
                    "and summaries — remove it (the code is not repeated here)",
                    loc,
                )
            )

"""The index the workspace checks share: every indicator, measurement point and theory by
id, with the file and place it came from; references resolved, unknown ones reported once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from cmo.findings import Finding
from cmo.source import Loc
from cmo.theory.load import LoadedFile
from cmo.theory.models import (
    Indicator,
    MeasurementPoint,
    ProgrammeTheory,
)

T = TypeVar("T")


@dataclass
class Placed(Generic[T]):
    """A model object with the file and YAML path it came from."""

    obj: T
    file: LoadedFile
    loc: Loc


@dataclass
class Workspace:
    """Everything loaded, indexed by id, for the checks."""

    files: list[LoadedFile]
    languages: list[str]
    findings: list[Finding] = field(default_factory=list)
    indicators: dict[str, Placed[Indicator]] = field(default_factory=dict)
    points: dict[str, Placed[MeasurementPoint]] = field(default_factory=dict)
    theories: dict[str, Placed[ProgrammeTheory]] = field(default_factory=dict)
    broken_indicators: set[str] = field(default_factory=set)
    broken_points: set[str] = field(default_factory=set)
    broken_theories: set[str] = field(default_factory=set)
    #: Every valid theory, duplicates of an id included (all are checked).
    all_theories: list[Placed[ProgrammeTheory]] = field(default_factory=list)
    #: Theories with a chain reference that did not resolve (their "unused" is noise).
    unresolved_chains: set[str] = field(default_factory=set)
    #: (id of a theory, section) → {element id: element}, filled by :func:`resolve`.
    elements: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)


# --------------------------------------------------------------------------------------------
# Identity
# --------------------------------------------------------------------------------------------


def index_workspace(ws: Workspace) -> None:
    for lf in ws.files:
        if lf.kind == "indicators":
            ws.broken_indicators |= lf.broken_ids.get("indicators", set())
            ws.broken_points |= lf.broken_ids.get("measurement_points", set())
            if lf.model is None:
                continue
            for i, ind in lf.items("indicators"):
                _register(ws, ws.indicators, Placed(ind, lf, ("indicators", i)), "indicator")
            for i, mp in lf.items("measurement_points"):
                _register(
                    ws, ws.points, Placed(mp, lf, ("measurement_points", i)), "measurement point"
                )
        elif lf.kind == "theory":
            if lf.theory is None:
                if lf.raw_id:
                    ws.broken_theories.add(lf.raw_id)
                continue
            ws.all_theories.append(Placed(lf.theory, lf, ()))
            _register(ws, ws.theories, Placed(lf.theory, lf, ()), "theory")
            for section, word in sections().items():
                seen: dict[str, int] = {}
                for i, item in lf.items(section):
                    if item.id in seen:
                        first = lf.doc.position((section, seen[item.id], "id"))
                        ws.add(
                            lf.finding(
                                "D001",
                                f"duplicate {word} id '{item.id}' (first on line {first.line})",
                                (section, i, "id"),
                            )
                        )
                    else:
                        seen[item.id] = i


def sections() -> dict[str, str]:
    from cmo.theory.models import THEORY_SECTIONS

    return THEORY_SECTIONS


def _register(ws: Workspace, table: dict[str, Any], placed: Placed[Any], word: str) -> None:
    ident = placed.obj.id
    if ident in table:
        first = table[ident]
        pos = first.file.doc.position((*first.loc, "id"))
        ws.add(
            placed.file.finding(
                "D001",
                f"duplicate {word} id '{ident}' (first defined in {first.file.display}:{pos.line})",
                (*placed.loc, "id"),
            )
        )
        if word == "theory" and first.file is not placed.file:
            # Also on the first file: validating either file alone must not pass.
            again = placed.file.doc.position((*placed.loc, "id"))
            ws.add(
                first.file.finding(
                    "D001",
                    f"duplicate {word} id '{ident}' (also defined in "
                    f"{placed.file.display}:{again.line})",
                    (*first.loc, "id"),
                )
            )
        return
    table[ident] = placed


# --------------------------------------------------------------------------------------------
# Theories
# --------------------------------------------------------------------------------------------


def indicator_ref(ws: Workspace, lf: LoadedFile, ref: str, loc: Loc) -> Indicator | None:
    placed = ws.indicators.get(ref)
    if placed is not None:
        return placed.obj
    if ref not in ws.broken_indicators:
        ws.add(lf.finding("R001", f"unknown indicator '{ref}'{suggest(ref, ws.indicators)}", loc))
    return None


def point_ref(ws: Workspace, lf: LoadedFile, ref: str | None, loc: Loc) -> MeasurementPoint | None:
    if ref is None:
        return None
    placed = ws.points.get(ref)
    if placed is not None:
        return placed.obj
    if ref not in ws.broken_points:
        ws.add(
            lf.finding("R001", f"unknown measurement point '{ref}'{suggest(ref, ws.points)}", loc)
        )
    return None


def suggest(ref: str, names: Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(ref, list(names), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def index_theories(files: list[LoadedFile]) -> Workspace:
    """A workspace index of the valid theories only (for resolving references)."""
    ws = Workspace(files=files, languages=[])
    for lf in files:
        if lf.theory is not None:
            ws.theories.setdefault(lf.theory.id, Placed(lf.theory, lf, ()))
    return ws


def resolve(ws: Workspace, theory: ProgrammeTheory, section: str, ref: str) -> Any | None:
    """The element ``ref`` of ``section``, local or ``other_theory.id``; None if unknown."""
    owner, ident = ref.split(".", 1) if "." in ref else (theory.id, ref)
    placed = ws.theories.get(owner)
    if placed is None:
        return None
    # One index per theory and section, built on first use: a lookup per reference stays O(1).
    key = (id(placed.obj), section)
    index = ws.elements.get(key)
    if index is None:
        index = {}
        for item in getattr(placed.obj, section):
            index.setdefault(item.id, item)
        ws.elements[key] = index
    return index.get(ident)


def element_ref(
    ws: Workspace, th: Placed[ProgrammeTheory], section: str, ref: str, loc: Loc
) -> Any | None:
    found = resolve(ws, th.obj, section, ref)
    if found is not None:
        return found
    owner, ident = ref.split(".", 1) if "." in ref else (th.obj.id, ref)
    word = sections()[section]
    if owner in ws.broken_theories:
        return None
    target = ws.theories.get(owner)
    if target is None:
        if loc and loc[0] == "chains":
            ws.unresolved_chains.add(th.obj.id)
        ws.add(
            th.file.finding(
                "R001",
                f"unknown theory '{owner}' in reference '{ref}'{suggest(owner, ws.theories)}",
                loc,
            )
        )
        return None
    if ident in target.file.broken_ids.get(section, set()):
        return None
    if loc and loc[0] == "chains":
        ws.unresolved_chains.add(th.obj.id)
    local = [item.id for item in getattr(target.obj, section)]
    where = "" if owner == th.obj.id else f" in theory '{owner}'"
    ws.add(th.file.finding("R001", f"unknown {word} '{ident}'{where}{suggest(ident, local)}", loc))
    return None

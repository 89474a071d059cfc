"""Checks of the theory graph: cycles among chains, elements no chain uses, outcomes
without criteria, criteria outside success factors."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from cmo.theory.index import (
    Workspace,
    resolve,
    sections,
)


def check_graph(ws: Workspace) -> None:
    used: dict[tuple[str, str], set[str]] = defaultdict(set)  # (theory, section) -> ids
    graph: dict[tuple[str, str], list[tuple[str, int, str]]] = defaultdict(list)  # edge -> chains
    criterion_indicators = set()
    in_factor: set[tuple[str, str]] = set()
    for th in ws.all_theories:
        theory = th.obj
        for crit in theory.criteria:
            criterion_indicators.add(crit.indicator)
        for csf in theory.critical_success_factors:
            for ref in csf.criteria:
                in_factor.add(_split(theory.id, ref))
        for i, chain in th.file.items("chains"):
            for section, refs in (
                ("contexts", chain.contexts),
                ("interventions", [chain.intervention] if chain.intervention else []),
                ("mechanisms", [chain.mechanism]),
                ("outcomes", [chain.outcome, *filter(None, [chain.negative_control])]),
            ):
                for ref in refs:
                    used[(_split(theory.id, ref))[0], section].add(_split(theory.id, ref)[1])
            mech = resolve(ws, theory, "mechanisms", chain.mechanism)
            out = resolve(ws, theory, "outcomes", chain.outcome)
            if mech is not None and out is not None:
                graph[_node(mech), _node(out)].append((theory.id, i, chain.id))
    # G001: cycles among chains (through the indicators that measure mechanisms and outcomes).
    reported: set[frozenset[str]] = set()
    cycles = [rotate(c, min(c)) for c in simple_cycles(graph)]
    for cycle in sorted(cycles):
        key = frozenset(cycle)
        if key in reported:
            continue
        reported.add(key)
        chains = []
        for a, b in zip(cycle, [*cycle[1:], cycle[0]], strict=True):
            chains.append(min(graph[a, b]))
        theory_id, index, _ = min(chains)
        th = ws.theories[theory_id]
        names = " → ".join(f"{t}.{c}" if t != theory_id else c for t, _, c in sorted(chains))
        ring = " → ".join(n.removesuffix("@*") for n in [*cycle, cycle[0]])
        ws.add(
            th.file.finding(
                "G001",
                f"chains form a circle ({names}) through the indicators {ring}",
                ("chains", index),
            )
        )
    # G002, G003, G004
    factors_complete = all(
        lf.model is not None and not lf.broken_ids.get("critical_success_factors")
        for lf in ws.files
        if lf.kind == "theory"
    )
    for th in ws.all_theories:
        theory, lf = th.obj, th.file
        raw_chains = lf.doc.data.get("chains") if isinstance(lf.doc.data, dict) else None
        # When chains were set aside for schema errors, "unused" would only be noise.
        complete = (
            not isinstance(raw_chains, list) or len(raw_chains) == len(theory.chains)
        ) and theory.id not in ws.unresolved_chains
        for section in ("contexts", "interventions", "mechanisms", "outcomes"):
            for i, item in lf.items(section) if complete else ():
                if item.id not in used[(theory.id, section)]:
                    ws.add(
                        lf.finding(
                            "G002",
                            f"{sections()[section]} '{item.id}' is not used by any chain",
                            (section, i, "id"),
                        )
                    )
        for i, chain in lf.items("chains"):
            out = resolve(ws, theory, "outcomes", chain.outcome)
            if (
                out is not None
                and out.indicator in ws.indicators
                and out.indicator not in criterion_indicators
            ):
                ws.add(
                    lf.finding(
                        "G003",
                        f"outcome '{chain.outcome}' ({out.indicator}) has no "
                        "evaluation criterion in the workspace",
                        ("chains", i, "outcome"),
                    )
                )
        for i, crit in lf.items("criteria") if factors_complete else ():
            if (theory.id, crit.id) not in in_factor:
                ws.add(
                    lf.finding(
                        "G004",
                        f"criterion '{crit.id}' belongs to no critical success factor",
                        ("criteria", i, "id"),
                    )
                )


def _node(element: Any) -> str:
    """A graph node: an indicator at a measurement point (or a change, or any point: *)."""
    change = getattr(element, "change", None)
    if change is not None:
        return f"{element.indicator}@{change.from_}→{change.to}"
    return f"{element.indicator}@{getattr(element, 'measurement_point', None) or '*'}"


def _split(theory_id: str, ref: str) -> tuple[str, str]:
    if "." in ref:
        owner, ident = ref.split(".", 1)
        return owner, ident
    return theory_id, ref


def simple_cycles(edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """Every simple cycle of a directed graph given by its edges. Most workspaces have none:
    a depth-first search says so without importing networkx (fast start); only a graph with a
    cycle is handed to ``networkx.simple_cycles``."""
    edges = list(edges)
    succ: dict[str, list[str]] = defaultdict(list)
    for a, b in edges:
        succ[a].append(b)
    if not has_cycle(succ):
        return []
    import networkx as nx

    return [list(c) for c in nx.simple_cycles(nx.DiGraph(edges))]


def has_cycle(succ: dict[str, list[str]]) -> bool:
    state: dict[str, int] = {}  # 1: on the path, 2: done
    for root in list(succ):
        if root in state:
            continue
        state[root] = 1
        path = [(root, iter(succ.get(root, ())))]
        while path:
            node, children = path[-1]
            for child in children:
                seen = state.get(child)
                if seen == 1:
                    return True
                if seen is None:
                    state[child] = 1
                    path.append((child, iter(succ.get(child, ()))))
                    break
            else:
                state[node] = 2
                path.pop()
    return False


def rotate(cycle: list[str], start: str) -> list[str]:
    i = cycle.index(start)
    return cycle[i:] + cycle[:i]

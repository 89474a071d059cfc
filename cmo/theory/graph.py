"""Draw a programme theory: contexts → mechanisms → outcomes, as Graphviz DOT or Mermaid."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cmo.errors import InputError
from cmo.theory.models import ExpectedDirection, ProgrammeTheory

if TYPE_CHECKING:
    import networkx as nx

    from cmo.theory.load import LoadedFile
    from cmo.theory.validate import ValidationResult

KINDS = ("context", "intervention", "mechanism", "outcome")
_TITLES = {
    "fi": {
        "context": "Kontekstit (C)",
        "intervention": "Interventiot",
        "mechanism": "Mekanismit (M)",
        "outcome": "Tulokset (O)",
    },
    "en": {
        "context": "Contexts (C)",
        "intervention": "Interventions",
        "mechanism": "Mechanisms (M)",
        "outcome": "Outcomes (O)",
    },
}
_SECTION = {
    "context": "contexts",
    "intervention": "interventions",
    "mechanism": "mechanisms",
    "outcome": "outcomes",
}


def find_theory(result: ValidationResult, name: str) -> ProgrammeTheory:
    """A theory of the validated workspace by id, or by the file it was read from."""
    wanted = Path(name).resolve() if Path(name).exists() else None

    def same(lf: LoadedFile) -> bool:
        return wanted is not None and lf.path.resolve() == wanted

    for lf in result.files:
        th = lf.theory
        if th is not None and (name == th.id or same(lf)):
            return th
    for lf in result.files:
        if lf.kind == "theory" and (same(lf) or name == lf.raw_id):
            raise InputError(
                f"{lf.display}: the theory has errors and cannot be drawn",
                hint=f"run 'cmo validate {lf.display}' and fix the errors first",
            )
    known = ", ".join(sorted(t.id for t in result.theories)) or "none"
    raise InputError(
        f"no theory '{name}' (known: {known})", hint="give a theory id or the path of a theory file"
    )


def theory_graph(
    result: ValidationResult, theory: ProgrammeTheory, lang: str = "fi"
) -> nx.MultiDiGraph:
    """The theory's elements as nodes and its chains as edges (networkx)."""
    import networkx as nx

    from cmo.theory.index import index_theories, resolve

    ws = index_theories(result.files)
    graph = nx.MultiDiGraph(name=theory.id, title=theory.title.get(lang))

    def node(kind: str, ref: str) -> str | None:
        item = resolve(ws, theory, _SECTION[kind], ref)
        if item is None:
            return None
        key = f"{kind}:{ref}"
        graph.add_node(key, kind=kind, id=ref, label=item.label.get(lang))
        return key

    for kind in KINDS:
        for item in getattr(theory, _SECTION[kind]):
            node(kind, item.id)
    for chain in theory.chains:
        mech = node("mechanism", chain.mechanism)
        out = node("outcome", chain.outcome)
        if mech is None or out is None:
            continue
        sign = "+" if chain.direction is ExpectedDirection.POSITIVE else "−"
        graph.add_edge(mech, out, chain=chain.id, kind="produces", sign=sign)
        for ref in chain.contexts:
            ctx = node("context", ref)
            if ctx is not None:
                graph.add_edge(ctx, mech, chain=chain.id, kind="enables")
        if chain.intervention:
            iv = node("intervention", chain.intervention)
            if iv is not None:
                graph.add_edge(iv, mech, chain=chain.id, kind="triggers")
    return graph


def _merged_edges(graph: nx.MultiDiGraph) -> list[tuple[str, str, dict[str, Any]]]:
    merged: dict[tuple[str, str, str], dict[str, Any]] = {}
    for a, b, data in graph.edges(data=True):
        key = (a, b, data["kind"])
        entry = merged.setdefault(key, {"kind": data["kind"], "chains": [], "signs": set()})
        entry["chains"].append(data["chain"])
        if "sign" in data:
            entry["signs"].add(data["sign"])
    return [(a, b, d) for (a, b, _), d in merged.items()]


def _dot_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(graph: nx.MultiDiGraph, lang: str = "fi") -> str:
    titles = _TITLES.get(lang, _TITLES["en"])
    lines = [
        f"digraph {_dot_str(graph.graph['name'])} {{",
        f"  label={_dot_str(graph.graph['title'])};",
        '  labelloc=t; rankdir=LR; fontname="Helvetica";',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    fills = {
        "context": "#e8f1fa",
        "intervention": "#f3f3f3",
        "mechanism": "#fff4d6",
        "outcome": "#e6f4ea",
    }
    for kind in KINDS:
        nodes = [(n, d) for n, d in graph.nodes(data=True) if d["kind"] == kind]
        if not nodes:
            continue
        lines.append(f"  subgraph {_dot_str('cluster_' + kind)} {{")
        lines.append(f'    label={_dot_str(titles[kind])}; style=dashed; color="#999999";')
        for n, d in nodes:
            lines.append(
                f'    {_dot_str(n)} [label={_dot_str(d["label"])}, fillcolor="{fills[kind]}"];'
            )
        lines.append("  }")
    for a, b, d in _merged_edges(graph):
        label = ", ".join(d["chains"])
        if d["kind"] == "produces":
            label = f"{''.join(sorted(d['signs']))} {label}"
            style = "solid"
        else:
            style = "dashed"
        lines.append(f"  {_dot_str(a)} -> {_dot_str(b)} [label={_dot_str(label)}, style={style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _mermaid_id(node: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", node)


def _mermaid_text(text: str) -> str:
    escaped = text.replace("#", "#35;").replace('"', "#quot;")
    escaped = escaped.replace("<", "#lt;").replace(">", "#gt;")
    return " ".join(escaped.split())


def to_mermaid(graph: nx.MultiDiGraph, lang: str = "fi") -> str:
    titles = _TITLES.get(lang, _TITLES["en"])
    title = " ".join(str(graph.graph["title"]).split())
    lines = ["flowchart LR", f"  %% {graph.graph['name']}: {title}"]
    for kind in KINDS:
        nodes = [(n, d) for n, d in graph.nodes(data=True) if d["kind"] == kind]
        if not nodes:
            continue
        lines.append(f'  subgraph {kind}s["{_mermaid_text(titles[kind])}"]')
        for n, d in nodes:
            lines.append(f'    {_mermaid_id(n)}["{_mermaid_text(d["label"])}"]')
        lines.append("  end")
    for a, b, d in _merged_edges(graph):
        label = ", ".join(d["chains"])
        arrow = "-->" if d["kind"] == "produces" else "-.->"
        if d["kind"] == "produces":
            label = f"{''.join(sorted(d['signs']))} {label}"
        lines.append(f'  {_mermaid_id(a)} {arrow}|"{_mermaid_text(label)}"| {_mermaid_id(b)}')
    return "\n".join(lines) + "\n"

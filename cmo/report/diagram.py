"""The theory as a diagram that shows the evidence: contexts and interventions on the left,
mechanisms in the middle, outcomes on the right, and every chain's arrows coloured — and
patterned and marked, so that they read without colour — by what the data said.

The layout is layered and deterministic (no hash order anywhere): nodes start in the order the
chains name them, then a few barycentre sweeps (Sugiyama et al. 1981) order each column to
reduce crossings, ties broken by id. Arrows leave and enter boxes at spread ports, so that
arrowheads never stack, and each arrow's mark sits on its own curve. The SVG is inline and
self-contained.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

if TYPE_CHECKING:
    import networkx as nx

#: How each verdict class is drawn: colour (Okabe–Ito), dash pattern, mark.
STYLE = {
    "held": ("#009E73", "", "✔"),
    "not supported": ("#E69F00", "7 4", "·"),
    "contradicted": ("#D55E00", "2 3", "✖"),
    "too little data": ("#999999", "1 4", "?"),
    "": ("#555555", "4 4", ""),
}
FILLS = {
    "context": "#E8F1FA",
    "intervention": "#F2F2F2",
    "mechanism": "#FFF4D6",
    "outcome": "#E6F4EA",
}
COLUMN = {"context": 0, "intervention": 0, "mechanism": 1, "outcome": 2}
BOX_W, BOX_H, GAP_X, GAP_Y, TOP, MARGIN, FONT = 230, 62, 120, 22, 46, 16, 15


@dataclass(frozen=True)
class Evidence:
    """What the analysis said about one arrow: the verdict class and a short mark."""

    verdict_class: str
    words: str = ""


def _order(graph: nx.MultiDiGraph) -> dict[int, list[str]]:
    """Nodes per column, ordered to reduce crossings (barycentre sweeps, deterministic)."""
    columns: dict[int, list[str]] = {0: [], 1: [], 2: []}
    first: dict[str, int] = {}
    for i, (a, b, _data) in enumerate(sorted(graph.edges(data=True), key=_edge_key)):
        first.setdefault(a, i)
        first.setdefault(b, i)
    for node, data in sorted(
        graph.nodes(data=True), key=lambda nd: (first.get(nd[0], 1 << 30), nd[0])
    ):
        columns[COLUMN[data["kind"]]].append(node)
    # interventions below the contexts in the first column
    columns[0].sort(key=lambda v: graph.nodes[v]["kind"] == "intervention")  # stable
    neighbours: dict[str, list[str]] = {v: [] for v in graph.nodes}
    for a, b in graph.edges():
        neighbours[a].append(b)
        neighbours[b].append(a)
    kinds = {v: graph.nodes[v]["kind"] for v in graph.nodes}
    for _ in range(4):
        for col in (1, 2, 1, 0):
            position = {v: i for c in columns.values() for i, v in enumerate(c)}

            def key(v: str, p: dict[str, int] = position, c: int = col) -> tuple[bool, float, str]:
                return _sort_key(v, p, c, neighbours, kinds)

            columns[col].sort(key=key)
    return columns


def _sort_key(
    v: str,
    position: dict[str, int],
    col: int,
    neighbours: dict[str, list[str]],
    kinds: dict[str, str],
) -> tuple[bool, float, str]:
    """Interventions below contexts; then the mean position of the node's neighbours in the
    other columns (its barycentre); then the id."""
    near = [position[u] for u in neighbours[v] if COLUMN[kinds[u]] != col]
    centre = sum(near) / len(near) if near else float(position[v])
    return (col == 0 and kinds[v] == "intervention", centre, v)


def _edge_key(edge: tuple[str, str, dict[str, Any]]) -> tuple[str, str, str]:
    a, b, data = edge
    return (str(data.get("chain", "")), a, b)


def _curve(x1: float, y1: float, x2: float, y2: float) -> tuple[str, float, float]:
    """A cubic curve from (x1, y1) to (x2, y2) and the point at t = 0.7 (for its mark)."""
    mid = (x1 + x2) / 2
    t = 0.7
    bx = (1 - t) ** 3 * x1 + 3 * (1 - t) ** 2 * t * mid + 3 * (1 - t) * t * t * mid + t**3 * x2
    by = (1 - t) ** 3 * y1 + 3 * (1 - t) ** 2 * t * y1 + 3 * (1 - t) * t * t * y2 + t**3 * y2
    return (
        f"M {x1:.1f} {y1:.1f} C {mid:.1f} {y1:.1f}, {mid:.1f} {y2:.1f}, {x2:.1f} {y2:.1f}",
        bx,
        by,
    )


def theory_diagram(
    graph: nx.MultiDiGraph,
    title: str,
    desc: str,
    headings: dict[str, str],
    evidence: dict[tuple[str, str], Evidence],
    legend: dict[str, str],
    ident: int,
) -> Markup:
    """``evidence`` maps (chain id, ``produces`` or a context node) to what the data said;
    ``legend`` gives the words for each verdict class."""
    columns = _order(graph)
    rows = max(len(c) for c in columns.values()) or 1
    width = MARGIN * 2 + 3 * BOX_W + 2 * GAP_X
    legend_h = 34
    height = TOP + rows * (BOX_H + GAP_Y) + legend_h
    xy: dict[str, tuple[float, float]] = {}
    for col, nodes in columns.items():
        offset = (rows - len(nodes)) * (BOX_H + GAP_Y) / 2
        for i, node in enumerate(nodes):
            extra = GAP_Y if col == 0 and graph.nodes[node]["kind"] == "intervention" else 0
            xy[node] = (
                MARGIN + col * (BOX_W + GAP_X),
                TOP + offset + i * (BOX_H + GAP_Y) + extra / 2,
            )
    height += GAP_Y
    edges = sorted(graph.edges(data=True), key=_edge_key)
    # ports: spread each box's arrows over its side, in the order of the other ends
    outs: dict[str, list[tuple[float, int]]] = {}
    ins: dict[str, list[tuple[float, int]]] = {}
    for i, (a, b, _d) in enumerate(edges):
        outs.setdefault(a, []).append((xy[b][1], i))
        ins.setdefault(b, []).append((xy[a][1], i))
    port: dict[tuple[str, int], float] = {}
    for table in (outs, ins):
        for node, items in table.items():
            items.sort()
            for k, (_y, i) in enumerate(items):
                port[(node, i)] = xy[node][1] + BOX_H * (k + 1) / (len(items) + 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height:.0f}" '
        f'width="100%" role="img" aria-labelledby="tt{ident} td{ident}" class="chart diagram">',
        f'<title id="tt{ident}">{escape(title)}</title><desc id="td{ident}">{escape(desc)}</desc>',
        "<defs>",
    ]
    for cls, (colour, _dash, _mark) in STYLE.items():
        key = cls.replace(" ", "-") or "plain"
        parts.append(
            f'<marker id="a{ident}-{key}" viewBox="0 0 10 10" refX="10" refY="5" '
            f'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
            f'<path d="M 0 0 L 10 5 L 0 10 z" fill="{colour}"/></marker>'
        )
    parts.append("</defs>")
    for kind, col in (("context", 0), ("mechanism", 1), ("outcome", 2)):
        parts.append(
            f'<text x="{MARGIN + col * (BOX_W + GAP_X) + BOX_W / 2}" y="26" font-size="{FONT + 1}" '
            f'font-weight="bold" text-anchor="middle" fill="#111">{escape(headings[kind])}</text>'
        )
    for i, (a, b, data) in enumerate(edges):
        if data["kind"] == "produces":
            ev = evidence.get((data["chain"], "produces"), Evidence(""))
        else:
            ev = evidence.get((data["chain"], a), Evidence(""))
        colour, dash, mark = STYLE.get(ev.verdict_class, STYLE[""])
        key = ev.verdict_class.replace(" ", "-") or "plain"
        x1, y1 = xy[a][0] + BOX_W, port[(a, i)]
        x2, y2 = xy[b][0] - 2, port[(b, i)]
        path, mx, my = _curve(x1, y1, x2, y2)
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        width_px = 2.6 if data["kind"] == "produces" else 1.6
        parts.append(
            f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="{width_px}"{dashes} '
            f'marker-end="url(#a{ident}-{key})"><title>{escape(ev.words)}</title></path>'
        )
        label = (data.get("sign", "") + " " + mark).strip()
        if label:
            parts.append(
                f'<text x="{mx:.1f}" y="{my - 5:.1f}" font-size="{FONT}" text-anchor="middle" '
                f'fill="#111" stroke="#fff" stroke-width="4" paint-order="stroke">'
                f"{escape(label)}</text>"
            )
    for node, (x0, y0) in xy.items():
        kind = graph.nodes[node]["kind"]
        dash = ' stroke-dasharray="4 3"' if kind == "intervention" else ""
        parts.append(
            f'<rect x="{x0}" y="{y0:.1f}" width="{BOX_W}" height="{BOX_H}" rx="8" '
            f'fill="{FILLS[kind]}" stroke="#555"{dash}/>'
        )
        label = str(graph.nodes[node]["label"])
        lines = textwrap.wrap(label, 27)
        if len(lines) > 3:
            lines = [*lines[:2], textwrap.shorten(" ".join(lines[2:]), 27, placeholder="…")]
        start = y0 + BOX_H / 2 - (len(lines) - 1) * (FONT + 2) / 2 + FONT / 3
        for k, line in enumerate(lines):
            parts.append(
                f'<text x="{x0 + BOX_W / 2}" y="{start + k * (FONT + 2):.1f}" font-size="{FONT}" '
                f'text-anchor="middle" fill="#111">{escape(line)}</text>'
            )
    # the legend: what each colour, pattern and mark means
    x, y = MARGIN, height - 12
    for cls in ("held", "not supported", "contradicted", "too little data"):
        colour, dash, mark = STYLE[cls]
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<path d="M {x} {y - 5} L {x + 34} {y - 5}" stroke="{colour}" stroke-width="2.6"'
            f"{dashes}/>"
        )
        text = f"{mark} {legend[cls]}"
        parts.append(
            f'<text x="{x + 40}" y="{y}" font-size="{FONT - 1}" fill="#111">{escape(text)}</text>'
        )
        x += 60 + 8 * len(text)
    parts.append("</svg>")
    return Markup("".join(parts))

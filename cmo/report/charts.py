"""Charts as inline SVG (no scripts, no external files): forest plots and theory diagrams.
Every text is escaped; every chart has a title and a description for screen readers."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from markupsafe import Markup, escape

if TYPE_CHECKING:
    import networkx as nx

    from cmo.report.i18n import Texts

# Okabe–Ito colours (safe for colour-blind readers); every verdict also has a word and a mark.
COLOURS = {
    "held": "#009E73",
    "not supported": "#E69F00",
    "contradicted": "#D55E00",
    "too little data": "#999999",
    "": "#0072B2",
}
_ids = iter(range(1, 1 << 30))


def reset_ids() -> None:
    """Number chart ids from 1 again (each report starts afresh: the same inputs give the
    same page)."""
    global _ids
    _ids = iter(range(1, 1 << 30))


@dataclass
class ForestRow:
    label: str
    estimate: float | None
    low: float | None
    high: float | None
    verdict: str
    note: str = ""


def forest(rows: Sequence[ForestRow], title: str, desc: str, t: Texts) -> Markup:
    """A forest plot: one row per context or office, point and 95% interval."""
    n = next(_ids)
    width, label_w, right_w, row_h, top = 720, 220, 150, 26, 30
    plot_w = width - label_w - right_w
    values = [v for r in rows for v in (r.low, r.high, r.estimate) if v is not None]
    span = max([abs(v) for v in values] + [0.1]) * 1.1
    lo, hi = -span, span
    height = top + row_h * len(rows) + 30

    def x(v: float) -> float:
        return label_w + (v - lo) / (hi - lo) * plot_w

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-labelledby="ft{n} fd{n}" class="chart">',
        f'<title id="ft{n}">{escape(title)}</title><desc id="fd{n}">{escape(desc)}</desc>',
        f'<line x1="{x(0):.1f}" y1="{top - 10}" x2="{x(0):.1f}" y2="{height - 25}" '
        'stroke="#333" stroke-width="1"/>',
    ]
    for tick in (lo, lo / 2, 0.0, hi / 2, hi):
        parts.append(
            f'<text x="{x(tick):.1f}" y="{height - 8}" font-size="11" '
            f'text-anchor="middle" fill="#333">{escape(t.signed(tick))}</text>'
        )
    for i, row in enumerate(rows):
        y = top + row_h * i + row_h / 2
        label = textwrap.shorten(row.label, 34, placeholder="…")
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 4:.1f}" font-size="12" '
            f'text-anchor="end" fill="#111">{escape(label)}</text>'
        )
        colour = COLOURS.get(row.verdict, COLOURS[""])
        if row.estimate is None or row.low is None or row.high is None:
            parts.append(
                f'<text x="{label_w + 4}" y="{y + 4:.1f}" font-size="11" '
                f'fill="#555">{escape(row.note)}</text>'
            )
            continue
        parts.append(
            f'<line x1="{x(row.low):.1f}" y1="{y:.1f}" x2="{x(row.high):.1f}" '
            f'y2="{y:.1f}" stroke="{colour}" stroke-width="2.5"/>'
        )
        parts.append(
            f'<circle cx="{x(row.estimate):.1f}" cy="{y:.1f}" r="5" fill="{colour}" '
            'stroke="#111" stroke-width="0.8"/>'
        )
        text = f"{t.signed(row.estimate)} [{t.signed(row.low)}, {t.signed(row.high)}]"
        parts.append(
            f'<text x="{width - right_w + 8}" y="{y + 4:.1f}" font-size="11" '
            f'fill="#111">{escape(text)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def theory_diagram(
    graph: nx.MultiDiGraph, title: str, desc: str, headings: dict[str, str]
) -> Markup:
    """Contexts → (interventions) → mechanisms → outcomes, laid out in columns (networkx
    multipartite layout), edges as curves: dashed into mechanisms, solid into outcomes."""
    import networkx as nx

    n = next(_ids)
    layers = {"context": 0, "intervention": 1, "mechanism": 2, "outcome": 3}
    present = sorted({layers[d["kind"]] for _, d in graph.nodes(data=True)})
    column = {layer: i for i, layer in enumerate(present)}
    simple = nx.DiGraph()
    for node, data in graph.nodes(data=True):
        simple.add_node(node, layer=column[layers[data["kind"]]])
    pos = nx.multipartite_layout(simple, subset_key="layer", align="vertical")
    box_w, box_h, gap_x, margin = 190, 54, 80, 20
    per_col: dict[int, list[str]] = {}
    for node in sorted(simple.nodes, key=lambda v: (-pos[v][1], v)):
        per_col.setdefault(simple.nodes[node]["layer"], []).append(node)
    rows = max((len(v) for v in per_col.values()), default=1)
    width = margin * 2 + len(present) * box_w + (len(present) - 1) * gap_x
    height = 40 + rows * (box_h + 18) + margin
    xy: dict[str, tuple[float, float]] = {}
    for col, nodes in per_col.items():
        offset = (rows - len(nodes)) * (box_h + 18) / 2
        for i, node in enumerate(nodes):
            xy[node] = (margin + col * (box_w + gap_x), 40 + offset + i * (box_h + 18))
    fills = {
        "context": "#E8F1FA",
        "intervention": "#F2F2F2",
        "mechanism": "#FFF4D6",
        "outcome": "#E6F4EA",
    }
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-labelledby="tt{n} td{n}" class="chart diagram">',
        f'<title id="tt{n}">{escape(title)}</title><desc id="td{n}">{escape(desc)}</desc>',
        f'<defs><marker id="arrow{n}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        'fill="#333"/></marker></defs>',
    ]
    for layer, col in column.items():
        kind = next(k for k, v in layers.items() if v == layer)
        parts.append(
            f'<text x="{margin + col * (box_w + gap_x) + box_w / 2}" y="22" '
            f'font-size="13" font-weight="bold" text-anchor="middle" fill="#111">'
            f"{escape(headings[kind])}</text>"
        )
    seen: set[tuple[str, str]] = set()
    for a, b, data in graph.edges(data=True):
        if (a, b) in seen:
            continue
        seen.add((a, b))
        x1, y1 = xy[a][0] + box_w, xy[a][1] + box_h / 2
        x2, y2 = xy[b][0], xy[b][1] + box_h / 2
        mid = (x1 + x2) / 2
        dash = "" if data["kind"] == "produces" else ' stroke-dasharray="5 4"'
        parts.append(
            f'<path d="M {x1:.1f} {y1:.1f} C {mid:.1f} {y1:.1f}, {mid:.1f} {y2:.1f}, '
            f'{x2 - 2:.1f} {y2:.1f}" fill="none" stroke="#333" stroke-width="1.4"'
            f'{dash} marker-end="url(#arrow{n})"/>'
        )
        if data["kind"] == "produces":
            parts.append(
                f'<text x="{mid:.1f}" y="{(y1 + y2) / 2 - 4:.1f}" font-size="14" '
                f'text-anchor="middle" fill="#111">{escape(data.get("sign", ""))}'
                "</text>"
            )
    for node, (x0, y0) in xy.items():
        kind = graph.nodes[node]["kind"]
        parts.append(
            f'<rect x="{x0}" y="{y0:.1f}" width="{box_w}" height="{box_h}" rx="8" '
            f'fill="{fills[kind]}" stroke="#555"/>'
        )
        lines = textwrap.wrap(str(graph.nodes[node]["label"]), 26)[:3]
        if len(textwrap.wrap(str(graph.nodes[node]["label"]), 26)) > 3:
            lines[-1] = textwrap.shorten(lines[-1] + " …", 26, placeholder="…")
        start = y0 + box_h / 2 - (len(lines) - 1) * 7 + 4
        for i, line in enumerate(lines):
            parts.append(
                f'<text x="{x0 + box_w / 2}" y="{start + i * 14:.1f}" font-size="12" '
                f'text-anchor="middle" fill="#111">{escape(line)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None

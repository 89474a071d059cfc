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


def next_id() -> int:
    """A fresh number for a chart's element ids (unique within one report)."""
    return next(_ids)


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


def finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None

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
    #: The number of cases as shown (already passed through the disclosure rule), or "".
    n: str = ""


def nice_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Round tick values covering [lo, hi]: steps of 1, 2, 2.5 or 5 times a power of ten."""
    span = max(hi - lo, 1e-9)
    raw = span / max(target - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(lo / step + 1e-9) * step
    ticks = []
    v = first
    while v <= hi + step * 1e-6 + (1e-12):
        ticks.append(round(v, 10))
        v += step
    if ticks[-1] < hi - 1e-12:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def forest(
    rows: Sequence[ForestRow], title: str, desc: str, t: Texts, scale: str = "difference"
) -> Markup:
    """A forest plot: one row per context or office, point and 95% interval, the label
    wrapped in full, the number of cases in its own column, round ticks and an axis title
    naming the scale (per SD of the mechanism; for yes/no and count outcomes the odds or rate
    ratio on a log axis)."""
    n = next(_ids)
    ratio = scale in ("log odds", "log rate")
    width, label_w, n_w, right_w, top, font = 760, 230, 56, 170, 14, 13
    plot_l = label_w + n_w
    plot_w = width - plot_l - right_w
    wrapped = [textwrap.wrap(r.label, 30) or [""] for r in rows]
    heights = [max(26, 8 + 16 * len(w)) for w in wrapped]
    values = [v for r in rows for v in (r.low, r.high, r.estimate) if v is not None]
    lo = min([*values, 0.0])
    hi = max([*values, 0.0])
    if ratio:
        ticks_ratio = _ratio_ticks(math.exp(lo), math.exp(hi))
        ticks = [math.log(v) for v in ticks_ratio]
        labels = [t.number(v, 2) for v in ticks_ratio]
    else:
        pad = max(hi - lo, 0.2) * 0.05
        ticks = nice_ticks(lo - pad, hi + pad)
        labels = [t.signed(v, _decimals(ticks)) for v in ticks]
    if len(ticks) < 2:  # nothing to show (every row too small): a neutral axis
        ticks = [math.log(v) for v in (0.8, 1.0, 1.25)] if ratio else [-0.5, 0.0, 0.5]
        labels = (
            ["0,8" if t.lang == "fi" else "0.8", "1", "1,25" if t.lang == "fi" else "1.25"]
            if ratio
            else [t.signed(v, 1) for v in ticks]
        )
    lo, hi = min(ticks), max(ticks)
    plot_h = sum(heights)
    height = top + plot_h + 58

    def x(v: float) -> float:
        return plot_l + (v - lo) / (hi - lo) * plot_w

    zero = x(0.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-labelledby="ft{n} fd{n}" class="chart">',
        f'<title id="ft{n}">{escape(title)}</title><desc id="fd{n}">{escape(desc)}</desc>',
        f'<text x="{label_w + n_w - 6}" y="{top - 2}" font-size="11" text-anchor="end" '
        f'fill="#555">n</text>',
    ]
    for v, label in zip(ticks, labels, strict=True):
        parts.append(
            f'<line x1="{x(v):.1f}" y1="{top + 4}" x2="{x(v):.1f}" y2="{top + plot_h + 6}" '
            'stroke="#e3e3e3" stroke-width="1"/>'
            f'<text x="{x(v):.1f}" y="{top + plot_h + 22}" font-size="12" '
            f'text-anchor="middle" fill="#333">{escape(label)}</text>'
        )
    parts.append(
        f'<line x1="{zero:.1f}" y1="{top + 4}" x2="{zero:.1f}" y2="{top + plot_h + 6}" '
        'stroke="#333" stroke-width="1.2"/>'
    )
    axis = t(
        "axis_ratio_odds" if scale == "log odds" else "axis_ratio_rate" if ratio else "axis_per_sd"
    )
    parts.append(
        f'<text x="{plot_l + plot_w / 2:.1f}" y="{top + plot_h + 44}" font-size="12" '
        f'text-anchor="middle" fill="#111">{escape(axis)}</text>'
    )
    y0 = top + 6
    for row, lines, h in zip(rows, wrapped, heights, strict=True):
        y = y0 + h / 2
        first = y - (len(lines) - 1) * 8 + 4
        for k, line in enumerate(lines):
            parts.append(
                f'<text x="{label_w - 8}" y="{first + 16 * k:.1f}" font-size="{font}" '
                f'text-anchor="end" fill="#111">{escape(line)}</text>'
            )
        if row.n:
            parts.append(
                f'<text x="{label_w + n_w - 6}" y="{y + 4:.1f}" font-size="12" '
                f'text-anchor="end" fill="#333">{escape(row.n)}</text>'
            )
        colour = COLOURS.get(row.verdict, COLOURS[""])
        if row.estimate is None or row.low is None or row.high is None:
            parts.append(
                f'<text x="{plot_l + 4}" y="{y + 4:.1f}" font-size="12" '
                f'fill="#555">{escape(row.note)}</text>'
            )
            y0 += h
            continue
        parts.append(
            f'<line x1="{x(row.low):.1f}" y1="{y:.1f}" x2="{x(row.high):.1f}" '
            f'y2="{y:.1f}" stroke="{colour}" stroke-width="2.5"/>'
            f'<circle cx="{x(row.estimate):.1f}" cy="{y:.1f}" r="5" fill="{colour}" '
            'stroke="#111" stroke-width="0.8"/>'
        )
        if ratio:
            est, low, high = (math.exp(v) for v in (row.estimate, row.low, row.high))
            text = f"{t.number(est)} [{t.number(low)}, {t.number(high)}]"
        else:
            text = f"{t.signed(row.estimate)} [{t.signed(row.low)}, {t.signed(row.high)}]"
        parts.append(
            f'<text x="{width - right_w + 8}" y="{y + 4:.1f}" font-size="12" '
            f'fill="#111">{escape(text)}</text>'
        )
        y0 += h
    parts.append("</svg>")
    return Markup("".join(parts))


def _decimals(ticks: list[float]) -> int:
    """The fewest decimals that show every tick exactly (0.5 → 1, 0.25 → 2, 2 → 0)."""
    for d in range(4):
        if all(abs(round(v, d) - v) < 1e-9 for v in ticks):
            return d
    return 3


def _ratio_ticks(lo: float, hi: float) -> list[float]:
    """Ratios to mark on a log axis: 1 and round ratios on both sides covering [lo, hi]."""
    candidates = [0.1, 0.2, 0.25, 0.5, 0.67, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 4.0, 5.0, 10.0]
    lo, hi = min(lo, 1.0), max(hi, 1.0)
    below = [c for c in candidates if c <= lo] or [candidates[0]]
    above = [c for c in candidates if c >= hi] or [candidates[-1]]
    start, stop = max(below), min(above)
    inside = [c for c in candidates if start <= c <= stop]
    if len(inside) > 6:
        inside = [c for c in inside if c in (start, stop, 1.0, 0.5, 0.8, 1.25, 2.0)]
    return inside


def finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None

"""Disclosure control: small counts are shown as "<k", estimates from fewer than k cases are
not shown, and secondary suppression hides other cells where a hidden count could be worked out
from the totals of its row or column."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    k: int

    def small(self, n: int | None) -> bool:
        """A count that must not be shown (1 … k−1)."""
        return n is not None and 0 < n < self.k

    def enough(self, n: int | None) -> bool:
        """Whether an estimate from ``n`` cases may be shown."""
        return n is not None and n >= self.k

    def label(self) -> str:
        return f"<{self.k}"


@dataclass
class Suppressed:
    """Which cells and totals of a count table to hide."""

    cells: list[list[bool]]
    row_totals: list[bool]
    col_totals: list[bool]
    grand_total: bool


def suppress_table(cells: list[list[int]], rule: Rule) -> Suppressed:
    """Which cells of a count table (rows × columns, with row, column and grand totals) to
    hide. Primary: counts 1 … k−1. Secondary: in any row or column with exactly one hidden
    cell, also hide its smallest other non-zero cell, so that the hidden one cannot be worked
    out from the total; repeated until stable. If no other non-zero cell is left to hide, the
    total itself is hidden. (Zeros are shown: a zero reveals no one.)"""
    hidden = [[rule.small(v) for v in row] for row in cells]
    n_rows = len(cells)
    n_cols = len(cells[0]) if cells else 0
    rows = [[(r, c) for c in range(n_cols)] for r in range(n_rows)]
    cols = [[(r, c) for r in range(n_rows)] for c in range(n_cols)]
    changed = True
    while changed:
        changed = False
        for line in rows + cols:
            marked = [(r, c) for r, c in line if hidden[r][c]]
            if len(marked) != 1:
                continue
            others = [(cells[r][c], r, c) for r, c in line if not hidden[r][c] and cells[r][c] > 0]
            if others:
                _, r, c = min(others)
                hidden[r][c] = True
                changed = True

    def total_hidden(line: list[tuple[int, int]]) -> bool:
        values = [cells[r][c] for r, c in line]
        return rule.small(sum(values)) or sum(hidden[r][c] for r, c in line) == 1

    row_totals = [total_hidden(line) for line in rows]
    col_totals = [total_hidden(line) for line in cols]
    grand = rule.small(sum(sum(row) for row in cells))
    # a hidden total next to a single shown total of the other direction would not leak, but
    # two hidden row totals with a shown grand total would: hide the smallest other row total
    for totals, lines in ((row_totals, rows), (col_totals, cols)):
        if sum(totals) == 1 and not grand:
            shown = [
                (sum(cells[r][c] for r, c in line), i)
                for i, line in enumerate(lines)
                if not totals[i] and sum(cells[r][c] for r, c in line) > 0
            ]
            if shown:
                totals[min(shown)[1]] = True
            else:
                grand = True
    return Suppressed(hidden, row_totals, col_totals, grand)

"""Disclosure control: the threshold rule. Small counts are shown as "<k" and estimates from
fewer than k cases are not shown; which other cells to hide so that no hidden count can be
worked out is decided — and proven — by :mod:`cmo.report.audit`."""

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

"""Quoting for SQL text that cmo builds (identifiers and string literals)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def sql_str(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def scope(offices: Sequence[str] = (), periods: Sequence[str] = ()) -> tuple[list[str], list[Any]]:
    """WHERE conditions (and their parameters) limiting rows to offices and periods."""
    where: list[str] = []
    params: list[Any] = []
    for column, values in (("office", offices), ("period", periods)):
        if values:
            where.append(f"{column} IN ({', '.join('?' for _ in values)})")
            params += list(values)
    return where, params


def point_order(orders: dict[str, int]) -> str:
    """SQL giving each row's measurement point its order number (0 for none or unknown)."""
    if not orders:
        return "0"
    arms = " ".join(f"WHEN {sql_str(p)} THEN {int(o)}" for p, o in orders.items())
    return f"CASE measurement_point {arms} ELSE 0 END"

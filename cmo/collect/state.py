"""What the steps of `cmo collect` share: the framework (indicators, measurement points), a
prepared file's tables and plan, office names, crash-test fault points and named parameters."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from cmo.collect.results import FileReport
from cmo.errors import WorkspaceError
from cmo.text import normalise
from cmo.theory import validate
from cmo.theory.models import Indicator, MeasurementPoint
from cmo.workspace import Workspace

Progress = Callable[[str, float | None], None]


@dataclass
class _Framework:
    indicators: dict[str, Indicator]
    points: dict[str, MeasurementPoint]


def _framework(ws: Workspace) -> _Framework:
    result = validate(workspace=ws.root)
    if result.errors:
        first = result.errors[0].format()
        raise WorkspaceError(
            f"the theory or indicator files have {len(result.errors)} error(s), e.g. {first}",
            hint="run 'cmo validate' and fix them before collecting",
        )
    indicators = {i.id: i for f in result.indicator_files for i in f.indicators}
    points = {p.id: p for f in result.indicator_files for p in f.measurement_points}
    return _Framework(indicators, points)


@dataclass
class _Prepared:
    report: FileReport
    table: str  # the quarantined rows: a reason (and text) per checked cell
    level: str
    columns: dict[str, str]  # indicator id -> its value column in its dictionary
    sql_types: dict[str, str]
    reason_columns: list[tuple[str, str | None, str | None]]  # (col, header, indicator)
    rows: str  # every row of the file: keys hashed, texts as read, office and period
    joins: str  # the large dictionaries, joined (small ones are written into ``values``)
    values: dict[str, str]  # stored column (key, point, date, indicator id) -> its value
    source_row: str  # a row's line (CSV) or row (workbook) number, over the rows ``a``
    temporary: list[str]  # the tables to drop besides ``table``

    def accepted(self, select: str, joins: str | None = None) -> str:
        """A query over the accepted rows (``a``: the rows table; the dictionaries joined)."""
        return (
            f"SELECT {select} FROM {self.rows} a {self.joins if joins is None else joins} "
            f"WHERE a.rowid NOT IN (SELECT rid FROM {self.table})"
        )


_counter = iter(range(1, 1 << 30))


def _office_words(ws: Workspace) -> dict[str, str]:
    """What an office column may say → office id: each office's id, name and municipality."""
    words: dict[str, str] = {}
    for o in ws.settings.offices:
        for word in (o.id, o.name, o.municipality):
            if word:
                words.setdefault(normalise(word), o.id)
    return words


def _fault_point(name: str) -> None:
    """Test hook: with ``CMO_FAULT=<name>`` the process announces the point on stderr and
    waits, so that a test can kill it exactly there (e.g. mid-transaction)."""
    if os.environ.get("CMO_FAULT") == name:
        sys.stderr.write(f"CMO_FAULT {name}\n")
        sys.stderr.flush()
        time.sleep(3600)

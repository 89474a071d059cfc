"""Quarantine told as it matters: loud failures (a reason that takes too many rows, no row
accepted), the likely cause, and the office's fix list."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cmo.collect.readers import (
    Source,
)
from cmo.collect.results import FixRow, ReasonCount
from cmo.collect.state import _Prepared
from cmo.store.sql import ident, sql_str
from cmo.workspace.privacy import HETU_PATTERN

if TYPE_CHECKING:
    import duckdb

#: A reason must quarantine at least this many rows (and more than ``quarantine_limit`` of
#: them) to stop the collect: in a file of five rows one typo is not a pattern.
LOUD_MIN_ROWS = 10


#: Why most values of a column may be quarantined, by reason: what to tell the user.
_LIKELY = {
    "invalid_date": "the dates are not in a format cmo reads: declare the date format in this "
    "office's mapping file (date_format) or with --date-format",
    "unknown_label": "the answers are words the indicator does not know: add them as synonyms "
    "(values: in this office's mapping file), or check that the column is the right indicator",
    "out_of_scale": "the numbers are outside the indicator's scale: check that the column is "
    "the right indicator, or that the office uses the same scale",
    "out_of_range": "the numbers are outside the indicator's range: check the column and unit",
    "not_a_number": "the column holds text, not numbers: check that it is the right indicator",
    "not_an_integer": "the counts have decimals: check that the column is the right indicator",
    "missing_id": "the identifier column is empty: check that it is the right column",
    "unknown_measurement_point": "the measurement points are words cmo does not know: map them "
    "in this office's mapping file (values: measurement_point:)",
    "invalid_period": "the period column does not hold periods (2026, 2026H1, 2026Q2, 2026-03)",
    "missing_period": "the period column is empty: fill it in or give --period",
    "personal_identity_code": "the column holds personal identity codes: remove them from the "
    "export, or map the column as the client id if it is one",
    "duplicate_row": "the same client and measurement point appear many times: check the "
    "measurement point column and the period",
    "totals_row": "many rows are totals rows: export the rows without totals",
}


def _loud_failures(
    con: duckdb.DuckDBPyConnection, prep: _Prepared, source: Source, limit: float | None
) -> list[str]:
    """Why this file should not be stored as it is: no accepted row, or one reason in one
    column quarantining more than ``limit`` of the rows. Empty when accepted (``limit`` None)."""
    report = prep.report
    if limit is None or report.rows_in == 0:
        return []
    out: list[str] = []
    if report.rows_accepted == 0:
        worst = report.reasons[0] if report.reasons else None
        why = ""
        if worst is not None:
            why = f" (most often {worst.reason} in '{worst.column}': {_likely(con, prep, worst)})"
        out.append(f"{source.label}: none of the {report.rows_in} rows was accepted{why}")
        return out
    for r in report.reasons:
        share = r.count / report.rows_in
        if share > limit and r.count >= LOUD_MIN_ROWS:
            out.append(
                f"{source.label}: {r.count} of {report.rows_in} rows ({share:.0%}) are "
                f"quarantined as {r.reason} in '{r.column or 'the row'}' — "
                f"{_likely(con, prep, r)}"
            )
    return out


def _likely(con: duckdb.DuckDBPyConnection, prep: _Prepared, r: ReasonCount) -> str:
    if r.reason == "invalid_date":
        col = next(
            (
                c.replace("__reason", "__text")
                for c, h, i in prep.reason_columns
                if h == r.column and i == r.indicator
            ),
            None,
        )
        if col is not None:
            try:
                row = con.execute(
                    f"SELECT count(*) FILTER (WHERE regexp_full_match({ident(col)}, "
                    f"'[0-9]{{1,2}}\\.[0-9]{{1,2}}\\.[0-9]{{2}}')), count(*) FROM {prep.table} "
                    f"WHERE {ident(col.replace('__text', '__reason'))} = 'invalid_date'"
                ).fetchone()
            except Exception:  # the column has no text (a dropped column): no guess
                row = None
            if row and row[1] and row[0] / row[1] > 0.5:
                return (
                    f"every date in '{r.column}' looks like d.m.yy: declare the date format "
                    "'%d.%m.%y' in this office's mapping file (date_format) or with "
                    "--date-format"
                )
    return _LIKELY.get(r.reason, "see the fix list")


#: The most quarantined cells a fix list holds per file.
MAX_FIX_ROWS = 100_000


def _fixes(con: duckdb.DuckDBPyConnection, prep: _Prepared) -> list[FixRow]:
    """Every quarantined cell of the prepared file, its value redacted as the store would."""
    have = {d[0] for d in con.execute(f"SELECT * FROM {prep.table} LIMIT 0").description}
    parts = []
    for col, header, _ind in prep.reason_columns:
        text_col = col.replace("__reason", "__text")
        text = ident(text_col) if text_col in have else "NULL::VARCHAR"
        parts.append(
            f"SELECT source_row, {sql_str(header) if header else 'NULL::VARCHAR'} AS col, "
            f"{ident(col)} AS reason, CASE WHEN {ident(col)} = 'personal_identity_code' OR "
            f"regexp_matches(coalesce({text}, ''), '{HETU_PATTERN}') THEN NULL ELSE "
            f"regexp_replace(left({text}, 60), '[\\x00-\\x1f\\x7f-\\x9f]', '?', 'g') END "
            f"AS value FROM {prep.table} WHERE {ident(col)} IS NOT NULL"
        )
    if not parts:
        return []
    rows = con.execute(
        f"SELECT * FROM ({' UNION ALL '.join(parts)}) ORDER BY source_row, col NULLS FIRST, "
        f"reason LIMIT {MAX_FIX_ROWS}"
    ).fetchall()
    return [FixRow(int(r), c, str(q), v) for r, c, q, v in rows]

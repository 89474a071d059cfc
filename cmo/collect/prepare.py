"""Preparing a file: read, map, check — into temporary tables, nothing stored yet — and the
summary of what was found."""

from __future__ import annotations

import hashlib
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from cmo.collect.mapping import OfficeMapping, plan_columns
from cmo.collect.normalise import (
    SQL_TYPES,
    number_sql,
    register_functions,
)
from cmo.collect.quarantine import _fixes
from cmo.collect.readers import (
    MAX_LINE_BYTES,
    Source,
    duckdb_readable,
)
from cmo.collect.results import BatchReport, FileReport, ReasonCount
from cmo.collect.scan_sql import _checked_sql, _quarantine_sql, _scan_sql
from cmo.collect.state import Progress, _counter, _fault_point, _Framework, _office_words, _Prepared
from cmo.errors import InputError
from cmo.store import Store
from cmo.store.db import resource_error
from cmo.store.sql import ident
from cmo.workspace import PseudonymKey, Workspace
from cmo.workspace.privacy import PERIOD_HELP

if TYPE_CHECKING:
    import duckdb


def _prepare(
    store: Store,
    ws: Workspace,
    source: Source,
    fw: _Framework,
    mapping: OfficeMapping | None,
    key: PseudonymKey,
    period: str | None,
    formats: tuple[str, ...] | None,
    progress: Progress | None,
    office: str | None = None,
) -> _Prepared:
    con = store.con
    plan = plan_columns(source.headers, fw.indicators, mapping, source.label)
    level = plan.level(fw.indicators)
    if level is None:
        raise InputError(
            f"{source.label}: no identifier column and no office-level indicator",
            hint="name the client id column e.g. 'asiakasnumero' (or the worker id column "
            "'työntekijä'), or map it in the office's mapping file (docs/collect.md)",
        )
    report = FileReport(
        source=source.name,
        sha256=source.sha256,
        format=source.kind,
        level=level,
        status="",
        encoding=source.encoding,
        delimiter=source.delimiter_name,
        sheet=source.sheet,
        encoding_declared=source.encoding_declared,
        date_formats=list(formats or []),
    )
    for ind_id in list(plan.indicators):
        ind = fw.indicators[ind_id]
        why = None
        if ind.composite is not None:
            why = "composite scale: computed from its items, not collected"
        elif ind.level.value != level:
            why = (
                f"{ind.level.value}-level indicator: collect it from a {ind.level.value} file, "
                f"not a {level} file"
            )
        if why:
            report.dropped.append((source.headers[plan.indicators.pop(ind_id)], why))
    if level == "office":
        for role in ("worker_id", "measurement_point"):
            if role in plan.roles:
                report.dropped.append(
                    (source.headers[plan.roles.pop(role)], "not used for office-level data")
                )
    if "period" in plan.roles and period:
        raise InputError(
            f"{source.label}: the file has a period column "
            f"('{source.headers[plan.roles['period']]}'), so --period is not needed",
            hint="leave out --period; each row's period comes from the file",
        )
    if "office" in plan.roles and office:
        raise InputError(
            f"{source.label}: the file has an office column "
            f"('{source.headers[plan.roles['office']]}'), so --office is not needed",
            hint="leave out --office; each row's office comes from the file",
        )
    if "office" not in plan.roles and not office:
        raise InputError(
            f"{source.label}: which office is this? The file has no office column",
            hint="give --office ID, or add a 'toimisto' column naming each row's office",
        )
    if "period" not in plan.roles and not period:
        raise InputError(
            f"{source.label}: which period is this? The file has no period column",
            hint="give --period (e.g. --period 2026H1), or add a 'jakso' column",
        )
    report.dropped = sorted(set(report.dropped) | set(plan.dropped))
    report.mapped = {source.headers[i]: r for r, i in plan.roles.items()}
    report.mapped.update({source.headers[i]: ind for ind, i in plan.indicators.items()})
    n = next(_counter)
    table = f"cmo_checked_{n}"
    raw_cols = {i: f"c{i}" for i in range(len(source.headers))}
    scratch = ws.store_path.parent / "tmp"
    with duckdb_readable(source, scratch) as (path, encoding):
        _fault_point("readable")
        scan = _scan_sql(con, source, path, encoding, raw_cols)
        sql, prepared, plan_q = _checked_sql(
            table,
            level,
            plan,
            fw,
            mapping,
            period,
            scan,
            source,
            raw_cols,
            formats,
            office=office,
            offices=_office_words(ws),
        )
        _set_key(con, key)
        register_functions(con)
        try:
            try:
                _execute_all(con, sql, f"reading {source.name}", progress)
            except _NeedsSerialScan:
                sql = [
                    q.replace("null_padding=true,", "null_padding=true, parallel=false,")
                    for q in sql
                ]
                _execute_all(con, sql, f"reading {source.name}", progress)
        except InputError as exc:
            raise InputError(f"{source.label}: {exc.message}", hint=exc.hint) from None
        finally:
            con.execute("RESET VARIABLE cmo_ipad")
            con.execute("RESET VARIABLE cmo_opad")
    _execute_all(con, _quarantine_sql(con, prepared, plan_q), f"checking {source.name}", progress)
    prepared.report = report
    _sum_totals(con, prepared, fw)
    _summarise(con, prepared, source)
    return prepared


def _sum_totals(con: duckdb.DuckDBPyConnection, prep: _Prepared, fw: _Framework) -> None:
    """A row without an identifier whose numbers are the sums of their columns over the
    accepted rows (every column with two or more values and a sum other than zero that the row
    has a number in, at least one) is a totals row without a label: it is quarantined as
    ``totals_row`` (instead of ``missing_id``)."""
    id_reason = {"case": "case_key__reason", "worker": "worker_key__reason"}.get(prep.level)
    if id_reason is None:
        return
    have = {d[0] for d in con.execute(f"SELECT * FROM {prep.table} LIMIT 0").description}
    if id_reason not in have or "total__reason" not in have:
        return
    numeric = [
        (ind, val, val.replace("_val", "__text"))
        for ind, val in prep.columns.items()
        if SQL_TYPES[fw.indicators[ind].type] in ("SMALLINT", "BIGINT", "DOUBLE")
        and val.replace("_val", "__text") in have
    ]
    if not numeric:
        return
    t = prep.table
    row = con.execute(
        f"SELECT count(*) FROM {t} WHERE {ident(id_reason)} = 'missing_id'"
    ).fetchone()
    if not row or not row[0]:
        return
    sums = ", ".join(
        f"sum({prep.values[ind]}) AS {ident('s_' + v)}, count({prep.values[ind]}) AS "
        f"{ident('n_' + v)}"
        for ind, v, _x in numeric
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {t}_sums AS {prep.accepted(sums)} HAVING count(*) >= 2"
    )
    candidates, matches = [], []
    for _ind, v, x in numeric:
        total, n, number = f"s.{ident('s_' + v)}", f"s.{ident('n_' + v)}", number_sql(ident(x))
        candidate = f"({n} >= 2 AND {total} <> 0 AND {number} IS NOT NULL)"
        candidates.append(f"coalesce({candidate}, false)::INTEGER")
        matches.append(
            f"coalesce({candidate} AND abs({number} - {total}) <= "
            f"1e-9 * greatest(1, abs({total})), false)::INTEGER"
        )
    # every column that could be a sum is one, and there is at least one
    tests = (
        f"({' + '.join(candidates)}) >= 1 AND ({' + '.join(candidates)}) = ({' + '.join(matches)})"
    )
    others = [c for c, _h, _i in prep.reason_columns if c != "total__reason" and c in have]
    nulls = ", ".join(f"{ident(c)} = NULL" for c in others)
    con.execute(
        f"UPDATE {t} SET total__reason = 'totals_row'{', ' + nulls if nulls else ''} "
        f"FROM {t}_sums s WHERE {t}.{ident(id_reason)} = 'missing_id' AND ({tests})"
    )
    con.execute(f"DROP TABLE {t}_sums")


def _set_key(con: duckdb.DuckDBPyConnection, key: PseudonymKey) -> None:
    """Put the HMAC pads into session variables (never into the database file), so that no
    statement's parameters — nor a traceback's locals — carry key material."""
    block = key.secret if len(key.secret) <= 64 else hashlib.sha256(key.secret).digest()
    block = block.ljust(64, b"\0")
    con.execute("SET VARIABLE cmo_ipad = $1", [bytes(b ^ 0x36 for b in block)])
    con.execute("SET VARIABLE cmo_opad = $1", [bytes(b ^ 0x5C for b in block)])


class _NeedsSerialScan(Exception):
    """DuckDB's parallel CSV scan cannot pad short rows in a file with quoted newlines."""


def _execute_all(
    con: duckdb.DuckDBPyConnection,
    statements: list[str],
    stage: str,
    progress: Progress | None,
) -> None:
    for n, statement in enumerate(statements):
        _execute(con, statement, f"{stage} ({n + 1}/{len(statements)})", progress)


def _execute(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    stage: str,
    progress: Progress | None,
) -> None:
    import duckdb

    if progress is None:
        _run(con, sql)
        return
    error: list[BaseException] = []

    def work() -> None:
        try:
            _run(con, sql)
        except BaseException as exc:  # re-raised in the caller's thread
            error.append(exc)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(0.1)
        try:
            done = con.query_progress()
        except duckdb.Error:  # pragma: no cover - no query running
            done = -1
        progress(stage, done / 100 if done is not None and done >= 0 else None)
    if error:
        raise error[0]
    progress(stage, 1.0)


def _run(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    import duckdb

    try:
        con.execute(sql)
    except duckdb.Error as exc:
        text = str(exc)
        if "parallel=false" in text:
            raise _NeedsSerialScan from None
        if not text.startswith("CSV Error") and "CSV" not in text.split("\n")[0]:
            problem = resource_error(exc, Path("the workspace's .cmo folder"))
            if problem is not None:
                raise problem from None
            raise
        # The CSV reader names the line; the rest of its message may quote a row (and so an
        # identifier), so only the first line, without the quoted row, is shown.
        line = re.search(r"[Ll]ine:? (\d+)", text)
        where = f" near line {line.group(1)}" if line else ""
        if "Maximum line size" in text:
            raise InputError(
                f"line{where.removeprefix(' near line')} is longer than the "
                f"{MAX_LINE_BYTES >> 20} MB a line may have",
                hint="a field that long is not case data: leave the column out of the export",
            ) from None
        raise InputError(
            f"the export could not be read as CSV{where}",
            hint="check that every row has as many fields as the header and that quotes are closed",
        ) from None


def _summarise(con: duckdb.DuckDBPyConnection, prep: _Prepared, source: Source) -> None:
    batch = (
        "CASE WHEN office IS NULL OR period IS NULL THEN NULL ELSE office END AS o, "
        "CASE WHEN office IS NULL OR period IS NULL THEN NULL ELSE period END AS p"
    )
    rows = con.execute(
        f"SELECT o, p, sum(n)::BIGINT, (sum(n) - sum(q))::BIGINT, sum(q)::BIGINT FROM "
        f"(SELECT {batch}, count(*) AS n, 0 AS q FROM {prep.rows} GROUP BY o, p UNION ALL "
        f"SELECT {batch}, 0 AS n, count(*) AS q FROM {prep.table} GROUP BY o, p) "
        "GROUP BY o, p ORDER BY o NULLS LAST, p NULLS LAST"
    ).fetchall()
    report = prep.report
    for office_value, period_value, n, ok, bad in rows:
        if period_value is None:
            # rows without a period (or office) cannot form a batch of their own: they are
            # quarantined (missing_period, unknown_office, ...) and counted with the first batch
            continue
        report.batches.append(
            BatchReport(str(period_value), None, int(n), int(ok), int(bad), None, str(office_value))
        )
    orphan = next((r[1:] for r in rows if r[1] is None), None)
    if orphan is not None:
        if not report.batches and "office__reason" in {c for c, _h, _i in prep.reason_columns}:
            raise InputError(
                f"{source.label}: no row names an office of cmo.yaml in its office column",
                hint="write each office's id or name (as in cmo.yaml) in the office column",
            )
        if not report.batches:
            raise InputError(
                f"{source.label}: no row has a period (the period column is empty or holds "
                "no valid period)",
                hint=f"fill in the period ({PERIOD_HELP}), or leave the column out and give "
                "--period",
            )
        first = report.batches[0]
        first.rows_in += int(orphan[1])
        first.rows_quarantined += int(orphan[3])
    report.rows_in = sum(b.rows_in for b in report.batches)
    report.rows_accepted = sum(b.rows_accepted for b in report.batches)
    report.rows_quarantined = sum(b.rows_quarantined for b in report.batches)
    found = con.execute(
        " UNION ALL ".join(
            f"SELECT {n} AS n, {ident(col)}, count(*), list(source_row ORDER BY source_row)[1:10] "
            f"FROM {prep.table} WHERE {ident(col)} IS NOT NULL GROUP BY 2"
            for n, (col, _h, _i) in enumerate(prep.reason_columns)
        )
        + " ORDER BY 1, 2"
    ).fetchall()
    for n, reason, count, first_rows in found:
        _col, header, ind_id = prep.reason_columns[n]
        report.reasons.append(
            ReasonCount(str(reason), header, ind_id, int(count), [int(r) for r in first_rows])
        )
        if reason == "personal_identity_code":
            report.identity_codes_found += int(count)
    report.reasons.sort(key=lambda r: (-r.count, r.reason, r.column or ""))
    report.fixes = _fixes(con, prep)

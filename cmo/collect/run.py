"""`cmo collect`: office exports into the store — typed, pseudonymised, nothing lost."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cmo import __version__
from cmo.collect.mapping import ColumnPlan, OfficeMapping, load_mapping, plan_columns, point_labels
from cmo.collect.normalise import (
    HETU_PATTERN,
    REASONS,
    SQL_TYPES,
    ValueSQL,
    date_sql,
    hetu_sql,
    point_sql,
    register_functions,
    value_sql,
)
from cmo.collect.readers import Source, duckdb_readable, open_source
from cmo.errors import InputError, WorkspaceError
from cmo.results import Tabular
from cmo.store import LEVEL_TABLES, Batch, Store, open_store
from cmo.store.sql import ident, sql_str
from cmo.theory import validate
from cmo.theory.models import Indicator, MeasurementPoint
from cmo.workspace import PseudonymKey, Workspace, load_key

if TYPE_CHECKING:
    import duckdb

Progress = Callable[[str, float | None], None]


@dataclass
class ReasonCount:
    """Quarantined cells of one reason in one column, with the first rows to look at."""

    reason: str
    column: str | None
    indicator: str | None
    count: int
    rows: list[int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "column": self.column,
            "indicator": self.indicator,
            "count": self.count,
            "rows": self.rows,
            "advice": REASONS.get(self.reason, ""),
        }


@dataclass
class BatchReport:
    period: str
    batch_id: int | None
    rows_in: int
    rows_accepted: int
    rows_quarantined: int
    replaced_batch: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class FileReport:
    """What happened to one export file."""

    source: str
    sha256: str
    format: str
    level: str
    status: str  # stored, replaced, unchanged, dry_run
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    rows_in: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    batches: list[BatchReport] = field(default_factory=list)
    reasons: list[ReasonCount] = field(default_factory=list)
    mapped: dict[str, str] = field(default_factory=dict)
    dropped: list[tuple[str, str]] = field(default_factory=list)
    identity_codes_found: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "sha256": self.sha256,
            "format": self.format,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "sheet": self.sheet,
            "level": self.level,
            "status": self.status,
            "rows_in": self.rows_in,
            "rows_accepted": self.rows_accepted,
            "rows_quarantined": self.rows_quarantined,
            "batches": [b.to_dict() for b in self.batches],
            "quarantine": [r.to_dict() for r in self.reasons],
            "mapped_columns": self.mapped,
            "dropped_columns": [{"column": c, "why": w} for c, w in self.dropped],
            "identity_codes_found": self.identity_codes_found,
        }


@dataclass
class CollectResult(Tabular):
    """The result of one ``cmo collect`` run; as a table, one row per file."""

    office: str
    files: list[FileReport]
    dry_run: bool
    store: str

    @property
    def rows_in(self) -> int:
        return sum(f.rows_in for f in self.files)

    @property
    def rows_accepted(self) -> int:
        return sum(f.rows_accepted for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    def rows(self) -> list[dict[str, Any]]:
        """One row per export file: what it was and what became of its rows."""
        return [
            {
                "office": self.office,
                "source": f.source,
                "format": f.format,
                "level": f.level,
                "status": f.status,
                "rows_in": f.rows_in,
                "rows_accepted": f.rows_accepted,
                "rows_quarantined": f.rows_quarantined,
            }
            for f in self.files
        ]

    def caption(self) -> str:
        what = "dry run" if self.dry_run else "collected"
        return (
            f"{self.office}: {what}, {self.rows_in} rows in, {self.rows_accepted} accepted, "
            f"{self.rows_quarantined} quarantined"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "cmo_version": __version__,
            "office": self.office,
            "dry_run": self.dry_run,
            "store": self.store,
            "rows_in": self.rows_in,
            "rows_accepted": self.rows_accepted,
            "rows_quarantined": self.rows_quarantined,
            "files": [f.to_dict() for f in self.files],
        }


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


def collect(
    ws: Workspace,
    office: str,
    files: Sequence[Path],
    *,
    period: str | None = None,
    sheet: str | None = None,
    mapping_file: Path | None = None,
    replace: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> CollectResult:
    """Collect office exports into the workspace's store (one transaction for all files)."""
    if not files:
        raise InputError("no export files given", hint="cmo collect --office ID FILE...")
    known = [o.id for o in ws.settings.offices]
    if known and office not in known:
        raise InputError(
            f"unknown office '{office}'",
            hint=f"offices in {ws.root / 'cmo.yaml'}: {', '.join(known)}",
        )
    fw = _framework(ws)
    mapping = _office_mapping(ws, office, mapping_file)
    try:
        key = load_key(ws.key_path)
    except WorkspaceError:
        if not dry_run:
            raise
        key = PseudonymKey(secrets.token_bytes(32), "ephemeral key for --dry-run")
    sources = [
        open_source(Path(p), sheet=sheet or (mapping.sheet if mapping else None)) for p in files
    ]
    if dry_run:
        import duckdb

        store = Store(Path(":memory:"), duckdb.connect(":memory:"), read_only=False)
        store.configure(ws.store_path.parent / "tmp", ws.settings.memory_limit)
        store._ensure_schema()
        existing = _existing_store(ws)
    else:
        store = open_store(ws.store_path, memory_limit=ws.settings.memory_limit)
        existing = None
    with store:
        reports = _collect_all(
            store,
            existing,
            ws,
            office,
            sources,
            fw,
            mapping,
            key,
            period=period,
            replace=replace,
            dry_run=dry_run,
            progress=progress,
        )
    return CollectResult(office=office, files=reports, dry_run=dry_run, store=str(ws.store_path))


def _existing_store(ws: Workspace) -> Store | None:
    if not ws.store_path.exists():
        return None
    return open_store(ws.store_path, read_only=True)


def _office_mapping(ws: Workspace, office: str, given: Path | None) -> OfficeMapping | None:
    if given is not None:
        if not given.is_file():
            raise InputError(f"{given}: no such mapping file")
        return load_mapping(given)
    for suffix in (".yaml", ".yml"):
        path = ws.mappings_dir / f"{office}{suffix}"
        if path.is_file():
            return load_mapping(path)
    return None


def _collect_all(
    store: Store,
    existing: Store | None,
    ws: Workspace,
    office: str,
    sources: list[Source],
    fw: _Framework,
    mapping: OfficeMapping | None,
    key: PseudonymKey,
    *,
    period: str | None,
    replace: bool,
    dry_run: bool,
    progress: Progress | None,
) -> list[FileReport]:
    reports: list[FileReport] = []
    prepared: list[tuple[Source, _Prepared]] = []
    lookup = existing if existing is not None else store
    try:
        for source in sources:
            done = _unchanged(lookup, office, source, period)
            if done is not None and not replace:
                reports.append(done)
                continue
            prep = _prepare(store, ws, source, fw, mapping, key, period, progress)
            report = prep.report
            report.status = "dry_run" if dry_run else "stored"
            for b in report.batches:
                old = lookup.find_batch(office, b.period, report.level)
                if old is None:
                    continue
                if not replace:
                    raise InputError(
                        f"{source.path}: office '{office}' already has {report.level} data for "
                        f"period {b.period} (batch {old.batch_id}, from {old.source_name})",
                        hint="give --replace to swap the old batch for this file, or "
                        f"'cmo retract {old.batch_id}' first",
                    )
                b.replaced_batch = old.batch_id
                report.status = "dry_run" if dry_run else "replaced"
            reports.append(report)
            prepared.append((source, prep))
        if dry_run:
            return reports
        if progress:
            progress("storing", None)
        # Stored rows carry their source row number, so their order does not matter: let
        # DuckDB write in parallel.
        store.con.execute("SET preserve_insertion_order = false")
        with store.transaction():
            for _source, prep in prepared:
                _store_prepared(store, office, prep)
            _fault_point("before-commit")
        store.con.execute("SET preserve_insertion_order = true")
    finally:
        if existing is not None:
            existing.close()
    return reports


def _fault_point(name: str) -> None:
    """Test hook: with ``CMO_FAULT=<name>`` the process announces the point on stderr and
    waits, so that a test can kill it exactly there (e.g. mid-transaction)."""
    if os.environ.get("CMO_FAULT") == name:
        sys.stderr.write(f"CMO_FAULT {name}\n")
        sys.stderr.flush()
        time.sleep(3600)


def _unchanged(store: Store, office: str, source: Source, period: str | None) -> FileReport | None:
    """If this very file (same SHA-256) was collected for the office, report it unchanged."""
    batches = [
        b for b in store.batches(office=office, period=period) if b.source_sha256 == source.sha256
    ]
    if not batches:
        return None
    report = FileReport(
        source=source.name,
        sha256=source.sha256,
        format=source.kind,
        level=batches[0].level,
        status="unchanged",
        encoding=batches[0].encoding,
        delimiter=batches[0].delimiter,
        sheet=batches[0].sheet,
    )
    for b in batches:
        report.batches.append(
            BatchReport(b.period, b.batch_id, b.rows_in, b.rows_accepted, b.rows_quarantined)
        )
        report.rows_in += b.rows_in
        report.rows_accepted += b.rows_accepted
        report.rows_quarantined += b.rows_quarantined
        for reason, column, count in store.quarantine_reasons(b.batch_id):
            report.reasons.append(ReasonCount(reason, column, None, count, []))
    return report


# ------------------------------------------------------------------------------------------
# Preparing: read, map, check — into temporary tables, nothing stored yet
# ------------------------------------------------------------------------------------------


@dataclass
class _Prepared:
    report: FileReport
    table: str
    level: str
    columns: dict[str, str]  # indicator id -> column in the checked table
    sql_types: dict[str, str]
    reason_columns: list[tuple[str, str | None, str | None]]  # (col, header, indicator)


_counter = iter(range(1, 1 << 30))


def _prepare(
    store: Store,
    ws: Workspace,
    source: Source,
    fw: _Framework,
    mapping: OfficeMapping | None,
    key: PseudonymKey,
    period: str | None,
    progress: Progress | None,
) -> _Prepared:
    con = store.con
    plan = plan_columns(source.headers, fw.indicators, mapping, str(source.path))
    level = plan.level(fw.indicators)
    if level is None:
        raise InputError(
            f"{source.path}: no identifier column and no office-level indicator",
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
            f"{source.path}: the file has a period column "
            f"('{source.headers[plan.roles['period']]}'), so --period is not needed",
            hint="leave out --period; each row's period comes from the file",
        )
    if "period" not in plan.roles and not period:
        raise InputError(
            f"{source.path}: which period is this? The file has no period column",
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
        scan = _scan_sql(con, source, path, encoding, raw_cols)
        sql, prepared = _checked_sql(
            table, level, plan, fw, mapping, period, scan, source, raw_cols
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
            raise InputError(f"{source.path}: {exc.message}", hint=exc.hint) from None
        finally:
            con.execute("RESET VARIABLE cmo_ipad")
            con.execute("RESET VARIABLE cmo_opad")
    prepared.report = report
    _summarise(con, prepared, source)
    return prepared


def _set_key(con: duckdb.DuckDBPyConnection, key: PseudonymKey) -> None:
    """Put the HMAC pads into session variables (never into the database file), so that no
    statement's parameters — nor a traceback's locals — carry key material."""
    block = key.secret if len(key.secret) <= 64 else hashlib.sha256(key.secret).digest()
    block = block.ljust(64, b"\0")
    con.execute("SET VARIABLE cmo_ipad = $1", [bytes(b ^ 0x36 for b in block)])
    con.execute("SET VARIABLE cmo_opad = $1", [bytes(b ^ 0x5C for b in block)])


class _NeedsSerialScan(Exception):
    """DuckDB's parallel CSV scan cannot pad short rows in a file with quoted newlines."""


def _pseudonym_sql(text: str) -> str:
    """HMAC-SHA-256 in SQL: H((K⊕opad) ‖ H((K⊕ipad) ‖ m)); equals :meth:`PseudonymKey.pseudonym`."""
    return (
        f"CASE WHEN {text} IS NULL THEN NULL ELSE "
        "sha256(getvariable('cmo_opad') || unhex(sha256(getvariable('cmo_ipad') || "
        f"encode(upper({text}))))) END"
    )


_scan_ids = iter(range(1, 1 << 30))


def _scan_sql(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    path: Path,
    encoding: str,
    raw_cols: dict[int, str],
) -> str:
    """A FROM clause yielding raw text columns ``c0..cN`` in file order (and, for workbooks,
    ``source_row``; for CSV the row number comes from the order the rows were read in)."""
    if source.kind == "workbook":
        import pandas as pd

        rows = source.rows or []
        frame = pd.DataFrame(
            {raw_cols[i]: [r[i] for r in rows] for i in range(len(source.headers))},
            dtype="object",
        )
        frame.insert(
            0, "source_row", range(source.header_row + 1, source.header_row + 1 + len(rows))
        )
        name = f"cmo_book_{next(_scan_ids)}"
        con.register(name, frame)
        return name
    columns = ", ".join(f"{sql_str(c)}: 'VARCHAR'" for c in raw_cols.values())
    delim = sql_str(source.delimiter or ";")
    return (
        f"read_csv({sql_str(str(path))}, delim={delim}, header=false, "
        f"skip={source.header_row}, quote='\"', escape='\"', encoding={sql_str(encoding)}, "
        f"null_padding=true, columns={{{columns}}}, auto_detect=false)"
    )


def _checked_sql(
    table: str,
    level: str,
    plan: ColumnPlan,
    fw: _Framework,
    mapping: OfficeMapping | None,
    period: str | None,
    scan: str,
    source: Source,
    raw_cols: dict[int, str],
) -> tuple[list[str], _Prepared]:
    """The statements that build ``table``: one row per data row with pseudonymous keys, typed
    values, a reason column per checked cell, and ``quarantined``.

    A value's type and its quarantine reason depend only on its text, so they are computed once
    per distinct text of a column (a small dictionary table) and joined back: an export has
    a million rows but only a handful of different answers per question.
    """
    extra = mapping.values if mapping else {}
    roles = plan.roles
    a: list[str] = []  # step A: from the raw scan — keys hashed at once, texts trimmed
    c: list[str] = []  # step C: rows with values and reasons, joined from dictionaries
    joins: list[str] = []
    dicts: list[str] = []
    reasons: list[tuple[str, str | None, str | None]] = []
    if source.kind == "workbook":
        a.append("source_row")
        c.append("a.source_row")
    else:
        c.append(f"a.rowid + {source.header_row + 1} AS source_row")
    id_role = {"case": "client_id", "worker": "worker_id"}.get(level)
    for role, out in (("client_id", "case_key"), ("worker_id", "worker_key")):
        if role in roles:
            text = f"NULLIF(trim({ident(raw_cols[roles[role]])}), '')"
            a.append(f"{_pseudonym_sql(text)} AS {out}")
            c.append(f"a.{out}")
            if role == id_role:
                c.append(f"CASE WHEN a.{out} IS NULL THEN 'missing_id' END AS {out}__reason")
                reasons.append((f"{out}__reason", source.headers[roles[role]], None))
    if level == "case" and "worker_id" not in roles:
        c.append("NULL::VARCHAR AS worker_key")
    specs: dict[str, tuple[str, ValueSQL, str | None, str | None]] = {}
    source_col: dict[str, int] = {}
    if "measurement_point" in roles:
        i = roles["measurement_point"]
        words = point_labels(fw.points)
        words.update({str(k): str(v) for k, v in extra.get("measurement_point", {}).items()})
        source_col["mp"] = i
        specs["mp"] = (
            "measurement_point",
            point_sql(ident("mp_r"), "mp", words),
            source.headers[i],
            None,
        )
    if "measured_on" in roles and level == "case":
        i = roles["measured_on"]
        t = ident("md_t")
        source_col["md"] = i
        specs["md"] = (
            "measured_on",
            ValueSQL(
                text=f"NULLIF(trim({ident('md_r')}), '')",
                parts={"md_d": date_sql(t)},
                value=ident("md_d"),
                reason=f"CASE WHEN {t} IS NOT NULL AND {ident('md_d')} IS NULL "
                "THEN 'invalid_date' END",
            ),
            source.headers[i],
            None,
        )
    columns: dict[str, str] = {}
    sql_types: dict[str, str] = {}
    for n, (ind_id, i) in enumerate(sorted(plan.indicators.items(), key=lambda x: x[1])):
        ind = fw.indicators[ind_id]
        prefix = f"p{n}"
        source_col[prefix] = i
        specs[prefix] = (
            f"{prefix}_val",
            value_sql(ident(f"{prefix}_r"), ind, prefix, extra.get(ind_id)),
            source.headers[i],
            ind_id,
        )
        columns[ind_id] = f"{prefix}_val"
        sql_types[ind_id] = SQL_TYPES[ind.type]
    for prefix, (out, spec, column, indicator) in specs.items():
        r, t = ident(prefix + "_r"), ident(prefix + "_t")
        a.append(f"{ident(raw_cols[source_col[prefix]])} AS {r}")
        d = f"{table}_d{prefix}"
        parts = "".join(f", {expr} AS {ident(name)}" for name, expr in spec.parts.items())
        dicts.append(
            f"CREATE TEMP TABLE {d} AS SELECT {r}, {t}, {spec.value} AS {ident(out)}, "
            f"{spec.reason} AS {ident(prefix + '__reason')} FROM "
            f"(SELECT *{parts} FROM (SELECT {r}, {spec.text} AS {t} FROM "
            f"(SELECT DISTINCT {r} FROM {table}_a WHERE {r} IS NOT NULL)))"
        )
        joins.append(f"LEFT JOIN {d} ON a.{r} = {d}.{r}")
        c.append(f"{d}.{ident(out)}")
        c.append(f"{d}.{ident(prefix + '__reason')}")
        c.append(f"{d}.{t} AS {ident(prefix + '__text')}")
        reasons.append((f"{prefix}__reason", column, indicator))
    if "period" in roles:
        i = roles["period"]
        a.append(f"NULLIF(trim({ident(raw_cols[i])}), '') AS period")
        c.append("a.period")
        c.append("CASE WHEN a.period IS NULL THEN 'missing_period' END AS period__reason")
        reasons.append(("period__reason", source.headers[i], None))
    else:
        c.append(f"{sql_str(period or '')} AS period")
    # Free-text columns are not stored, but a personal identity code in them is reported.
    for header, _why in plan.dropped:
        for i in (i for i, h in enumerate(source.headers) if h == header):
            name = f"x{i}"
            a.append(f"coalesce({hetu_sql(ident(raw_cols[i]))}, false) AS {ident(name + '_h')}")
            c.append(
                f"CASE WHEN a.{ident(name + '_h')} THEN 'personal_identity_code' END "
                f"AS {ident(name + '__reason')}"
            )
            c.append(f"NULL::VARCHAR AS {ident(name + '__text')}")
            reasons.append((f"{name}__reason", header, None))
    reason_list = [ident(r[0]) for r in reasons]
    first_reason = f"coalesce({', '.join(reason_list)})" if reason_list else "NULL::VARCHAR"
    keys = {"case": "case_key", "worker": "worker_key"}.get(level)
    same = ["c.period = f.period"]
    group = ["period"]
    if keys:
        same.append(f"c.{keys} = f.{keys}")
        group.append(keys)
    if "mp" in specs:
        same.append("c.measurement_point IS NOT DISTINCT FROM f.measurement_point")
        group.append("measurement_point")
    if not a:
        a.append("1 AS one")
    sql = [
        f"CREATE TEMP TABLE {table}_a AS SELECT {', '.join(a)} FROM {scan}",
        *dicts,
        f"CREATE TEMP TABLE {table}_c AS SELECT * , {first_reason} AS first__reason FROM "
        f"(SELECT {', '.join(c)} FROM {table}_a a {' '.join(joins)})",
        f"DROP TABLE {table}_a",
        *(f"DROP TABLE {table}_d{prefix}" for prefix in specs),
        # Duplicates: the same key and measurement point again in a period (the first row of
        # each group is kept). Rows already quarantined for another reason do not count.
        f"CREATE TEMP TABLE {table} AS WITH f AS (SELECT {', '.join(group)}, "
        f"min(source_row) AS first_row FROM {table}_c WHERE first__reason IS NULL"
        f"{f' AND {keys} IS NOT NULL' if keys else ''} GROUP BY ALL HAVING count(*) > 1) "
        f"SELECT c.* EXCLUDE (first__reason), CASE WHEN c.first__reason IS NULL AND "
        f"c.source_row > f.first_row THEN 'duplicate_row' END AS dup__reason, "
        f"(c.first__reason IS NOT NULL OR dup__reason IS NOT NULL) AS quarantined "
        f"FROM {table}_c c LEFT JOIN f ON {' AND '.join(same)}",
        f"DROP TABLE {table}_c",
    ]
    reasons.append(("dup__reason", None, None))
    prepared = _Prepared(
        report=FileReport("", "", "", level, ""),
        table=table,
        level=level,
        columns=columns,
        sql_types=sql_types,
        reason_columns=reasons,
    )
    return sql, prepared


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


def _used(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """Only the named parameters the statement uses (DuckDB refuses extra ones)."""
    return {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)}


def _run(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    import duckdb

    try:
        con.execute(sql)
    except duckdb.Error as exc:
        text = str(exc)
        if "parallel=false" in text:
            raise _NeedsSerialScan from None
        if not text.startswith("CSV Error") and "CSV" not in text.split("\n")[0]:
            raise
        # The CSV reader names the line; the rest of its message may quote a row (and so an
        # identifier), so only the first line, without the quoted row, is shown.
        line = re.search(r"[Ll]ine:? (\d+)", text)
        where = f" near line {line.group(1)}" if line else ""
        raise InputError(
            f"the export could not be read as CSV{where}",
            hint="check that every row has as many fields as the header and that quotes are closed",
        ) from None


def _summarise(con: duckdb.DuckDBPyConnection, prep: _Prepared, source: Source) -> None:
    rows = con.execute(
        f"SELECT period, count(*), count(*) FILTER (WHERE NOT quarantined), "
        f"count(*) FILTER (WHERE quarantined) FROM {prep.table} GROUP BY period "
        "ORDER BY period NULLS LAST"
    ).fetchall()
    report = prep.report
    for period_value, n, ok, bad in rows:
        if period_value is None:
            # rows without a period cannot form a batch of their own: they are quarantined
            # (missing_period) and counted with the file's first batch
            continue
        report.batches.append(BatchReport(str(period_value), None, int(n), int(ok), int(bad)))
    orphan = next((r for r in rows if r[0] is None), None)
    if orphan is not None:
        if not report.batches:
            raise InputError(
                f"{source.path}: the period column is empty on every row",
                hint="fill in the period, or give --period",
            )
        first = report.batches[0]
        first.rows_in += int(orphan[1])
        first.rows_quarantined += int(orphan[3])
    report.rows_in = sum(b.rows_in for b in report.batches)
    report.rows_accepted = sum(b.rows_accepted for b in report.batches)
    report.rows_quarantined = sum(b.rows_quarantined for b in report.batches)
    for col, header, ind_id in prep.reason_columns:
        found = con.execute(
            f"SELECT {ident(col)}, count(*), list(source_row ORDER BY source_row)[1:10] "
            f"FROM {prep.table} WHERE {ident(col)} IS NOT NULL GROUP BY 1 ORDER BY 1"
        ).fetchall()
        for reason, count, first_rows in found:
            report.reasons.append(
                ReasonCount(str(reason), header, ind_id, int(count), [int(r) for r in first_rows])
            )
            if reason == "personal_identity_code":
                report.identity_codes_found += int(count)
    report.reasons.sort(key=lambda r: (-r.count, r.reason, r.column or ""))


# ------------------------------------------------------------------------------------------
# Storing
# ------------------------------------------------------------------------------------------


def _store_prepared(store: Store, office: str, prep: _Prepared) -> None:
    report = prep.report
    con = store.con
    store.ensure_indicator_columns(prep.level, prep.sql_types)
    table = LEVEL_TABLES[prep.level]
    key_cols = {
        "case": ["case_key", "worker_key", "measurement_point", "measured_on"],
        "worker": ["worker_key", "measurement_point"],
        "office": [],
    }[prep.level]
    have = {d[0] for d in con.execute(f"SELECT * FROM {prep.table} LIMIT 0").description}
    selects = []
    for col in key_cols:
        selects.append(ident(col) if col in have else f"NULL AS {col}")
    ind_cols = list(prep.columns)
    selects += [ident(prep.columns[i]) for i in ind_cols]
    target = ", ".join(
        ["batch_id", "source_row", "office", "period", *key_cols, *(ident(i) for i in ind_cols)]
    )
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    first_period = report.batches[0].period if report.batches else None
    for b in report.batches:
        if b.replaced_batch is not None:
            store.delete_batch(b.replaced_batch)
        b.batch_id = store.next_batch_id()
        period_filter = "period = $period"
        if b.period == first_period:
            period_filter = "(period = $period OR period IS NULL)"
        params = {"batch": b.batch_id, "office": office, "period": b.period}
        sql = (
            f"INSERT INTO {table} ({target}) SELECT $batch, source_row, $office, $period, "
            f"{', '.join(selects)} FROM {prep.table} WHERE period = $period AND NOT quarantined"
        )
        con.execute(sql, _used(sql, params))
        for col, header, ind_id in prep.reason_columns:
            text_col = col.replace("__reason", "__text")
            text = ident(text_col) if text_col in have else "NULL"
            sql = (
                "INSERT INTO quarantine SELECT $batch, source_row, $header, $indicator, "
                f"{ident(col)}, CASE WHEN {ident(col)} = 'personal_identity_code' OR "
                f"regexp_matches(coalesce({text}, ''), '{HETU_PATTERN}') THEN NULL "
                f"ELSE left({text}, 60) END, "
                f"({ident(col)} = 'personal_identity_code' OR "
                f"regexp_matches(coalesce({text}, ''), '{HETU_PATTERN}')) "
                f"FROM {prep.table} WHERE {period_filter} AND {ident(col)} IS NOT NULL"
            )
            con.execute(sql, _used(sql, {**params, "header": header, "indicator": ind_id}))
        store.insert_batch(
            Batch(
                batch_id=b.batch_id,
                office=office,
                period=b.period,
                level=prep.level,
                source_name=report.source,
                source_sha256=report.sha256,
                rows_in=b.rows_in,
                rows_accepted=b.rows_accepted,
                rows_quarantined=b.rows_quarantined,
                encoding=report.encoding,
                delimiter=report.delimiter,
                sheet=report.sheet,
                collected_at=now,
                cmo_version=__version__,
            )
        )
    con.execute(f"DROP TABLE {prep.table}")

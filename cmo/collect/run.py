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
    REASONS,
    SQL_TYPES,
    TOTALS_PATTERN,
    ValueSQL,
    check_date_formats,
    date_sql,
    hetu_sql,
    norm_sql,
    number_sql,
    point_sql,
    register_functions,
    value_sql,
)
from cmo.collect.readers import (
    MAX_LINE_BYTES,
    Source,
    declared_encoding,
    duckdb_readable,
    open_source,
)
from cmo.errors import InputError, WorkspaceError
from cmo.results import Tabular
from cmo.store import LEVEL_TABLES, Batch, Store, open_store
from cmo.store.db import guarded, memory_store, resource_error
from cmo.store.sql import ident, sql_str
from cmo.text import normalise
from cmo.theory import validate
from cmo.theory.models import Indicator, MeasurementPoint
from cmo.workspace import PseudonymKey, Workspace, load_key
from cmo.workspace.privacy import HETU_PATTERN, PERIOD_HELP, PERIOD_PATTERN, check_period

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


@dataclass(frozen=True)
class FixRow:
    """One quarantined cell, for the office's fix list (the value redacted as stored)."""

    row: int
    column: str | None
    reason: str
    value: str | None


@dataclass
class BatchReport:
    period: str
    batch_id: int | None
    rows_in: int
    rows_accepted: int
    rows_quarantined: int
    replaced_batch: int | None = None
    office: str = ""

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
    #: case pseudonyms of this file already stored under another office (a count only)
    shared_with_other_offices: int = 0
    encoding_declared: bool = False
    date_formats: list[str] = field(default_factory=list)
    #: every quarantined cell (at most MAX_FIX_ROWS), for ``--fix-list``
    fixes: list[FixRow] = field(default_factory=list)

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
            "shared_with_other_offices": self.shared_with_other_offices,
            "encoding_declared": self.encoding_declared,
            "date_formats": self.date_formats,
        }


@dataclass
class CollectResult(Tabular):
    """The result of one ``cmo collect`` run; as a table, one row per file."""

    office: str | None  # None: the files' office columns say
    files: list[FileReport]
    dry_run: bool
    store: str
    #: why nothing was stored although every file could be read (too much quarantined);
    #: the command exits 1 (findings). Empty when the collect went through.
    problems: list[str] = field(default_factory=list)
    key_fingerprint: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

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
                "office": self.office or ", ".join(sorted({b.office for b in f.batches})),
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
        if not self.ok:
            what = "nothing stored (too much quarantined)"
        office = self.office or ", ".join(sorted({b.office for f in self.files for b in f.batches}))
        return (
            f"{office}: {what}, {self.rows_in} rows in, {self.rows_accepted} accepted, "
            f"{self.rows_quarantined} quarantined"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "cmo_version": __version__,
            "office": self.office,
            "offices": sorted({b.office for f in self.files for b in f.batches}),
            "dry_run": self.dry_run,
            "store": self.store,
            "ok": self.ok,
            "problems": self.problems,
            "key_fingerprint": self.key_fingerprint,
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
    office: str | None,
    files: Sequence[Path],
    *,
    period: str | None = None,
    sheet: str | None = None,
    mapping_file: Path | None = None,
    replace: bool = False,
    dry_run: bool = False,
    encoding: str | None = None,
    date_formats: Sequence[str] | None = None,
    accept_quarantine: bool = False,
    progress: Progress | None = None,
) -> CollectResult:
    """Collect office exports into the workspace's store (one transaction for all files).

    Nothing is stored — and the result's ``problems`` say why — when a file has no accepted
    row or one reason quarantines more than ``quarantine_limit`` of its rows, unless
    ``accept_quarantine``.
    """
    if not files:
        raise InputError("no export files given", hint="cmo collect --office ID FILE...")
    if office is not None:
        office = check_office(ws, office)
    if period is not None:
        period = check_period(period)
    fw = _framework(ws)
    mapping = _office_mapping(ws, office, mapping_file)
    codec = declared_encoding(encoding) if encoding else None
    if codec is None and mapping is not None and mapping.encoding:
        codec = declared_encoding(mapping.encoding, "the mapping file's 'encoding'")
    formats = check_date_formats(list(date_formats), "--date-format") if date_formats else None
    if formats is None and mapping is not None and mapping.date_formats:
        formats = check_date_formats(mapping.date_formats, "the mapping file's 'date_format'")
    try:
        key = load_key(ws.key_path)
    except WorkspaceError:
        if not dry_run:
            raise
        key = PseudonymKey(secrets.token_bytes(32), "ephemeral key for --dry-run")
    sources = [
        open_source(Path(p), sheet=sheet or (mapping.sheet if mapping else None), encoding=codec)
        for p in files
    ]
    if dry_run:
        store = memory_store(ws.store_path.parent / "tmp", ws.settings.memory_limit)
        existing = _existing_store(ws)
        if existing is not None and not key.source.startswith("ephemeral"):
            try:
                existing.bind_key(key.fingerprint, key.source)
            except BaseException:
                existing.close()
                raise
    else:
        store = open_store(ws.store_path, memory_limit=ws.settings.memory_limit)
        existing = None
        try:
            store.bind_key(key.fingerprint, key.source)
        except BaseException:
            store.close()
            raise
    result = CollectResult(
        office=office,
        files=[],
        dry_run=dry_run,
        store=str(ws.store_path),
        key_fingerprint=None if key.source.startswith("ephemeral") else key.fingerprint,
    )
    with store, guarded(ws.store_path):
        result.files = _collect_all(
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
            formats=formats,
            limit=None if accept_quarantine else ws.settings.quarantine_limit,
            problems=result.problems,
            progress=progress,
        )
    return result


def check_office(ws: Workspace, office: str) -> str:
    """The office id, if it is one: listed in ``cmo.yaml`` (when offices are listed) and
    shaped like an office id. The message never echoes what is not an office id."""
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", office):
        raise InputError(
            "--office: not an office id (lower-case letters, digits and _)",
            hint=f"offices in {ws.root / 'cmo.yaml'}: "
            f"{', '.join(o.id for o in ws.settings.offices) or 'none listed'}",
        )
    known = [o.id for o in ws.settings.offices]
    if known and office not in known:
        raise InputError(
            f"unknown office '{office}'",
            hint=f"offices in {ws.root / 'cmo.yaml'}: {', '.join(known)}",
        )
    return office


def _office_words(ws: Workspace) -> dict[str, str]:
    """What an office column may say → office id: each office's id, name and municipality."""
    words: dict[str, str] = {}
    for o in ws.settings.offices:
        for word in (o.id, o.name, o.municipality):
            if word:
                words.setdefault(normalise(word), o.id)
    return words


def _existing_store(ws: Workspace) -> Store | None:
    if not ws.store_path.exists():
        return None
    return open_store(ws.store_path, read_only=True)


def _office_mapping(ws: Workspace, office: str | None, given: Path | None) -> OfficeMapping | None:
    if given is not None:
        if not given.is_file():
            raise InputError(f"{given}: no such mapping file")
        return load_mapping(given)
    if office is None:
        return None
    for suffix in (".yaml", ".yml"):
        path = ws.mappings_dir / f"{office}{suffix}"
        if path.is_file():
            return load_mapping(path)
    return None


def _collect_all(
    store: Store,
    existing: Store | None,
    ws: Workspace,
    office: str | None,
    sources: list[Source],
    fw: _Framework,
    mapping: OfficeMapping | None,
    key: PseudonymKey,
    *,
    period: str | None,
    replace: bool,
    dry_run: bool,
    formats: tuple[str, ...] | None,
    limit: float | None,
    problems: list[str],
    progress: Progress | None,
) -> list[FileReport]:
    reports: list[FileReport] = []
    prepared: list[tuple[Source, _Prepared]] = []
    lookup = existing if existing is not None else store
    try:
        for source in sources:
            # A dry run always reads the file again: it previews what a changed mapping does.
            done = None if dry_run else _unchanged(lookup, office, source, period)
            if done is not None and not replace:
                reports.append(done)
                continue
            prep = _prepare(store, ws, source, fw, mapping, key, period, formats, progress, office)
            report = prep.report
            report.status = "dry_run" if dry_run else "stored"
            for b in report.batches:
                old = lookup.find_batch(b.office, b.period, report.level)
                if old is None:
                    continue
                # the same file again (some of its batches were retracted, or a dry run):
                # its remaining batches are swapped for themselves
                if not replace and old.source_sha256 != source.sha256:
                    raise InputError(
                        f"{source.label}: office '{b.office}' already has {report.level} data for "
                        f"period {b.period} (batch {old.batch_id}, from {old.source_name})",
                        hint="give --replace to swap the old batch for this file, or "
                        f"'cmo retract {old.batch_id}' first",
                    )
                b.replaced_batch = old.batch_id
                report.status = "dry_run" if dry_run else "replaced"
            if report.level == "case" and lookup.path.exists():
                report.shared_with_other_offices = _shared(store, lookup, prep)
            problems += _loud_failures(store.con, prep, source, limit)
            reports.append(report)
            prepared.append((source, prep))
        if dry_run or problems:
            return reports
        if progress:
            progress("storing", None)
        # Stored rows carry their source row number, so their order does not matter: let
        # DuckDB write in parallel.
        store.con.execute("SET preserve_insertion_order = false")
        with store.transaction():
            for source, prep in prepared:
                _store_prepared(store, prep)
                store.record_file(office or "*", source.sha256, len(prep.report.batches))
            _fault_point("before-commit")
        store.con.execute("SET preserve_insertion_order = true")
    finally:
        if existing is not None:
            existing.close()
    return reports


def _shared(store: Store, lookup: Store, prep: _Prepared) -> int:
    """How many of the file's case pseudonyms are stored — or appear in the file — under
    another office (a count). Only the distinct (office, key) pairs are compared, and only
    when there is anything to compare with."""
    con = store.con
    if lookup is store:
        other = "case_observations"
        row = con.execute("SELECT count(*) FROM (SELECT 1 FROM case_observations LIMIT 1)")
        has_other = bool(row.fetchone()[0])  # type: ignore[index]
    else:
        # dry run: the real store is another connection; its pairs are copied over
        pairs = lookup.con.execute(
            "SELECT DISTINCT office, case_key FROM case_observations"
        ).fetchall()
        con.execute(
            "CREATE OR REPLACE TEMP TABLE cmo_other_keys (office VARCHAR, case_key VARCHAR)"
        )
        if pairs:
            con.executemany("INSERT INTO cmo_other_keys VALUES (?, ?)", pairs)
        other, has_other = "cmo_other_keys", bool(pairs)
    several = "office__reason" in {c for c, _h, _i in prep.reason_columns}
    if not has_other and not several:
        return 0
    mine = f"(SELECT DISTINCT office, case_key FROM {prep.table} WHERE NOT quarantined)"
    parts = []
    if several:
        parts.append(f"SELECT case_key FROM {mine} GROUP BY case_key HAVING count(*) > 1")
    if has_other:
        parts.append(
            f"SELECT k.case_key FROM {mine} k WHERE EXISTS (SELECT 1 FROM "
            f"(SELECT DISTINCT office, case_key FROM {other}) o "
            "WHERE o.case_key = k.case_key AND o.office <> k.office)"
        )
    found = con.execute(f"SELECT count(*) FROM ({' UNION '.join(parts)})").fetchone()
    return int(found[0]) if found else 0


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


def _fault_point(name: str) -> None:
    """Test hook: with ``CMO_FAULT=<name>`` the process announces the point on stderr and
    waits, so that a test can kill it exactly there (e.g. mid-transaction)."""
    if os.environ.get("CMO_FAULT") == name:
        sys.stderr.write(f"CMO_FAULT {name}\n")
        sys.stderr.flush()
        time.sleep(3600)


def _unchanged(
    store: Store, office: str | None, source: Source, period: str | None
) -> FileReport | None:
    """If this very file (same SHA-256) was collected for the office, report it unchanged."""
    batches = [
        b for b in store.batches(office=office, period=period) if b.source_sha256 == source.sha256
    ]
    if not batches:
        return None
    made = store.file_batches(office or "*", source.sha256)
    if made is not None and period is None and made != len(batches):
        return None  # some of its batches were retracted: collect it again
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
            BatchReport(
                b.period, b.batch_id, b.rows_in, b.rows_accepted, b.rows_quarantined, None, b.office
            )
        )
        report.rows_in += b.rows_in
        report.rows_accepted += b.rows_accepted
        report.rows_quarantined += b.rows_quarantined
        cells = store.quarantine_rows(b.batch_id)
        report.fixes += [FixRow(*cell) for cell in cells]
        for reason, column, count in store.quarantine_reasons(b.batch_id):
            rows = sorted({r for r, c, q, _v in cells if q == reason and c == column})[:10]
            report.reasons.append(ReasonCount(reason, column, None, count, rows))
    report.fixes.sort(key=lambda f: (f.row, f.column or ""))
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
        sql, prepared = _checked_sql(
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
        (val, val.replace("_val", "__text"))
        for ind, val in prep.columns.items()
        if SQL_TYPES[fw.indicators[ind].type] in ("SMALLINT", "BIGINT", "DOUBLE")
        and val.replace("_val", "__text") in have
    ]
    if not numeric:
        return
    t = prep.table
    sums = ", ".join(
        f"sum({ident(v)}) AS {ident('s_' + v)}, count({ident(v)}) AS {ident('n_' + v)}"
        for v, _ in numeric
    )
    row = con.execute(
        f"SELECT count(*) FROM {t} WHERE {ident(id_reason)} = 'missing_id'"
    ).fetchone()
    if not row or not row[0]:
        return
    candidates, matches = [], []
    for v, x in numeric:
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
        f"FROM (SELECT {sums} FROM {t} WHERE NOT quarantined HAVING count(*) >= 2) s "
        f"WHERE {t}.{ident(id_reason)} = 'missing_id' AND ({tests})"
    )


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
        f"null_padding=true, columns={{{columns}}}, auto_detect=false, "
        # DuckDB's buffers are 16 lines of the longest size by default (512 MB each here, one
        # per thread): two are enough to hold any line, and keep collect's memory bounded.
        f"max_line_size={MAX_LINE_BYTES}, buffer_size={2 * MAX_LINE_BYTES})"
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
    formats: tuple[str, ...] | None = None,
    *,
    office: str | None = None,
    offices: dict[str, str] | None = None,
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
    # A totals row ("Yhteensä", "Summa", "Total") is recognised by the label in its id column
    # or its first column, before the id is hashed.
    label_cols = {roles[id_role]} if id_role in roles else set()
    if source.headers:
        label_cols.add(0)
    if label_cols:
        test = " OR ".join(
            f"regexp_full_match(lower(trim(coalesce({ident(raw_cols[i])}, ''))), "
            f"'{TOTALS_PATTERN}')"
            for i in sorted(label_cols)
        )
        a.append(f"({test}) AS is_total")
        c.append("CASE WHEN a.is_total THEN 'totals_row' END AS total__reason")
        reasons.append(("total__reason", source.headers[min(label_cols)], None))
    for role, out in (("client_id", "case_key"), ("worker_id", "worker_key")):
        if role in roles:
            text = f"NULLIF(trim({ident(raw_cols[roles[role]])}), '')"
            a.append(f"{_pseudonym_sql(text)} AS {out}")
            c.append(f"a.{out}")
            if role == id_role:
                c.append(
                    f"CASE WHEN a.{out} IS NULL AND NOT a.is_total THEN 'missing_id' END "
                    f"AS {out}__reason"
                )
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
                parts={"md_d": date_sql(t, formats)},
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
            value_sql(ident(f"{prefix}_r"), ind, prefix, extra.get(ind_id), formats),
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
        # Only a period of the documented shape becomes a period; anything else (an identity
        # code, a formula, markup) is quarantined and its text stored nowhere.
        i = roles["period"]
        a.append(f"upper(NULLIF(trim({ident(raw_cols[i])}), '')) AS period_t")
        ok = f"regexp_full_match(a.period_t, '{PERIOD_PATTERN}')"
        c.append(f"CASE WHEN {ok} THEN a.period_t END AS period")
        c.append(
            "CASE WHEN a.period_t IS NULL THEN 'missing_period' "
            f"WHEN regexp_matches(a.period_t, '{HETU_PATTERN}') THEN 'personal_identity_code' "
            f"WHEN NOT {ok} THEN 'invalid_period' END AS period__reason"
        )
        reasons.append(("period__reason", source.headers[i], None))
    else:
        c.append(f"{sql_str(period or '')} AS period")
    if "office" in roles:
        i = roles["office"]
        a.append(f"NULLIF(trim({ident(raw_cols[i])}), '') AS office_t")
        words = offices or {}
        arms = " ".join(f"WHEN {sql_str(k)} THEN {sql_str(v)}" for k, v in sorted(words.items()))
        mapped = f"CASE {norm_sql('a.office_t')} {arms} END" if arms else "NULL::VARCHAR"
        c.append(f"{mapped} AS office")
        c.append(
            "CASE WHEN a.office_t IS NULL THEN 'missing_office' "
            f"WHEN ({mapped}) IS NULL THEN 'unknown_office' END AS office__reason"
        )
        reasons.append(("office__reason", source.headers[i], None))
    else:
        c.append(f"{sql_str(office or '')} AS office")
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
    # A totals row is quarantined for that alone: its sums would add misleading reasons.
    others = [r[0] for r in reasons if r[0] != "total__reason"]
    replace_totals = ""
    if "total__reason" in {r[0] for r in reasons} and others:
        replace_totals = (
            " REPLACE ("
            + ", ".join(
                f"CASE WHEN total__reason IS NULL THEN {ident(r)} END AS {ident(r)}" for r in others
            )
            + ")"
        )
    keys = {"case": "case_key", "worker": "worker_key"}.get(level)
    same = ["c.period = f.period", "c.office = f.office"]
    group = ["office", "period"]
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
        # Every row, its values and reasons; a duplicate is marked afterwards, in place.
        f"CREATE TEMP TABLE {table} AS SELECT *, NULL::VARCHAR AS dup__reason, "
        f"(first__reason IS NOT NULL) AS quarantined FROM (SELECT *, {first_reason} AS "
        f"first__reason FROM (SELECT *{replace_totals} FROM "
        f"(SELECT {', '.join(c)} FROM {table}_a a {' '.join(joins)})))",
        f"DROP TABLE {table}_a",
        *(f"DROP TABLE {table}_d{prefix}" for prefix in specs),
        # Duplicates: the same key and measurement point again in a period (the first row of
        # each group is kept). Rows already quarantined for another reason do not count. Only
        # the few duplicate rows are written again, not the whole table.
        f"CREATE TEMP TABLE {table}_dup AS SELECT c.source_row FROM {table} c JOIN "
        f"(SELECT {', '.join(group)}, min(source_row) AS first_row FROM {table} "
        f"WHERE first__reason IS NULL{f' AND {keys} IS NOT NULL' if keys else ''} "
        f"GROUP BY ALL HAVING count(*) > 1) f ON {' AND '.join(same)} "
        f"WHERE c.first__reason IS NULL AND c.source_row > f.first_row",
        f"UPDATE {table} SET dup__reason = 'duplicate_row', quarantined = true "
        f"WHERE source_row IN (SELECT source_row FROM {table}_dup)",
        f"DROP TABLE {table}_dup",
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
    rows = con.execute(
        "SELECT CASE WHEN office IS NULL OR period IS NULL THEN NULL ELSE office END AS o, "
        "CASE WHEN office IS NULL OR period IS NULL THEN NULL ELSE period END AS p, "
        "count(*), count(*) FILTER (WHERE NOT quarantined), "
        f"count(*) FILTER (WHERE quarantined) FROM {prep.table} GROUP BY ALL "
        "ORDER BY o NULLS LAST, p NULLS LAST"
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
    report.fixes = _fixes(con, prep)


# ------------------------------------------------------------------------------------------
# Storing
# ------------------------------------------------------------------------------------------


def _store_prepared(store: Store, prep: _Prepared) -> None:
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
    for n, b in enumerate(report.batches):
        if b.replaced_batch is not None:
            store.delete_batch(b.replaced_batch)
        b.batch_id = store.next_batch_id()
        period_filter = "(office = $office AND period = $period)"
        if n == 0:  # rows without an office or period are counted with the first batch
            period_filter = (
                "(office = $office AND period = $period OR office IS NULL OR period IS NULL)"
            )
        params = {"batch": b.batch_id, "office": b.office, "period": b.period}
        sql = (
            f"INSERT INTO {table} ({target}) SELECT $batch, source_row, $office, $period, "
            f"{', '.join(selects)} FROM {prep.table} WHERE office = $office AND "
            "period = $period AND NOT quarantined"
        )
        con.execute(sql, _used(sql, params))
        for col, header, ind_id in prep.reason_columns:
            text_col = col.replace("__reason", "__text")
            text = ident(text_col) if text_col in have else "NULL"
            sql = (
                "INSERT INTO quarantine SELECT $batch, source_row, $header, $indicator, "
                f"{ident(col)}, CASE WHEN {ident(col)} = 'personal_identity_code' OR "
                f"regexp_matches(coalesce({text}, ''), '{HETU_PATTERN}') THEN NULL "
                f"ELSE regexp_replace(left({text}, 60), '[\\x00-\\x1f\\x7f-\\x9f]', '?', 'g') "
                "END, "
                f"({ident(col)} = 'personal_identity_code' OR "
                f"regexp_matches(coalesce({text}, ''), '{HETU_PATTERN}')) "
                f"FROM {prep.table} WHERE {period_filter} AND {ident(col)} IS NOT NULL"
            )
            con.execute(sql, _used(sql, {**params, "header": header, "indicator": ind_id}))
        store.insert_batch(
            Batch(
                batch_id=b.batch_id,
                office=b.office,
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

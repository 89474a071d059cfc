"""`cmo collect`: office exports into the store — typed, pseudonymised, nothing lost."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from pathlib import Path

from cmo.collect.mapping import OfficeMapping, load_mapping
from cmo.collect.normalise import (
    check_date_formats,
)
from cmo.collect.prepare import (
    _prepare,
)
from cmo.collect.quarantine import _loud_failures
from cmo.collect.readers import (
    Source,
    declared_encoding,
    open_source,
)
from cmo.collect.results import BatchReport, CollectResult, FileReport, FixRow, ReasonCount
from cmo.collect.state import Progress, _fault_point, _Framework, _framework, _Prepared
from cmo.collect.storing import _shared, _store_prepared
from cmo.errors import InputError, WorkspaceError
from cmo.store import Store, open_store
from cmo.store.db import guarded, memory_store
from cmo.workspace import PseudonymKey, Workspace, load_key
from cmo.workspace.privacy import check_period


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

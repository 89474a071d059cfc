"""Storing prepared files: accepted rows into the store, quarantined cells with their reasons
(redacted), batches recorded; and pseudonyms shared with another office, counted."""

from __future__ import annotations

import datetime as dt

from cmo import __version__
from cmo.collect.state import _Prepared
from cmo.store import LEVEL_TABLES, Batch, Store
from cmo.store.sql import ident, sql_str
from cmo.workspace.privacy import HETU_PATTERN


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
    mine = f"(SELECT DISTINCT * FROM ({prep.accepted('a.office, a.case_key', '')}))"
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


def _store_prepared(store: Store, prep: _Prepared) -> None:
    """Store a prepared file: its accepted rows typed through the dictionaries straight into
    the store (one statement for all its batches), its quarantined cells (values redacted)
    and its batches."""
    report = prep.report
    con = store.con
    store.ensure_indicator_columns(prep.level, prep.sql_types)
    table = LEVEL_TABLES[prep.level]
    key_cols = {
        "case": ["case_key", "worker_key", "measurement_point", "measured_on"],
        "worker": ["worker_key", "measurement_point"],
        "office": [],
    }[prep.level]
    selects = [f"{prep.values.get(col, 'NULL')} AS {col}" for col in key_cols]
    ind_cols = list(prep.columns)
    selects += [f"{prep.values[i]} AS {ident(i)}" for i in ind_cols]
    target = ", ".join(
        ["batch_id", "source_row", "office", "period", *key_cols, *(ident(i) for i in ind_cols)]
    )
    have = {d[0] for d in con.execute(f"SELECT * FROM {prep.table} LIMIT 0").description}
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    ids = f"{prep.table}_batches"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {ids} (office VARCHAR, period VARCHAR, id INTEGER)")
    for b in report.batches:
        if b.replaced_batch is not None:
            store.delete_batch(b.replaced_batch)
        b.batch_id = store.next_batch_id()
        con.execute(f"INSERT INTO {ids} VALUES (?, ?, ?)", [b.office, b.period, b.batch_id])
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
    # every accepted row has an office and a period, and so a batch
    accepted = prep.accepted(
        f"b.id, {prep.source_row}, a.office, a.period, {', '.join(selects)}",
        f"JOIN {ids} b ON a.office = b.office AND a.period = b.period {prep.joins}",
    )
    con.execute(f"INSERT INTO {table} ({target}) {accepted}")
    # rows without an office or period are counted with the first batch
    first = f"(SELECT id FROM {ids} ORDER BY office, period LIMIT 1)"
    batch = (
        f"coalesce((SELECT id FROM {ids} b WHERE b.office = q.office AND b.period = q.period), "
        f"{first})"
    )
    cells = []
    for col, header, ind_id in prep.reason_columns:
        text_col = col.replace("__reason", "__text")
        text = ident(text_col) if text_col in have else "NULL"
        hetu = (
            f"({ident(col)} = 'personal_identity_code' OR "
            f"regexp_matches(coalesce({text}, ''), '{HETU_PATTERN}'))"
        )
        cells.append(
            f"SELECT {batch}, source_row, {sql_str(header) if header else 'NULL'}, "
            f"{sql_str(ind_id) if ind_id else 'NULL'}, {ident(col)}, CASE WHEN {hetu} THEN NULL "
            f"ELSE regexp_replace(left({text}, 60), '[\\x00-\\x1f\\x7f-\\x9f]', '?', 'g') "
            f"END, {hetu} FROM {prep.table} q WHERE {ident(col)} IS NOT NULL"
        )
    con.execute(f"INSERT INTO quarantine {' UNION ALL '.join(cells)}")
    for name in (prep.table, ids, *prep.temporary):
        con.execute(f"DROP TABLE {name}")

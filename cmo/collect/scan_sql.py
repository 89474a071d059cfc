"""The SQL of preparing a file: the scan of the export, the keyed hash of ids, and the
statements that type every value and give every rejected cell its reason."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cmo.collect.mapping import ColumnPlan, OfficeMapping, point_labels
from cmo.collect.normalise import (
    SQL_TYPES,
    ValueSQL,
    date_sql,
    hetu_sql,
    norm_sql,
    point_sql,
    totals_sql,
    value_sql,
)
from cmo.collect.readers import (
    MAX_LINE_BYTES,
    Source,
)
from cmo.collect.results import FileReport
from cmo.collect.state import _Framework, _Prepared
from cmo.store.sql import ident, sql_str
from cmo.workspace.privacy import HETU_PATTERN, PERIOD_PATTERN

if TYPE_CHECKING:
    import duckdb


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
) -> tuple[list[str], _Prepared, _QuarantinePlan]:
    """The statements that prepare a file, in the shape of the floor (read, hash, type, write):

    - ``{table}_a``, the rows: one pass over the export, ids hashed at once, texts as read,
      office and period;
    - a small dictionary per checked column: each distinct text of the column, its typed
      value and its reason (a value's type and reason depend only on its text, and an export
      of a million rows has a handful of different answers per question);
    - ``{table}``, the quarantined rows only: their reason per cell, the cell's text, and
      duplicates marked (the same key and measurement point again in a period).

    Accepted rows are never written out here: they are the rows of ``{table}_a`` that are not
    quarantined, typed through the dictionaries as they go into the store
    (:meth:`_Prepared.accepted`).
    """
    extra = mapping.values if mapping else {}
    roles = plan.roles
    rows = f"{table}_a"
    a: list[str] = []  # the rows: from the raw scan — keys hashed at once, texts as read
    q: list[str] = []  # a quarantined row's reasons and texts, over the rows and dictionaries
    bad: list[str] = []  # tests that find every quarantined row (before any join)
    values: dict[str, str] = {}  # stored column -> its value, over the rows and dictionaries
    lookups: list[_Lookup] = []
    dicts: list[str] = []
    reasons: list[tuple[str, str | None, str | None]] = []
    if source.kind == "workbook":
        a.append("source_row")
        source_row = "a.source_row"
    else:  # the rows are kept in the order they were read in
        source_row = f"(a.rowid + {source.header_row + 1})"
    id_role = {"case": "client_id", "worker": "worker_id"}.get(level)
    # A totals row ("Yhteensä", "Summa", "Total") is recognised by the label in its id column
    # or its first column, before the id is hashed.
    label_cols = {roles[id_role]} if id_role in roles else set()
    if source.headers:
        label_cols.add(0)
    if label_cols:
        test = " OR ".join(totals_sql(ident(raw_cols[i])) for i in sorted(label_cols))
        a.append(f"({test}) AS is_total")
        q.append("CASE WHEN a.is_total THEN 'totals_row' END AS total__reason")
        bad.append("a.is_total")
        reasons.append(("total__reason", source.headers[min(label_cols)], None))
    for role, out in (("client_id", "case_key"), ("worker_id", "worker_key")):
        if role in roles:
            text = f"NULLIF(trim({ident(raw_cols[roles[role]])}), '')"
            a.append(f"{_pseudonym_sql(text)} AS {out}")
            values[out] = f"a.{out}"
            if role == id_role:
                q.append(
                    f"CASE WHEN a.{out} IS NULL AND NOT a.is_total THEN 'missing_id' END "
                    f"AS {out}__reason"
                )
                bad.append(f"a.{out} IS NULL")
                reasons.append((f"{out}__reason", source.headers[roles[role]], None))
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
        why = ident(prefix + "__reason")
        a.append(f"{ident(raw_cols[source_col[prefix]])} AS {r}")
        d = f"{table}_d{prefix}"
        parts = "".join(f", {expr} AS {ident(name)}" for name, expr in spec.parts.items())
        dicts.append(
            f"CREATE TEMP TABLE {d} AS SELECT {r}, {t}, {spec.value} AS {ident(out)}, "
            f"{spec.reason} AS {why} FROM "
            f"(SELECT *{parts} FROM (SELECT {r}, {spec.text} AS {t} FROM "
            f"(SELECT DISTINCT {r} FROM {rows} WHERE {r} IS NOT NULL)))"
        )
        key = indicator or out
        sql_type = sql_types.get(key, "DATE" if prefix == "md" else "VARCHAR")
        lookups.append(_Lookup(d, r, ident(out), why, key, sql_type, t, ident(prefix + "__text")))
        reasons.append((f"{prefix}__reason", column, indicator))
    if "period" in roles:
        # Only a period of the documented shape becomes a period; anything else (an identity
        # code, a formula, markup) is quarantined and its text stored nowhere.
        i = roles["period"]
        text = f"upper(NULLIF(trim({ident(raw_cols[i])}), ''))"
        a.append(f"{text} AS period_t")
        ok = f"regexp_full_match({text}, '{PERIOD_PATTERN}')"
        a.append(f"CASE WHEN {ok} THEN {text} END AS period")
        q.append(
            "CASE WHEN a.period_t IS NULL THEN 'missing_period' "
            f"WHEN regexp_matches(a.period_t, '{HETU_PATTERN}') THEN 'personal_identity_code' "
            "WHEN a.period IS NULL THEN 'invalid_period' END AS period__reason"
        )
        bad.append("a.period IS NULL")
        reasons.append(("period__reason", source.headers[i], None))
    else:
        a.append(f"{sql_str(period or '')} AS period")
    if "office" in roles:
        i = roles["office"]
        text = f"NULLIF(trim({ident(raw_cols[i])}), '')"
        words = offices or {}
        arms = " ".join(f"WHEN {sql_str(k)} THEN {sql_str(v)}" for k, v in sorted(words.items()))
        a.append(f"{text} AS office_t")
        a.append(f"{f'CASE {norm_sql(text)} {arms} END' if arms else 'NULL::VARCHAR'} AS office")
        q.append(
            "CASE WHEN a.office_t IS NULL THEN 'missing_office' "
            "WHEN a.office IS NULL THEN 'unknown_office' END AS office__reason"
        )
        bad.append("a.office IS NULL")
        reasons.append(("office__reason", source.headers[i], None))
    else:
        a.append(f"{sql_str(office or '')} AS office")
    # Free-text columns are not stored, but a personal identity code in them is reported.
    for header, _why in plan.dropped:
        for i in (i for i, h in enumerate(source.headers) if h == header):
            name = f"x{i}"
            a.append(f"coalesce({hetu_sql(ident(raw_cols[i]))}, false) AS {ident(name + '_h')}")
            q.append(
                f"CASE WHEN a.{ident(name + '_h')} THEN 'personal_identity_code' END "
                f"AS {ident(name + '__reason')}"
            )
            q.append(f"NULL::VARCHAR AS {ident(name + '__text')}")
            bad.append(f"a.{ident(name + '_h')}")
            reasons.append((f"{name}__reason", header, None))
    reason_list = [ident(r[0]) for r in reasons]
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
    prepared = _Prepared(
        report=FileReport("", "", "", level, ""),
        table=table,
        level=level,
        columns=columns,
        sql_types=sql_types,
        reason_columns=[*reasons, ("dup__reason", None, None)],
        rows=rows,
        joins="",
        values=values,
        source_row=source_row,
        temporary=[rows, *(lk.table for lk in lookups)],
    )
    if not a:
        a.append("1 AS one")
    plan_q = _QuarantinePlan(
        lookups=lookups,
        columns=q,
        tests=bad,
        first_reason=f"coalesce({', '.join(reason_list)})" if reason_list else "NULL::VARCHAR",
        replace_totals=replace_totals,
        key={"case": "case_key", "worker": "worker_key"}.get(level),
        star="* EXCLUDE (source_row)" if source.kind == "workbook" else "*",
    )
    sql = [f"CREATE TEMP TABLE {rows} AS SELECT {', '.join(a)} FROM {scan}", *dicts]
    return sql, prepared, plan_q


#: A dictionary with at most this many accepted texts is looked up inline (a CASE over its
#: texts, cheaper per row than a join); a larger one is joined.
INLINE_TEXTS = 24


def _plain(text: str) -> bool:
    """A text short and printable enough to be written into a statement as a literal."""
    return len(text) <= 200 and text.isprintable()


@dataclass
class _Lookup:
    """One column's dictionary: its table and columns, what it fills in, and its type."""

    table: str
    raw: str
    value: str
    reason: str
    key: str  # the stored column it fills in: an indicator id, measurement_point, measured_on
    sql_type: str
    text: str  # the trimmed text (in the dictionary)
    text_out: str  # the text's column in the quarantine table


@dataclass
class _QuarantinePlan:
    """What finding the quarantined rows needs, once the dictionaries exist."""

    lookups: list[_Lookup]
    columns: list[str]  # the quarantine table's reasons and texts, over ``a`` and the lookups
    tests: list[str]  # tests over the rows alone that find quarantined rows
    first_reason: str
    replace_totals: str
    key: str | None
    star: str


def _literal(value: object, sql_type: str) -> str:
    if sql_type in ("SMALLINT", "BIGINT"):
        return f"{int(value)}::{sql_type}"  # type: ignore[call-overload]
    if sql_type == "DOUBLE":
        return f"{sql_str(repr(float(value)))}::DOUBLE"  # type: ignore[arg-type]
    return f"{sql_str(str(value))}::{sql_type}"


def _quarantine_sql(
    con: duckdb.DuckDBPyConnection, prep: _Prepared, plan: _QuarantinePlan
) -> list[str]:
    """The statements that find the quarantined rows, given the dictionaries (run after them).

    A small dictionary is written into the statements: a value is a CASE over the accepted
    texts, and a row is quarantined for the column when its text is none of them. A large one
    is joined. Only accepted texts are written out (never one that holds an identity code).
    """
    table, rows = prep.table, prep.rows
    tests = list(plan.tests)
    joins: list[str] = []
    columns = list(plan.columns)
    every = []  # the dictionaries that quarantine anything
    for lk in plan.lookups:
        found = con.execute(
            f"SELECT count(*) FILTER (WHERE {lk.reason} IS NULL), "
            f"list({lk.raw} ORDER BY {lk.raw}) FILTER (WHERE {lk.reason} IS NULL "
            f"AND {lk.value} IS NOT NULL), list({lk.value} ORDER BY {lk.raw}) FILTER "
            f"(WHERE {lk.reason} IS NULL AND {lk.value} IS NOT NULL), "
            f"list({lk.raw}) FILTER (WHERE {lk.reason} IS NULL AND {lk.value} IS NULL), "
            f"count(*) FILTER (WHERE {lk.reason} IS NOT NULL) FROM {lk.table}"
        ).fetchone()
        assert found is not None
        n_ok, texts, values, blanks, n_bad = found
        if n_bad:
            columns += [f"{lk.table}.{lk.reason}", f"{lk.table}.{lk.text} AS {lk.text_out}"]
            every.append(f"LEFT JOIN {lk.table} ON a.{lk.raw} = {lk.table}.{lk.raw}")
        else:  # no text of the column is quarantined: its rows need not be read for it
            columns += [f"NULL::VARCHAR AS {lk.reason}", f"NULL::VARCHAR AS {lk.text_out}"]
        if n_ok <= INLINE_TEXTS and all(_plain(x) for x in [*(texts or []), *(blanks or [])]):
            arms = " ".join(
                f"WHEN {sql_str(x)} THEN {_literal(v, lk.sql_type)}"
                for x, v in zip(texts or [], values or [], strict=True)
            )
            prep.values[lk.key] = (
                f"CASE a.{lk.raw} {arms} ELSE NULL::{lk.sql_type} END"
                if arms
                else f"NULL::{lk.sql_type}"
            )
            if n_bad:
                fine = ", ".join(sql_str(x) for x in [*(texts or []), *(blanks or [])])
                tests.append(
                    f"(a.{lk.raw} IS NOT NULL AND a.{lk.raw} NOT IN ({fine}))"
                    if fine
                    else f"a.{lk.raw} IS NOT NULL"
                )
        else:
            joins.append(f"LEFT JOIN {lk.table} ON a.{lk.raw} = {lk.table}.{lk.raw}")
            prep.values[lk.key] = f"{lk.table}.{lk.value}"
            if n_bad:
                tests.append(
                    f"a.{lk.raw} IN (SELECT {lk.raw} FROM {lk.table} WHERE {lk.reason} IS NOT NULL)"
                )
    prep.joins = " ".join(joins)
    # Duplicates: the same key and measurement point again in a period (the first row of each
    # group is kept). Rows already quarantined for another reason do not count.
    key = plan.key
    group = ["office", "period", *([key] if key else [])]
    point = ""
    hashed = [f"a.{g}" for g in group]
    if "measurement_point" in prep.values:
        group.append("measurement_point")
        point = f", {prep.values['measurement_point']} AS measurement_point"
        hashed.append(prep.values["measurement_point"])
    same = " AND ".join(
        f"c.{g} IS NOT DISTINCT FROM f.{g}" if g == "measurement_point" else f"c.{g} = f.{g}"
        for g in group
    )
    mp_join = " ".join(j for j in joins if j.startswith(f"LEFT JOIN {table}_dmp "))
    kept = prep.accepted(
        f"a.rowid AS rid, {prep.source_row} AS source_row, a.office, a.period"
        f"{f', a.{key}' if key else ''}{point}, hash({', '.join(hashed)}) AS h",
        mp_join,
    )
    # Rows are grouped by a 64-bit hash of their group first (cheap); only the rows of a hash
    # seen twice are compared exactly.
    candidates = f"{table}_twice"
    return [
        # The quarantined rows: found by tests over the rows first, then their reasons looked up.
        f"CREATE TEMP TABLE {table} AS SELECT *, NULL::VARCHAR AS dup__reason, "
        "true AS quarantined FROM (SELECT *, "
        f"{plan.first_reason} AS first__reason FROM (SELECT *{plan.replace_totals} FROM "
        f"(SELECT a.rid, a.source_row, a.office, a.period"
        f"{''.join(', ' + x for x in columns)} FROM (SELECT a.rowid AS rid, "
        f"{prep.source_row} AS source_row, {plan.star} FROM {rows} a "
        f"WHERE {' OR '.join(tests) or 'false'}) a {' '.join(every)}))) "
        "WHERE first__reason IS NOT NULL",
        f"CREATE TEMP TABLE {candidates} AS SELECT * FROM ({kept}) WHERE h IN "
        f"(SELECT h FROM ({kept}) GROUP BY h HAVING count(*) > 1)",
        f"INSERT INTO {table} BY NAME SELECT c.rid, c.source_row, c.office, c.period, "
        "'duplicate_row' AS dup__reason, true AS quarantined FROM "
        f"{candidates} c JOIN (SELECT {', '.join(group)}, min(source_row) AS first_row FROM "
        f"{candidates} WHERE office IS NOT NULL AND period IS NOT NULL"
        f"{f' AND {key} IS NOT NULL' if key else ''} GROUP BY ALL HAVING count(*) > 1) f "
        f"ON {same} AND c.source_row > f.first_row",
        f"DROP TABLE {candidates}",
    ]

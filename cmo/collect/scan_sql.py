"""The SQL of preparing a file: the scan of the export, the keyed hash of ids, and the
statements that type every value and give every rejected cell its reason."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cmo.collect.mapping import ColumnPlan, OfficeMapping, point_labels
from cmo.collect.normalise import (
    SQL_TYPES,
    TOTALS_PATTERN,
    ValueSQL,
    date_sql,
    hetu_sql,
    norm_sql,
    point_sql,
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

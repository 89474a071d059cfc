"""Turning export text into typed values, in SQL, with a reason for every value that does not
fit. Everything here builds DuckDB expressions; nothing touches data row by row in Python."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from cmo.errors import InputError
from cmo.store.sql import ident, sql_str
from cmo.text import normalise
from cmo.theory.models import Indicator, IndicatorType
from cmo.workspace.privacy import HETU_PATTERN, safe_text

#: Quarantine reasons: code → what the office should do about it.
REASONS: dict[str, str] = {
    "missing_id": "The identifier (client or worker) is empty: fill it in.",
    "personal_identity_code": "A personal identity code (henkilötunnus) outside an identifier "
    "column. The value was not stored (redacted): remove it from the export.",
    "unknown_label": "A word that is not one of the indicator's value labels: use the agreed "
    "answer options, or add the word as a synonym (indicator file or the office's mapping).",
    "out_of_scale": "A number outside the indicator's scale (e.g. 6 on a 1–5 scale).",
    "out_of_range": "A number outside the indicator's valid range (or a negative count).",
    "not_a_number": "Text where a number belongs (e.g. 'ei tiedossa'): leave the cell empty "
    "when the value is not known.",
    "not_an_integer": "A count with decimals.",
    "invalid_date": "An impossible or unreadable date: write d.m.yyyy or yyyy-mm-dd.",
    "unknown_measurement_point": "A measurement point that is not defined: use one of the "
    "measurement points (or its alias).",
    "missing_period": "The period column is empty for this row.",
    "invalid_period": "The period is not a period cmo knows: write a year, half, quarter or "
    "month (2026, 2026H1, 2026Q2, 2026-03). The value was not stored.",
    "missing_office": "The office column is empty for this row.",
    "unknown_office": "The office column names no office of cmo.yaml: write the office's id or "
    "name.",
    "totals_row": "A totals or summary row (Yhteensä, Summa, Total): not a client; leave totals "
    "out of the export.",
    "duplicate_row": "The same client (or worker) and measurement point appear again in this "
    "file; the first row was kept.",
}

#: The label of a totals or summary row (compared lower-cased, trimmed), in Finnish, Swedish
#: and English: such a row is quarantined as ``totals_row``, never stored as a client.
TOTALS_PATTERN = (
    r"(kaikki |kaikkiaan |summa |)(yhteens[aä]|yht\.?|summa|kaikkiaan)\s*:?"
    r"|(grand |sub)?totals?\s*:?|totalt\s*:?|summa\s*:?|sum\s*:?|sammanlagt\s*:?|i alt"
)


def totals_sql(text: str) -> str:
    """SQL: the text is a totals label (``TOTALS_PATTERN``, any case, spaces around) — one
    case-insensitive match per row, without lower-casing and trimming copies of the text."""
    return f"coalesce(regexp_full_match({text}, ' *({TOTALS_PATTERN}) *', 'i'), false)"


#: Built-in words for binary indicators (Finnish, Swedish, English), besides the indicator's.
BINARY_WORDS = {
    1: ("1", "kyllä", "k", "on", "yes", "y", "ja", "j", "true", "tosi", "x"),
    0: ("0", "ei", "e", "no", "n", "nej", "false", "epätosi"),
}


def hetu_sql(text: str) -> str:
    """SQL: the text holds a valid personal identity code. The pattern is a cheap filter; the
    few candidates are validated by ``cmo_is_hetu`` (see :func:`register_functions`)."""
    # CASE, not AND: DuckDB evaluates every operand of an AND for all rows; CASE validates the
    # candidates only.
    return (
        f"(CASE WHEN length({text}) >= 11 AND regexp_matches({text}, '{HETU_PATTERN}') "
        f"THEN cmo_is_hetu({text}) ELSE false END)"
    )


#: The check characters of an identity code, by the remainder of its number modulo 31.
_HETU_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"

#: The century of an identity code by its sign (the signs of 2023 included).
_HETU_CENTURY = {"+": 1800, **dict.fromkeys("-YXWVU", 1900), **dict.fromkeys("ABCDEF", 2000)}


def _hetu_macros() -> list[str]:
    """SQL twins of :func:`cmo.workspace.privacy.contains_identity_code` (python-stdnum's rules:
    a real date, individual number 002–999 — the temporary 900–999 included — and the check
    character), so that a collect never calls into Python per value. A property test holds
    them equal to python-stdnum."""
    century = " ".join(f"WHEN '{sign}' THEN {year}" for sign, year in _HETU_CENTURY.items())
    valid = (
        "TRY_CAST(printf('%04d-%s-%s', "
        f"(CASE substr(c, 7, 1) {century} END) + CAST(substr(c, 5, 2) AS INTEGER), "
        "substr(c, 3, 2), substr(c, 1, 2)) AS DATE) IS NOT NULL "
        "AND CAST(substr(c, 8, 3) AS INTEGER) >= 2 "
        f"AND substr('{_HETU_CHECK}', "
        "CAST(CAST(substr(c, 1, 6) || substr(c, 8, 3) AS BIGINT) % 31 AS INTEGER) + 1, 1) "
        "= substr(c, 11, 1)"
    )
    return [
        # c: eleven characters of the identity code's shape, upper case
        f"CREATE OR REPLACE TEMP MACRO cmo_hetu_valid(c) AS ({valid})",
        "CREATE OR REPLACE TEMP MACRO cmo_is_hetu(t) AS (coalesce(list_bool_or(list_transform("
        f"regexp_extract_all(t, '{HETU_PATTERN}'), lambda x: cmo_hetu_valid(upper(x)))), false))",
    ]


def register_functions(con: Any) -> None:
    """Define the functions the SQL above calls (on this connection, for its session)."""
    for statement in _hetu_macros():
        con.execute(statement)


SQL_TYPES = {
    IndicatorType.LIKERT: "SMALLINT",
    IndicatorType.BINARY: "SMALLINT",
    IndicatorType.COUNT: "BIGINT",
    IndicatorType.NUMERIC: "DOUBLE",
    IndicatorType.CATEGORY: "VARCHAR",
    IndicatorType.DATE: "DATE",
}


def norm_sql(expr: str) -> str:
    """SQL twin of :func:`cmo.text.normalise` for value labels."""
    return f"lower(strip_accents(regexp_replace(trim({expr}), '\\s+', ' ', 'g')))"


def number_sql(v: str) -> str:
    """Parse a number written the Finnish way (decimal comma, space/NBSP thousands) or not."""
    s = f"replace(regexp_replace({v}, '[\\s\\x{{00A0}}\\x{{202F}}]', '', 'g'), '−', '-')"
    dotted = f"CASE WHEN {s} LIKE '%,%' THEN replace(replace({s}, '.', ''), ',', '.') ELSE {s} END"
    return (
        f"CASE WHEN regexp_full_match({s}, '[+-]?([0-9]+([.,][0-9]*)?|[.,][0-9]+)"
        f"([eE][+-]?[0-9]+)?') THEN TRY_CAST({dotted} AS DOUBLE) END"
    )


def label_map(ind: Indicator, extra: dict[str, int | str] | None = None) -> dict[str, str]:
    """Normalised word → code (as text) for likert, binary and category indicators."""
    words: dict[str, str] = {}

    def add(word: object, code: object) -> None:
        key = normalise(str(word))
        if key:
            words.setdefault(key, str(code))

    for word, code in (extra or {}).items():
        add(word, code)
    for value in ind.values:
        labels = [value.label.fi, value.label.sv, value.label.en, *value.synonyms]
        for label in labels:
            if label:
                add(label, value.code)
        add(value.code, value.code)
    if ind.type is IndicatorType.BINARY:
        for code, options in BINARY_WORDS.items():
            for word in options:
                add(word, code)
    return words


def _case_map(key_sql: str, words: dict[str, str]) -> str:
    if not words:
        return "NULL"
    arms = " ".join(f"WHEN {sql_str(k)} THEN {sql_str(v)}" for k, v in sorted(words.items()))
    return f"CASE {key_sql} {arms} END"


@dataclass(frozen=True)
class ValueSQL:
    """SQL for one column, in three steps so that nothing is computed twice:

    ``text`` (trimmed text, NULL when blank) is computed from the raw column; ``parts`` from
    ``text``; ``value`` (typed, NULL when missing or unfit) and ``reason`` (quarantine reason,
    NULL when fine) from the parts. Names are prefixed with the column's prefix.
    """

    text: str
    parts: dict[str, str]
    value: str
    reason: str


def value_sql(
    raw: str,
    ind: Indicator,
    prefix: str,
    extra: dict[str, int | str] | None = None,
    date_formats: tuple[str, ...] | None = None,
) -> ValueSQL:
    """SQL for the raw text column ``raw`` holding indicator ``ind``."""
    v = ident(f"{prefix}_t")
    h, n, m, lead = (ident(f"{prefix}_{s}") for s in ("h", "n", "m", "l"))
    parts = {f"{prefix}_h": f"coalesce({hetu_sql(v)}, false)"}
    t = ind.type
    if t in (IndicatorType.LIKERT, IndicatorType.BINARY, IndicatorType.CATEGORY):
        parts[f"{prefix}_m"] = _case_map(norm_sql(v), label_map(ind, extra))
    if t is not IndicatorType.CATEGORY and t is not IndicatorType.DATE:
        parts[f"{prefix}_n"] = number_sql(v)
    if t in (IndicatorType.LIKERT, IndicatorType.BINARY):
        parts[f"{prefix}_l"] = (
            f"TRY_CAST(regexp_extract({v}, '^([0-9]+)\\s*[-=:.)]\\s*\\S', 1) AS DOUBLE)"
        )
    if t is IndicatorType.DATE:
        parts[f"{prefix}_d"] = date_sql(v, date_formats)

    if t is IndicatorType.CATEGORY:
        value = m
        reason = f"CASE WHEN {m} IS NULL THEN 'unknown_label' END"
    elif t in (IndicatorType.LIKERT, IndicatorType.BINARY):
        x = f"coalesce(TRY_CAST({m} AS DOUBLE), {n}, {lead})"
        low, high = (0, 1) if t is IndicatorType.BINARY else _scale(ind)
        ok = f"{x} = round({x}) AND {x} BETWEEN {low} AND {high}"
        value = f"CASE WHEN {ok} THEN CAST({x} AS SMALLINT) END"
        reason = (
            f"CASE WHEN {x} IS NULL THEN 'unknown_label' WHEN NOT ({ok}) THEN 'out_of_scale' END"
        )
    elif t in (IndicatorType.NUMERIC, IndicatorType.COUNT):
        lo = ind.range.min if ind.range else None
        hi = ind.range.max if ind.range else None
        if t is IndicatorType.COUNT and lo is None:
            lo = 0
        bounds = []
        if lo is not None:
            bounds.append(f"{n} >= {float(lo)!r}")
        if hi is not None:
            bounds.append(f"{n} <= {float(hi)!r}")
        in_range = " AND ".join(bounds) or "TRUE"
        if t is IndicatorType.COUNT:
            value = f"CASE WHEN {n} = round({n}) AND {in_range} THEN CAST({n} AS BIGINT) END"
            reason = (
                f"CASE WHEN {n} IS NULL THEN 'not_a_number' "
                f"WHEN {n} <> round({n}) THEN 'not_an_integer' "
                f"WHEN NOT ({in_range}) THEN 'out_of_range' END"
            )
        else:
            value = f"CASE WHEN isfinite({n}) AND {in_range} THEN {n} END"
            reason = (
                f"CASE WHEN {n} IS NULL OR NOT isfinite({n}) THEN 'not_a_number' "
                f"WHEN NOT ({in_range}) THEN 'out_of_range' END"
            )
    else:  # date
        d = ident(f"{prefix}_d")
        value = d
        reason = f"CASE WHEN {d} IS NULL THEN 'invalid_date' END"
    reason = (
        f"CASE WHEN {v} IS NULL THEN NULL WHEN {h} THEN 'personal_identity_code' ELSE {reason} END"
    )
    value = f"CASE WHEN {v} IS NULL OR {h} THEN NULL ELSE {value} END"
    return ValueSQL(text=f"NULLIF(trim({raw}), '')", parts=parts, value=value, reason=reason)


#: The date formats read when an office declares none.
DEFAULT_DATE_FORMATS = ("%d.%m.%Y", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S")
#: The strptime codes a declared date format may use.
_DATE_CODES = re.compile(r"%[dmyYbBHMSjf%]")


def check_date_formats(formats: list[str] | tuple[str, ...], where: str) -> tuple[str, ...]:
    """Declared date formats (strptime codes, e.g. ``%d.%m.%y``), checked."""
    out = []
    for fmt in formats:
        rest = _DATE_CODES.sub("", fmt)
        if (
            "%" in rest
            or not all(c in fmt for c in ("%d", "%m"))
            or not ("%y" in fmt or "%Y" in fmt)
        ):
            raise InputError(
                f"{where}: '{safe_text(fmt, 40)}' is not a date format",
                hint="write it with %d (day), %m (month) and %Y (four-digit year) or %y "
                "(two-digit year), e.g. '%d.%m.%y' for 4.2.26",
            )
        out.append(fmt)
    return tuple(out)


def date_sql(v: str, formats: tuple[str, ...] | None = None) -> str:
    """d.m.yyyy, dd.mm.yyyy, ISO, or an Excel serial number (1900 date system) — or the
    declared ``formats`` (and Excel serials).

    Century rule for two-digit years (``%y``): the year is the latest one that is not more
    than a year after the collection date (on 2026-03-01, ``26`` is 2026, ``27`` 2027, ``28``
    1928).
    """
    fmts = formats or DEFAULT_DATE_FORMATS
    listed = ", ".join(sql_str(f) for f in fmts)
    parsed = f"TRY_CAST(try_strptime({v}, [{listed}]) AS DATE)"
    if any("%y" in f for f in fmts):
        parsed = (
            f"(CASE WHEN {parsed} > current_date + INTERVAL 1 YEAR "
            f"THEN CAST({parsed} - INTERVAL 100 YEAR AS DATE) ELSE {parsed} END)"
        )
    serial = (
        f"CASE WHEN regexp_full_match({v}, '[0-9]{{4,5}}([.,]0+)?') THEN DATE '1899-12-30' + "
        f"CAST(TRY_CAST(replace({v}, ',', '.') AS DOUBLE) AS INTEGER) END"
    )
    both = f"coalesce({parsed}, {serial})"
    return f"CASE WHEN {both} BETWEEN DATE '1900-01-01' AND DATE '2100-12-31' THEN {both} END"


def _scale(ind: Indicator) -> tuple[int, int]:
    if ind.scale is None:  # prevented by validation (I001)
        return (1, 5)
    return (ind.scale.min, ind.scale.max)


def point_sql(raw: str, prefix: str, words: dict[str, str]) -> ValueSQL:
    """SQL for the measurement point column: a word that names a measurement point."""
    v = ident(f"{prefix}_t")
    m = ident(f"{prefix}_m")
    mapped = _case_map(norm_sql(v), {normalise(k): val for k, val in words.items()})
    return ValueSQL(
        text=f"NULLIF(trim({raw}), '')",
        parts={f"{prefix}_m": mapped},
        value=m,
        reason=f"CASE WHEN {v} IS NOT NULL AND {m} IS NULL THEN 'unknown_measurement_point' END",
    )

"""Collect's checks in SQL agree with their definitions in Python: the identity-code check
with python-stdnum (:func:`contains_identity_code`) on every text — real dates in each century,
individual numbers 002–999 (temporary ones included), the check character, any case, codes
inside other text — and the totals label with ``TOTALS_PATTERN``."""

from __future__ import annotations

import itertools

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmo.collect.normalise import hetu_sql, register_functions
from cmo.workspace.privacy import contains_identity_code

CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"
SIGNS = "+-YXWVUABCDEF"


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    register_functions(con)
    return con


def _sql(con: duckdb.DuckDBPyConnection, texts: list[str | None]) -> list[bool]:
    rows = con.execute(
        f"SELECT {hetu_sql('t')} FROM (SELECT unnest(?) AS t, generate_subscripts(?, 1) AS i) "
        "ORDER BY i",
        [texts, texts],
    ).fetchall()
    return [bool(r[0]) for r in rows]


def _code(day: int, month: int, year: int, sign: str, individual: int, check: str | None) -> str:
    body = f"{day:02d}{month:02d}{year:02d}"
    if check is None:  # the right one
        check = CHECK[int(f"{body}{individual:03d}") % 31]
    return f"{body}{sign}{individual:03d}{check}"


def test_centuries_leap_days_individual_numbers_and_check_characters(con) -> None:  # type: ignore[no-untyped-def]
    texts: list[str | None] = [None, "", "x", "13105-308T", "131052308T"]
    dates = [(29, 2, 0), (29, 2, 4), (29, 2, 96), (28, 2, 0), (31, 4, 26), (30, 4, 26)]
    dates += [(0, 1, 26), (1, 0, 26), (32, 1, 26), (31, 12, 99), (1, 13, 26), (19, 19, 19)]
    for (day, month, year), sign, individual in itertools.product(
        dates, SIGNS, (0, 1, 2, 3, 899, 900, 999)
    ):
        texts.append(_code(day, month, year, sign, individual, None))
        texts.append(_code(day, month, year, sign.lower(), individual, None).lower())
        texts.append(_code(day, month, year, sign, individual, "G"))  # never a check character
    expected = [contains_identity_code(t) for t in texts]
    assert _sql(con, texts) == expected
    # the cases above are not all one answer: valid and invalid codes both occur
    assert 100 < sum(expected) < len(expected) - 100


@st.composite
def _texts(draw: st.DrawFn) -> str:
    code = _code(
        draw(st.integers(0, 39)),
        draw(st.integers(0, 19)),
        draw(st.integers(0, 99)),
        draw(st.sampled_from(SIGNS + SIGNS.lower())),
        draw(st.integers(0, 999)),
        draw(st.one_of(st.none(), st.sampled_from("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabxyz"))),
    )
    if draw(st.booleans()):
        code = code.lower()
    around = st.text(alphabet="0123456789-+ AaXxYy,.;äö\n", max_size=12)
    parts = [draw(around), code, draw(around)]
    if draw(st.booleans()):
        parts.append(draw(st.sampled_from(["", " ", "-"])) + draw(around) + code[::-1])
    return "".join(parts)


@settings(max_examples=300, deadline=None)
@given(st.lists(_texts(), min_size=1, max_size=40))
def test_any_text_is_judged_as_python_stdnum_judges_it(con, texts: list[str]) -> None:  # type: ignore[no-untyped-def]
    assert _sql(con, list(texts)) == [contains_identity_code(t) for t in texts]


LABELS = [
    "Yhteensä",
    "YHTEENSÄ",
    "  yhteensa:  ",
    "yht.",
    "Yht",
    "Summa:",
    "summa yhteensä",
    "Kaikki yhteensä",
    "kaikkiaan",
    "Total",
    "GRAND TOTAL",
    "Subtotal",
    "totals:",
    "Totalt",
    "Sammanlagt",
    "i alt",
    "I ALT",
    "Sum",
    "sum :",
    "Asiakas",
    "summat",
    "Yhteensäkin",
    "yhteensä 2026",
    "",
    " ",
    "\tYhteensä",
    "total-1",
    "A-1",
    "Σ",
    "ÄYHTEENSÄ",
    "yhteens",
    None,
]


def test_totals_labels_are_read_as_the_pattern_says(con) -> None:  # type: ignore[no-untyped-def]
    import re

    from cmo.collect.normalise import TOTALS_PATTERN, totals_sql

    rows = con.execute(
        f"SELECT {totals_sql('t')} FROM (SELECT unnest(?) AS t, generate_subscripts(?, 1) AS i) "
        "ORDER BY i",
        [LABELS, LABELS],
    ).fetchall()
    expected = [
        t is not None and re.fullmatch(TOTALS_PATTERN, t.strip(" ").lower()) is not None
        for t in LABELS
    ]
    assert [r[0] for r in rows] == expected
    assert sum(expected) == 19

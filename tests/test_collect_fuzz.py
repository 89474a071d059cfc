"""Issue 11: any bytes as a CSV file, any workbook shape — exit 0, 1 or 2, never a crash;
rows in = accepted + quarantined; and peak memory stays under a cap."""

from __future__ import annotations

import resource
import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .collect_helpers import make_workspace, store_rows

#: Peak resident memory the whole fuzz run may reach (the test process included).
MEMORY_CAP_MB = 1500

HEADERS = [
    b"Asiakasnumero;Jakso;Osallisuus;Arviointip\xc3\xa4iv\xc3\xa4",
    b"Asiakasnumero,Jakso,Osallisuus",
    b"asiakas\tjakso\tluottamus\tty\xf6ntekij\xe4",
    b"",
]
PIECES = st.sampled_from(
    [
        b";",
        b",",
        b"\t",
        b'"',
        b"\n",
        b"\r\n",
        b"2026H1",
        b"4",
        b"A-1",
        b"131052-308T",
        b"\xe4",
        b"\xc3\xa4",
        b"\x80",
        b"\x00",
        b"Yhteens\xc3\xa4",
        b"=1+1",
        b"9",
        b"4.2.26",
        b"\xef\xbb\xbf",
    ]
)
CSV_BYTES = st.one_of(
    st.binary(max_size=400),
    st.tuples(st.sampled_from(HEADERS), st.lists(PIECES, max_size=80)).map(
        lambda t: t[0] + b"\n" + b"".join(t[1])
    ),
)


def _check(cmo, ws, path: Path) -> None:
    run = cmo("collect", "--office", "kemi", "--format", "json", str(path), cwd=ws.root)
    assert run.exit_code in (0, 1, 2), (run.exit_code, run.stderr)
    assert "internal error" not in run.stderr and "Traceback" not in run.stderr
    if run.exit_code == 2:
        assert run.stderr.startswith("cmo: error: ")
        return
    data = run.json()
    for f in data["files"]:
        assert f["rows_in"] == f["rows_accepted"] + f["rows_quarantined"]
    if run.exit_code == 0 and ws.store_path.exists():
        for rows_in, ok, bad in store_rows(
            ws, "SELECT rows_in, rows_accepted, rows_quarantined FROM batches"
        ):
            assert rows_in == ok + bad
        assert "131052-308T" not in str(store_rows(ws, "SELECT * FROM quarantine"))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(blob=CSV_BYTES)
def test_any_csv_bytes(cmo, tmp_path_factory, blob: bytes) -> None:
    root = tmp_path_factory.mktemp("fuzz")
    try:
        ws = make_workspace(root / "ws")
        path = root / "f.csv"
        path.write_bytes(blob)
        _check(cmo, ws, path)
    finally:
        shutil.rmtree(root, ignore_errors=True)


CELL = st.one_of(
    st.none(),
    st.integers(-10, 10),
    st.floats(allow_nan=True, allow_infinity=False, width=32),
    st.sampled_from(["A-1", "A-2", "2026H1", "4", "hyvä", "Yhteensä", "", "131052-308T", "x"]),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    title=st.booleans(),
    header=st.lists(
        st.sampled_from(["Asiakasnumero", "Jakso", "Osallisuus", "Luottamus", "", "Huom"]),
        min_size=0,
        max_size=6,
    ),
    rows=st.lists(st.lists(CELL, max_size=7), max_size=12),
)
def test_any_workbook_shape(cmo, tmp_path_factory, title, header, rows) -> None:
    from openpyxl import Workbook

    root = tmp_path_factory.mktemp("fuzzbook")
    try:
        ws = make_workspace(root / "ws")
        book = Workbook()
        sheet = book.active
        if title:
            sheet.append(["Raportti"])
        sheet.append(header)
        for row in rows:
            sheet.append(row)
        path = root / "f.xlsx"
        book.save(path)
        _check(cmo, ws, path)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_memory_stayed_under_the_cap() -> None:
    """Runs after the fuzz tests above (same process): their peak stayed under the cap."""
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert peak_mb < MEMORY_CAP_MB, f"peak {peak_mb:.0f} MB"

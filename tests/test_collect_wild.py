"""Issue 11: `cmo collect` in the wild — every failure the issue lists, reproduced first."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import zipfile
from pathlib import Path

import duckdb
import pytest

from cmo.collect import collect
from cmo.errors import InputError
from cmo.store import StoreError, open_store

from .collect_helpers import HEADER, make_workspace, store_rows, write


@pytest.fixture
def ws(tmp_path: Path):
    return make_workspace(tmp_path / "ws")


def _dated(n: int, date: str) -> str:
    rows = "".join(f"D-{i};T1;2026H1;alku;4;{date}\n" for i in range(n))
    return f"Asiakasnumero;Työntekijä;Jakso;Mittauskerta;Osallisuus;Arviointipäivä\n{rows}"


# -- 1. declared formats -------------------------------------------------------------------


def test_two_digit_years_fail_loudly_then_read_when_declared(cmo, ws, tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", _dated(12, "4.2.26"))
    run = cmo("collect", "--office", "kemi", str(path), cwd=ws.root)
    assert run.exit_code == 1  # it used to say "stored" with none accepted, exit 0
    assert "'Arviointipäivä'" in run.stdout and "d.m.yy" in run.stdout
    assert "Nothing was stored" in run.stdout
    assert not ws.store_path.exists() or store_rows(ws, "SELECT * FROM batches") == []

    run = cmo("collect", "--office", "kemi", "--date-format", "%d.%m.%y", str(path), cwd=ws.root)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert store_rows(ws, "SELECT DISTINCT measured_on FROM case_observations") == [
        (dt.date(2026, 2, 4),)
    ]


def test_date_format_in_the_mapping_file_and_the_century_rule(ws, tmp_path: Path) -> None:
    (ws.root / "mappings").mkdir(exist_ok=True)
    (ws.root / "mappings" / "kemi.yaml").write_text("date_format: '%d.%m.%y'\n")
    path = write(tmp_path / "d.csv", _dated(1, "4.2.26") + "E-1;T1;2026H1;alku;4;31.12.99\n")
    (f,) = collect(ws, "kemi", [path]).files
    assert f.date_formats == ["%d.%m.%y"]
    assert sorted(store_rows(ws, "SELECT measured_on FROM case_observations")) == [
        (dt.date(1999, 12, 31),),  # more than a year ahead as 2099: the century before
        (dt.date(2026, 2, 4),),
    ]


def test_a_bad_date_format_is_refused(ws, tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", _dated(1, "4.2.26"))
    with pytest.raises(InputError, match="not a date format"):
        collect(ws, "kemi", [path], date_formats=["%Q"])


def test_declared_iso_8859_15(ws, tmp_path: Path) -> None:
    text = "Asiakasnumero;Jakso;Kustannukset €\nK-1;2026H1;120,50\n"
    path = write(tmp_path / "e.csv", text, encoding="iso8859-15")
    (f,) = collect(ws, "kemi", [path], dry_run=True).files  # detected: Windows-1252, € is ¤
    assert f.encoding == "cp1252" and "Kustannukset ¤" in [c for c, _ in f.dropped]
    (f,) = collect(ws, "kemi", [path], encoding="iso-8859-15").files
    assert (f.encoding, f.encoding_declared) == ("iso8859-15", True)
    assert f.mapped["Kustannukset €"] == "service_costs"
    assert store_rows(ws, "SELECT service_costs FROM case_observations") == [(120.5,)]


def test_declared_utf8_that_is_not_is_refused_with_the_line(ws, tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_bytes(b"Asiakasnumero;Jakso;Osallisuus\nA;2026H1;4\nB;2026H1;h\xe4h\n")
    with pytest.raises(InputError, match="line 3 is not UTF-8"):
        collect(ws, "kemi", [path], encoding="utf-8")


@pytest.mark.parametrize(
    ("head", "tail", "message"),
    [
        ("utf-8", "cp1252", "line 1 is UTF-8 but line 3 is not"),
        ("cp1252", "utf-8", "line 1 is not UTF-8 but line 3 is"),
    ],
)
def test_mixed_encodings_are_refused_with_the_lines(ws, tmp_path, head, tail, message) -> None:
    path = tmp_path / "m.csv"
    path.write_bytes(
        "Asiakasnumero;Työntekijä;Jakso;Osallisuus\n".encode(head)
        + "A-1;T1;2026H1;4\n".encode(tail)
        + "A-2;Tyyne Ääri;2026H1;4\n".encode(tail)
    )
    with pytest.raises(InputError, match=message):
        collect(ws, "kemi", [path])


# -- 2. loud failure -------------------------------------------------------------------------


def test_one_reason_over_the_limit_fails_unless_accepted(cmo, ws, tmp_path: Path) -> None:
    rows = "".join(f"L-{i};T1;2026H1;alku;{9 if i < 12 else 4};5;5;10\n" for i in range(40))
    path = write(tmp_path / "l.csv", f"{HEADER}\n{rows}")
    run = cmo("collect", "--office", "kemi", "--format", "json", str(path), cwd=ws.root)
    assert run.exit_code == 1
    data = run.json()
    assert data["ok"] is False
    (problem,) = data["problems"]
    assert "12 of 40 rows (30%)" in problem and "out_of_scale in 'Osallisuus'" in problem
    assert not ws.store_path.exists() or store_rows(ws, "SELECT * FROM batches") == []
    run = cmo("collect", "--office", "kemi", "--accept-quarantine", str(path), cwd=ws.root)
    assert run.exit_code == 0
    assert store_rows(ws, "SELECT rows_accepted, rows_quarantined FROM batches") == [(28, 12)]


def test_the_limit_is_a_setting(ws, tmp_path: Path) -> None:
    settings = ws.root / "cmo.yaml"
    settings.write_text(settings.read_text() + "quarantine_limit: 0.5\n")
    from cmo.workspace import load_workspace

    ws = load_workspace(ws.root)
    rows = "".join(f"L-{i};T1;2026H1;alku;{9 if i < 12 else 4};5;5;10\n" for i in range(40))
    result = collect(ws, "kemi", [write(tmp_path / "l.csv", f"{HEADER}\n{rows}")])
    assert result.ok and result.files[0].rows_accepted == 28


@pytest.mark.parametrize(
    ("content", "message"),
    [("", "the file is empty"), ("\n\n", "the file is empty"), (f"{HEADER}\n", "no rows")],
)
def test_empty_and_header_only_files_are_refused(ws, tmp_path, content, message) -> None:
    with pytest.raises(InputError, match=message):
        collect(ws, "kemi", [write(tmp_path / "e.csv", content)], period=None)


def test_header_only_workbook_is_refused(ws, tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["Asiakasnumero", "Jakso", "Osallisuus"])
    book.save(tmp_path / "h.xlsx")
    with pytest.raises(InputError, match="header but no rows"):
        collect(ws, "kemi", [tmp_path / "h.xlsx"])


def test_totals_rows_are_quarantined_with_their_own_reason(ws, tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Asiakasnumero", "Jakso", "Osallisuus", "Etäisyys km"])
    sheet.append(["S-1", "2026H1", 4, 10])
    sheet.append(["S-2", "2026H1", 5, 20])
    sheet.append(["Yhteensä", "2026H1", 9, 30])  # used to be stored as a client
    book.save(tmp_path / "t.xlsx")
    (f,) = collect(ws, "kemi", [tmp_path / "t.xlsx"]).files
    assert (f.rows_in, f.rows_accepted, f.rows_quarantined) == (3, 2, 1)
    assert [(r.reason, r.rows) for r in f.reasons] == [("totals_row", [4])]
    assert store_rows(ws, "SELECT count(*) FROM case_observations") == [(2,)]
    csv = write(tmp_path / "t.csv", f"{HEADER}\nS-3;T1;2026H2;alku;4;5;5;10\nSumma:;;2026H2;;;;;\n")
    (f,) = collect(ws, "kemi", [csv]).files
    assert [(r.reason, r.rows) for r in f.reasons] == [("totals_row", [3])]


# -- 3. state transitions ----------------------------------------------------------------------


def test_retract_then_collect_again_restores_the_batch(cmo, ws, tmp_path: Path) -> None:
    path = write(
        tmp_path / "r.csv", f"{HEADER}\nR-1;T1;2025H2;alku;4;5;5;10\nR-1;T1;2026H1;alku;4;5;5;10\n"
    )
    assert cmo("collect", "--office", "kemi", str(path), cwd=ws.root).exit_code == 0
    (first, _second) = store_rows(ws, "SELECT batch_id FROM batches ORDER BY period")
    assert cmo("retract", str(first[0]), cwd=ws.root).exit_code == 0
    run = cmo("collect", "--office", "kemi", "--format", "json", str(path), cwd=ws.root)
    assert run.exit_code == 0
    assert run.json()["files"][0]["status"] != "unchanged"
    assert store_rows(ws, "SELECT period FROM batches ORDER BY period") == [
        ("2025H2",),
        ("2026H1",),
    ]
    again = cmo("collect", "--office", "kemi", "--format", "json", str(path), cwd=ws.root)
    assert again.json()["files"][0]["status"] == "unchanged"


def test_dry_run_previews_a_mapping_change_and_replace_applies_it(ws, tmp_path: Path) -> None:
    path = write(tmp_path / "p.csv", "Asiakasnumero;Jakso;Osallisuus\nP-1;2026H1;hyvä\n")
    (f,) = collect(ws, "kemi", [path], accept_quarantine=True).files
    assert [r.reason for r in f.reasons] == ["unknown_label"]
    (ws.root / "mappings").mkdir(exist_ok=True)
    (ws.root / "mappings" / "kemi.yaml").write_text("values:\n  participation: {hyvä: 5}\n")
    (f,) = collect(ws, "kemi", [path], dry_run=True).files  # used to say "unchanged"
    assert (f.status, f.rows_accepted, f.reasons) == ("dry_run", 1, [])
    assert f.batches[0].replaced_batch == 1
    assert store_rows(ws, "SELECT count(*) FROM case_observations") == [(0,)]
    (f,) = collect(ws, "kemi", [path], replace=True).files
    assert (f.status, f.rows_accepted) == ("replaced", 1)
    assert store_rows(ws, "SELECT participation FROM case_observations") == [(5,)]


def test_unknown_office_and_period_filters_exit_2(cmo, ws, tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", f"{HEADER}\nA-1;T1;2026H1;alku;4;5;5;10\n")
    assert cmo("collect", "--office", "kemi", str(path), cwd=ws.root).exit_code == 0
    for args, message in (
        (["--office", "nosuch"], "no such office in the store"),
        (["--period", "2030H1"], "no data for this period"),
        (["--period", "kevät"], "not a period"),
    ):
        run = cmo("batches", *args, cwd=ws.root)
        assert run.exit_code == 2 and message in run.stderr, run.stderr
    assert cmo("batches", "--office", "kemi", "--period", "2026h1", cwd=ws.root).exit_code == 0
    with open_store(ws.store_path, read_only=True) as store:
        store.check_scope(["kemi"], ["2026H1"])
        with pytest.raises(InputError, match="nosuch"):
            store.check_scope(["nosuch"], [])


def test_same_pseudonyms_under_two_offices_are_reported_by_count(cmo, ws, tmp_path) -> None:
    rows = "".join(f"W-{i};T1;2026H1;alku;4;5;5;10\n" for i in range(3))
    path = write(tmp_path / "a.csv", f"{HEADER}\n{rows}")
    assert cmo("collect", "--office", "kemi", str(path), cwd=ws.root).exit_code == 0
    other = write(tmp_path / "b.csv", f"{HEADER}\n{rows}X-9;T1;2026H1;alku;4;5;5;10\n")
    run = cmo("collect", "--office", "inari", "--format", "json", str(other), cwd=ws.root)
    assert run.json()["files"][0]["shared_with_other_offices"] == 3
    text = cmo("collect", "--office", "inari", "--dry-run", str(other), cwd=ws.root).stdout
    assert "3 client pseudonym(s) of this file are already stored under another office" in text
    listed = cmo("batches", cwd=ws.root).stdout
    assert "3 client pseudonym(s) appear under both inari and kemi" in listed
    assert "W-0" not in run.stdout + text + listed


# -- 5. hostile files and stores: exit 2 with one sentence --------------------------------------


def _rewrite_sheet(src: Path, dst: Path, change) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = change(data)
            zout.writestr(info, data)
    return dst


@pytest.fixture
def book(tmp_path: Path) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["Asiakasnumero", "Jakso", "Osallisuus"])
    wb.active.append(["B-1", "2026H1", 4])
    wb.save(tmp_path / "ok.xlsx")
    return tmp_path / "ok.xlsx"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (  # a 5 KB workbook declaring the whole sheet used to abort the process (SIGABRT)
            lambda d: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', d),
            "declares 16384 columns × 1048576 rows",
        ),
        (
            lambda d: d.replace(
                b"</sheetData>",
                b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>',
            ),
            "holds cells as far as 16384 columns",
        ),
        (
            lambda d: b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaa">]>' + d,
            "XML DOCTYPE",
        ),
    ],
)
def test_hostile_workbooks_exit_2(cmo, ws, book, tmp_path, change, message) -> None:
    bad = _rewrite_sheet(book, tmp_path / "bad.xlsx", change)
    for dry in ([], ["--dry-run"]):
        run = cmo("collect", "--office", "kemi", *dry, str(bad), cwd=ws.root)
        assert run.exit_code == 2 and message in run.stderr, run.stderr
        assert "Traceback" not in run.stderr


def test_huge_column_count_is_refused_fast(cmo, ws, tmp_path: Path) -> None:
    header = ";".join(["Asiakasnumero", "Jakso", *(f"c{i}" for i in range(5000))])
    body = "".join(";".join(["A", "2026H1", *("1" for _ in range(5000))]) + "\n" for _ in range(60))
    path = write(tmp_path / "w.csv", f"{header}\n{body}")
    run = cmo("collect", "--office", "kemi", str(path), cwd=ws.root)
    assert run.exit_code == 2 and "5002 columns, more than the 1000" in run.stderr


@pytest.mark.parametrize("kind", ["pipe", "device"])
def test_a_pipe_or_a_device_is_refused_without_reading(ws, tmp_path: Path, kind: str) -> None:
    import os
    import subprocess
    import sys

    path = tmp_path / "export.csv"
    if kind == "pipe":
        os.mkfifo(path)  # no writer: opening it would wait for ever
    else:
        path.symlink_to("/dev/zero")  # endless
    proc = subprocess.run(
        [sys.executable, "-m", "cmo", "collect", "--office", "kemi", str(path)],
        cwd=ws.root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert f"is a {kind}, not a regular file" in proc.stderr and "Traceback" not in proc.stderr


def test_a_10_mb_field_is_read(ws, tmp_path: Path) -> None:
    big = "x" * (10 << 20)
    path = write(tmp_path / "f.csv", f"{HEADER};Huom\nA-1;T1;2026H1;alku;4;5;5;10;{big}\n")
    (f,) = collect(ws, "kemi", [path]).files
    assert (f.rows_in, f.rows_accepted) == (1, 1)


def test_sqlite_corrupted_and_truncated_stores_exit_2(cmo, ws, tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", f"{HEADER}\nA-1;T1;2026H1;alku;4;5;5;10\n")
    assert cmo("collect", "--office", "kemi", str(path), cwd=ws.root).exit_code == 0
    good = ws.store_path.read_bytes()
    con = sqlite3.connect(tmp_path / "s.db")
    con.execute("CREATE TABLE t (a)")
    con.commit()
    con.close()
    for content in ((tmp_path / "s.db").read_bytes(), good[: len(good) // 3], b"\0" * 5000):
        ws.store_path.write_bytes(content)
        ws.store_path.with_name(ws.store_path.name + ".wal").unlink(missing_ok=True)
        for args in (["batches"], ["collect", "--office", "kemi", str(path)]):
            run = cmo(*args, cwd=ws.root)
            assert run.exit_code == 2, (args, run.stderr)
            assert "not a cmo store, or the store is damaged" in run.stderr


def test_extensions_are_never_installed_or_loaded(ws, tmp_path: Path) -> None:
    with open_store(ws.store_path) as store:
        settings = dict(
            store.con.execute(
                "SELECT name, value FROM duckdb_settings() WHERE name IN "
                "('autoinstall_known_extensions', 'autoload_known_extensions')"
            ).fetchall()
        )
    assert settings == {
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
    }


class _FullDisk:
    """A connection whose COMMIT fails as DuckDB's does on a full disk."""

    def __init__(self, con) -> None:
        self._con = con

    def execute(self, sql: str, *args):
        if sql == "COMMIT":
            raise duckdb.IOException(
                'IO Error: Could not write file "store.duckdb": No space left on device'
            )
        return self._con.execute(sql, *args)

    def __getattr__(self, name: str):
        return getattr(self._con, name)


def test_a_full_disk_at_commit_is_a_clear_error(ws, tmp_path: Path) -> None:
    with open_store(ws.store_path) as store:
        store.con = _FullDisk(store.con)
        with pytest.raises(StoreError, match="the disk is full"), store.transaction():
            store.con.execute("INSERT INTO meta VALUES ('x', 'y')")
        store.con = store.con._con
        assert store.con.execute("SELECT count(*) FROM meta WHERE key = 'x'").fetchone() == (0,)


# -- 6. the office's fix list as a file -------------------------------------------------------


def test_fix_list_as_csv_and_xlsx_with_rows_even_when_unchanged(cmo, ws, tmp_path) -> None:
    from python_calamine import CalamineWorkbook

    from cmo.collect.fixlist import REASONS_FI
    from cmo.collect.normalise import REASONS

    assert set(REASONS_FI) == set(REASONS)
    path = write(
        tmp_path / "x.csv",
        f"{HEADER}\nF-1;T1;2026H1;alku;9;5;5;10\nF-2;T1;2026H1;alku;=1+1;5;5;10\n"
        "F-3;T1;2026H1;alku;131052-308T;5;5;10\nF-4;T1;2026H1;alku;4;5;5;10\n",
    )
    out = tmp_path / "korjattavat.csv"
    run = cmo("collect", "--office", "kemi", "--fix-list", str(out), str(path), cwd=ws.root)
    assert run.exit_code == 0, run.stderr
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw  # what a Finnish Excel opens
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0] == "tiedosto;rivi;sarake;syy;mitä tehdä;arvo"
    assert lines[1].startswith("x.csv;2;Osallisuus;out_of_scale;Luku on asteikon")
    assert lines[2].endswith(";'=1+1")  # a formula is shown, never run
    assert lines[3].endswith(";(poistettu)") and "131052-308T" not in raw.decode("utf-8-sig")

    book = tmp_path / "fix.xlsx"  # the same file again: unchanged, the rows are still there
    run = cmo(
        "collect",
        "--office",
        "kemi",
        "--fix-list",
        str(book),
        "--lang",
        "en",
        str(path),
        cwd=ws.root,
    )
    assert run.exit_code == 0 and "already collected" in run.stdout
    assert "2" in run.stdout.split("out_of_scale")[1].splitlines()[0]  # first rows shown
    rows = CalamineWorkbook.from_path(str(book)).get_sheet_by_index(0).to_python()
    assert rows[0] == ["file", "row", "column", "reason", "what to do", "value"]
    assert [(r[1], r[3]) for r in rows[1:]] == [
        (2, "out_of_scale"),
        (3, "unknown_label"),
        (4, "personal_identity_code"),
    ]


# -- 4. files from several offices at once ------------------------------------------------------


def test_an_office_column_splits_the_file_into_batches_per_office(cmo, ws, tmp_path) -> None:
    path = write(
        tmp_path / "kuntayhtyma.csv",
        "Toimisto;Asiakasnumero;Jakso;Osallisuus\n"
        "kemi;M-1;2026H1;4\nInari;M-2;2026H1;5\nKEMI;M-3;2026H1;3\n"
        "Rovaniemi;M-4;2026H1;4\n;M-5;2026H1;4\ninari;M-1;2026H1;4\n",
    )
    run = cmo("collect", "--format", "json", "--accept-quarantine", str(path), cwd=ws.root)
    assert run.exit_code == 0, run.stderr
    data = run.json()
    assert data["offices"] == ["inari", "kemi"]
    (f,) = data["files"]
    assert f["rows_in"] == 6 == f["rows_accepted"] + f["rows_quarantined"]
    assert {q["reason"] for q in f["quarantine"]} == {"unknown_office", "missing_office"}
    assert f["shared_with_other_offices"] == 1  # M-1 under both offices of the same file
    assert store_rows(
        ws, "SELECT office, period, rows_in, rows_accepted FROM batches ORDER BY office"
    ) == [("inari", "2026H1", 4, 2), ("kemi", "2026H1", 2, 2)]  # unplaced rows: the first
    assert store_rows(
        ws, "SELECT office, count(*) FROM case_observations GROUP BY 1 ORDER BY 1"
    ) == [
        ("inari", 2),
        ("kemi", 2),
    ]
    again = cmo("collect", "--format", "json", str(path), cwd=ws.root)
    assert again.json()["files"][0]["status"] == "unchanged"
    changed = write(tmp_path / "k2.csv", path.read_text() + "kemi;M-9;2026H2;4\n")
    both = cmo("collect", "--office", "kemi", str(changed), cwd=ws.root)
    assert both.exit_code == 2 and "has an office column" in both.stderr
    neither = write(tmp_path / "n.csv", "Asiakasnumero;Jakso;Osallisuus\nN-1;2026H1;4\n")
    run = cmo("collect", str(neither), cwd=ws.root)
    assert run.exit_code == 2 and "which office is this" in run.stderr


# -- 7. exports ---------------------------------------------------------------------------------


def test_export_parquet_is_pseudonymised_and_owner_only(cmo, ws, tmp_path: Path) -> None:
    rows = "".join(f"PQ-{i};T1;2026H1;alku;4;5;5;10\n" for i in range(4))
    path = write(tmp_path / "a.csv", f"{HEADER}\n{rows}")
    assert cmo("collect", "--office", "kemi", str(path), cwd=ws.root).exit_code == 0
    out = tmp_path / "pq"
    run = cmo("export", "--parquet", str(out), "--format", "json", cwd=ws.root)
    assert run.exit_code == 0, run.stderr
    assert run.json()["parquet"]["files"]["case_observations.parquet"] == 4
    con = duckdb.connect()
    keys = con.execute(
        f"SELECT case_key FROM read_parquet('{out / 'case_observations.parquet'}')"
    ).fetchall()
    assert sorted(keys) == sorted(store_rows(ws, "SELECT case_key FROM case_observations"))
    for p in out.iterdir():
        assert p.stat().st_mode & 0o077 == 0
        assert b"PQ-" not in p.read_bytes()
    bad = cmo("export", "--parquet", str(out), "--office", "nosuch", cwd=ws.root)
    assert bad.exit_code == 2 and "no such office" in bad.stderr
    assert cmo("export", cwd=ws.root).exit_code == 2


def test_finnish_excel_csv_and_xlsx_tables(tmp_path: Path) -> None:
    from python_calamine import CalamineWorkbook

    from cmo.store.export import write_table

    header = ["chain", "estimate", "n", "why"]
    rows = [["a", 0.25, 40, "=cmd"], ["b", None, 7, "ok"]]
    write_table(tmp_path / "t.csv", header, rows)
    raw = (tmp_path / "t.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode("utf-8-sig").split("\r\n")[:3] == [
        "chain;estimate;n;why",
        "a;0,25;40;'=cmd",
        "b;;7;ok",
    ]
    write_table(tmp_path / "t.xlsx", header, rows)
    sheet = CalamineWorkbook.from_path(str(tmp_path / "t.xlsx")).get_sheet_by_index(0)
    assert sheet.to_python()[1] == ["a", 0.25, 40, "=cmd"]


def test_excel_unicode_text_utf16_is_read(ws, tmp_path: Path) -> None:
    path = tmp_path / "unicode.txt"  # Excel: "Save as Unicode text" — UTF-16 with BOM, tabs
    path.write_bytes(
        "Asiakasnumero\tJakso\tOsallisuus\r\nU-1\t2026H1\ttäysin samaa mieltä\r\n".encode("utf-16")
    )
    (f,) = collect(ws, "kemi", [path]).files
    assert (f.encoding, f.delimiter, f.rows_accepted) == ("utf-16", "tab", 1)
    assert store_rows(ws, "SELECT participation FROM case_observations") == [(5,)]


def test_a_tiny_ods_that_repeats_a_filled_cell_millions_of_times_exit_2(cmo, ws, tmp_path) -> None:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    table = Table(name="S")
    row = TableRow()
    for text in ("Asiakasnumero", "Jakso", "Osallisuus"):
        cell = TableCell(valuetype="string")
        cell.addElement(P(text=text))
        row.addElement(cell)
    table.addElement(row)
    row = TableRow(numberrowsrepeated=200_000)
    cell = TableCell(valuetype="string", numbercolumnsrepeated=20)
    cell.addElement(P(text="x"))
    row.addElement(cell)
    table.addElement(row)
    doc.spreadsheet.addElement(table)
    doc.save(str(tmp_path / "r.ods"))
    assert (tmp_path / "r.ods").stat().st_size < 5000
    run = cmo("collect", "--office", "kemi", "--dry-run", str(tmp_path / "r.ods"), cwd=ws.root)
    assert run.exit_code == 2 and "filled cells" in run.stderr


def test_an_unlabelled_totals_row_is_recognised_by_its_sums(ws, tmp_path: Path) -> None:
    path = write(
        tmp_path / "s.csv",
        f"{HEADER}\nS-1;T1;2026H1;alku;4;5;5;10\nS-2;T1;2026H1;alku;5;5;5;32\n"
        ";;2026H1;;9;10;10;42\n;T1;2026H1;alku;3;5;5;7\n",  # a sum row; then a row missing its id
    )
    (f,) = collect(ws, "kemi", [path], accept_quarantine=True).files
    assert (f.rows_in, f.rows_accepted, f.rows_quarantined) == (4, 2, 2)
    assert sorted((r.reason, r.rows) for r in f.reasons) == [
        ("missing_id", [5]),
        ("totals_row", [4]),
    ]

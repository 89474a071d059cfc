"""`cmo collect`: readers, normalisation, quarantine, pseudonyms, the store's transactions."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from pathlib import Path

import pytest

from cmo.collect import collect
from cmo.errors import InputError
from cmo.workspace import load_key

from .collect_helpers import HEADER, make_workspace, store_rows, write


@pytest.fixture
def ws(tmp_path: Path):
    return make_workspace(tmp_path / "ws")


def _reasons(result) -> dict[tuple[str, str | None], list[int]]:
    return {(r.reason, r.column): r.rows for f in result.files for r in f.reasons}


def test_cp1252_semicolon_decimal_comma_nbsp_thousands(ws, tmp_path: Path) -> None:
    text = (
        "Asiakasnumero;Jakso;Mittauskerta;Elämäntilanne;Etäisyys km;Kustannukset €;Asiakasryhmä\r\n"
        "A-1;2026H1;alku;5,5;12;1\u00a0234,50;lapsiperhe\r\n"
        "A-2;2026H1;seuranta;7;3,25;12 000;Aikuinen\r\n"
        "\r\n\r\n"
    )
    path = write(tmp_path / "kemi.csv", text, "cp1252")
    result = collect(ws, "kemi", [path])
    (f,) = result.files
    assert (f.encoding, f.delimiter, f.rows_in, f.rows_accepted) == ("cp1252", "semicolon", 2, 2)
    rows = store_rows(
        ws,
        "SELECT life_situation, distance_km, service_costs, client_group, "
        "measurement_point FROM case_observations ORDER BY source_row",
    )
    assert rows == [
        (5.5, 12.0, 1234.5, "family", "baseline"),
        (7.0, 3.25, 12000.0, "adult", "follow_up"),
    ]


def test_latin1_compatible_cp1252_is_read_without_transcoding(ws, tmp_path: Path) -> None:
    text = "Asiakasnumero;Jakso;Asiakasryhmä\nÄ-1;2026H1;lapsiperhe\n"
    path = write(tmp_path / "k.csv", text, "cp1252")
    (f,) = collect(ws, "kemi", [path]).files
    assert f.encoding == "cp1252"
    assert f.rows_accepted == 1


def test_utf8_bom_comma_delimiter_quoted_fields_and_iso_dates(ws, tmp_path: Path) -> None:
    text = (
        "\ufeffAsiakasnumero,Jakso,Arviointipäivä,Asiakasryhmä,Etäisyys km\n"
        '"B-1",2026H1,2026-03-05,"lapsiperhe","4,5"\n'
        '"B-2",2026H1,5.3.2026,aikuinen,"1,0"\n'
        '"B-3",2026H1,46086,aikuinen,2\n'
    )
    path = write(tmp_path / "bom.csv", text)
    (f,) = collect(ws, "kemi", [path]).files
    assert (f.encoding, f.delimiter, f.rows_accepted) == ("utf-8-sig", "comma", 3)
    rows = store_rows(
        ws, "SELECT measured_on, distance_km FROM case_observations ORDER BY source_row"
    )
    # 46086 is an Excel serial number (1900 date system): 2026-03-05
    assert rows == [
        (dt.date(2026, 3, 5), 4.5),
        (dt.date(2026, 3, 5), 1.0),
        (dt.date(2026, 3, 5), 2.0),
    ]


def test_tab_delimited_with_embedded_newline_and_quote(ws, tmp_path: Path) -> None:
    text = (
        "Asiakasnumero\tJakso\tAsiakasryhmä\tLisätiedot\n"
        'C-1\t2026H1\tnuori\t"rivi 1\nrivi ""2"""\n'
        "C-2\t2026H1\taikuinen\t\n"
    )
    (f,) = collect(ws, "kemi", [write(tmp_path / "t.txt", text)]).files
    assert (f.delimiter, f.rows_in, f.rows_accepted) == ("tab", 2, 2)
    assert ("Lisätiedot", "not an indicator (free text is not stored)") in f.dropped


def test_xlsx_written_by_openpyxl(ws, tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Tiedot"
    sheet.append(["Raportti 2026"])  # a title line above the table
    sheet.append([])
    sheet.append(["  ASIAKASNUMERO ", "Jakso", "Osallisuus", "Arviointipäivä", "Etäisyys km"])
    sheet.append([1001, "2026H1", "täysin samaa mieltä", dt.datetime(2026, 2, 1), 12.5])
    sheet.append([1002, "2026H1", 4, dt.date(2026, 2, 3), 40])
    sheet.append([1003, "2026H1", "6", "1.2.2026", "x"])
    book.create_sheet("Ohjeet").append(["ohje"])
    path = tmp_path / "a.xlsx"
    book.save(path)
    (f,) = collect(ws, "kemi", [path]).files
    assert (f.format, f.sheet, f.rows_in, f.rows_accepted, f.rows_quarantined) == (
        "workbook",
        "Tiedot",
        3,
        2,
        1,
    )
    reasons = {(r.reason, r.column): r.rows for r in f.reasons}
    # spreadsheet rows: the header is row 3, data start at row 4
    assert reasons == {("out_of_scale", "Osallisuus"): [6], ("not_a_number", "Etäisyys km"): [6]}
    rows = store_rows(
        ws, "SELECT participation, measured_on FROM case_observations ORDER BY source_row"
    )
    assert rows == [(5, dt.date(2026, 2, 1)), (4, dt.date(2026, 2, 3))]


def test_ods_and_sheet_choice(ws, tmp_path: Path) -> None:
    import pandas as pd

    path = tmp_path / "a.ods"
    with pd.ExcelWriter(path, engine="odf") as writer:
        pd.DataFrame({"x": [1]}).to_excel(writer, sheet_name="Muuta", index=False)
        pd.DataFrame(
            {
                "Asiakasnumero": ["D-1", "D-2"],
                "Jakso": ["2026H1"] * 2,
                "Tuli kuulluksi": ["kyllä?", "5"],
            }
        ).to_excel(writer, sheet_name="Asiakkaat", index=False)
    (f,) = collect(ws, "kemi", [path], sheet="Asiakkaat").files
    assert (f.sheet, f.rows_in, f.rows_accepted) == ("Asiakkaat", 2, 1)
    with pytest.raises(InputError, match=r"no sheet 'Nope'"):
        collect(ws, "kemi", [path], sheet="Nope")


def test_every_reason_is_a_quarantined_row_with_its_row_and_column(ws, tmp_path: Path) -> None:
    rows = [
        HEADER,
        "E-1;T1;2026H1;alku;4;5;5;10",  # row 2: fine
        "E-2;T1;2026H1;alku;6;5;5;10",  # row 3: 6 on a 1–5 scale
        "E-3;T1;2026H1;alku;4;jotain;5;10",  # row 4: unknown label
        "E-4;T1;2026H1;alku;4;5;ei tiedossa;10",  # row 5: not a number
        "E-5;T1;2026H1;alku;4;5;11;10",  # row 6: outside 0–10
        ";T1;2026H1;alku;4;5;5;10",  # row 7: no id
        "E-6;T1;2026H1;välikysely;4;5;5;10",  # row 8: unknown measurement point
        "E-1;T1;2026H1;alku;4;5;5;10",  # row 9: duplicate of row 2
        "E-7;T1;;alku;4;5;5;10",  # row 10: no period
        "E-8;T1;2026H1;seuranta;;;;",  # row 11: fine (missing values are allowed)
    ]
    path = write(tmp_path / "e.csv", "\n".join(rows) + "\n")
    result = collect(ws, "kemi", [path])
    (f,) = result.files
    assert (f.rows_in, f.rows_accepted, f.rows_quarantined) == (10, 2, 8)
    assert _reasons(result) == {
        ("out_of_scale", "Osallisuus"): [3],
        ("unknown_label", "Luottamus"): [4],
        ("not_a_number", "Elämäntilanne"): [5],
        ("out_of_range", "Elämäntilanne"): [6],
        ("missing_id", "Asiakasnumero"): [7],
        ("unknown_measurement_point", "Mittauskerta"): [8],
        ("duplicate_row", None): [9],
        ("missing_period", "Jakso"): [10],
    }
    stored = store_rows(
        ws, "SELECT source_row, reason, value, redacted FROM quarantine ORDER BY source_row"
    )
    assert (3, "out_of_scale", "6", False) in stored
    assert (5, "not_a_number", "ei tiedossa", False) in stored


def test_identity_code_in_a_value_column_is_quarantined_redacted(ws, tmp_path: Path) -> None:
    path = write(
        tmp_path / "h.csv",
        f"{HEADER};Huomiot\nF-1;T1;2026H1;alku;131052-308T;5;5;10;\n"
        "F-2;T1;2026H1;alku;4;5;5;10;asiakas 010594Y9021 soitti\n",
    )
    result = collect(ws, "kemi", [path], accept_quarantine=True)  # no row is accepted
    (f,) = result.files
    assert f.identity_codes_found == 2
    assert _reasons(result) == {
        ("personal_identity_code", "Osallisuus"): [2],
        ("personal_identity_code", "Huomiot"): [3],
    }
    stored = store_rows(ws, "SELECT value, redacted FROM quarantine")
    assert stored == [(None, True), (None, True)]


def test_identifiers_are_keyed_hashes_equal_to_python_hmac(ws, tmp_path: Path) -> None:
    path = write(tmp_path / "i.csv", f"{HEADER}\n 131052-308t ;tt-7;2026H1;alku;4;5;5;10\n")
    collect(ws, "kemi", [path])
    key = load_key(ws.key_path)
    expected = hmac.new(key.secret, b"131052-308T", hashlib.sha256).hexdigest()
    assert store_rows(ws, "SELECT case_key, worker_key FROM case_observations") == [
        (expected, key.pseudonym("TT-7"))
    ]


def test_same_person_same_key_across_offices_and_periods(ws, tmp_path: Path) -> None:
    a = write(tmp_path / "a.csv", f"{HEADER}\nG-1;T1;2025H2;alku;4;5;5;10\n")
    b = write(tmp_path / "b.csv", f"{HEADER}\ng-1;T9;2026H1;seuranta;4;5;5;10\n")
    collect(ws, "kemi", [a])
    collect(ws, "inari", [b])
    keys = store_rows(ws, "SELECT DISTINCT case_key FROM case_observations")
    assert len(keys) == 1


def test_collect_refuses_without_a_key(ws, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("CMO_KEY", raising=False)
    ws.key_path.unlink()
    path = write(tmp_path / "k.csv", f"{HEADER}\nH-1;T1;2026H1;alku;4;5;5;10\n")
    with pytest.raises(Exception, match="no pseudonymisation key") as info:
        collect(ws, "kemi", [path])
    assert "cmo key create" in str(info.value)
    assert not ws.store_path.exists()


def test_same_file_twice_changes_nothing(ws, tmp_path: Path) -> None:
    path = write(tmp_path / "s.csv", f"{HEADER}\nJ-1;T1;2026H1;alku;4;5;5;10\n")
    first = collect(ws, "kemi", [path])
    before = store_rows(ws, "SELECT count(*) FROM case_observations")
    again = collect(ws, "kemi", [path])
    assert again.files[0].status == "unchanged"
    assert again.files[0].batches[0].batch_id == first.files[0].batches[0].batch_id
    assert store_rows(ws, "SELECT count(*) FROM case_observations") == before
    assert store_rows(ws, "SELECT count(*) FROM batches") == [(1,)]


def test_other_file_same_office_and_period_needs_replace(ws, tmp_path: Path) -> None:
    old = write(tmp_path / "old.csv", f"{HEADER}\nK-1;T1;2026H1;alku;4;5;5;10\n")
    new = write(
        tmp_path / "new.csv",
        f"{HEADER}\nK-1;T1;2026H1;alku;2;5;5;10\nK-2;T1;2026H1;alku;3;5;5;10\n",
    )
    first = collect(ws, "kemi", [old]).files[0].batches[0].batch_id
    with pytest.raises(InputError, match="already has case data for period 2026H1"):
        collect(ws, "kemi", [new])
    assert store_rows(ws, "SELECT participation FROM case_observations") == [(4,)]
    result = collect(ws, "kemi", [new], replace=True)
    (b,) = result.files[0].batches
    assert result.files[0].status == "replaced"
    assert b.replaced_batch == first
    assert store_rows(ws, "SELECT batch_id, source_name FROM batches") == [(b.batch_id, "new.csv")]
    assert sorted(store_rows(ws, "SELECT participation FROM case_observations")) == [(2,), (3,)]


def test_dry_run_stores_nothing(ws, tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", f"{HEADER}\nL-1;T1;2026H1;alku;9;5;5;10\n")
    result = collect(ws, "kemi", [path], dry_run=True)
    assert result.files[0].status == "dry_run"
    assert result.files[0].rows_quarantined == 1
    assert not ws.store_path.exists()


def test_worker_and_office_files(ws, tmp_path: Path) -> None:
    workers = write(
        tmp_path / "w.csv",
        "Työntekijä;Jakso;Asiakasmäärä;Kustannustietoisuus\nT1;2026H1;34;4\nT2;2026H1;-3;5\n",
    )
    office = write(
        tmp_path / "o.csv",
        "Jakso;Asiakkaita per työntekijä;Kuntatyyppi\n2026H1;31,5;harvaan asuttu\n",
    )
    result = collect(ws, "inari", [workers, office])
    levels = {f.level: (f.rows_accepted, f.rows_quarantined) for f in result.files}
    assert levels == {"worker": (1, 1), "office": (1, 0)}
    assert store_rows(
        ws, "SELECT clients_per_worker, municipality_type FROM office_observations"
    ) == [(31.5, "sparse")]


def test_mapping_file_maps_odd_headers_and_values(ws, tmp_path: Path) -> None:
    (ws.root / "mappings").mkdir()
    (ws.root / "mappings" / "kemi.yaml").write_text(
        "columns: {AS_NRO: client_id, KERTA: measurement_point, OS: participation, "
        "ROSKA: ignore}\nvalues: {measurement_point: {A: baseline}, participation: {hyvä: 5}}\n",
        encoding="utf-8",
    )
    path = write(tmp_path / "m.csv", "AS_NRO;KERTA;OS;ROSKA\nM-1;A;hyvä;x\n")
    (f,) = collect(ws, "kemi", [path], period="2026H1").files
    assert f.rows_accepted == 1
    assert f.mapped == {"AS_NRO": "client_id", "KERTA": "measurement_point", "OS": "participation"}
    assert store_rows(ws, "SELECT measurement_point, participation FROM case_observations") == [
        ("baseline", 5)
    ]


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("Nimi;Osallisuus\nx;4\n", {}, "no identifier column"),
        (f"{HEADER}\nA-1;T1;2026H1;alku;4;5;5;10\n", {"period": "2026H1"}, "has a period column"),
        ("Asiakasnumero;Osallisuus\nx;4\n", {}, "which period is this"),
    ],
)
def test_input_problems_name_the_file(ws, tmp_path: Path, content, args, message) -> None:
    path = write(tmp_path / "bad.csv", content)
    with pytest.raises(InputError, match=message) as info:
        collect(ws, "kemi", [path], **args)
    assert "bad.csv" in str(info.value)


def test_cli_collect_json_equals_library_result(cmo, ws, tmp_path: Path) -> None:
    path = write(tmp_path / "j.csv", f"{HEADER}\nN-1;T1;2026H1;alku;4;5;5;10\n")
    run = cmo(
        "collect", "--office", "kemi", "--dry-run", "--format", "json", str(path), cwd=ws.root
    )
    assert run.exit_code == 0, run.stderr
    data = run.json()
    expected = collect(ws, "kemi", [path], dry_run=True).to_dict()
    assert data == json.loads(json.dumps(expected))


def test_cli_user_errors_exit_2(cmo, ws, tmp_path: Path) -> None:
    run = cmo("collect", "--office", "kemi", str(tmp_path / "missing.xlsx"), cwd=ws.root)
    assert run.exit_code == 2
    assert "missing.xlsx: no such file" in run.stderr
    run = cmo("collect", "--office", "nowhere", str(tmp_path), cwd=ws.root)
    assert run.exit_code == 2
    assert "unknown office 'nowhere'" in run.stderr
    run = cmo("retract", "99", cwd=ws.root)
    assert run.exit_code == 2


def test_cli_batches_and_retract(cmo, ws, tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", f"{HEADER}\nP-1;T1;2026H1;alku;4;5;5;10\n")
    assert cmo("collect", "--office", "kemi", str(path), cwd=ws.root).exit_code == 0
    listed = cmo("batches", "--format", "json", cwd=ws.root).json()
    assert [(b["office"], b["period"], b["rows_in"], b["balanced"]) for b in listed] == [
        ("kemi", "2026H1", 1, True)
    ]
    run = cmo("retract", str(listed[0]["batch_id"]), cwd=ws.root)
    assert run.exit_code == 0
    assert cmo("batches", "--format", "json", cwd=ws.root).json() == []
    assert store_rows(ws, "SELECT count(*) FROM case_observations") == [(0,)]

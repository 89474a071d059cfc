"""No raw identifier reaches the store, the summary, the JSON output or the error stream."""

from __future__ import annotations

from pathlib import Path

import duckdb

from cmo.workspace import load_key

from .collect_helpers import make_workspace, write

# Personal identity codes with valid check characters (one with a 2023 century sign) and
# distinctive client/worker numbers that cannot occur by chance in the store's bytes.
HETUS = ["131052-308T", "010594Y9021", "290200A1239", "311299-999E"]
CLIENT_IDS = ["ZQX-ASIAKAS-4471", "ZQX-ASIAKAS-9902"]
WORKER_IDS = ["ZQX-TT-0815"]


def _export() -> str:
    header = "Asiakasnumero;Työntekijä;Jakso;Mittauskerta;Osallisuus;Luottamus;Lisätiedot"
    rows = [
        f"{HETUS[0]};{WORKER_IDS[0]};2026H1;alku;4;5;",  # hetu as the client id: hashed
        f"{CLIENT_IDS[0]};{WORKER_IDS[0]};2026H1;alku;{HETUS[1]};5;",  # hetu in a value
        f"{CLIENT_IDS[1]};{WORKER_IDS[0]};2026H1;alku;4;5;soita {HETUS[2]}",  # in free text
        f"{CLIENT_IDS[1]};{WORKER_IDS[0]};2026H1;{HETUS[3]};4;5;",  # as a measurement point
        f";{WORKER_IDS[0]};2026H1;alku;4;5;",  # missing id
    ]
    return "\n".join([header, *rows]) + "\n"


def _secrets() -> list[str]:
    return HETUS + CLIENT_IDS + WORKER_IDS


def test_no_identifier_anywhere(cmo, tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    path = write(tmp_path / "export.csv", _export())
    outputs = []
    for args in (["--format", "json"], [], ["--dry-run"]):
        run = cmo("collect", "--office", "kemi", *args, str(path), cwd=ws.root)
        assert run.exit_code == 0, run.stderr
        outputs += [run.stdout, run.stderr]
    for args in ([], ["--format", "json"]):
        run = cmo("batches", *args, cwd=ws.root)
        outputs += [run.stdout, run.stderr]
    text = "\n".join(outputs)
    assert "personal_identity_code" in text  # the finding is reported ...
    for value in _secrets():  # ... but never the values
        assert value not in text
        assert value.lower() not in text.lower()

    # Every byte under .cmo/ except the key itself (store, WAL, temporary files).
    files = [p for p in (ws.root / ".cmo").rglob("*") if p.is_file() and p != ws.key_path]
    assert ws.store_path in files
    key_hex = load_key(ws.key_path).secret.hex()
    for p in files:
        blob = p.read_bytes()
        for value in _secrets():
            assert value.encode() not in blob, (p.name, value)
        assert key_hex.encode() not in blob

    # Compression could hide a string from a byte scan, so ask the database too: every text
    # column of every table.
    con = duckdb.connect(str(ws.store_path), read_only=True)
    columns = con.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE data_type = 'VARCHAR'"
    ).fetchall()
    assert len(columns) > 10
    for table, column in columns:
        values = {r[0] for r in con.execute(f'SELECT DISTINCT "{column}" FROM {table}').fetchall()}
        for value in _secrets():
            assert not any(v and value.lower() in str(v).lower() for v in values), (table, column)
    quarantined = con.execute(
        "SELECT reason, value, redacted FROM quarantine ORDER BY source_row, reason"
    ).fetchall()
    con.close()
    assert ("personal_identity_code", None, True) in quarantined
    assert ("unknown_measurement_point", None, True) in quarantined  # redacted, too
    assert ("missing_id", None, False) in quarantined


def test_key_never_in_output_or_repr(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    key = load_key(ws.key_path)
    assert key.secret.hex() not in repr(key)
    assert key.fingerprint in repr(key)

"""Issue 10: a personal identity code never passes any door — period (column or --period),
column name, file name, mapping value — and the key is bound to the store."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from cmo.workspace import load_workspace

from .collect_helpers import HEADER, make_workspace, store_rows, write

HETU = "131052-308T"
TEMP_HETU = "010594Y9021"  # a valid code: individual number in the ordinary range
TEMPORARY = "131052-900W"  # the temporary range 900–999 counts too (python-stdnum decides)


def _all_text(ws, runs) -> str:
    """Everything printed, and every byte under the workspace's state folder but the key."""
    parts = [r.stdout + r.stderr for r in runs]
    for p in (ws.root / ".cmo").rglob("*"):
        if p.is_file() and p != ws.key_path:
            parts.append(p.read_bytes().decode("latin-1"))
    return "\n".join(parts)


@pytest.fixture
def ws(tmp_path: Path):
    return make_workspace(tmp_path / "ws")


def test_temporary_code_is_an_identity_code() -> None:
    from cmo.workspace.privacy import contains_identity_code

    assert contains_identity_code(f"x {TEMPORARY} y")
    assert contains_identity_code(HETU)
    assert not contains_identity_code("131052-308U")  # wrong check character


@pytest.mark.parametrize("code", [HETU, TEMPORARY])
def test_identity_code_in_the_period_column_is_neither_stored_nor_printed(
    cmo, ws, tmp_path: Path, code: str
) -> None:
    path = write(
        tmp_path / "p.csv",
        f"{HEADER}\nA-1;T1;2026H1;alku;4;5;5;10\nA-2;T1;{code};alku;4;5;5;10\n",
    )
    runs = [
        cmo("collect", "--office", "kemi", *fmt, str(path), cwd=ws.root)
        for fmt in (["--dry-run"], ["--format", "json", "--dry-run"], [])
    ]
    assert [r.exit_code for r in runs] == [0, 0, 0], runs[-1].stderr
    runs.append(cmo("batches", "--format", "json", cwd=ws.root))
    assert store_rows(ws, "SELECT period FROM batches") == [("2026H1",)]
    assert store_rows(ws, "SELECT reason, value FROM quarantine") == [
        ("personal_identity_code", None)
    ]
    assert code not in _all_text(ws, runs)


@pytest.mark.parametrize(
    "period",
    ['=HYPERLINK("http://x.example","klik")', "<b>2026</b>", "2026' OR '1'='1"],
)
def test_any_text_is_not_a_period(cmo, ws, tmp_path: Path, period: str) -> None:
    path = write(
        tmp_path / "p.csv",
        f"{HEADER}\nA-1;T1;2026H1;alku;4;5;5;10\nA-2;T1;{period};alku;4;5;5;10\n",
    )
    run = cmo("collect", "--office", "kemi", "--format", "json", str(path), cwd=ws.root)
    assert run.exit_code == 0, run.stderr
    reasons = {q["reason"] for f in run.json()["files"] for q in f["quarantine"]}
    assert reasons == {"invalid_period"}
    assert store_rows(ws, "SELECT period FROM batches") == [("2026H1",)]
    assert store_rows(ws, "SELECT value FROM quarantine") == [(None,)]
    assert period not in _all_text(ws, [run])


@pytest.mark.parametrize("period", [HETU, TEMPORARY, "=1+1", "2026H3", "kevät", "2026-13"])
def test_period_option_is_refused_unless_a_period(cmo, ws, tmp_path: Path, period) -> None:
    path = write(tmp_path / "p.csv", "Asiakasnumero;Osallisuus\nA-1;4\n")
    run = cmo("collect", "--office", "kemi", "--period", period, str(path), cwd=ws.root)
    assert run.exit_code == 2
    assert "not a period" in run.stderr and "2026H1" in run.stderr
    assert period not in run.stdout + run.stderr
    assert not ws.store_path.exists() or store_rows(ws, "SELECT * FROM batches") == []


@pytest.mark.parametrize("period", ["2026", "2026H1", "2026q2", "2026-03"])
def test_documented_periods_are_accepted_canonical(cmo, ws, tmp_path: Path, period) -> None:
    path = write(tmp_path / "p.csv", "Asiakasnumero;Osallisuus\nA-1;4\n")
    run = cmo("collect", "--office", "kemi", "--period", period, str(path), cwd=ws.root)
    assert run.exit_code == 0, run.stderr
    assert store_rows(ws, "SELECT period FROM batches") == [(period.upper(),)]


def test_identity_code_as_a_column_name_is_not_echoed_or_stored(cmo, ws, tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.csv",
        f"{HEADER};{HETU};Huom {TEMPORARY}\nA-1;T1;2026H1;alku;4;5;5;10;x;y\n",
    )
    runs = [
        cmo("collect", "--office", "kemi", *fmt, str(path), cwd=ws.root)
        for fmt in (["--format", "json", "--dry-run"], [])
    ]
    assert [r.exit_code for r in runs] == [0, 0], runs[-1].stderr
    dropped = [d["column"] for d in runs[0].json()["files"][0]["dropped_columns"]]
    assert "(column 9: name withheld, it holds an identity code)" in dropped
    assert "(column 10: name withheld, it holds an identity code)" in dropped
    text = _all_text(ws, runs)
    assert HETU not in text and TEMPORARY not in text


def test_identity_code_in_a_file_name_is_not_stored_or_printed(cmo, ws, tmp_path: Path) -> None:
    path = write(tmp_path / f"asiakas_{HETU}.csv", f"{HEADER}\nA-1;T1;2026H1;alku;4;5;5;10\n")
    runs = [cmo("collect", "--office", "kemi", str(path), cwd=ws.root)]
    assert runs[0].exit_code == 0, runs[0].stderr
    runs.append(cmo("batches", cwd=ws.root))
    runs.append(cmo("batches", "--format", "json", cwd=ws.root))
    (name,) = [b["source_name"] for b in runs[-1].json()]
    assert name == "(file name withheld, it holds an identity code).csv"
    # an error about the file does not echo it either
    bad = write(tmp_path / f"{HETU}.csv", "Nimi;Osallisuus\nx;4\n")
    runs.append(cmo("collect", "--office", "kemi", str(bad), cwd=ws.root))
    assert runs[-1].exit_code == 2
    assert HETU not in _all_text(ws, runs)


@pytest.mark.parametrize(
    "mapping",
    [
        "columns:\n  AS_NRO: client_id\n  KERTA: {code}\n",  # as a column's target
        "columns:\n  AS_NRO: client_id\nvalues:\n  participation: {{'{code}': 5}}\n",  # a word
        "columns:\n  '{code}': client_id\n",  # as a column name
    ],
)
def test_identity_code_in_a_mapping_file_is_refused_unechoed(
    cmo, ws, tmp_path: Path, mapping: str
) -> None:
    (ws.root / "mappings").mkdir(exist_ok=True)
    (ws.root / "mappings" / "kemi.yaml").write_text(mapping.format(code=HETU), encoding="utf-8")
    path = write(tmp_path / "m.csv", "AS_NRO;KERTA;Osallisuus\nA-1;alku;4\n")
    run = cmo("collect", "--office", "kemi", "--period", "2026H1", str(path), cwd=ws.root)
    assert run.exit_code == 2
    assert "holds a personal identity code" in run.stderr
    assert "kemi.yaml:" in run.stderr  # with the line to look at
    assert HETU not in run.stdout + run.stderr


def test_terminal_control_characters_are_neutralised(cmo, ws, tmp_path: Path) -> None:
    path = write(
        tmp_path / "x.csv",
        f"{HEADER};\x1b[2J\x1b]0;pwned\x07Huom\nA-1;T1;2026H1;alku;4;5;5;10;x\n",
    )
    run = cmo("collect", "--office", "kemi", str(path), cwd=ws.root)
    assert run.exit_code == 0, run.stderr
    assert "\x1b" not in run.stdout and "\x07" not in run.stdout
    assert "\\x1b[2J" in run.stdout


def test_office_must_be_an_office_id(cmo, ws, tmp_path: Path) -> None:
    path = write(tmp_path / "p.csv", f"{HEADER}\nA-1;T1;2026H1;alku;4;5;5;10\n")
    run = cmo("collect", "--office", HETU, str(path), cwd=ws.root)
    assert run.exit_code == 2 and HETU not in run.stderr


# -- the key is bound to the store ---------------------------------------------------------


def test_a_new_key_is_refused_and_key_show_tells_why(cmo, ws, tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", f"{HEADER}\nA-1;T1;2026H1;alku;4;5;5;10\n")
    assert cmo("collect", "--office", "kemi", str(path), cwd=ws.root).exit_code == 0
    shown = cmo("key", "show", "--format", "json", cwd=ws.root)
    assert shown.exit_code == 0
    first = shown.json()
    assert first["matches"] is True and first["fingerprint"] == first["store_fingerprint"]
    assert store_rows(ws, "SELECT value FROM meta WHERE key = 'key_fingerprint'") == [
        (first["fingerprint"],)
    ]
    secret = ws.key_path.read_text().strip()
    assert secret not in json.dumps(first)

    ws.key_path.unlink()  # lose the key, make a new one
    assert cmo("key", "create", cwd=ws.root).exit_code == 0
    other = write(tmp_path / "b.csv", f"{HEADER}\nA-1;T1;2026H2;alku;4;5;5;10\n")
    run = cmo("collect", "--office", "kemi", str(other), cwd=ws.root)
    assert run.exit_code == 2
    assert "made with another key" in run.stderr and first["fingerprint"] in run.stderr
    dry = cmo("collect", "--office", "kemi", "--dry-run", str(other), cwd=ws.root)
    assert dry.exit_code == 2
    assert store_rows(ws, "SELECT count(*) FROM batches") == [(1,)]
    shown = cmo("key", "show", cwd=ws.root)
    assert shown.exit_code == 1 and "another key" in shown.stdout


def test_a_different_cmo_key_is_refused(cmo, ws, tmp_path: Path, monkeypatch) -> None:
    path = write(tmp_path / "a.csv", f"{HEADER}\nA-1;T1;2026H1;alku;4;5;5;10\n")
    assert cmo("collect", "--office", "kemi", str(path), cwd=ws.root).exit_code == 0
    monkeypatch.setenv("CMO_KEY", "ab" * 32)
    other = write(tmp_path / "b.csv", f"{HEADER}\nA-1;T1;2026H2;alku;4;5;5;10\n")
    run = cmo("collect", "--office", "kemi", str(other), cwd=ws.root)
    assert run.exit_code == 2 and "$CMO_KEY" in run.stderr


def test_store_is_owner_only(cmo, ws, tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = write(tmp_path / "a.csv", f"{HEADER}\nA-1;T1;2026H1;alku;4;5;5;10\n")
        assert cmo("collect", "--office", "kemi", str(path), cwd=ws.root).exit_code == 0
    finally:
        os.umask(old)
    for p in (ws.store_path, ws.store_path.with_name(ws.store_path.name + ".wal")):
        if p.exists():
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, p


def test_min_cases_below_the_disclosure_threshold_is_refused(cmo, ws) -> None:
    settings = ws.root / "cmo.yaml"
    text = settings.read_text(encoding="utf-8")
    assert "min_cases: 30" in text and "disclosure_threshold: 5" in text
    settings.write_text(text.replace("min_cases: 30", "min_cases: 3"), encoding="utf-8")
    run = cmo("batches", cwd=ws.root)
    assert run.exit_code == 2
    assert "min_cases (3) must be at least disclosure_threshold (5)" in run.stderr
    assert "cmo.yaml:" in run.stderr
    with pytest.raises(Exception, match="min_cases"):
        load_workspace(ws.root)


def test_identity_code_in_a_theory_label_is_refused_and_never_echoed(cmo) -> None:
    """Labels are shown in every report: a personal identity code in one is a P001 error,
    printed without the code, and the validator's JSON does not hold it either."""
    from .conftest import ROOT

    case = ROOT / "tests" / "fixtures" / "broken" / "identity_code_in_label"
    for fmt in ("text", "json"):
        run = cmo("validate", str(case), "--format", fmt, cwd=ROOT)
        assert run.exit_code == 1
        assert "P001" in run.stdout
        assert "131052-308T" not in run.stdout + run.stderr


def test_identity_code_in_an_office_name_is_refused(tmp_path, cmo) -> None:
    """Office names from cmo.yaml are shown in reports: an identity code there stops every
    command (exit 2), without being echoed."""
    (tmp_path / "cmo.yaml").write_text(
        "offices:\n  - {id: kemi, name: Kemi 131052-308T}\n", encoding="utf-8"
    )
    run = cmo("validate", cwd=tmp_path)
    assert run.exit_code == 2
    assert "identity code" in run.stderr and "131052-308T" not in run.stderr + run.stdout

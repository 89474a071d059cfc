"""The bundled examples: reproducible from their script, and collected as documented."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import OFFICES, ROOT

# The planted mistakes of examples/README.md: office -> {(reason, column)}
PLANTED = {
    "rovaniemi": {
        ("out_of_scale", "Osallisuus"),
        ("not_a_number", "Elämäntilanne"),
        ("duplicate_row", None),
    },
    "kemi": {
        ("not_a_number", "Etäisyys km"),
        ("invalid_date", "Arviointipäivä"),
        ("out_of_scale", "Luottamus"),
    },
    "tornio": {("unknown_label", "Participation"), ("missing_id", "Client ID")},
    "kemijarvi": {("not_an_integer", "Työntekijävaihdokset")},
    "sodankyla": set(),
    "inari": {("personal_identity_code", "Lisätiedot")},
    "kittila": {("out_of_scale", "OSALL_1_5")},
}


def test_examples_are_reproduced_byte_for_byte_by_their_script(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "generate.py"),
            "--out",
            str(tmp_path / "ex"),
            "--mappings",
            str(tmp_path / "maps"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    for office in OFFICES:
        made = sorted(p.name for p in (tmp_path / "ex" / office).iterdir())
        shipped = sorted(p.name for p in (ROOT / "examples" / office).iterdir())
        assert made == shipped
        for name in made:
            assert (tmp_path / "ex" / office / name).read_bytes() == (
                ROOT / "examples" / office / name
            ).read_bytes(), f"{office}/{name}"
    assert (tmp_path / "maps" / "kittila.yaml").read_text() == (
        ROOT / "mappings" / "kittila.yaml"
    ).read_text()


@pytest.mark.parametrize("office", OFFICES)
def test_each_office_collects_with_exactly_its_planted_mistakes(examples_collected, office) -> None:
    _, results = examples_collected
    result = results[office]
    levels = sorted(f.level for f in result.files)
    assert levels == ["case", "office", "worker"]
    found = {(r.reason, r.column) for f in result.files for r in f.reasons}
    assert found == PLANTED[office]
    for f in result.files:
        assert f.rows_in == f.rows_accepted + f.rows_quarantined
        assert [b.period for b in f.batches] == ["2025H2", "2026H1"]


def test_every_client_has_a_baseline_and_a_follow_up(examples_collected) -> None:
    ws, _ = examples_collected
    from cmo.store import open_store

    with open_store(ws.store_path, read_only=True) as store:
        rows = store.con.execute(
            "SELECT measurement_point, count(*) FROM case_observations GROUP BY 1 ORDER BY 1"
        ).fetchall()
        audits = store.audit()
    assert [r[0] for r in rows] == ["baseline", "follow_up"]
    assert abs(rows[0][1] - rows[1][1]) <= 10  # a handful of quarantined rows apart
    assert rows[0][1] > 1700  # 865 clients a period in seven offices, two periods
    assert audits
    assert all(a.balanced for a in audits)

"""Typing a column through its dictionary: written into the statement (a small dictionary) or
joined (a large one, or texts that cannot be literals) stores exactly the same rows, the same
quarantined cells and the same report."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from cmo.collect import collect, prepare, scan_sql

from .collect_helpers import make_workspace, store_rows, write

HEADER = (
    "Asiakasnumero;Työntekijä;Jakso;Mittauskerta;Arviointipäivä;Asiakasryhmä;Ikä;Etäisyys km;"
    "Motivaatio;Elämäntilanne;Palvelujen määrä;Asiakassuunnitelma;Tasavertainen kohtaaminen;"
    "Osallisuus;Kustannukset €;Lisätiedot"
)

# Each column after the ids and the period: texts that are accepted, and texts that are not.
CHOICES = [
    (["alku", "alkuarvio", "Seuranta", "seuranta ", ""], ["välikysely"]),
    (["4.2.2026", "2026-02-04", "46000", "", "1.1.2026"], ["31.2.2026", "ei"]),
    (["lapsiperhe", "Aikuinen", "nuori aikuinen", "", "AIKUINEN"], ["muu"]),
    ([*(str(n) for n in range(15, 90, 3)), ""], ["vanha", "-1"]),
    ([*(f"{n / 10:.1f}".replace(".", ",") for n in range(0, 400, 7)), "1\u00a0234,5", ""], ["x"]),
    (["1", "2", "5", "3 = jonkin verran", "", "2,0"], ["6", "kolme", "2,5"]),
    (["0", "5,5", "10", "", "7.25"], ["11", "ei tiedossa", "−1"]),
    (["0", "1", "2", ""], ["3,5", "-1", "kaksi"]),
    (["kyllä", "ei", "K", "E", "x", "", "yes", "1"], ["ehkä", "2"]),
    (["täysin samaa mieltä", "jokseenkin eri mieltä", "", "5"], ["samaa", "0"]),
    (["1", "2", "3", "4", "5", ""], ["6", "131052-308T", "4\tkyllä"]),
    ([*(f"{500 + n * 1.37:.2f}".replace(".", ",") for n in range(60)), ""], ["kallis"]),
    (["", "vapaa teksti", "ok"], ["soitti 010594Y9021"]),
]


def _export(path: Path, rows: int, seed: int) -> Path:
    rng = random.Random(seed)
    lines = [HEADER]
    for i in range(rows):
        client = rng.choice(["", " ", "Yhteensä"]) if i % 97 == 5 else f"A-{i // 2}"
        worker = f"T{i % 7}"
        period = "2026H1" if i % 3 else "2025H2"
        if i % 89 == 7:
            period = ["", "2026H3", "010594Y9021"][(i // 89) % 3]
        cells = [rng.choice(bad if rng.random() < 0.02 else good) for good, bad in CHOICES]
        lines.append(";".join([client, worker, period, *cells]))
    lines.append(lines[10])  # a duplicate
    return write(path, "\n".join(lines) + "\n")


def _collected(tmp_path: Path, name: str, data: Path) -> tuple[object, list, list]:
    ws = make_workspace(tmp_path / name)
    first = tmp_path / "inline" / ".cmo" / "pseudonymisation.key"
    if name != "inline":  # the same key, so that the pseudonyms compare
        shutil.copy(first, ws.key_path)
    result = collect(ws, "kemi", [data], accept_quarantine=True)
    (f,) = result.files
    report = (
        f.rows_in,
        f.rows_accepted,
        f.rows_quarantined,
        f.identity_codes_found,
        [(b.period, b.rows_in, b.rows_accepted, b.rows_quarantined) for b in f.batches],
        [(r.reason, r.column, r.indicator, r.count, r.rows) for r in f.reasons],
        [(x.row, x.column, x.reason, x.value) for x in f.fixes],
    )
    stored = store_rows(ws, "SELECT * EXCLUDE (batch_id) FROM case_observations ORDER BY ALL")
    cells = store_rows(ws, "SELECT * EXCLUDE (batch_id) FROM quarantine ORDER BY ALL")
    return report, stored, cells


@pytest.mark.parametrize("seed", [1, 2])
def test_inline_and_joined_dictionaries_store_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    data = _export(tmp_path / "kemi.csv", 600, seed)
    monkeypatch.setattr(scan_sql, "INLINE_TEXTS", 10**6)  # every dictionary inline
    inline = _collected(tmp_path, "inline", data)
    monkeypatch.setattr(scan_sql, "INLINE_TEXTS", -1)  # every dictionary joined
    joined = _collected(tmp_path, "joined", data)
    report, stored, cells = inline
    assert joined == inline
    # the file holds what the comparison is about: accepted rows, and quarantined cells of
    # many reasons, a redacted identity code among them
    assert len(stored) > 50 and report[2] > 50  # type: ignore[index]
    reasons = {c[3] for c in cells}
    assert {
        "unknown_label",
        "out_of_scale",
        "not_a_number",
        "out_of_range",
        "invalid_date",
        "unknown_measurement_point",
        "missing_id",
        "totals_row",
        "invalid_period",
        "missing_period",
        "personal_identity_code",
        "duplicate_row",
    } <= reasons, reasons
    assert all(c[4] is None for c in cells if c[3] == "personal_identity_code")


def test_texts_that_cannot_be_literals_are_looked_up_by_join(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    joins: list[str] = []
    original = prepare._quarantine_sql

    def spy(con, prep, plan):  # type: ignore[no-untyped-def]
        out = original(con, prep, plan)
        joins.append(prep.joins)
        return out

    monkeypatch.setattr(prepare, "_quarantine_sql", spy)
    long_four = "0" * 300 + "4"  # accepted (4), but too long to write into a statement
    rows = [
        "Asiakasnumero;Jakso;Mittauskerta;Osallisuus",
        "A-1;2026H1;alku;4",
        f"A-2;2026H1;alku;{long_four}",
        'A-3;2026H1;alku;"4\x0b"',
        "A-4;2026H1;alku;\x7f",
    ]
    data = write(tmp_path / "c.csv", "\n".join(rows) + "\n")
    ws = make_workspace(tmp_path / "ws")
    result = collect(ws, "kemi", [data], accept_quarantine=True)
    (f,) = result.files
    assert (f.rows_in, f.rows_accepted, f.rows_quarantined) == (4, 2, 2)
    assert store_rows(ws, "SELECT source_row, participation FROM case_observations ORDER BY 1") == [
        (2, 4),
        (3, 4),
    ]
    assert [(r.reason, r.rows) for r in f.reasons] == [("unknown_label", [4, 5])]
    assert sorted(x.value for x in f.fixes) == ["4?", "?"]  # control characters shown as ?
    assert joins == [f'LEFT JOIN {joins[0].split()[2]} ON a."p0_r" = {joins[0].split()[2]}."p0_r"']

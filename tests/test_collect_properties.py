"""Property: for any export with random bad values, rows in = accepted + quarantined, and no
row is both stored and quarantined."""

from __future__ import annotations

import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmo.collect import collect
from cmo.errors import InputError

from .collect_helpers import make_workspace, store_rows, write

GOOD = {
    "participation": st.sampled_from(["1", "3", "5", "täysin samaa mieltä", "4,0", ""]),
    "life": st.sampled_from(["0", "5,5", "10", "7.25", ""]),
    "distance": st.sampled_from(["0", "12", "1 200", "599,9", ""]),
}
BAD = {
    "participation": st.sampled_from(["6", "0", "ehkä", "3,5", "131052-308T"]),
    "life": st.sampled_from(["ei tiedossa", "11", "-1", "nan", "inf"]),
    "distance": st.sampled_from(["x", "601", "1e9", "--1"]),
}

row = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["a1", "a2", "a3", "a4", "", " A1 "]),
        "point": st.sampled_from(["alku", "seuranta", "loppu", "?", ""]),
        "period": st.sampled_from(["2025H2", "2026H1", ""]),
        **{k: st.one_of(GOOD[k], BAD[k]) for k in GOOD},
    }
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=st.lists(row, min_size=1, max_size=25))
def test_every_row_is_stored_or_quarantined_never_both(tmp_path_factory, rows) -> None:
    root = tmp_path_factory.mktemp("prop")
    try:
        ws = make_workspace(root / "ws")
        lines = ["Asiakasnumero;Mittauskerta;Jakso;Osallisuus;Elämäntilanne;Etäisyys km"]
        lines += [
            ";".join(
                [r["id"], r["point"], r["period"], r["participation"], r["life"], r["distance"]]
            )
            for r in rows
        ]
        path = write(root / "p.csv", "\n".join(lines) + "\n")
        if all(r["period"] == "" for r in rows):  # the one case that refuses the file
            with pytest.raises(InputError, match="no row has a period"):
                collect(ws, "kemi", [path])
            return
        result = collect(ws, "kemi", [path], accept_quarantine=True)
        (f,) = result.files
        assert f.rows_in == len(rows)
        assert f.rows_in == f.rows_accepted + f.rows_quarantined
        stored = {r[0] for r in store_rows(ws, "SELECT source_row FROM case_observations")}
        quarantined = {r[0] for r in store_rows(ws, "SELECT source_row FROM quarantine")}
        assert stored.isdisjoint(quarantined)
        assert stored | quarantined == set(range(2, len(rows) + 2))
        assert len(stored) == f.rows_accepted
        for b in store_rows(ws, "SELECT rows_in, rows_accepted, rows_quarantined FROM batches"):
            assert b[0] == b[1] + b[2]
    finally:
        shutil.rmtree(root, ignore_errors=True)

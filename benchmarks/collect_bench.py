"""Benchmark `cmo collect` against DuckDB merely parsing the same file, in the same run.

    python benchmarks/collect_bench.py                 # 1M and 10M rows
    python benchmarks/collect_bench.py --rows 1000000  # one size

For each size it writes a Finnish-style export (semicolon CSV, decimal commas, d.m.yyyy dates,
Finnish value labels, 21 columns, about 1% bad values), then runs, each in a fresh
subprocess so that peak memory is measured per run:

  baseline  DuckDB's read_csv parsing the file into an in-memory table (all columns as text)
  floor     the floor DuckDB sets for the same essential work: ONE statement that reads the
            file, computes the keyed hash (HMAC-SHA-256) of both id columns, types every
            column (numbers with decimal commas, dates, labels) and writes a file database
  collect   cmo collect of the same file into a new store (map, normalise, quarantine,
            pseudonymise, store)

and prints seconds, rows per second, the ratios collect/floor and floor/baseline and peak
resident memory. The goal (issue 11): collect within 1.5× of the floor at 1M rows, peak memory
at most 1.5 GB at 10M rows.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER_SQL = """
COPY (
  SELECT
    'ASIAKAS-' || (i // 2) AS "Asiakasnumero",
    'T' || (i % 80) AS "Työntekijä",
    CASE WHEN i % 3 = 0 THEN '2025H2' ELSE '2026H1' END AS "Jakso",
    CASE WHEN i % 2 = 0 THEN 'alkuarvio' ELSE 'seuranta' END AS "Mittauskerta",
    (1 + i % 28) || '.' || (1 + i % 12) || '.2026' AS "Arviointipäivä",
    ['lapsiperhe', 'nuori aikuinen', 'aikuinen'][1 + i % 3] AS "Asiakasryhmä",
    (18 + i % 60)::VARCHAR AS "Ikä",
    replace(round((i % 997) / 10.0, 1)::VARCHAR, '.', ',') AS "Etäisyys km",
    (1 + i % 5)::VARCHAR AS "Motivaatio",
    CASE WHEN i % 101 = 0 THEN 'ei tiedossa'
         ELSE replace(round((i % 100) / 10.0, 1)::VARCHAR, '.', ',') END AS "Elämäntilanne",
    (i % 6)::VARCHAR AS "Palvelujen määrä",
    CASE WHEN i % 10 = 0 THEN 'ei' ELSE 'kyllä' END AS "Asiakassuunnitelma",
    CASE WHEN i % 3 = 0 THEN 'kyllä' ELSE 'ei' END AS "Jalkautuva työ",
    ['täysin eri mieltä', 'jokseenkin eri mieltä', 'ei samaa eikä eri mieltä',
     'jokseenkin samaa mieltä', 'täysin samaa mieltä'][1 + (i * 7) % 5]
      AS "Tasavertainen kohtaaminen",
    (1 + (i * 3) % 5)::VARCHAR AS "Tuli kuulluksi",
    CASE WHEN i % 211 = 0 THEN '6' ELSE (1 + (i * 11) % 5)::VARCHAR END AS "Osallisuus",
    (1 + (i * 13) % 5)::VARCHAR AS "Luottamus",
    (1 + (i * 17) % 5)::VARCHAR AS "Avoimuus",
    (i % 3)::VARCHAR AS "Työntekijävaihdokset",
    replace(printf('%.2f', 500 + (i % 9000) * 1.37), '.', ',') AS "Kustannukset €",
    'vapaa teksti ' || (i % 13) AS "Lisätiedot"
  FROM range({rows}) t(i)
) TO '{path}' (DELIMITER ';', HEADER, QUOTE '"');
"""

BASELINE = """
import duckdb, resource, sys, time
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
t = time.perf_counter()
con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?, delim=';', header=true, all_varchar=true)",
            [sys.argv[1]])
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

FLOOR = """
import duckdb, resource, sys, time
con = duckdb.connect(sys.argv[2])
con.execute("SET enable_progress_bar = false")
key = bytes(range(32)).ljust(64, b"\\0")
con.execute("SET VARIABLE ipad = $1", [bytes(b ^ 0x36 for b in key)])
con.execute("SET VARIABLE opad = $1", [bytes(b ^ 0x5C for b in key)])
def h(c):
    return (f"sha256(getvariable('opad') || unhex(sha256(getvariable('ipad') || "
            f"encode(upper(trim({c}))))))")
def num(c):
    return f"TRY_CAST(replace(replace({c}, ' ', ''), ',', '.') AS DOUBLE)"
likert = ("CASE lower(\\"Tasavertainen kohtaaminen\\") WHEN 'täysin eri mieltä' THEN 1 "
          "WHEN 'jokseenkin eri mieltä' THEN 2 WHEN 'ei samaa eikä eri mieltä' THEN 3 "
          "WHEN 'jokseenkin samaa mieltä' THEN 4 WHEN 'täysin samaa mieltä' THEN 5 END")
yes = lambda c: f"CASE lower({c}) WHEN 'kyllä' THEN 1 WHEN 'ei' THEN 0 END"
cols = [h('"Asiakasnumero"') + " AS case_key", h('"Työntekijä"') + " AS worker_key",
        '"Jakso" AS period', '"Mittauskerta" AS point',
        "TRY_CAST(try_strptime(\\"Arviointipäivä\\", '%d.%m.%Y') AS DATE) AS measured_on",
        '"Asiakasryhmä" AS client_group', likert + " AS equal_encounter",
        yes('"Asiakassuunnitelma"') + " AS client_plan",
        yes('"Jalkautuva työ"') + " AS outreach_work"]
for name in ("Ikä", "Etäisyys km", "Motivaatio", "Elämäntilanne", "Palvelujen määrä",
             "Tuli kuulluksi", "Osallisuus", "Luottamus", "Avoimuus", "Työntekijävaihdokset",
             "Kustannukset €"):
    cols.append(num(f'"{name}"') + f' AS "{name}"')
t = time.perf_counter()
con.execute(f"CREATE TABLE t AS SELECT {', '.join(cols)} FROM read_csv(?, delim=';', "
            "header=true, all_varchar=true)", [sys.argv[1]])
con.close()
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

COLLECT = """
import resource, sys, time
from pathlib import Path
# Like the floor (and the baseline), collect is timed with its libraries loaded: importing
# duckdb (about 0.1 s) is outside every timing. Opening the store, checking the theories and
# hashing the file are inside collect's.
import duckdb
from cmo.collect import collect
from cmo.workspace import load_workspace
ws = load_workspace(Path(sys.argv[1]))
t = time.perf_counter()
result = collect(ws, "bench", [Path(sys.argv[2])])
elapsed = time.perf_counter() - t
f = result.files[0]
assert f.rows_in == f.rows_accepted + f.rows_quarantined
print(elapsed, f.rows_in, f.rows_accepted, f.rows_quarantined,
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def run(code: str, *args: str) -> tuple[list[str], float]:
    """Run code in a fresh interpreter; return its printed words (the last one, its own
    peak resident memory in KiB, is converted to MiB)."""
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        sys.exit(proc.stderr)
    words = proc.stdout.split()
    return words[:-1], int(words[-1]) / 1024


def bench(rows: int, keep: bool) -> dict[str, float]:
    import duckdb

    from cmo.workspace import init_workspace

    work = Path(tempfile.mkdtemp(prefix="cmo-bench-"))
    try:
        data = work / "export.csv"
        t = time.perf_counter()
        duckdb.connect().execute(HEADER_SQL.format(rows=rows, path=data))
        made = time.perf_counter() - t
        ws = work / "ws"
        init_workspace(ws)
        settings = ws / "cmo.yaml"
        settings.write_text(settings.read_text().replace("id: office_a", "id: bench"))
        size = data.stat().st_size / 1e6
        print(f"\n{rows:,} rows, 21 columns, {size:,.0f} MB (written in {made:.1f} s)")
        (base_s,), base_mem = run(BASELINE, str(data))
        (floor_s,), floor_mem = run(FLOOR, str(data), str(work / "floor.duckdb"))
        floor_s = float(floor_s)
        out, collect_mem = run(COLLECT, str(ws), str(data))
        collect_s, n_in, ok, bad = float(out[0]), int(out[1]), int(out[2]), int(out[3])
        base_s = float(base_s)
        print(
            f"  baseline  DuckDB read_csv   {base_s:7.2f} s  {rows / base_s:>12,.0f} rows/s"
            f"  peak {base_mem:7,.0f} MiB"
        )
        print(
            f"  floor     one statement     {floor_s:7.2f} s  {rows / floor_s:>12,.0f} rows/s"
            f"  peak {floor_mem:7,.0f} MiB   ({floor_s / base_s:.2f}× the baseline)"
        )
        print(
            f"  collect   cmo collect       {collect_s:7.2f} s  {rows / collect_s:>12,.0f} rows/s"
            f"  peak {collect_mem:7,.0f} MiB"
        )
        print(
            f"  ratio     collect/floor     {collect_s / floor_s:7.2f} ×   "
            f"(goal ≤ 1.5×; collect/baseline {collect_s / base_s:.2f}×)"
        )
        print(f"  rows      rows in {n_in:,} = accepted {ok:,} + quarantined {bad:,}")
        store = ws / ".cmo" / "store.duckdb"
        print(f"  store     {store.stat().st_size / 1e6:,.0f} MB")
        return {
            "rows": rows,
            "baseline_s": base_s,
            "floor_s": floor_s,
            "collect_s": collect_s,
            "ratio": collect_s / base_s,
            "collect_over_floor": collect_s / floor_s,
            "floor_peak_mib": floor_mem,
            "collect_peak_mib": collect_mem,
            "baseline_peak_mib": base_mem,
        }
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows",
        type=int,
        action="append",
        help="rows per size (repeatable; default 1,000,000 and 10,000,000)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    sizes = sorted(args.rows or [1_000_000, 10_000_000])
    print(f"cmo collect benchmark — {os.cpu_count()} cores")
    results = [bench(n, args.keep) for n in sizes]
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

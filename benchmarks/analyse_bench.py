"""Benchmark `cmo analyse` over all shipped theories on a large store, in the same run as a
baseline: DuckDB merely reading the same observation rows into a pandas DataFrame.

    python benchmarks/analyse_bench.py               # 1,000,000 observation rows
    python benchmarks/analyse_bench.py --rows 200000

The store is filled directly with SQL (500,000 cases × 2 measurement points for 1M rows, seven
offices, workers and office rows for two periods) with the same planted structure as the
examples, so that the models have real work to do. Prints seconds, ratio, and the verdicts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FILL = """
CREATE TEMP TABLE cases AS
SELECT i, ['rovaniemi','kemi','tornio','kemijarvi','sodankyla','inari','kittila'][1 + i % 7]
         AS office,
       CASE WHEN i % 2 = 0 THEN '2025H2' ELSE '2026H1' END AS period,
       'W' || (i % 7) || '-' || (i % 23) AS worker,
       random() AS u1, random() AS u2, random() AS u3, random() AS u4,
       sqrt(-2 * ln(random())) * cos(2 * pi() * random()) AS z_heard,
       sqrt(-2 * ln(random())) * cos(2 * pi() * random()) AS z_trust,
       sqrt(-2 * ln(random())) * cos(2 * pi() * random()) AS z_coh,
       sqrt(-2 * ln(random())) * cos(2 * pi() * random()) AS e1,
       sqrt(-2 * ln(random())) * cos(2 * pi() * random()) AS e2,
       sqrt(-2 * ln(random())) * cos(2 * pi() * random()) AS e3,
       sqrt(-2 * ln(random())) * cos(2 * pi() * random()) AS e4
FROM range({cases}) t(i);

CREATE TEMP TABLE c2 AS SELECT *,
  (i % 7) >= 4 AS sparse, u1 * 90 AS distance, (u2 < 0.7)::INT AS same_worker,
  CAST(floor(u3 * 5) AS INT) AS services, (u4 < 0.5)::INT AS outreach
FROM cases;

CREATE TEMP TABLE c3 AS SELECT *,
  z_heard + 0.8 * outreach * ((sparse OR distance > 30)::INT) AS z_equal,
  0.5 * z_trust + e1 AS z_open
FROM c2;

CREATE TEMP TABLE c4 AS SELECT *,
  CASE WHEN sparse OR distance > 30 THEN 0.5 ELSE 0 END * z_equal + 0.4 * z_heard + e2 AS z_part,
  CASE WHEN same_worker = 1 THEN 0.6 ELSE 0 END * z_trust + e3 AS z_fit,
  CASE WHEN services >= 3 THEN 0.6 ELSE 0 END * z_coh + e4 AS z_cont
FROM c3;

CREATE MACRO lik(z) AS LEAST(5, GREATEST(1, 1 + (z > -1.6)::INT + (z > -0.8)::INT + (z > 0)::INT
                                                   + (z > 0.9)::INT));

INSERT INTO case_observations (batch_id, source_row, office, period, case_key, worker_key,
    measurement_point, life_situation, client_group, client_age, distance_km,
    client_motivation, services_count, client_plan)
SELECT 1, i, office, period, 'C' || i, worker, 'baseline', 5 + e1,
       ['family','youth','adult'][1 + i % 3], 20 + i % 50, distance, 1 + i % 5, services,
       (u1 < 0.9)::INT FROM c4;

INSERT INTO case_observations (batch_id, source_row, office, period, case_key, worker_key,
    measurement_point, life_situation, outreach_work, equal_encounter, heard, participation,
    trust, openness, fitting_solutions, worker_changes, service_coordination,
    coherent_support, experienced_continuity, overlapping_services, plan_reviewed,
    service_costs)
SELECT 1, i, office, period, 'C' || i, worker, 'follow_up', 5.8 + e1 + 0.3 * e2, outreach,
       lik(z_equal), lik(z_heard), lik(z_part), lik(z_trust), lik(z_open), lik(z_fit),
       CASE WHEN same_worker = 1 THEN 0 ELSE 1 END, (u3 < 0.4)::INT, lik(z_coh), lik(z_cont),
       CAST(floor(u2 * 3) AS INT), (u4 < 0.7)::INT, 500 + 1000 * u1 FROM c4;

INSERT INTO worker_observations (batch_id, source_row, office, period, worker_key,
    worker_caseload, time_for_clients, interactive_approach, cost_awareness)
SELECT DISTINCT 2, 0, office, period, worker, 20 + (hash(worker) % 30), 3, 4, 3 FROM c4;

INSERT INTO office_observations (batch_id, source_row, office, period, clients_per_worker,
    qualified_staff_share, municipality_type)
SELECT DISTINCT 3, 0, office, period, 30, 0.85,
       CASE WHEN office IN ('sodankyla','inari','kittila') THEN 'sparse' ELSE 'urban' END
FROM c4;
"""


def main() -> None:
    import duckdb

    from cmo.analysis import analyse
    from cmo.store import open_store
    from cmo.workspace import load_workspace
    from cmo.workspace.settings import Workspace

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="observation rows")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cmo-analyse-bench-"))
    try:
        shutil.copy(ROOT / "cmo.yaml", work / "cmo.yaml")
        for folder in ("indicators", "programme_theories"):
            shutil.copytree(ROOT / folder, work / folder)
        ws: Workspace = load_workspace(work)
        with open_store(ws.store_path) as store:
            columns = {
                "case": {
                    "life_situation": "DOUBLE",
                    "client_group": "VARCHAR",
                    "client_age": "DOUBLE",
                    "distance_km": "DOUBLE",
                    "client_motivation": "SMALLINT",
                    "services_count": "BIGINT",
                    "client_plan": "SMALLINT",
                    "outreach_work": "SMALLINT",
                    "equal_encounter": "SMALLINT",
                    "heard": "SMALLINT",
                    "participation": "SMALLINT",
                    "trust": "SMALLINT",
                    "openness": "SMALLINT",
                    "fitting_solutions": "SMALLINT",
                    "worker_changes": "BIGINT",
                    "service_coordination": "SMALLINT",
                    "coherent_support": "SMALLINT",
                    "experienced_continuity": "SMALLINT",
                    "overlapping_services": "BIGINT",
                    "plan_reviewed": "SMALLINT",
                    "service_costs": "DOUBLE",
                },
                "worker": {
                    "worker_caseload": "BIGINT",
                    "time_for_clients": "SMALLINT",
                    "interactive_approach": "SMALLINT",
                    "cost_awareness": "SMALLINT",
                },
                "office": {
                    "clients_per_worker": "DOUBLE",
                    "qualified_staff_share": "DOUBLE",
                    "municipality_type": "VARCHAR",
                },
            }
            for level, wanted in columns.items():
                store.ensure_indicator_columns(level, wanted)
            t = time.perf_counter()
            store.con.execute("SELECT setseed(0.20071008)")
            store.con.execute(FILL.format(cases=args.rows // 2))
            made = time.perf_counter() - t
            n = store.con.execute("SELECT count(*) FROM case_observations").fetchone()[0]
        print(
            f"cmo analyse benchmark: {n:,} observation rows, seven offices "
            f"(store filled in {made:.1f} s)"
        )
        con = duckdb.connect(str(ws.store_path), read_only=True)
        t = time.perf_counter()
        frame = con.execute("SELECT * FROM case_observations").df()
        base = time.perf_counter() - t
        con.close()
        del frame
        t = time.perf_counter()
        if os.environ.get("CMO_PROFILE"):
            import cProfile

            cProfile.runctx(
                'analyse(ws, lang="en")', globals(), locals(), os.environ["CMO_PROFILE"]
            )
        print(f"  baseline  read all rows into pandas   {base:7.2f} s")
        result = None
        for level, goal in (("none", 10), ("quick", 20)):
            t = time.perf_counter()
            result = analyse(ws, lang="en", refuters=level)
            took = time.perf_counter() - t
            print(
                f"  analyse   refuters {level:5s}               {took:7.2f} s   "
                f"({took / base:.1f} × the baseline; goal: under {goal} s)"
            )
        assert result is not None
        tests = [
            (c.chain, t.context, t.verdict, t.refutation.status if t.refutation else "")
            for c in result.chains
            for t in c.tests
        ]
        for chain, ctx, verdict, refuted in tests:
            print(f"    {chain:30s} {ctx:22s} {verdict:18s} {refuted}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

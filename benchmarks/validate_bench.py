"""Benchmark `cmo validate`: start-up on the shipped framework against a bare Python start, and
a large generated theory file, in the same run.

    python benchmarks/validate_bench.py                # start-up, 21 runs of each
    python benchmarks/validate_bench.py --runs 41
    python benchmarks/validate_bench.py --big 10       # also validate a 10 MB theory file

Start-up: `python -c pass` and `cmo validate` (in the repository, which is a workspace) run
alternately; the figure is the difference of their medians (the goal is at most 0.25 s), with the
difference of the fastest runs beside it (less disturbed by other work on the machine).
Big file: a copy of the framework plus a generated theory of the given size (tests/hostile.py),
validated once; prints seconds and the peak memory (maximum resident set) of the process.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL = 0.25


def _cmo() -> list[str]:
    exe = Path(sys.executable).with_name("cmo")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "cmo"]


def _env() -> dict[str, str]:
    # As a user's installation runs: with bytecode caches (pip compiles them on install).
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _run(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user + system) of one run of ``cmd``."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = b""
    if proc.stderr is not None:
        err = proc.stderr.read()
        proc.stderr.close()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {err!r}")
    return wall, usage.ru_utime + usage.ru_stime


def startup(runs: int) -> dict[str, float]:
    """Medians (and fastest runs) of a bare Python start and of `cmo validate`, alternating:
    wall-clock seconds, and CPU seconds (steadier on a machine shared with other work)."""
    bare_cmd = [sys.executable, "-c", "pass"]
    cmo_cmd = [*_cmo(), "validate"]
    _run(cmo_cmd, ROOT)  # write the bytecode caches, warm the file cache
    bare, cmo = [], []
    for _ in range(runs):
        bare.append(_run(bare_cmd, ROOT))
        cmo.append(_run(cmo_cmd, ROOT))
    med = statistics.median
    return {
        "python_median": med(w for w, _ in bare),
        "cmo_median": med(w for w, _ in cmo),
        "overhead_median": med(w for w, _ in cmo) - med(w for w, _ in bare),
        "overhead_fastest": min(w for w, _ in cmo) - min(w for w, _ in bare),
        "overhead_cpu_median": med(c for _, c in cmo) - med(c for _, c in bare),
    }


def big_file(megabytes: float) -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    from tests.hostile import big_theory

    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ws"
        ws.mkdir()
        shutil.copy(ROOT / "cmo.yaml", ws / "cmo.yaml")
        shutil.copytree(ROOT / "indicators", ws / "indicators")
        shutil.copytree(ROOT / "programme_theories", ws / "programme_theories")
        path = big_theory(ws / "programme_theories", megabytes)
        size = path.stat().st_size
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        took, _ = _run([*_cmo(), "validate"], ws)
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        if peak_kb <= before:  # pragma: no cover - an earlier child used more
            peak_kb = before
    return {"bytes": size, "seconds": took, "peak_mb": peak_kb / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--big", type=float, default=0.0, help="MB of theory YAML to validate")
    args = parser.parse_args()
    s = startup(args.runs)
    print(
        f"python -c pass      {s['python_median'] * 1000:6.0f} ms (median of {args.runs})\n"
        f"cmo validate        {s['cmo_median'] * 1000:6.0f} ms\n"
        f"cmo validate − python: {s['overhead_median'] * 1000:.0f} ms median, "
        f"{s['overhead_fastest'] * 1000:.0f} ms fastest, {s['overhead_cpu_median'] * 1000:.0f} ms "
        f"CPU median (goal ≤ {GOAL * 1000:.0f} ms)"
    )
    if args.big:
        b = big_file(args.big)
        print(
            f"big theory file     {b['bytes'] / 1e6:.1f} MB: {b['seconds']:.1f} s, "
            f"peak memory {b['peak_mb']:.0f} MB ({b['peak_mb'] * 1024 * 1024 / b['bytes']:.0f}× "
            "the file)"
        )


if __name__ == "__main__":
    main()

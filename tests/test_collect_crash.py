"""A collect killed mid-transaction leaves the store as it was; a busy store is a clear error."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from .collect_helpers import HEADER, make_workspace, store_rows, write


def _cmo(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cmo", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cmo", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _snapshot(ws) -> tuple:
    return (
        store_rows(
            ws, "SELECT batch_id, office, period, level, rows_in FROM batches ORDER BY batch_id"
        ),
        store_rows(ws, "SELECT count(*) FROM case_observations"),
        store_rows(ws, "SELECT count(*) FROM quarantine"),
    )


def test_sigkill_mid_transaction_leaves_the_store_unchanged(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    first = write(tmp_path / "first.csv", f"{HEADER}\nQ-1;T1;2025H2;alku;4;5;5;10\n")
    rows = "".join(f"R-{i};T1;2026H1;alku;{1 + i % 5};5;5;10\n" for i in range(5000))
    second = write(tmp_path / "second.csv", f"{HEADER}\n{rows}Q-9;T1;2026H1;alku;9;5;5;10\n")
    done = _run("collect", "--office", "kemi", str(first), cwd=ws.root)
    assert done.returncode == 0, done.stderr
    before = _snapshot(ws)

    with _cmo(
        "collect", "--office", "kemi", str(second), cwd=ws.root, env={"CMO_FAULT": "before-commit"}
    ) as proc:
        assert proc.stderr is not None
        deadline = time.monotonic() + 60
        line = ""
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if "CMO_FAULT before-commit" in line or not line:
                break
        assert "CMO_FAULT before-commit" in line, "the collect never reached its commit"
        os.kill(proc.pid, signal.SIGKILL)  # inside the transaction, everything inserted
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL

    assert _snapshot(ws) == before  # nothing of the killed run is visible
    again = _run("collect", "--office", "kemi", str(second), cwd=ws.root)
    assert again.returncode == 0, again.stderr
    batches, observations, quarantine = _snapshot(ws)
    assert len(batches) == 2
    assert observations == [(5001,)]
    assert quarantine == [(1,)]


def test_busy_store_is_a_clear_error_not_a_hang(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    path = write(tmp_path / "b.csv", f"{HEADER}\nB-1;T1;2026H1;alku;4;5;5;10\n")
    ws.store_path.parent.mkdir(parents=True, exist_ok=True)
    holder = duckdb.connect(str(ws.store_path))  # another process would hold the same lock
    try:
        proc = _run("collect", "--office", "kemi", str(path), cwd=ws.root)
    finally:
        holder.close()
    assert proc.returncode == 2, proc.stderr
    assert "the store is in use by another program" in proc.stderr
    assert "Traceback" not in proc.stderr

"""Issue 10: no plaintext at rest, ever. A collect of a Windows-1252 file (which is transcoded)
is killed with SIGKILL at many points; afterwards — and even while it runs — no file under the
workspace holds any of the export's identity codes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .collect_helpers import HEADER, make_workspace

_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"


def _hetu(n: int) -> str:
    """A valid personal identity code (python-stdnum agrees), different for each n."""
    day, month, year, number = 1 + n % 28, 1 + (n // 28) % 12, 40 + (n // 336) % 50, 2 + n % 897
    base = f"{day:02d}{month:02d}{year:02d}"
    return f"{base}-{number:03d}{_CHECK[int(base + f'{number:03d}') % 31]}"


def _export(path: Path, rows: int) -> list[str]:
    codes = [_hetu(i) for i in range(rows)]
    lines = [HEADER + ";Lisätiedot"]
    for i, code in enumerate(codes):
        note = f"soita {codes[(i + 1) % rows]} – €" if i % 7 == 0 else "ok – €"
        lines.append(f"{code};T{i % 40};2026H1;alku;{1 + i % 5};5;5;10;{note}")
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return codes


def _leaks(root: Path, codes: list[str]) -> list[str]:
    """Files under root (the key aside) that hold any of the codes, in any encoding cmo
    could have written (the codes are ASCII)."""
    wanted = [c.encode("ascii") for c in codes]
    found = []
    for p in root.rglob("*"):
        if not p.is_file() or p.name.endswith(".key"):
            continue
        try:
            blob = p.read_bytes()
        except OSError:  # removed while we looked
            continue
        if any(w in blob for w in wanted):
            found.append(str(p.relative_to(root)))
    return found


def _start(ws_root: Path, export: Path, fault: str | None = None) -> subprocess.Popen[str]:
    env = {**os.environ}
    env.pop("CMO_FAULT", None)
    if fault:
        env["CMO_FAULT"] = fault
    return subprocess.Popen(
        [sys.executable, "-m", "cmo", "collect", "--office", "kemi", str(export)],
        cwd=ws_root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(60)
    if proc.stderr is not None:
        proc.stderr.close()


def _wait_for(proc: subprocess.Popen[str], fault: str) -> None:
    assert proc.stderr is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if f"CMO_FAULT {fault}" in line:
            return
        if not line:
            break
    raise AssertionError(f"the collect never reached {fault}")


def test_kill_at_many_points_leaves_no_identity_code_on_disk(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    export = tmp_path / "outside" / "vienti.csv"  # the export itself is outside the workspace
    export.parent.mkdir()
    codes = _export(export, 20_000)

    # 1. Paused while the transcoded copy exists: it is nowhere under the workspace by name.
    for fault in ("readable", "before-commit"):
        proc = _start(ws.root, export, fault)
        try:
            _wait_for(proc, fault)
            assert _leaks(ws.root, codes) == [], f"plaintext on disk at {fault}"
        finally:
            _kill(proc)
        assert _leaks(ws.root, codes) == []

    # 2. How long a whole collect takes, then kills spread over that time.
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "cmo", "collect", "--office", "kemi", "--dry-run", str(export)],
        cwd=ws.root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    duration = time.monotonic() - started
    points = 14
    killed = 0
    for i in range(points):
        proc = _start(ws.root, export)
        time.sleep(duration * (i + 0.5) / points)
        if proc.poll() is None:
            killed += 1
        _kill(proc)
        assert _leaks(ws.root, codes) == [], f"after a kill at {i + 1}/{points}"
    assert killed >= points // 2  # most kills hit a running collect

    # 3. The next start finds no leftovers of the killed processes, and collects normally.
    again = subprocess.run(
        [sys.executable, "-m", "cmo", "collect", "--office", "kemi", str(export)],
        cwd=ws.root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert _leaks(ws.root, codes) == []
    leftovers = [p.name for p in (ws.root / ".cmo" / "tmp").iterdir()]
    assert all(not n.startswith(("cmo-plain-", "tmp")) for n in leftovers), leftovers


def test_a_start_sweeps_what_dead_processes_left(tmp_path: Path) -> None:
    from cmo.store import open_store

    ws = make_workspace(tmp_path / "ws")
    scratch = ws.store_path.parent / "tmp"
    scratch.mkdir(parents=True)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    pid = int(dead.stdout)
    legacy = scratch / "tmpab12cd34.csv"  # what cmo before this change left after a kill
    named = scratch / f"cmo-plain-{pid}-x.csv"
    spill = scratch / f"p{pid}"
    spill.mkdir()
    (spill / "duckdb_temp_storage-0.tmp").write_text(_hetu(1))
    mine = scratch / f"cmo-plain-{os.getpid()}-x.csv"  # a live process's file stays
    for p in (legacy, named, mine):
        p.write_text(_hetu(1))
    with open_store(ws.store_path):
        pass
    assert not legacy.exists() and not named.exists() and not spill.exists()
    assert mine.exists()

"""The private scratch folder beside the store, and files that cannot outlive the process.

Raw export text (a transcoded copy of a Windows-1252 file) is written only to an *anonymous*
file: on Linux ``O_TMPFILE`` (a file in the scratch folder's file system that never has a name)
or ``memfd_create`` (one in memory), read through ``/proc/self/fd/N``. When the process ends —
even by ``kill -9`` — the kernel frees it. Where neither exists, the file has a name that holds
the process id, and :func:`sweep` (run whenever a store is opened, before anything else) removes
the files of processes that no longer run.

DuckDB's own spill files go to a per-process subfolder (``p<pid>``) that the same sweep removes
once its process is gone.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_PROC_FD = Path("/proc/self/fd")
_NAMED = re.compile(r"^cmo-plain-(\d+)-.*$")
_SPILL = re.compile(r"^p(\d+)$")
#: Transcoded copies left by cmo versions before 0.2 (``tempfile.mkstemp(suffix=".csv")``).
_LEGACY = re.compile(r"^tmp[a-z0-9_]{6,}\.csv$")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def sweep(scratch: Path) -> list[Path]:
    """Remove what processes that no longer run left in ``scratch``: named plaintext copies,
    legacy transcoded copies, and DuckDB spill folders. Returns what was removed."""
    removed: list[Path] = []
    if not scratch.is_dir():
        return removed
    for entry in scratch.iterdir():
        name = entry.name
        named = _NAMED.match(name)
        spill = _SPILL.match(name)
        if (named and not _alive(int(named.group(1)))) or (_LEGACY.match(name) and entry.is_file()):
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
            removed.append(entry)
        elif spill and entry.is_dir() and not _alive(int(spill.group(1))):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
        elif name.startswith("duckdb_temp_") and entry.is_file():
            # spill files of cmo versions that shared one folder between processes
            with contextlib.suppress(OSError):
                entry.unlink()
                removed.append(entry)
    return removed


def process_dir(scratch: Path) -> Path:
    """This process's spill folder inside ``scratch`` (for DuckDB's ``temp_directory``)."""
    return scratch / f"p{os.getpid()}"


def prepare(scratch: Path) -> Path:
    """Create the private scratch folder (mode 0700), sweep it, and return this process's
    spill folder."""
    scratch.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(OSError):
        os.chmod(scratch, 0o700)
    sweep(scratch)
    return process_dir(scratch)


@contextmanager
def anonymous_file(scratch: Path | None) -> Iterator[tuple[int, Path]]:
    """A read-write file descriptor and a path another library can open it by, for a file that
    is gone when this process ends (see the module's docstring)."""
    folder = scratch if scratch is not None else Path(tempfile.gettempdir())
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd: int | None = None
    if _PROC_FD.is_dir():
        if hasattr(os, "O_TMPFILE"):
            with contextlib.suppress(OSError):  # the file system may not support it
                fd = os.open(folder, os.O_TMPFILE | os.O_RDWR, 0o600)
        if fd is None and hasattr(os, "memfd_create"):
            with contextlib.suppress(OSError):
                fd = os.memfd_create("cmo-plain", 0)
    if fd is not None:
        try:
            yield fd, _PROC_FD / str(fd)
        finally:
            os.close(fd)
        return
    fd, name = tempfile.mkstemp(prefix=f"cmo-plain-{os.getpid()}-", suffix=".csv", dir=folder)
    path = Path(name)
    try:
        yield fd, path
    finally:
        os.close(fd)
        path.unlink(missing_ok=True)

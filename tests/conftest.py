from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cmo.cli import app

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def cmo(monkeypatch: pytest.MonkeyPatch):
    """Run the CLI in-process: ``cmo("validate", "x", cwd=path)``."""

    def run(*args: str, cwd: Path | None = None) -> Run:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        result = CliRunner().invoke(app, list(args), catch_exceptions=False)
        return Run(result.exit_code, result.stdout, result.stderr)

    return run


OFFICES = ("rovaniemi", "kemi", "tornio", "kemijarvi", "sodankyla", "inari", "kittila")


@pytest.fixture(scope="session")
def examples_collected(tmp_path_factory):
    """A copy of the repository workspace with all seven example offices collected."""
    import shutil

    from cmo.collect import collect
    from cmo.workspace import load_workspace, write_key

    root = tmp_path_factory.mktemp("examples") / "ws"
    root.mkdir()
    shutil.copy(ROOT / "cmo.yaml", root / "cmo.yaml")
    for folder in ("indicators", "programme_theories", "mappings", "examples"):
        shutil.copytree(ROOT / folder, root / folder)
    write_key(root / ".cmo" / "pseudonymisation.key")
    ws = load_workspace(root)
    results = {}
    for office in OFFICES:
        files = sorted((root / "examples" / office).iterdir())
        results[office] = collect(ws, office, files)
    return ws, results

"""docs/api.md is a program: its Python blocks, run in order in a fresh folder holding the
repository's example exports, must do a whole round (validate → collect → analyse → report).
CI runs the same page again with a wheel installed into a fresh virtual environment
(.ci/wheel-roundtrip)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT

API = ROOT / "docs" / "api.md"


def code_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", markdown, flags=re.S | re.M)


def test_api_page_has_a_complete_round() -> None:
    code = "\n".join(code_blocks(API.read_text(encoding="utf-8")))
    for call in ("cmo.validate(", "cmo.collect(", "cmo.analyse(", "cmo.build_report("):
        assert call in code, call
    assert ".to_frame()" in code


def test_api_page_runs(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    shutil.copytree(ROOT / "mappings", tmp_path / "mappings")
    script = tmp_path / "api_round.py"
    script.write_text("\n".join(code_blocks(API.read_text(encoding="utf-8"))), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = tmp_path / "arviointi" / "out" / "report.html"
    assert report.stat().st_size > 10_000
    # What the page prints: the validation caption, a finding, three collections, the error.
    assert "✔ 5 files: 4 theories" in proc.stdout
    assert "S001" in proc.stdout and "mechanizm" in proc.stdout
    assert proc.stdout.count(": collected,") == 3
    assert "unknown office 'no_such_office'" in proc.stdout

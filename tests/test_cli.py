"""The command line: exit codes, output formats, clear user errors, a fast start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cmo.theory import validate

from .conftest import FIXTURES, ROOT

BROKEN = FIXTURES / "broken"


def test_validate_clean_workspace_exits_0(cmo) -> None:
    run = cmo("validate", cwd=ROOT)
    assert run.exit_code == 0, run.stdout
    assert "0 errors" in run.stdout


def test_validate_with_findings_exits_1_and_prints_file_line_col_code(cmo) -> None:
    run = cmo("validate", str(BROKEN / "unknown_key_typo"), cwd=ROOT)
    assert run.exit_code == 1
    line = next(ln for ln in run.stdout.splitlines() if " S001 " in ln)
    assert line.startswith(
        os.path.relpath(BROKEN / "unknown_key_typo" / "theory.yaml")
        + ":19:5 S001 error: unknown key 'mechanizm'"
    )
    assert "did you mean 'mechanism'?" in line
    assert line.endswith("(chains[0].mechanizm)")


def test_warnings_alone_exit_0_unless_strict(cmo) -> None:
    case = str(BROKEN / "unused_mechanism")
    assert cmo("validate", case, cwd=ROOT).exit_code == 0
    assert cmo("validate", "--strict", case, cwd=ROOT).exit_code == 1


@pytest.mark.parametrize("case", ["unknown_key_typo", "chain_cycle", "yaml_syntax"])
def test_json_output_equals_the_library_result(cmo, case: str) -> None:
    run = cmo("validate", "--format", "json", str(BROKEN / case), cwd=ROOT)
    assert run.exit_code == 1
    assert run.json() == json.loads(json.dumps(validate([BROKEN / case]).to_dict()))


def test_json_of_the_clean_workspace(cmo) -> None:
    run = cmo("validate", "-f", "json", cwd=ROOT)
    data = run.json()
    assert data["ok"] is True and data["findings"] == []
    assert data["summary"]["theories"] == 4
    assert all(len(f["sha256"]) == 64 for f in data["files"])


def test_missing_path_is_a_usage_error_without_traceback(cmo) -> None:
    run = cmo("validate", "no/such/theory.yaml", cwd=ROOT)
    assert run.exit_code == 2
    assert run.stderr.startswith("cmo: error: no/such/theory.yaml: no such file or folder")
    assert "Traceback" not in run.stderr + run.stdout
    assert run.stdout == ""


def test_folder_without_theories_is_a_usage_error(cmo, tmp_path: Path) -> None:
    run = cmo("validate", str(tmp_path), cwd=tmp_path)
    assert run.exit_code == 2
    assert "no theory or indicator files" in run.stderr


def test_no_workspace_and_no_paths_is_a_usage_error(cmo, tmp_path: Path) -> None:
    run = cmo("validate", cwd=tmp_path)
    assert run.exit_code == 2
    assert "no workspace here" in run.stderr


def test_unknown_option_value_is_a_usage_error(cmo) -> None:
    run = cmo("validate", "--format", "xml", cwd=ROOT)
    assert run.exit_code == 2


def test_broken_settings_file_names_file_and_line(cmo, tmp_path: Path) -> None:
    (tmp_path / "cmo.yaml").write_text("languages: [fi]\nlanguagez: [en]\n", encoding="utf-8")
    run = cmo("validate", cwd=tmp_path)
    assert run.exit_code == 2
    assert "cmo.yaml:2:1 unknown setting (languagez)" in run.stderr
    assert "Traceback" not in run.stderr


def test_yaml_typo_gives_one_clear_finding(cmo) -> None:
    run = cmo("validate", str(BROKEN / "yaml_syntax"), cwd=ROOT)
    assert run.exit_code == 1
    assert run.stdout.count(" Y001 ") == 1
    assert "Traceback" not in run.stdout + run.stderr


def test_unreadable_file_is_a_finding(cmo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file the OS refuses to open is Y004 for that file (the others are still checked),
    like a pipe or a link in a circle; never a traceback."""
    path = tmp_path / "t.yaml"
    path.write_text("id: x\n", encoding="utf-8")
    real = os.open

    def denied(file: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if str(file).endswith("t.yaml"):  # chmod 0 does not stop root: simulate the refusal
            raise PermissionError(13, "Permission denied", str(file))
        return real(file, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    run = cmo("validate", str(path), cwd=tmp_path)
    assert run.exit_code == 1, run.stderr
    assert run.stdout.startswith(
        "t.yaml:1:1 Y004 error: the file cannot be read (Permission denied)"
    )


def test_internal_errors_hide_their_message(cmo, monkeypatch: pytest.MonkeyPatch) -> None:
    import cmo.theory as theory

    def boom(*args, **kwargs):
        raise ValueError("010203A123X client data must not leak")

    monkeypatch.setattr(theory, "validate", boom)
    run = cmo("validate", cwd=ROOT)
    assert run.exit_code == 3
    assert "ValueError" in run.stderr and "010203A123X" not in run.stderr


HEAVY = ("pandas", "statsmodels", "duckdb", "matplotlib", "scipy", "numpy")


@pytest.mark.parametrize(
    "args", [["--help"], ["validate", "programme_theories/"], ["validate", "--format", "json"]]
)
def test_start_does_not_import_heavy_libraries(args: list[str]) -> None:
    code = (
        "import sys\n"
        "from cmo.cli import app\n"
        "try:\n"
        f"    app({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy), file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "HEAVY=" in proc.stderr, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "HEAVY=", proc.stderr


def test_console_script_runs() -> None:
    exe = Path(sys.executable).with_name("cmo")
    proc = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and proc.stdout.startswith("cmo ")


def test_summary_lists_theories_and_success_factors(cmo) -> None:
    run = cmo("summary", "--lang", "en", cwd=ROOT)
    assert run.exit_code == 0
    for text in (
        "outreach",
        "continuity_trust",
        "coordinated_help",
        "lapland_framework",
        "Enough skilled staff",
        "economy",
    ):
        assert text in run.stdout
    data = cmo("summary", "--format", "json", cwd=ROOT).json()
    assert {t["id"] for t in data["theories"]} >= {"outreach", "coordinated_help"}


def test_schema_command_prints_json_schema(cmo) -> None:
    for kind in ("theory", "indicators", "settings"):
        run = cmo("schema", kind, cwd=ROOT)
        assert run.exit_code == 0
        assert json.loads(run.stdout)["$schema"].startswith("https://json-schema.org/")


def test_graph_dot_and_mermaid(cmo) -> None:
    dot = cmo("graph", "outreach", "--lang", "en", cwd=ROOT)
    assert dot.exit_code == 0, dot.stderr
    assert dot.stdout.startswith('digraph "outreach" {')
    assert '"mechanism:equal_encounter" -> "outcome:participation"' in dot.stdout
    assert '"context:long_distance" -> "mechanism:equal_encounter"' in dot.stdout
    assert '"intervention:met_in_own_setting" -> "mechanism:equal_encounter"' in dot.stdout
    assert dot.stdout.count("{") == dot.stdout.count("}")
    mer = cmo("graph", "programme_theories/coordinated_help.yaml", "-f", "mermaid", cwd=ROOT)
    assert mer.exit_code == 0
    assert mer.stdout.startswith("flowchart LR")
    assert 'mechanism_coherent_support -->|"- coherence_overlaps"|' not in mer.stdout
    assert (
        'mechanism_coherent_support -->|"− coherence_overlaps"| outcome_fewer_overlaps'
        in mer.stdout
    )


def test_graph_of_unknown_theory_is_a_usage_error(cmo) -> None:
    run = cmo("graph", "nosuch", cwd=ROOT)
    assert run.exit_code == 2
    assert "no theory 'nosuch'" in run.stderr and "outreach" in run.stderr


def test_graph_with_dot_if_available(cmo, tmp_path: Path) -> None:
    """Graphviz parses the DOT (when the `dot` program is installed)."""
    import shutil

    if shutil.which("dot") is None:
        pytest.skip("Graphviz 'dot' is not installed; the DOT text is checked structurally above")
    run = cmo("graph", "continuity_trust", cwd=ROOT)
    proc = subprocess.run(
        ["dot", "-Tsvg"], input=run.stdout, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "<svg" in proc.stdout


def test_init_creates_a_workspace_that_validates(cmo, tmp_path: Path) -> None:
    target = tmp_path / "arviointi"
    run = cmo("init", str(target), "--name", "Testikunta", cwd=tmp_path)
    assert run.exit_code == 0, run.stderr
    assert (target / "cmo.yaml").is_file()
    assert sorted(p.name for p in (target / "programme_theories").iterdir())
    key = target / ".cmo" / "pseudonymisation.key"
    assert key.is_file() and (key.stat().st_mode & 0o777) == 0o600
    assert len(key.read_text().strip()) == 64
    gitignore = (target / ".gitignore").read_text()
    assert ".cmo/" in gitignore
    check = cmo("validate", cwd=target)
    assert check.exit_code == 0, check.stdout
    assert "0 errors, 0 warnings" in check.stdout
    again = cmo("init", str(target), cwd=tmp_path)
    assert again.exit_code == 2 and "already a cmo workspace" in again.stderr


def test_init_keys_differ_between_workspaces(cmo, tmp_path: Path) -> None:
    cmo("init", str(tmp_path / "a"), cwd=tmp_path)
    cmo("init", str(tmp_path / "b"), cwd=tmp_path)
    key_a = (tmp_path / "a" / ".cmo" / "pseudonymisation.key").read_text()
    key_b = (tmp_path / "b" / ".cmo" / "pseudonymisation.key").read_text()
    assert key_a != key_b


def test_init_on_a_file_is_a_usage_error(cmo, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    run = cmo("init", str(tmp_path / "f"), cwd=tmp_path)
    assert run.exit_code == 2 and "not a folder" in run.stderr


def test_init_keeps_state_out_of_git_even_with_an_existing_gitignore(cmo, tmp_path: Path) -> None:
    target = tmp_path / "w"
    target.mkdir()
    (target / ".gitignore").write_text("node_modules/\n", encoding="utf-8")
    assert cmo("init", str(target), cwd=tmp_path).exit_code == 0
    lines = (target / ".gitignore").read_text().splitlines()
    assert "node_modules/" in lines
    assert ".cmo/" in lines
    assert (target / ".cmo" / ".gitignore").read_text().splitlines()[-1] == "*"

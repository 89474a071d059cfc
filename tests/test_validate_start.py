"""`cmo validate` starts fast: none of the heavy libraries is imported on its path, and the
start-up benchmark (benchmarks/validate_bench.py) stays within its goal."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import ROOT

HEAVY = (
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "duckdb",
    "networkx",
    "matplotlib",
    "jinja2",
)


@pytest.mark.parametrize(
    "args", [["validate"], ["validate", "tests/fixtures/broken/chain_cycle"], ["init", "{tmp}"]]
)
def test_validate_and_init_import_no_heavy_library(args: list[str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    args = [a.replace("{tmp}", str(tmp_path / "ws")) for a in args]
    code = (
        "import sys\n"
        "from cmo.cli import app\n"
        "try:\n"
        f"    app({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    last = proc.stderr.strip().splitlines()[-1]
    # A theory with a cycle among chains may import networkx to name the cycles; nothing else.
    allowed = {"networkx"} if "chain_cycle" in " ".join(args) else set()
    assert last.startswith("HEAVY="), proc.stderr
    assert set(filter(None, last.removeprefix("HEAVY=").split(","))) <= allowed, proc.stderr


@pytest.mark.skipif(
    os.environ.get("CMO_BENCH") != "1",
    reason="timing: run with CMO_BENCH=1 on a machine not shared with other work",
)
def test_startup_benchmark_meets_its_goal() -> None:
    """Against a bare Python start in the same run: at most 0.25 s more, in the fastest run or
    in median CPU time (what other work on the machine disturbs least)."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.validate_bench import GOAL, startup

    figures = startup(runs=7)
    assert min(figures["overhead_fastest"], figures["overhead_cpu_median"]) <= GOAL, figures


def test_the_fast_path_imports_no_cli_toolkit() -> None:
    """`cmo validate` (the console script's path) loads neither typer nor rich (nor any
    heavy library)."""
    code = (
        "import sys\n"
        "sys.argv = ['cmo', 'validate']\n"
        "from cmo.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        # pydantic: typer's dependency, no longer cmo's (its models are cmo.strict's)
        "print('LOADED=' + ','.join(m for m in ('typer', 'rich', 'click', 'pydantic', *"
        f"{HEAVY!r}) if m in sys.modules), 'EXIT=' + str(code), file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    last = proc.stderr.strip().splitlines()[-1]
    assert last == "LOADED= EXIT=0", proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["validate"],
        ["validate", "tests/fixtures/broken/chain_cycle"],
        ["validate", "--strict", "tests/fixtures/broken/outcome_without_criterion"],
        ["validate", "-f", "json", "tests/fixtures/broken/unresolved_mechanism"],
        ["validate", "--format=json", "--strict", "programme_theories"],
        ["validate", "tests/fixtures/no_such_folder"],
    ],
)
def test_the_fast_path_says_exactly_what_the_full_command_says(args, cmo) -> None:  # type: ignore[no-untyped-def]
    """Same standard output, standard error and exit code as the typer command."""
    fast = subprocess.run(
        [sys.executable, "-m", "cmo", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    full = cmo(*args, cwd=ROOT)
    assert (fast.returncode, fast.stdout) == (full.exit_code, full.stdout)
    assert fast.stderr.strip() == full.stderr.strip()


def test_other_forms_go_to_the_full_command() -> None:
    from cmo.cli.fast import fast_validate

    for argv in (
        ["validate", "--help"],
        ["--debug", "validate"],
        ["validate", "--strct"],
        ["analyse"],
    ):
        assert fast_validate(argv) is None

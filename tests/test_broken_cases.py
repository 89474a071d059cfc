"""Deliberately broken theory files: each case folder holds the files and the exact findings
(code, file, line, column, YAML path, message) that `cmo validate` must report."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cmo.findings import CODES
from cmo.theory import validate

from .conftest import FIXTURES

BROKEN = FIXTURES / "broken"
CASES = sorted(p for p in BROKEN.iterdir() if p.is_dir())


def _expected(case: Path) -> dict:
    return json.loads((case / "expected.json").read_text(encoding="utf-8"))


def _actual(case: Path) -> list[dict]:
    result = validate([case])
    return [
        {
            "code": f.code,
            # abspath, not resolve(): a case holds links that lead in a circle
            "file": Path(os.path.abspath(f.file)).relative_to(case.resolve()).as_posix(),
            "line": f.line,
            "column": f.column,
            "path": f.path,
            "message": f.message,
        }
        for f in result.findings
    ]


def test_there_are_at_least_fifteen_distinct_mistakes() -> None:
    assert len(CASES) >= 15
    codes = {f["code"] for case in CASES for f in _expected(case)["findings"]}
    assert len(codes) >= 15


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_reports_exactly_the_expected_findings(case: Path) -> None:
    expected = _expected(case)
    assert expected["findings"], "every case demonstrates at least one finding"
    assert _actual(case) == expected["findings"], expected["description"]


#: Design warnings only the data can show: demonstrated by `cmo analyse` tests instead
#: (tests/test_analysis.py: test_design_warnings_from_the_data).
FROM_DATA = {"A003", "A004"}


def test_every_finding_code_is_demonstrated_by_a_case() -> None:
    seen = {f["code"] for case in CASES for f in _expected(case)["findings"]}
    missing = sorted(set(CODES) - seen - FROM_DATA)
    assert not missing, f"no broken case shows {missing}"


def test_lines_point_at_the_mistake() -> None:
    """Independent of the frozen expectations: the reported line holds the offending text."""
    checks = {
        "unknown_key_typo": ("S001", "mechanizm"),
        "unresolved_mechanism": ("R001", "trusst"),
        "likert_out_of_scale": ("T002", "6}"),
        "range_on_category": ("T001", "at_least"),
        "duplicate_key": ("Y002", "indicator: participation"),
        "yaml_syntax": ("Y001", "mechanism trust"),
        "share_target_above_one": ("T002", "70"),
    }
    for name, (code, text) in checks.items():
        case = BROKEN / name
        finding = next(f for f in validate([case]).findings if f.code == code)
        line = Path(finding.file).read_text(encoding="utf-8").splitlines()[finding.line - 1]
        assert text in line[finding.column - 1 :], (name, line)

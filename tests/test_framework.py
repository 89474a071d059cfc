"""The shipped Lapland framework: valid, complete, and valid against its own JSON Schema."""

from __future__ import annotations

import json

import jsonschema
import pytest

from cmo.source import read_source
from cmo.theory import validate
from cmo.theory.schema import json_schema, json_schema_text

from .conftest import ROOT


@pytest.fixture(scope="module")
def result():
    return validate([ROOT / "programme_theories", ROOT / "indicators"], workspace=ROOT)


def test_shipped_framework_has_no_findings(result) -> None:
    assert [f.format() for f in result.findings] == []
    assert result.ok


def test_framework_covers_the_source_documents(result) -> None:
    theories = {t.id: t for t in result.theories}
    assert {"lapland_framework", "outreach", "continuity_trust", "coordinated_help"} <= set(
        theories
    )
    framework = theories["lapland_framework"]
    assert framework.strategy is not None
    perspectives = {csf.perspective.value for csf in framework.critical_success_factors}
    assert perspectives == {"client", "personnel", "process", "economy"}
    for th in result.theories:
        assert th.title.fi and th.title.en, th.id
    chains = [c for t in result.theories for c in t.chains]
    assert len(chains) >= 6
    assert any(c.intervention for c in chains)
    assert any(o.change for t in result.theories for o in t.outcomes)


@pytest.mark.parametrize(
    ("kind", "folder"), [("theory", "programme_theories"), ("indicators", "indicators")]
)
def test_shipped_files_validate_against_the_json_schema(kind: str, folder: str) -> None:
    schema = json_schema(kind)  # type: ignore[arg-type]
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    files = sorted((ROOT / folder).glob("*.yaml"))
    assert files
    for path in files:
        data = json.loads(json.dumps(read_source(path).data, default=str))
        errors = [e.message for e in validator.iter_errors(data)]
        assert errors == [], path.name


def test_schema_rejects_what_validate_rejects() -> None:
    validator = jsonschema.Draft202012Validator(json_schema("theory"))
    bad = {
        "id": "x",
        "title": {"fi": "X"},
        "chains": [{"id": "c", "mechanizm": "m", "outcome": "o"}],
    }
    assert list(validator.iter_errors(bad))


@pytest.mark.parametrize("kind", ["theory", "indicators", "settings"])
def test_committed_schemas_are_current(kind: str) -> None:
    committed = (ROOT / "schemas" / f"{kind}.schema.json").read_text(encoding="utf-8")
    assert committed == json_schema_text(kind), "run 'make schemas' and commit the result"


def test_repository_settings_are_valid_against_schema() -> None:
    validator = jsonschema.Draft202012Validator(json_schema("settings"))
    data = read_source(ROOT / "cmo.yaml").data
    assert list(validator.iter_errors(data)) == []

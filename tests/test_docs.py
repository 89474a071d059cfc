"""Docs that cannot drift: field reference and finding catalogue are generated and checked;
every model field has a description; the tutorial's example is a valid theory."""

from __future__ import annotations

import re

import pytest

from cmo.findings import CODES, catalogue_markdown
from cmo.theory import validate
from cmo.theory.models import ALL_MODELS
from cmo.theory.schema import reference_markdown
from cmo.workspace import Settings

from .conftest import ROOT

DOCS = ROOT / "docs"


def test_field_reference_is_current() -> None:
    assert (DOCS / "theory-reference.md").read_text(encoding="utf-8") == reference_markdown(), (
        "run 'make docs' and commit docs/theory-reference.md"
    )


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_every_model_field_is_documented(model) -> None:
    reference = (DOCS / "theory-reference.md").read_text(encoding="utf-8")
    section = reference.split(f"## {model.__name__}\n", 1)[1].split("\n## ", 1)[0]
    for name, info in model.model_fields.items():
        key = info.alias or name
        assert info.description, f"{model.__name__}.{name} has no description"
        assert f"| `{key}` |" in section, f"{model.__name__}.{key} missing from the reference"


def test_every_setting_is_documented() -> None:
    text = (DOCS / "workspace.md").read_text(encoding="utf-8")
    for name, info in Settings.model_fields.items():
        assert info.description, name
        assert f"`{name}`" in text, f"setting {name} missing from docs/workspace.md"


def test_finding_catalogue_is_current_and_complete() -> None:
    text = (DOCS / "findings.md").read_text(encoding="utf-8")
    assert text == catalogue_markdown(), "run 'make docs' and commit docs/findings.md"
    for code in CODES:
        assert f"## {code}\n" in text


def test_every_code_used_in_the_source_is_in_the_catalogue() -> None:
    used = set()
    for path in (ROOT / "cmo").rglob("*.py"):
        used |= set(re.findall(r"\"([YSDRTIGLAP]\d{3})\"", path.read_text(encoding="utf-8")))
    assert used, "the scan found no codes at all"
    assert used <= set(CODES), f"undocumented codes: {sorted(used - set(CODES))}"


def _yaml_blocks(path) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)


def test_tutorial_example_is_a_valid_theory(tmp_path) -> None:
    blocks = _yaml_blocks(DOCS / "theory-language.md")
    theory = [b for b in blocks if b.lstrip().startswith("# programme_theories/")]
    indicators = [b for b in blocks if b.lstrip().startswith("# indicators/")]
    assert len(theory) == 1 and len(indicators) == 1
    (tmp_path / "cmo.yaml").write_text("languages: [fi, en]\n", encoding="utf-8")
    (tmp_path / "programme_theories").mkdir()
    (tmp_path / "indicators").mkdir()
    (tmp_path / "programme_theories" / "example.yaml").write_text(theory[0], encoding="utf-8")
    (tmp_path / "indicators" / "example.yaml").write_text(indicators[0], encoding="utf-8")
    result = validate(workspace=tmp_path)
    assert [f.format() for f in result.findings] == []
    assert result.theories and result.theories[0].chains


def test_tutorial_example_uses_every_theory_key() -> None:
    """The 'one complete example' really is complete: every key of a theory file appears."""
    blocks = "\n".join(_yaml_blocks(DOCS / "theory-language.md"))
    for model in ALL_MODELS:
        for name, info in model.model_fields.items():
            key = info.alias or name
            assert re.search(rf"(^|[\s{{,]){re.escape(key)}:", blocks, flags=re.M), (
                f"{model.__name__}.{key} is not shown in the example"
            )

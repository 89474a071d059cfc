"""`cmo init` makes a self-contained workspace: what its files and cmo's messages refer to
exists in it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cmo.workspace import init_workspace

from .conftest import ROOT


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return init_workspace(tmp_path / "arviointi", name="Testi").root


def test_schema_references_in_the_framework_resolve(ws: Path) -> None:
    refs = 0
    for path in [*ws.glob("programme_theories/*.yaml"), *ws.glob("indicators/*.yaml")]:
        for ref in re.findall(r"\$schema=(\S+)", path.read_text(encoding="utf-8")):
            target = (path.parent / ref).resolve()
            assert target.is_file(), f"{path.name} refers to {ref}, which is missing"
            assert json.loads(target.read_text(encoding="utf-8"))["$schema"].startswith("https://")
            refs += 1
    assert refs >= 5


def test_the_schemas_are_the_installed_versions(ws: Path) -> None:
    for kind in ("theory", "indicators", "settings"):
        written = (ws / "schemas" / f"{kind}.schema.json").read_text(encoding="utf-8")
        assert written == (ROOT / "schemas" / f"{kind}.schema.json").read_text(encoding="utf-8")


def test_every_docs_path_cmo_names_exists_in_a_workspace(ws: Path) -> None:
    """Hints and comments say 'docs/….md': the workspace has each of them."""
    named: set[str] = set()
    for source in (ROOT / "cmo").rglob("*.py"):
        named |= set(re.findall(r"docs/[a-z-]+\.md", source.read_text(encoding="utf-8")))
    named |= set(re.findall(r"docs/[a-z-]+\.md", (ws / "cmo.yaml").read_text(encoding="utf-8")))
    named |= set(re.findall(r"docs/[a-z-]+\.md", (ws / "README.md").read_text(encoding="utf-8")))
    assert "docs/workspace.md" in named and "docs/api.md" in (ws / "README.md").read_text()
    missing = sorted(n for n in named if not (ws / n).is_file())
    assert not missing, missing


def test_readme_says_what_is_where_and_names_the_distribution(ws: Path) -> None:
    text = (ws / "README.md").read_text(encoding="utf-8")
    assert text.startswith("# Testi")
    for part in ("cmo.yaml", "programme_theories/", "schemas/", "docs/", "cmo-realist"):
        assert part in text


def test_init_does_not_overwrite_a_users_readme_or_docs(tmp_path: Path) -> None:
    root = tmp_path / "own"
    (root / "docs").mkdir(parents=True)
    (root / "README.md").write_text("mine\n", encoding="utf-8")
    (root / "docs" / "workspace.md").write_text("my notes\n", encoding="utf-8")
    init_workspace(root)
    assert (root / "README.md").read_text(encoding="utf-8") == "mine\n"
    assert (root / "docs" / "workspace.md").read_text(encoding="utf-8") == "my notes\n"
    assert (root / "docs" / "findings.md").is_file()

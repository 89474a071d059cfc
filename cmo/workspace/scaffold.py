"""`cmo init`: scaffold a new evaluation workspace from the shipped framework.

A workspace is self-contained: what its files refer to is in it. Theory files name
``../schemas/theory.schema.json`` (for editors), settings and error hints name ``docs/…``; so
``cmo init`` writes the JSON Schemas to ``schemas/`` and the documentation of the installed
version of cmo to ``docs/``, and a ``README.md`` that says what is where.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cmo.errors import WorkspaceError
from cmo.workspace.settings import SETTINGS_FILE

_SETTINGS_TEMPLATE = """\
# cmo workspace settings. Every key is optional; these are the defaults.
# Reference: docs/workspace.md (in this folder)
name: {name}

# Languages every label must have; missing translations are warnings (L001).
languages: [fi, en]

# Where the framework lives, relative to this file.
theories: programme_theories
indicators: indicators

# Local state: the embedded database and the pseudonymisation key. Both are git-ignored.
# The key file is created with mode 0600. The environment variable CMO_KEY overrides it.
store: .cmo/store.duckdb
key_file: .cmo/pseudonymisation.key

# Disclosure control in reports: counts below this are shown as "<5".
disclosure_threshold: 5
# Fewest cases for a chain test; fewer gives "insufficient data".
min_cases: 30

# The social offices taking part (ids are used by 'cmo collect --office ID').
offices:
  - {{id: office_a, name: Sosiaalitoimisto A, municipality: Kunta A}}
"""

_GITIGNORE = """\
# cmo local state: the store holds pseudonymised client data, the key must never be shared.
.cmo/
# Office exports are personal data: keep them out of version control.
exports/
"""


_README = """\
# {name}

A [cmo](https://pypi.org/project/cmo-realist/) workspace for realist evaluation: programme
theories (context → mechanism → outcome) tested on pseudonymised office data. Created with
cmo {version}.

| Path | What |
|---|---|
| `cmo.yaml` | settings: languages, offices, store, disclosure threshold (`docs/workspace.md`) |
| `programme_theories/` | the programme theories, one YAML file each (`docs/theory-language.md`) |
| `indicators/` | the indicators and measurement points (`docs/theory-reference.md`) |
| `schemas/` | JSON Schemas of these files, for editors (VS Code YAML, check-jsonschema) |
| `docs/` | the documentation of cmo {version}: finding codes (`docs/findings.md`), |
| | collecting, analysis, the report, the Python API (`docs/api.md`) |
| `.cmo/` | local state, never committed: the store and the pseudonymisation key (mode 0600) |

```sh
cmo validate                      # check every theory and indicator file
cmo collect --office ID FILE...   # office exports into the store
cmo analyse --lang en             # what held where
cmo report --lang fi --out raportti.html
cmo --help                        # every command; `cmo COMMAND --help` for its options
```

Keep `.cmo/pseudonymisation.key` secret and backed up: without it, new data cannot be linked to
what is already stored.
"""

#: What a workspace gets from the installation besides the framework: folder → file pattern.
_REFERENCED = {"schemas": "*.schema.json", "docs": "*.md"}


@dataclass
class InitResult:
    """What ``cmo init`` created."""

    root: Path
    created: list[Path] = field(default_factory=list)
    key_file: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "created": [str(p.relative_to(self.root)) for p in self.created],
            "key_file": str(self.key_file.relative_to(self.root)) if self.key_file else None,
        }


def framework_dir() -> Path:
    """The folder holding the shipped framework (``indicators/``, ``programme_theories/``) and
    what it refers to (``schemas/``, ``docs/``).

    In an installed wheel it is package data (``cmo/_framework``); in a source checkout it is
    the repository root, which is itself a workspace.
    """
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "_framework", package.parent):
        if all(
            (candidate / sub).is_dir() for sub in ("programme_theories", "indicators", *_REFERENCED)
        ):
            return candidate
    raise WorkspaceError(  # pragma: no cover - a broken installation
        "the shipped framework is missing from this installation of cmo",
        hint="reinstall cmo (pip install --force-reinstall cmo-realist)",
    )


def write_key(path: Path) -> None:
    """Create a new random pseudonymisation key readable only by its owner (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    os.chmod(path, 0o600)


def init_workspace(root: Path, *, name: str | None = None) -> InitResult:
    """Create a workspace in ``root`` (created if needed; must not already be a workspace)."""
    if root.exists() and not root.is_dir():
        raise WorkspaceError(
            f"{root}: exists and is not a folder", hint="give a new or empty folder to 'cmo init'"
        )
    if (root / SETTINGS_FILE).exists():
        raise WorkspaceError(
            f"{root}: is already a cmo workspace ({SETTINGS_FILE} exists)",
            hint="edit its settings instead, or choose another folder",
        )
    for sub in ("programme_theories", "indicators"):
        if (root / sub).exists():
            raise WorkspaceError(
                f"{root / sub}: already exists; cmo init will not overwrite it",
                hint="move it aside or choose another folder",
            )
    source = framework_dir()
    root.mkdir(parents=True, exist_ok=True)
    result = InitResult(root=root)
    settings = root / SETTINGS_FILE
    title = name or root.resolve().name
    settings.write_text(_SETTINGS_TEMPLATE.format(name=_yaml_str(title)), encoding="utf-8")
    result.created.append(settings)
    for sub in ("indicators", "programme_theories"):
        for src in sorted((source / sub).glob("*.yaml")):
            dest = root / sub / src.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
            result.created.append(dest)
    # What those files and cmo's messages refer to: schemas and documentation.
    for sub, pattern in _REFERENCED.items():
        for src in sorted((source / sub).glob(pattern)):
            dest = root / sub / src.name
            if dest.exists():
                continue  # never overwrite the user's files
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
            result.created.append(dest)
    readme = root / "README.md"
    if not readme.exists():
        from cmo import __version__

        readme.write_text(_README.format(name=title, version=__version__), encoding="utf-8")
        result.created.append(readme)
    gitignore = root / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text(_GITIGNORE, encoding="utf-8")
        result.created.append(gitignore)
    else:
        have = gitignore.read_text(encoding="utf-8").splitlines()
        missing = [ln for ln in _GITIGNORE.splitlines() if ln and ln not in have]
        if any(not ln.startswith("#") for ln in missing):
            with gitignore.open("a", encoding="utf-8") as fh:
                fh.write("\n" + "\n".join(missing) + "\n")
    state = root / ".cmo"
    state.mkdir(exist_ok=True)
    # Belt and braces: the state folder ignores itself even if the root .gitignore is lost.
    (state / ".gitignore").write_text("# cmo local state: never commit\n*\n", encoding="utf-8")
    key = state / "pseudonymisation.key"
    if key.exists():
        os.chmod(key, 0o600)
    else:
        write_key(key)
    result.key_file = key
    return result


def _yaml_str(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'

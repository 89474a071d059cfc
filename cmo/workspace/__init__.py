"""The evaluation workspace: a folder with ``cmo.yaml``, theories, indicators and local state.

A workspace is found by walking up from a path to the nearest ``cmo.yaml``. Its settings say
where theories and indicators live, which languages labels must have, where the store and the
pseudonymisation key are kept, and the thresholds used by analysis and reports.
"""

from __future__ import annotations

from cmo.workspace.keys import PseudonymKey, load_key
from cmo.workspace.scaffold import InitResult, framework_dir, init_workspace, write_key
from cmo.workspace.settings import (
    SETTINGS_FILE,
    Office,
    Settings,
    Workspace,
    find_workspace,
    load_workspace,
)

__all__ = [
    "SETTINGS_FILE",
    "InitResult",
    "Office",
    "PseudonymKey",
    "Settings",
    "Workspace",
    "find_workspace",
    "framework_dir",
    "init_workspace",
    "load_key",
    "load_workspace",
    "write_key",
]

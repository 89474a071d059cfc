"""cmo — realist evaluation for social work: programme theories as files, context–mechanism–
outcome chains tested on pseudonymised case data.

The library's entry points, re-exported here (see ``docs/api.md`` for a complete round)::

    import cmo

    ws = cmo.load_workspace(Path("arviointi"))               # cmo.yaml and its folders
    checked = cmo.validate(workspace=ws.root)                # → ValidationResult
    collected = cmo.collect(ws, "rovaniemi", [Path("asiakkaat.xlsx")])   # → CollectResult
    analysis = cmo.analyse(ws)                               # → AnalysisResult
    cmo.build_report(ws, lang="en").write(Path("report.html"))   # → Report

Each result has ``to_dict()`` (what ``--format json`` prints); validation and collection results
also ``to_frame()`` (pandas) and show as a table in a notebook. Errors the user can fix raise
:class:`CmoError` (the command line prints them and exits 2).

Names are imported on first use, so ``import cmo`` (and ``cmo validate``) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "validate": "cmo.theory",
    "ValidationResult": "cmo.theory",
    "collect": "cmo.collect",
    "CollectResult": "cmo.collect",
    "analyse": "cmo.analysis",
    "AnalysisResult": "cmo.analysis",
    "build_report": "cmo.report",
    "Report": "cmo.report",
    "load_workspace": "cmo.workspace",
    "find_workspace": "cmo.workspace",
    "init_workspace": "cmo.workspace",
    "Workspace": "cmo.workspace",
    "Finding": "cmo.findings",
    "CmoError": "cmo.errors",
}

__all__ = [
    "AnalysisResult",
    "CmoError",
    "CollectResult",
    "Finding",
    "Report",
    "ValidationResult",
    "Workspace",
    "__version__",
    "analyse",
    "build_report",
    "collect",
    "find_workspace",
    "init_workspace",
    "load_workspace",
    "validate",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and editors
    from cmo.analysis import AnalysisResult, analyse
    from cmo.collect import CollectResult, collect
    from cmo.errors import CmoError
    from cmo.findings import Finding
    from cmo.report import Report, build_report
    from cmo.theory.validate import ValidationResult, validate
    from cmo.workspace import Workspace, find_workspace, init_workspace, load_workspace


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cmo' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})

"""`cmo validate`: check theory and indicator files like a compiler.

:func:`validate` gathers the files named (folders are searched for ``*.yaml``/``*.yml``) plus the
theories and indicators of the enclosing workspace (so references across files resolve), and
returns a :class:`ValidationResult` holding every finding. It raises
:class:`~cmo.errors.InputError` only when it cannot start at all (a path that does not exist,
no theory or indicator file to check).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cmo import __version__
from cmo.errors import InputError
from cmo.findings import Finding, Severity
from cmo.results import Tabular
from cmo.theory.checks import run_checks
from cmo.theory.load import FileKind, LoadedFile, load_file
from cmo.theory.models import IndicatorFile, ProgrammeTheory
from cmo.workspace import SETTINGS_FILE, Workspace, find_workspace, load_workspace

YAML_SUFFIXES = (".yaml", ".yml")


@dataclass
class TheorySummary:
    """Counts of what one programme theory defines."""

    id: str
    title: str
    file: str
    contexts: int
    interventions: int
    mechanisms: int
    outcomes: int
    chains: int
    criteria: int
    success_factors: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ChainSummary:
    """One CMO chain in words: in these contexts, (intervention →) mechanism → outcome."""

    theory: str
    id: str
    contexts: list[str]
    intervention: str | None
    mechanism: str
    outcome: str
    direction: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ValidationResult(Tabular):
    """Every finding of a validation run, and what was checked.

    As a table (``to_frame()``, and the view in a notebook) it is one row per finding.
    """

    columns = ("file", "line", "column", "code", "severity", "title", "message", "path")

    files: list[LoadedFile]
    findings: list[Finding]
    workspace: Workspace | None = None
    strict: bool = False
    #: Files the user named (the rest were loaded from the workspace for references).
    targets: list[str] = field(default_factory=list)
    #: Errors in workspace files that were read for references but not asked about.
    other_errors: int = 0

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.WARNING]

    @property
    def ok(self) -> bool:
        """No errors (and, when strict, no warnings)."""
        return not self.errors and not (self.strict and self.warnings)

    @property
    def theories(self) -> list[ProgrammeTheory]:
        return [lf.theory for lf in self.files if lf.theory is not None]

    @property
    def indicator_files(self) -> list[IndicatorFile]:
        return [lf.indicator_file for lf in self.files if lf.indicator_file is not None]

    def theory_summaries(self, lang: str = "fi") -> list[TheorySummary]:
        out = []
        for lf in self.files:
            th = lf.theory
            if th is None:
                continue
            per = Counter(csf.perspective.value for csf in th.critical_success_factors)
            out.append(
                TheorySummary(
                    id=th.id,
                    title=th.title.get(lang),
                    file=lf.display,
                    contexts=len(th.contexts),
                    interventions=len(th.interventions),
                    mechanisms=len(th.mechanisms),
                    outcomes=len(th.outcomes),
                    chains=len(th.chains),
                    criteria=len(th.criteria),
                    success_factors={
                        p: per.get(p, 0) for p in ("client", "personnel", "process", "economy")
                    },
                )
            )
        return out

    def chain_summaries(self, lang: str = "fi") -> list[ChainSummary]:
        """Every chain with the labels of what it links (ids where a reference is broken)."""
        from cmo.theory.index import index_theories, resolve

        ws = index_theories(self.files)
        out = []
        for th in self.theories:

            def label(section: str, ref: str, th: ProgrammeTheory = th) -> str:
                item = resolve(ws, th, section, ref)
                return item.label.get(lang) if item is not None else ref

            for chain in th.chains:
                out.append(
                    ChainSummary(
                        theory=th.id,
                        id=chain.id,
                        contexts=[label("contexts", c) for c in chain.contexts],
                        intervention=label("interventions", chain.intervention)
                        if chain.intervention
                        else None,
                        mechanism=label("mechanisms", chain.mechanism),
                        outcome=label("outcomes", chain.outcome),
                        direction=chain.direction.value,
                    )
                )
        return out

    def counts(self) -> dict[str, int]:
        indicators = sum(len(f.indicators) for f in self.indicator_files)
        points = sum(len(f.measurement_points) for f in self.indicator_files)
        return {
            "files": len(self.files),
            "theories": len(self.theories),
            "indicators": indicators,
            "measurement_points": points,
            "chains": sum(len(t.chains) for t in self.theories),
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "errors_in_other_files": self.other_errors,
        }

    def rows(self) -> list[dict[str, Any]]:
        """One row per finding: file, line, column, code, severity, title, message, path."""
        return [f.to_dict() for f in self.findings]

    def caption(self) -> str:
        c = self.counts()
        mark = "✔" if self.ok else "✖"
        return (
            f"{mark} {c['files']} files: {c['theories']} theories, {c['indicators']} indicators, "
            f"{c['chains']} chains — {c['errors']} errors, {c['warnings']} warnings"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "cmo_version": __version__,
            "ok": self.ok,
            "workspace": str(self.workspace.root) if self.workspace else None,
            "summary": self.counts(),
            "files": [
                {"path": lf.display, "kind": lf.kind, "sha256": lf.sha256} for lf in self.files
            ],
            "findings": [f.to_dict() for f in self.findings],
            "theories": [s.to_dict() for s in self.theory_summaries()],
        }


def validate(
    paths: Sequence[Path | str] = (),
    *,
    workspace: Path | None = None,
    use_workspace: bool = True,
    strict: bool = False,
    languages: Iterable[str] | None = None,
) -> ValidationResult:
    """Validate theory and indicator files.

    ``paths`` may name files or folders; with none, the workspace's theory and indicator folders
    are checked. The enclosing workspace (found from the first path, or the current folder, or
    given as ``workspace``) contributes its files so that references resolve across files;
    ``use_workspace=False`` checks the named files alone.
    """
    given = [Path(p) for p in paths]
    for p in given:
        if p.is_symlink() and not p.exists():
            raise InputError(
                f"{p}: a symbolic link that leads in a circle or to nothing",
                hint="point the link at a real file or folder, or remove it",
            )
        if not p.exists():
            raise InputError(
                f"{p}: no such file or folder",
                hint="give theory files or folders, e.g. 'cmo validate programme_theories/'",
            )
    ws: Workspace | None = None
    if use_workspace:
        root = workspace or find_workspace(given[0] if given else Path.cwd())
        if root is not None:
            ws = load_workspace(root)
    targets: list[Path] = []
    for p in given:
        targets.extend(_yaml_files(p))
    if not given:
        if ws is None:
            raise InputError(
                "no theory files given and no workspace here",
                hint="name files or folders (cmo validate programme_theories/) "
                "or run inside a workspace (see 'cmo init')",
            )
        for folder in (ws.indicators_dir, ws.theories_dir):
            if folder.is_dir():
                targets.extend(_yaml_files(folder))
    if not targets:
        where = ", ".join(str(p) for p in given) or str(ws.root if ws else Path.cwd())
        raise InputError(
            f"{where}: no theory or indicator files (*.yaml) found",
            hint="theory files live in programme_theories/, indicators in indicators/",
        )
    context: list[Path] = []
    if ws is not None:
        for folder in (ws.indicators_dir, ws.theories_dir):
            if folder.is_dir():
                context.extend(_yaml_files(folder))
    ordered = _unique([*targets, *context])
    files = [load_file(p, _display(p), _kind_hint(p, ws)) for p in ordered]
    findings: list[Finding] = [f for lf in files for f in lf.findings]
    langs = (
        list(languages)
        if languages is not None
        else (list(ws.settings.languages) if ws else ["fi", "en"])
    )
    findings.extend(run_checks(files, langs))
    # Report on the files asked about; the rest of the workspace only lends its references.
    wanted = {_display(p) for p in _unique(targets)}
    mine = sorted({f for f in findings if f.file in wanted}, key=Finding.sort_key)
    others = {f for f in findings if f.file not in wanted}
    return ValidationResult(
        files=files,
        findings=mine,
        workspace=ws,
        strict=strict,
        targets=sorted(wanted),
        other_errors=sum(f.severity is Severity.ERROR for f in others),
    )


def _kind_hint(path: Path, ws: Workspace | None) -> FileKind | None:
    """Files in the workspace's indicator or theory folder are of that kind."""
    if ws is None:
        return None
    here = Path(_real(path))
    if Path(_real(ws.indicators_dir)) in here.parents:
        return "indicators"
    if Path(_real(ws.theories_dir)) in here.parents:
        return "theory"
    return None


def _yaml_files(path: Path) -> list[Path]:
    if not path.is_dir():  # a file, or something that is not one (refused when read: Y004)
        return [] if path.name == SETTINGS_FILE else [path]
    found = []
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith(YAML_SUFFIXES) and name != SETTINGS_FILE:
                found.append(Path(dirpath) / name)
    return found


def _unique(paths: Iterable[Path]) -> list[Path]:
    seen: set[Path] = set()
    out = []
    for p in paths:
        key = Path(_real(p))
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def _real(path: Path) -> str:
    """The path with symbolic links followed as far as they lead (a loop does not raise)."""
    return os.path.realpath(path)


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # pragma: no cover - another drive on Windows
        return str(path)

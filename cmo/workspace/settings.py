"""Workspace settings (``cmo.yaml``) as a strict model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cmo.errors import WorkspaceError
from cmo.source import read_source
from cmo.strict import Field, Model, ValidationError

SETTINGS_FILE = "cmo.yaml"

Language = Literal["fi", "sv", "en"]


def _default_languages() -> list[Language]:
    return ["fi", "en"]


class Office(Model):
    """A social office taking part in the evaluation."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="Office id used by `cmo collect`.")
    name: str = Field(description="Name of the office, e.g. `Rovaniemen sosiaalitoimisto`.")
    municipality: str | None = Field(None, description="Municipality (kunta).")

    @classmethod
    def _check_field(cls, name: str, value: Any, seen: dict[str, Any]) -> Any:
        # shown in every report: a personal identity code must never get there (not echoed)
        from cmo.workspace.privacy import contains_identity_code

        if name in ("name", "municipality") and contains_identity_code(value):
            raise ValueError("holds a personal identity code; remove it")
        return value


class Settings(Model):
    """The settings file of a workspace (`cmo.yaml`)."""

    name: str = Field("cmo workspace", description="Name of the evaluation, shown in reports.")
    languages: list[Language] = Field(
        default_factory=_default_languages,
        description="Languages every label must have (missing ones are warned about).",
    )
    theories: str = Field("programme_theories", description="Folder of programme theory files.")
    indicators: str = Field("indicators", description="Folder of indicator files.")
    store: str = Field(".cmo/store.duckdb", description="The embedded database (git-ignored).")
    key_file: str = Field(
        ".cmo/pseudonymisation.key",
        description="The pseudonymisation key (git-ignored, mode 0600). The environment "
        "variable `CMO_KEY` overrides it.",
    )
    disclosure_threshold: int = Field(
        5, ge=2, description="Counts below this are suppressed in reports."
    )
    min_cases: int = Field(
        30,
        ge=2,
        description="Fewest cases for a chain test; fewer gives 'too little data'. At least "
        "`disclosure_threshold`.",
    )
    min_offices: int = Field(
        3,
        ge=2,
        description="Fewest offices for a chain test or a context comparison with the "
        "office-clustered covariance; fewer gives 'too little data' (too few offices).",
    )
    covariance: Literal["CR2", "HC3", "classical"] = Field(
        "CR2",
        description="How uncertainty is computed: `CR2` (default) is cluster-robust by office "
        "with Satterthwaite degrees of freedom, valid when the mechanism's effect differs "
        "between offices; `HC3` and `classical` treat cases as independent, for reproducing "
        "textbook tables (docs/analysis.md).",
    )
    criteria_offices: Literal["population", "sample"] = Field(
        "population",
        description="What an 'all offices' criterion interval estimates: `population` (these "
        "offices are the population; stratified by office) or `sample` (the offices are a "
        "sample of offices; clustered by office, t on offices − 1 df).",
    )
    quarantine_limit: float = Field(
        0.2,
        gt=0,
        le=1,
        description="Largest share of a file's rows one quarantine reason may take before "
        "`cmo collect` stops with exit 1 (unless `--accept-quarantine`).",
    )
    memory_limit: str = Field(
        "1GB",
        pattern=r"^[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
        description="Memory the database may use while collecting and analysing (e.g. `1GB`); "
        "beyond it, work spills to temporary files in `.cmo/tmp`.",
    )
    offices: list[Office] = Field(default_factory=list, description="The social offices.")
    mappings: str = Field(
        "mappings",
        description="Folder of per-office mapping files (`<office>.yaml`) for column names and "
        "value labels the indicators' aliases do not cover.",
    )

    @classmethod
    def _check_field(cls, name: str, value: Any, seen: dict[str, Any]) -> Any:
        k = seen.get("disclosure_threshold")
        if name == "min_cases" and isinstance(k, int) and value < k:
            raise ValueError(
                f"min_cases ({value}) must be at least disclosure_threshold ({k}): a chain "
                "tested on fewer cases than k would publish results about groups too small "
                "to show"
            )
        return value


@dataclass(frozen=True)
class Workspace:
    """A workspace root and its settings."""

    root: Path
    settings: Settings

    @property
    def theories_dir(self) -> Path:
        return self.root / self.settings.theories

    @property
    def indicators_dir(self) -> Path:
        return self.root / self.settings.indicators

    @property
    def store_path(self) -> Path:
        return self.root / self.settings.store

    @property
    def key_path(self) -> Path:
        return self.root / self.settings.key_file

    @property
    def mappings_dir(self) -> Path:
        return self.root / self.settings.mappings

    def office(self, office_id: str) -> Office | None:
        return next((o for o in self.settings.offices if o.id == office_id), None)


def find_workspace(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` that holds ``cmo.yaml``."""
    start = start.resolve()
    here = start if start.is_dir() else start.parent
    for folder in (here, *here.parents):
        if (folder / SETTINGS_FILE).is_file():
            return folder
    return None


def load_workspace(root: Path) -> Workspace:
    """Read ``root/cmo.yaml``. Problems raise :class:`WorkspaceError` naming file and line."""
    path = root / SETTINGS_FILE
    if not path.is_file():
        raise WorkspaceError(
            f"{path}: no workspace settings here", hint="create a workspace with 'cmo init DIR'"
        )
    doc = read_source(path)
    if doc.findings:
        f = doc.findings[0]
        raise WorkspaceError(f.format())
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        raise WorkspaceError(f"{path}:1:1 the settings must be a mapping of keys")
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        pos = doc.position(loc, key=err["type"] == "extra_forbidden")
        what = (
            "unknown setting"
            if err["type"] == "extra_forbidden"
            else err["msg"].removeprefix("Value error, ")
        )
        dotted = ".".join(str(p) for p in loc)
        raise WorkspaceError(
            f"{path}:{pos.line}:{pos.column} {what} ({dotted})",
            hint="see docs/workspace.md for the settings",
        ) from None
    return Workspace(root=root, settings=settings)

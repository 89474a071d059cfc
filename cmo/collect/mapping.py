"""Which column is what: identifier roles, indicators, and per-office mapping files."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from cmo.errors import InputError
from cmo.source import read_source
from cmo.strict import Field, Model, ValidationError
from cmo.text import normalise_header
from cmo.theory.models import Indicator, MeasurementPoint
from cmo.workspace.privacy import looks_like_identity_code, safe_text

Role = Literal[
    "client_id", "worker_id", "measurement_point", "measured_on", "period", "office", "ignore"
]
ROLES: tuple[str, ...] = (
    "client_id",
    "worker_id",
    "measurement_point",
    "measured_on",
    "period",
    "office",
    "ignore",
)

#: Column names that mean a role, in Finnish, Swedish and English (compared normalised).
ROLE_ALIASES: dict[str, tuple[str, ...]] = {
    "client_id": (
        "asiakasnumero",
        "asiakasnro",
        "asiakas nro",
        "asiakas",
        "asiakas id",
        "asiakastunnus",
        "asiakkaan tunnus",
        "asiakkaan numero",
        "henkilotunnus",
        "hetu",
        "sotu",
        "client",
        "client id",
        "client number",
        "klient",
        "klientnummer",
        "klient id",
        "case id",
    ),
    "worker_id": (
        "tyontekija",
        "tyontekijanumero",
        "tyontekija id",
        "tyontekijatunnus",
        "vastuutyontekija",
        "omatyontekija",
        "worker",
        "worker id",
        "caseworker",
        "arbetare",
        "handlaggare",
        "arbetare id",
    ),
    "measurement_point": (
        "mittauskerta",
        "mittausajankohta",
        "mittaus",
        "vaihe",
        "arviointikerta",
        "kerta",
        "measurement point",
        "measurement",
        "point",
        "matpunkt",
        "mattillfalle",
    ),
    "measured_on": (
        "paivamaara",
        "pvm",
        "mittauspaiva",
        "mittauspvm",
        "arviointipaiva",
        "arviointipvm",
        "date",
        "measured on",
        "measurement date",
        "datum",
    ),
    "period": ("jakso", "kausi", "seurantajakso", "period", "raportointijakso"),
    "office": (
        "toimisto",
        "sosiaalitoimisto",
        "toimipiste",
        "toimintayksikko",
        "office",
        "social office",
        "kontor",
        "socialkontor",
        "verksamhetsstalle",
    ),
}


class OfficeMapping(Model):
    """A per-office mapping file (``mappings/<office>.yaml``)."""

    office: str | None = Field(None, description="The office this mapping is for.")
    sheet: str | None = Field(None, description="The sheet to read from workbooks.")
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Column name in the export → indicator id or role (client_id, worker_id, "
        "measurement_point, measured_on, period, ignore).",
    )
    values: dict[str, dict[str, int | str]] = Field(
        default_factory=dict,
        description="Per indicator (or `measurement_point`): label in the export → code.",
    )
    encoding: str | None = Field(
        None,
        description="The encoding of the office's CSV exports: utf-8, windows-1252, "
        "iso-8859-15 or iso-8859-1 (default: detected).",
    )
    date_format: str | list[str] | None = Field(
        None,
        description="The date format(s) of the office's exports, strptime codes: `%d.%m.%y` "
        "for 4.2.26 (two-digit years: the latest year not more than a year ahead), "
        "`%d.%m.%Y`, `%Y-%m-%d` (default: d.m.yyyy, ISO and Excel serial numbers).",
    )

    @property
    def date_formats(self) -> list[str]:
        if self.date_format is None:
            return []
        return [self.date_format] if isinstance(self.date_format, str) else self.date_format


def _identity_code_in(data: object) -> tuple[str | int, ...] | None:
    """The YAML path of the first key or value shaped like a personal identity code."""
    if isinstance(data, dict):
        for key, value in data.items():
            if looks_like_identity_code(str(key)):
                return (str(key),)
            inner = _identity_code_in(value)
            if inner is not None:
                return (str(key), *inner)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            inner = _identity_code_in(value)
            if inner is not None:
                return (i, *inner)
    elif data is not None and looks_like_identity_code(str(data)):
        return ()
    return None


def load_mapping(path: Path) -> OfficeMapping:
    doc = read_source(path)
    if doc.findings:
        raise InputError(doc.findings[0].format())
    found = _identity_code_in(doc.data)
    if found is not None:
        pos = doc.position(found, key=True)
        raise InputError(
            f"{path}:{pos.line}:{pos.column} the mapping file holds a personal identity code",
            hint="a mapping file names columns and answer words, never people: remove it",
        )
    try:
        return OfficeMapping.model_validate(doc.data or {})
    except ValidationError as exc:
        err = exc.errors()[0]
        pos = doc.position(tuple(err["loc"]), key=err["type"] == "extra_forbidden")
        raise InputError(
            f"{path}:{pos.line}:{pos.column} {err['msg']} ({'.'.join(str(p) for p in err['loc'])})",
            hint="see docs/collect.md for mapping files",
        ) from None


@dataclass
class ColumnPlan:
    """What each column of an export becomes."""

    headers: list[str]
    roles: dict[str, int] = field(default_factory=dict)  # role -> column index
    indicators: dict[str, int] = field(default_factory=dict)  # indicator id -> column index
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (header, why)
    via_mapping: set[int] = field(default_factory=set)

    def level(self, indicators: dict[str, Indicator]) -> str | None:
        if "client_id" in self.roles:
            return "case"
        if "worker_id" in self.roles:
            return "worker"
        if any(indicators[i].level.value == "office" for i in self.indicators):
            return "office"
        return None


def plan_columns(
    headers: list[str],
    indicators: dict[str, Indicator],
    mapping: OfficeMapping | None,
    source: str,
) -> ColumnPlan:
    """Match each header to a role or an indicator (mapping file first, then aliases)."""
    plan = ColumnPlan(headers=headers)
    by_name: dict[str, tuple[str, str]] = {}  # normalised name -> ("role"|"indicator", id)
    for role, aliases in ROLE_ALIASES.items():
        for alias in (*aliases, role):
            by_name.setdefault(normalise_header(alias), ("role", role))
    for ind in indicators.values():
        names = [ind.id, *ind.aliases]
        names += [t for t in (ind.label.fi, ind.label.sv, ind.label.en) if t]
        for name in names:
            by_name.setdefault(normalise_header(name), ("indicator", ind.id))
    explicit: dict[str, str] = {}
    if mapping is not None:
        explicit = {normalise_header(h): t for h, t in mapping.columns.items()}
    seen: dict[str, int] = {}
    for index, header in enumerate(headers):
        norm = normalise_header(header)
        if not norm:
            if index < len(headers):
                plan.dropped.append((header or f"(column {index + 1})", "no header"))
            continue
        chosen = explicit.get(norm)
        if chosen is not None:
            target = chosen
            plan.via_mapping.add(index)
            if target == "ignore":
                plan.dropped.append((header, "ignored by the mapping file"))
                continue
            kind = "role" if target in ROLES else "indicator"
            if kind == "indicator" and target not in indicators:
                raise InputError(
                    f"{source}: the mapping file maps column '{header}' to "
                    f"'{safe_text(target, 60)}', which is "
                    "neither an indicator nor a role",
                    hint=f"roles: {', '.join(ROLES)}; or use an indicator id",
                )
        else:
            found = by_name.get(norm)
            if found is None:
                plan.dropped.append((header, "not an indicator (free text is not stored)"))
                continue
            kind, target = found
        if target in seen:
            raise InputError(
                f"{source}: columns '{headers[seen[target]]}' and '{header}' both map to "
                f"'{target}'",
                hint="rename one, or map one to 'ignore' in the office's mapping file",
            )
        seen[target] = index
        if kind == "role":
            plan.roles[target] = index
        else:
            plan.indicators[target] = index
    return plan


def point_labels(points: dict[str, MeasurementPoint]) -> dict[str, str]:
    """Every word that names a measurement point → its id."""
    out: dict[str, str] = {}
    for mp in points.values():
        for word in (mp.id, str(mp.order), *mp.aliases, mp.label.fi, mp.label.sv, mp.label.en):
            if word:
                out.setdefault(str(word), mp.id)
    return out

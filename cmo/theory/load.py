"""Loading theory and indicator files into models, keeping every schema error as a finding.

A file with schema errors is not thrown away: items with errors are set aside and the rest is
validated again, so that one broken chain does not hide the findings of every other chain.
Ids of the items set aside are remembered, so references to them do not add a second, misleading
"unresolved reference" finding.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cmo.findings import Finding
from cmo.source import Loc, SourceDocument, UnreadableFile, parse_bytes, read_bytes
from cmo.strict import Model, ValidationError, model_at
from cmo.theory.models import THEORY_SECTIONS, IndicatorFile, ProgrammeTheory

FileKind = Literal["theory", "indicators", "unknown"]

INDICATOR_SECTIONS = {"indicators": "indicator", "measurement_points": "measurement point"}


@dataclass
class LoadedFile:
    """One YAML file of the workspace, parsed and (as far as possible) validated."""

    path: Path
    display: str
    sha256: str
    doc: SourceDocument
    kind: FileKind = "unknown"
    model: ProgrammeTheory | IndicatorFile | None = None
    #: For each list section, the original index of each item kept in ``model``.
    index_map: dict[str, list[int]] = field(default_factory=dict)
    #: For each list section, ids of items set aside because of schema errors.
    broken_ids: dict[str, set[str]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    @property
    def theory(self) -> ProgrammeTheory | None:
        return self.model if isinstance(self.model, ProgrammeTheory) else None

    @property
    def indicator_file(self) -> IndicatorFile | None:
        return self.model if isinstance(self.model, IndicatorFile) else None

    @property
    def raw_id(self) -> str | None:
        data = self.doc.data
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            return str(data["id"])
        return None

    def items(self, section: str) -> Iterator[tuple[int, Any]]:
        """``(original index, item)`` for a list section of the model."""
        if self.model is None:
            return
        values = getattr(self.model, section)
        for new_index, item in enumerate(values):
            yield self.index_map[section][new_index], item

    def finding(self, code: str, message: str, loc: Loc, *, key: bool = False) -> Finding:
        return self.doc.finding(code, message, loc, key=key)


def load_file(path: Path, display: str, kind_hint: FileKind | None = None) -> LoadedFile:
    try:
        raw = read_bytes(path)
    except UnreadableFile as exc:
        # A pipe, a device, a link in a circle, a huge file: a finding, and the rest goes on.
        doc = SourceDocument(file=display, data=None)
        loaded = LoadedFile(path=path, display=display, sha256="", doc=doc)
        hint = f"; {exc.hint}" if exc.hint else ""
        loaded.findings.append(Finding("Y004", f"the file {exc.reason}{hint}", display, 1, 1, ""))
        return loaded
    doc = parse_bytes(raw, display)
    loaded = LoadedFile(path=path, display=display, sha256=hashlib.sha256(raw).hexdigest(), doc=doc)
    loaded.findings.extend(doc.findings)
    if doc.data is None:
        if not any(f.code == "Y001" for f in doc.findings) and not doc.findings:
            loaded.findings.append(doc.finding("Y003", "the file is empty", ()))
        return loaded
    if not isinstance(doc.data, dict):
        loaded.findings.append(
            doc.finding(
                "Y003",
                "the top level must be a mapping of keys (a theory starts with 'id:', "
                "an indicator file with 'indicators:')",
                (),
            )
        )
        return loaded
    by_content = (
        "indicators" in doc.data or "measurement_points" in doc.data
    ) and "id" not in doc.data
    if kind_hint == "indicators" or (kind_hint is None and by_content):
        loaded.kind = "indicators"
        _validate(loaded, IndicatorFile, INDICATOR_SECTIONS)
    else:
        loaded.kind = "theory"
        _validate(loaded, ProgrammeTheory, THEORY_SECTIONS)
    return loaded


def _validate(loaded: LoadedFile, cls: type[Model], sections: dict[str, str]) -> None:
    data: dict[str, Any] = loaded.doc.data
    identity = {
        s: list(range(len(data[s]))) if isinstance(data.get(s), list) else [] for s in sections
    }
    try:
        loaded.model = cls.model_validate(data)  # type: ignore[assignment]
        loaded.index_map = identity
        return
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    loaded.findings.extend(_schema_findings(loaded.doc, cls, errors))
    # Set aside the items with errors, and unknown top-level keys; validate what remains.
    bad_items: dict[str, set[int]] = {s: set() for s in sections}
    unknown_top: set[str] = set()
    required = {f.key for f in cls.model_fields.values() if f.is_required()}
    for err in errors:
        loc = tuple(err["loc"])
        if len(loc) >= 2 and loc[0] in sections and isinstance(loc[1], int):
            bad_items[str(loc[0])].add(loc[1])
        elif loc and str(loc[0]) not in sections and str(loc[0]) not in required:
            # an unknown key, or a broken optional field (version, sources, strategy, ...):
            # leave it out so that the rest of the file is still checked
            unknown_top.add(str(loc[0]))
    pruned = {k: v for k, v in data.items() if k not in unknown_top}
    for section, bad in bad_items.items():
        items = data.get(section)
        if not isinstance(items, list):
            continue
        loaded.broken_ids[section] = {
            str(items[i]["id"])
            for i in bad
            if isinstance(items[i], dict) and isinstance(items[i].get("id"), str)
        }
        pruned[section] = [item for i, item in enumerate(items) if i not in bad]
        identity[section] = [i for i in range(len(items)) if i not in bad]
    try:
        loaded.model = cls.model_validate(pruned)  # type: ignore[assignment]
        loaded.index_map = identity
    except ValidationError:
        # The file's own fields are broken (e.g. no id): remember every item id as broken.
        loaded.model = None
        for section in sections:
            items = data.get(section)
            if isinstance(items, list):
                loaded.broken_ids[section] = {
                    str(it["id"])
                    for it in items
                    if isinstance(it, dict) and isinstance(it.get("id"), str)
                }


# --------------------------------------------------------------------------------------------
# validation errors → findings
# --------------------------------------------------------------------------------------------


def _schema_findings(doc: SourceDocument, cls: type[Model], errors: list[Any]) -> list[Finding]:
    merged: dict[tuple[str, str], Finding] = {}
    for err in errors:
        raw_loc = tuple(err["loc"])
        loc, missing_key = _data_loc(doc.data, raw_loc)
        kind = err["type"]
        text = ""
        if kind == "extra_forbidden":
            key = str(raw_loc[-1])
            allowed = _allowed_keys(cls, doc.data, raw_loc[:-1])
            hint = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            where = _model_name(cls, doc.data, raw_loc[:-1])
            msg = f"unknown key '{key}'" + (f" in {where}" if where else "")
            msg += (
                f"; did you mean '{hint[0]}'?"
                if hint
                else (f"; allowed keys: {', '.join(allowed)}" if allowed else "")
            )
            if where == "a text" and err.get("input") is None:
                msg += (
                    "; a comma in an unquoted text inside { } starts a new key: put the "
                    "text in quotes"
                )
            finding = doc.finding("S001", msg, loc, key=True)
        elif kind == "missing":
            finding = doc.finding("S002", f"missing required key '{missing_key}'", loc)
            finding = _with_path(finding, (*loc, missing_key) if missing_key else loc)
        else:
            text = str(err["msg"]).removeprefix("Value error, ")
            shown = _show(err.get("input"))
            msg = f"invalid value{shown}: {text}" if shown else f"invalid value: {text}"
            finding = doc.finding("S003", msg, loc)
        key_ = (finding.path, finding.code)
        if key_ in merged:
            if finding.code == "S003" and text not in merged[key_].message:
                old = merged[key_]
                merged[key_] = Finding(
                    old.code, f"{old.message}; or {text}", old.file, old.line, old.column, old.path
                )
            continue
        merged[key_] = finding
    return list(merged.values())


def _with_path(f: Finding, loc: Loc) -> Finding:
    from cmo.source import format_loc

    return Finding(f.code, f.message, f.file, f.line, f.column, format_loc(loc))


def _show(value: Any) -> str:
    if isinstance(value, bool | int | float):
        return f" {value!r}"
    if isinstance(value, str) and len(value) <= 60:
        return f" '{value}'"
    return ""


def _data_loc(data: Any, raw: Loc) -> tuple[Loc, str | None]:
    """The path into the data, and, when the last key is absent, that missing key."""
    here = data
    out: list[str | int] = []
    for i, part in enumerate(raw):
        found, child = _child(here, part)
        if not found:
            if i == len(raw) - 1:
                return tuple(out), str(part)
            break
        out.append(part)
        here = child
    return tuple(out), None


def _child(here: Any, part: str | int) -> tuple[bool, Any]:
    if isinstance(here, dict) and part in here:
        return True, here[part]
    if isinstance(here, list) and isinstance(part, int) and 0 <= part < len(here):
        return True, here[part]
    return False, None


def _allowed_keys(cls: type[Model], data: Any, raw: Loc) -> list[str]:
    model = model_at(cls, data, raw)
    if model is None:
        return []
    return [f.key for f in model.model_fields.values()]


def _model_name(cls: type[Model], data: Any, raw: Loc) -> str:
    model = model_at(cls, data, raw)
    if model is None or model is cls:
        return ""
    condition = "a condition"
    names = {
        "Comparison": condition,
        "AllOf": condition,
        "AnyOf": condition,
        "NotOf": condition,
        "ValueTest": "counts",
        "Text": "a text",
    }
    return names.get(model.__name__, f"a {model.__name__.lower()}")

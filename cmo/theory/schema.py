"""JSON Schema and Markdown field reference, both generated from the models."""

from __future__ import annotations

import json
import typing
from typing import Any, Literal

from cmo.strict import Constrained, Model, Tagged
from cmo.strict import json_schema as model_schema
from cmo.theory.models import ALL_MODELS, ID_PATTERN, REF_PATTERN, IndicatorFile, ProgrammeTheory

SchemaKind = Literal["theory", "indicators", "settings"]
SCHEMA_IDS = {
    "theory": "https://cmo.invalid/schemas/theory.schema.json",
    "indicators": "https://cmo.invalid/schemas/indicators.schema.json",
    "settings": "https://cmo.invalid/schemas/settings.schema.json",
}


def json_schema(kind: SchemaKind) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a theory, indicator or settings file."""
    from cmo.workspace import Settings

    models: dict[str, type[Model]] = {
        "theory": ProgrammeTheory,
        "indicators": IndicatorFile,
        "settings": Settings,
    }
    schema = model_schema(models[kind])
    out: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_IDS[kind],
    }
    out.update(schema)
    return out


def json_schema_text(kind: SchemaKind) -> str:
    return json.dumps(json_schema(kind), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        if any(isinstance(m, Tagged) for m in args[1:]):
            return "[condition](#conditions)"
        meta = " ".join(m.description or "" for m in args[1:] if isinstance(m, Constrained))
        if "reference" in meta:
            return "reference"
        if "Identifier" in meta:
            return "id"
        return _type_name(args[0])
    if origin is Literal:
        return " or ".join(f"`{a}`" if not isinstance(a, bool) else str(a).lower() for a in args)
    if origin in (list,):
        return f"list of {_type_name(args[0])}"
    if origin is tuple:
        return "[" + ", ".join(_type_name(a) for a in args) + "]"
    if origin in (typing.Union, __import__("types").UnionType):
        parts = [_type_name(a) for a in args if a is not type(None)]
        if {"Comparison", "AllOf"} <= {p.strip("[]") for p in parts}:
            return "[condition](#conditions)"
        return " or ".join(dict.fromkeys(parts))
    if isinstance(tp, type):
        if issubclass(tp, Model):
            return f"[{tp.__name__}](#{tp.__name__.lower()})"
        names = {
            "str": "text",
            "int": "integer",
            "float": "number",
            "bool": "true/false",
            "date": "date",
        }
        if tp.__name__ in names:
            return names[tp.__name__]
        if hasattr(tp, "__members__"):
            return " or ".join(f"`{m.value}`" for m in tp.__members__.values())
        return tp.__name__
    return str(tp)


def reference_markdown() -> str:
    """Every model and field of the theory language, for ``docs/theory-reference.md``."""
    lines = [
        "# Theory language: field reference",
        "",
        "<!-- Generated from cmo/theory/models.py by `python -m cmo.theory.schema`. "
        "Do not edit by hand. -->",
        "",
        "Every key a theory file (`programme_theories/*.yaml`) or an indicator file "
        "(`indicators/*.yaml`) may hold. The tutorial with a complete example is "
        "[theory-language.md](theory-language.md). Keys marked **required** must be present; "
        "all others may be left out.",
        "",
    ]
    for model in ALL_MODELS:
        lines += [f"## {model.__name__}", "", (model.__doc__ or "").strip(), ""]
        if model.__name__ in ("Comparison", "AllOf", "AnyOf", "NotOf"):
            lines += ["(One form of a [condition](#conditions).)", ""]
        lines += ["| Key | Type | Required | Description |", "|---|---|---|---|"]
        for name, info in model.model_fields.items():
            key = info.key
            tp = _type_name(info.annotation)
            patterns = {m.pattern for m in info.metadata if isinstance(m, Constrained)}
            if REF_PATTERN in patterns or (ID_PATTERN in patterns and name != "id"):
                tp = "reference"
            if name == "id":
                tp = "id"
            required = "**required**" if info.is_required() else ""
            desc = (info.description or "").replace("|", "\\|")
            if not desc and name == "id":
                desc = "Identifier: lower-case letters, digits and `_`, starting with a letter."
            lines.append(f"| `{key}` | {tp} | {required} | {desc} |")
        lines.append("")
    lines += [
        "## Conditions",
        "",
        "A condition is one of: a [Comparison](#comparison) on one indicator; "
        "[AllOf](#allof) (`all:`); [AnyOf](#anyof) (`any:`); [NotOf](#notof) (`not:`). "
        "They nest freely.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(reference_markdown(), end="")

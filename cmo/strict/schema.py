"""Where a place in the data leads among a model's types, and the JSON Schema of a model."""

from __future__ import annotations

import datetime as dt
import enum
import types
import typing
from typing import Any

from cmo.strict.model import Constrained, FieldInfo, Loc, Model, Tagged


def unwrap(tp: Any, value: Any = None) -> Any:
    """The type at a place: ``Annotated`` and ``| None`` removed, a tagged union resolved by
    the value found there."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            args = typing.get_args(tp)
            tagged = next((m for m in args[1:] if isinstance(m, Tagged)), None)
            if tagged is not None:
                return tagged.choices[tagged.kind_of(value)]
            tp = args[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(members) != 1:
                return tp
            tp = members[0]
        else:
            return tp


def model_at(root: type[Model], data: Any, loc: Loc) -> type[Model] | None:
    """The model that the value at ``loc`` in ``data`` is read as (None: not a model)."""
    tp: Any = root
    here = data
    for part in loc:
        tp = unwrap(tp, here)
        origin = typing.get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, Model):
            info = next((f for f in tp.model_fields.values() if part in (f.name, f.alias)), None)
            if info is None:
                return None
            tp = info.annotation
        elif origin in (list, tuple) and isinstance(part, int):
            args = typing.get_args(tp)
            tp = args[part] if origin is tuple and part < len(args) else args[0]
        elif origin is dict:
            tp = typing.get_args(tp)[1]
        else:
            return None
        if isinstance(here, dict):
            here = here.get(part)
        elif isinstance(here, list | tuple) and isinstance(part, int) and part < len(here):
            here = here[part]
        else:
            here = None
    tp = unwrap(tp, here)
    return tp if isinstance(tp, type) and issubclass(tp, Model) else None


# --------------------------------------------------------------------------------------------
# JSON Schema
# --------------------------------------------------------------------------------------------


def json_schema(root: type[Model]) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``root``: its fields at the top, every model it
    uses under ``$defs``."""
    defs: dict[str, dict[str, Any]] = {}
    top = _model_schema(root, defs)
    out: dict[str, Any] = {}
    if defs:
        out["$defs"] = dict(sorted(defs.items()))
    out.update(top)
    return out


def _model_schema(cls: type[Model], defs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    hints = cls._hints()
    for name, info in cls.model_fields.items():
        schema = _type_schema(hints[name], defs, info)
        if info.description:
            schema["description"] = info.description
        if info.is_required():
            required.append(info.key)
        elif info.default_factory is None:
            default = info.default
            schema["default"] = default.value if isinstance(default, enum.Enum) else default
        properties[info.key] = schema
    schema = {
        "additionalProperties": False,
        "description": _cleandoc(cls.__doc__),
        "properties": properties,
    }
    if required:
        schema["required"] = required
    schema.update({"title": cls.__name__, "type": "object"})
    return cls._json_schema(schema)


def _cleandoc(doc: str | None) -> str:
    import inspect

    return inspect.cleandoc(doc or "")


def _ref(cls: type[Model], defs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    if cls.__name__ not in defs:
        defs[cls.__name__] = {}  # claimed first: models may refer to themselves
        defs[cls.__name__] = _model_schema(cls, defs)
    return {"$ref": f"#/$defs/{cls.__name__}"}


def _type_schema(
    tp: Any, defs: dict[str, dict[str, Any]], info: FieldInfo | None
) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        tagged = next((m for m in args[1:] if isinstance(m, Tagged)), None)
        if tagged is not None:
            return {"oneOf": [_ref(m, defs) for m in tagged.choices.values()]}
        schema = _type_schema(args[0], defs, info)
        for meta in args[1:]:
            if isinstance(meta, Constrained):
                if meta.description:
                    schema["description"] = meta.description
                if meta.max_length is not None:
                    schema["maxLength"] = meta.max_length
                if meta.pattern:
                    schema["pattern"] = meta.pattern
        return schema
    if origin in (typing.Union, types.UnionType):
        members = [_type_schema(a, defs, info) for a in args if a is not type(None)]
        if type(None) in args:
            members.append({"type": "null"})
        return {"anyOf": members}
    if origin is list:
        schema = {"items": _type_schema(args[0], defs, None), "type": "array"}
        if info is not None and info.min_length is not None:
            schema["minItems"] = info.min_length
        return schema
    if origin is tuple:
        items = [_type_schema(a, defs, None) for a in args]
        return {
            "maxItems": len(items),
            "minItems": len(items),
            "prefixItems": items,
            "type": "array",
        }
    if origin is dict:
        return {"additionalProperties": _type_schema(args[1], defs, None), "type": "object"}
    if origin is typing.Literal:
        if len(args) == 1:
            return {"const": args[0]}
        if all(isinstance(a, str) for a in args):
            return {"enum": list(args), "type": "string"}
        return {"enum": list(args)}
    if isinstance(tp, type) and issubclass(tp, Model):
        return _ref(tp, defs)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"enum": [m.value for m in tp], "type": "string"}
    simple = {str: "string", int: "integer", float: "number", bool: "boolean"}
    if tp in simple:
        schema = {"type": simple[tp]}
        if info is not None:
            if info.pattern:
                schema["pattern"] = info.pattern
            for key, value in (
                ("minimum", info.ge),
                ("exclusiveMinimum", info.gt),
                ("maximum", info.le),
            ):
                if value is not None:
                    schema[key] = value
        return schema
    if tp is dt.date:
        return {"format": "date", "type": "string"}
    return {}

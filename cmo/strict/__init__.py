"""Strict records: typed models read from YAML data, every mistake an error with its place.

cmo's files (theories, indicators, ``cmo.yaml``, office mappings) are small documents in a fixed
language. This package is all the validation library they need, written for them: a model is a
class with annotated fields; ``Model.model_validate(data)`` returns an instance or raises
:class:`ValidationError` listing *every* problem with its path into the data (``loc``), a
``type`` and a message. It imports nothing heavy, so ``cmo validate`` starts fast (issue 13).

The rules, chosen for hand-written YAML:

- unknown keys are errors (``extra_forbidden``); a key may be given by its alias or its name;
- numbers are accepted as text (``label: 2026``); text is read as a number only when it is one
  (``"5"``, ``" 2.5 "``); ``true``/``false`` are never numbers, and numbers are never dates;
- ``int`` takes a float only when it is whole (and below 2**63); ``date`` takes a date, a
  datetime at midnight without a time zone, or ``YYYY-MM-DD`` text;
- ``X | None`` takes null; a union of types takes the first type the value *is* (so ``1`` stays
  an integer and ``"1"`` text), otherwise the first that accepts it;
- ``Annotated[A | B, Tagged(kind_of, {...})]`` picks the model by ``kind_of(value)``.

Messages use the wording pydantic made familiar ("Field required", "Input should be a valid
integer"), and :func:`json_schema` writes the JSON Schema (draft 2020-12) of a model, so the
schema editors use and the validation cmo does come from one definition.
"""

from cmo.strict.model import (
    Constrained,
    Field,
    FieldInfo,
    Loc,
    Model,
    Tagged,
    ValidationError,
)
from cmo.strict.schema import json_schema, model_at, unwrap

__all__ = [
    "Constrained",
    "Field",
    "FieldInfo",
    "Loc",
    "Model",
    "Tagged",
    "ValidationError",
    "json_schema",
    "model_at",
    "unwrap",
]

"""Declaring strict models: fields, their constraints, the model base class."""

from __future__ import annotations

import copy
import sys
import types
import typing
from collections.abc import Callable
from typing import Any, ClassVar

_REQUIRED: Any = type("Required", (), {"__repr__": lambda self: "REQUIRED"})()
_FAIL: Any = type("Fail", (), {"__repr__": lambda self: "FAIL"})()

Loc = tuple[str | int, ...]
Validator = Callable[[Any, Loc, list[dict[str, Any]]], Any]


class ValidationError(ValueError):
    """Every problem found in one document, each a dict: ``type``, ``loc``, ``msg``, ``input``."""

    def __init__(self, title: str, errors: list[dict[str, Any]]) -> None:
        self.title = title
        self._errors = errors
        first = errors[0] if errors else {"loc": (), "msg": ""}
        where = ".".join(str(p) for p in first["loc"])
        super().__init__(f"{len(errors)} error(s) in {title}: {where} {first['msg']}".strip())

    def errors(self, *, include_url: bool = False) -> list[dict[str, Any]]:
        return [dict(e) for e in self._errors]


# --------------------------------------------------------------------------------------------
# Declaring fields
# --------------------------------------------------------------------------------------------


class Constrained:
    """Constraints and a description for ``Annotated[str, Constrained(...)]`` (e.g. an id)."""

    def __init__(
        self,
        *,
        pattern: str | None = None,
        max_length: int | None = None,
        description: str | None = None,
    ) -> None:
        self.pattern = pattern
        self.max_length = max_length
        self.description = description


class Tagged:
    """A union of models told apart by ``kind_of(value)`` → a key of ``choices``."""

    def __init__(self, kind_of: Callable[[Any], str], choices: dict[str, type[Model]]) -> None:
        self.kind_of = kind_of
        self.choices = choices


class FieldInfo:
    """One field of a model: its key (alias), default, description and constraints."""

    def __init__(
        self,
        default: Any = _REQUIRED,
        *,
        default_factory: Callable[[], Any] | None = None,
        alias: str | None = None,
        description: str | None = None,
        pattern: str | None = None,
        min_length: int | None = None,
        max_length: int | None = None,
        ge: float | None = None,
        gt: float | None = None,
        le: float | None = None,
    ) -> None:
        self.default = default
        self.default_factory = default_factory
        self.alias = alias
        self._description = description
        self.pattern = pattern
        self.min_length = min_length
        self.max_length = max_length
        self.ge, self.gt, self.le = ge, gt, le
        self.name = ""
        self.owner: type[Model] | None = None

    def is_required(self) -> bool:
        return self.default is _REQUIRED and self.default_factory is None

    @property
    def key(self) -> str:
        """The key the field is written with in a file."""
        return self.alias or self.name

    @property
    def annotation(self) -> Any:
        assert self.owner is not None
        return self.owner._hints()[self.name]

    @property
    def description(self) -> str | None:
        """The field's own description, else its type's (e.g. what an id is)."""
        if self._description is not None:
            return self._description
        return next((m.description for m in self.metadata if isinstance(m, Constrained)), None)

    @property
    def metadata(self) -> list[Any]:
        """Constraints from the field's ``Annotated`` type (e.g. an id's pattern)."""
        tp = self.annotation
        if typing.get_origin(tp) is typing.Annotated:
            return list(typing.get_args(tp)[1:])
        return []

    def make_default(self) -> Any:
        if self.default_factory is not None:
            return self.default_factory()
        if isinstance(self.default, list | dict | set):
            return copy.copy(self.default)  # never one list shared by every record
        return self.default


def Field(default: Any = _REQUIRED, **kwargs: Any) -> Any:
    """Declare a field: ``name: int = Field(5, ge=2, description="...")``."""
    return FieldInfo(default, **kwargs)


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


class Model:
    """Base of strict models. Subclasses annotate their fields; values are checked on
    :meth:`model_validate` (and on construction with keywords)."""

    model_fields: ClassVar[dict[str, FieldInfo]] = {}
    _validator: ClassVar[Validator | None] = None
    #: What a value of this model looks like, for the message when something else is given.
    _expected: ClassVar[str | None] = None
    _hints_cache: ClassVar[dict[str, Any] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields: dict[str, FieldInfo] = {}
        for base in reversed(cls.__mro__[1:]):
            fields.update(getattr(base, "model_fields", {}))
        # the class's own annotations (inspect.get_annotations would cost an import of inspect)
        for name, ann in cls.__dict__.get("__annotations__", {}).items():  # noqa: RUF063
            if name.startswith("_") or "ClassVar" in str(ann):
                continue
            value = cls.__dict__.get(name, _REQUIRED)
            info = value if isinstance(value, FieldInfo) else FieldInfo(value)
            info.name, info.owner = name, cls
            fields[name] = info
            if name in cls.__dict__:
                delattr(cls, name)
        cls.model_fields = fields
        cls._validator = None
        cls._hints_cache = None

    def __init__(self, **data: Any) -> None:
        validated = type(self).model_validate(data)
        self.__dict__.update(validated.__dict__)

    @classmethod
    def _hints(cls) -> dict[str, Any]:
        if cls._hints_cache is None:
            hints: dict[str, Any] = {}
            for klass in reversed(cls.__mro__):
                if klass is object or not issubclass(klass, Model) or klass is Model:
                    continue
                module = sys.modules[klass.__module__].__dict__
                for name, tp in klass.__dict__.get("__annotations__", {}).items():  # noqa: RUF063
                    if name in cls.model_fields:
                        hints[name] = _evaluate(tp, module)
            cls._hints_cache = hints
        return cls._hints_cache

    @classmethod
    def model_validate(cls: type[_M], data: Any) -> _M:
        """An instance from ``data`` (a mapping), or :class:`ValidationError` with every
        problem found."""
        errors: list[dict[str, Any]] = []
        from cmo.strict.check import model_validator

        value = model_validator(cls)(data, (), errors)
        if errors:
            raise ValidationError(cls.__name__, errors)
        return typing.cast(_M, value)

    # Hooks for subclasses ----------------------------------------------------------------

    @classmethod
    def _before(cls, value: Any) -> Any:
        """Turn a shorthand into the mapping form (e.g. a plain string into a text)."""
        return value

    def _after(self) -> None:
        """Check the whole record; raise ``ValueError`` with the message."""

    @classmethod
    def _check_field(cls, name: str, value: Any, seen: dict[str, Any]) -> Any:
        """Check one field's value given the fields before it; raise ``ValueError``."""
        return value

    @classmethod
    def _json_schema(cls, schema: dict[str, Any]) -> dict[str, Any]:
        """Adjust the model's JSON Schema (e.g. to say a plain string is accepted too)."""
        return schema

    # Plain-object conveniences ----------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.__dict__ == self.__dict__

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.model_fields)
        return f"{type(self).__name__}({inner})"


_M = typing.TypeVar("_M", bound=Model)


def _evaluate(tp: Any, namespace: dict[str, Any]) -> Any:
    """Resolve string annotations and forward references against the model's module."""
    if isinstance(tp, str):
        tp = eval(tp, namespace)
    if isinstance(tp, typing.ForwardRef):
        tp = eval(tp.__forward_arg__, namespace)
    origin = typing.get_origin(tp)
    if origin is None or origin is typing.Literal:
        return tp
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return typing.Annotated[(_evaluate(args[0], namespace), *args[1:])]
    new = tuple(_evaluate(a, namespace) for a in args)
    if new == args:
        return tp
    if origin in (typing.Union, types.UnionType):
        return typing.Union[new]  # noqa: UP007 - rebuilt from parts
    return origin[new] if origin in (list, tuple, dict) else tp

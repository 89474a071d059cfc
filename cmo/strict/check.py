"""Validating values: each type compiled once into a function that checks and converts a value,
appending every problem to a list."""

from __future__ import annotations

import datetime as dt
import enum
import math
import re
import threading
import types
import typing
from collections.abc import Callable
from typing import Any

from cmo.strict.model import (
    _FAIL,
    Constrained,
    FieldInfo,
    Loc,
    Model,
    Tagged,
    Validator,
)

_INT_TEXT = re.compile(r"[+-]?[0-9]+")
#: Number text as people write it, in ASCII digits (Python's float() would also read "３０").
_FLOAT_TEXT = re.compile(
    r"[+-]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|inf|infinity|nan)", re.IGNORECASE
)
#: The largest integer a file may hold as a whole float (1.0e+300 is no count or scale point).
_MAX_INT_FROM_FLOAT = 2**63
_COMPILING = threading.Lock()


def _error(errors: list[dict[str, Any]], kind: str, loc: Loc, msg: str, value: Any) -> Any:
    errors.append({"type": kind, "loc": loc, "msg": msg, "input": value})
    return _FAIL


def model_validator(cls: type[Model]) -> Validator:
    """The validator of a model, compiled on first use. It is published only when complete
    (other threads wait for it), and fields that are models look theirs up when called, so
    models may refer to each other and to themselves."""
    found = cls.__dict__.get("_validator")
    if found is not None:
        return typing.cast(Validator, found)
    with _COMPILING:
        found = cls.__dict__.get("_validator")
        if found is None:
            found = _compile_model(cls)
            cls._validator = found
    return typing.cast(Validator, found)


def _compile_model(cls: type[Model]) -> Validator:
    compiled: list[tuple[FieldInfo, Validator]] = []

    def validate(value: Any, loc: Loc, errors: list[dict[str, Any]]) -> Any:
        if isinstance(value, cls):
            return value
        value = cls._before(value)
        if not isinstance(value, dict):
            msg = f"Input should be {cls._expected or 'a mapping of keys'}"
            return _error(errors, "model_type", loc, msg, value)
        before = len(errors)
        out: dict[str, Any] = {}
        used: set[Any] = set()
        for info, check in compiled:
            key = info.alias if info.alias is not None and info.alias in value else info.name
            if key not in value:
                if info.is_required():
                    _error(errors, "missing", (*loc, info.key), "Field required", value)
                else:
                    out[info.name] = info.make_default()
                continue
            used.add(key)
            got = check(value[key], (*loc, key), errors)
            if got is not _FAIL:
                try:
                    got = cls._check_field(info.name, got, out)
                except ValueError as exc:
                    got = _error(errors, "value_error", (*loc, key), f"Value error, {exc}", got)
            out[info.name] = got
        for key, item in value.items():
            if key not in used:
                _error(
                    errors, "extra_forbidden", (*loc, key), "Extra inputs are not permitted", item
                )
        if len(errors) > before:
            return _FAIL
        record = object.__new__(cls)
        record.__dict__.update(out)
        try:
            record._after()
        except ValueError as exc:
            return _error(errors, "value_error", loc, f"Value error, {exc}", value)
        return record

    hints = cls._hints()
    for name, info in cls.model_fields.items():
        compiled.append((info, _compile(hints[name], info)))
    return validate


def _lazy_model(model: type[Model]) -> Validator:
    def check(value: Any, loc: Loc, errors: list[dict[str, Any]]) -> Any:
        return model_validator(model)(value, loc, errors)

    return check


def _compile(tp: Any, info: FieldInfo | None = None) -> Validator:
    """A validator for the type ``tp``, with the field's own constraints (``info``)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        inner, meta = args[0], args[1:]
        tagged = next((m for m in meta if isinstance(m, Tagged)), None)
        if tagged is not None:
            return _tagged(tagged)
        limits = next((m for m in meta if isinstance(m, Constrained)), None)
        if limits is not None and info is None:
            info = FieldInfo(pattern=limits.pattern, max_length=limits.max_length)
        elif limits is not None and info is not None:
            info = _merged(info, limits)
        return _compile(inner, info)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        inner_check = _compile(members[0], info) if len(members) == 1 else _union(members, info)
        if len(members) == len(args):
            return inner_check

        def optional(value: Any, loc: Loc, errors: list[dict[str, Any]]) -> Any:
            return None if value is None else inner_check(value, loc, errors)

        return optional
    if origin is list:
        return _list(_compile(args[0]), info)
    if origin is tuple:
        return _tuple([_compile(a) for a in args])
    if origin is dict:
        return _dict(_compile(args[1]))
    if origin is typing.Literal:
        return _literal(args)
    if isinstance(tp, type) and issubclass(tp, Model):
        return _lazy_model(tp)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum(tp)
    scalar = _SCALARS.get(tp)
    if scalar is not None:
        return _constrained(scalar, info) if info is not None else scalar
    if tp is Any:
        return lambda value, loc, errors: value
    raise TypeError(f"strict models cannot check values of type {tp!r}")


def _merged(info: FieldInfo, limits: Constrained) -> FieldInfo:
    return FieldInfo(
        pattern=info.pattern or limits.pattern,
        max_length=info.max_length if info.max_length is not None else limits.max_length,
        min_length=info.min_length,
        ge=info.ge,
        gt=info.gt,
        le=info.le,
    )


def _anchored(pattern: str) -> re.Pattern[str]:
    # '$' in Python also matches before a final newline; a pattern's end means the text's end
    return re.compile(pattern[:-1] + r"\Z" if pattern.endswith("$") else pattern)


def _constrained(base: Validator, info: FieldInfo) -> Validator:
    pattern = _anchored(info.pattern) if info.pattern else None
    max_length = info.max_length
    ge, gt, le = info.ge, info.gt, info.le
    if pattern is None and max_length is None and ge is None and gt is None and le is None:
        return base

    def check(value: Any, loc: Loc, errors: list[dict[str, Any]]) -> Any:
        got = base(value, loc, errors)
        if got is _FAIL:
            return got
        if isinstance(got, str):
            if max_length is not None and len(got) > max_length:
                msg = f"String should have at most {max_length} characters"
                return _error(errors, "string_too_long", loc, msg, got)
            if pattern is not None and not pattern.search(got):
                msg = f"String should match pattern '{info.pattern}'"
                return _error(errors, "string_pattern_mismatch", loc, msg, got)
            return got
        if ge is not None and not got >= ge:
            return _error(
                errors,
                "greater_than_equal",
                loc,
                f"Input should be greater than or equal to {_num(ge)}",
                got,
            )
        if gt is not None and not got > gt:
            return _error(
                errors, "greater_than", loc, f"Input should be greater than {_num(gt)}", got
            )
        if le is not None and not got <= le:
            return _error(
                errors,
                "less_than_equal",
                loc,
                f"Input should be less than or equal to {_num(le)}",
                got,
            )
        return got

    return check


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _str(value: Any, loc: Loc, errors: list[dict[str, Any]]) -> Any:
    if type(value) is str:
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # a number written where text is expected: the text it reads as
    if isinstance(value, str):
        return str(value)
    return _error(errors, "string_type", loc, "Input should be a valid string", value)


def _int(value: Any, loc: Loc, errors: list[dict[str, Any]]) -> Any:
    if type(value) is int:
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return _error(errors, "finite_number", loc, "Input should be a finite number", value)
        if value.is_integer() and abs(value) < _MAX_INT_FROM_FLOAT:
            return int(value)
        if value.is_integer():
            msg = "Unable to parse input as an integer, exceeded maximum size"
            return _error(errors, "int_parsing_size", loc, msg, value)
        msg = "Input should be a valid integer, got a number with a fractional part"
        return _error(errors, "int_from_float", loc, msg, value)
    if isinstance(value, str):
        text = value.strip()
        if _INT_TEXT.fullmatch(text) and len(text) <= 4000:
            return int(text)
        msg = "Input should be a valid integer, unable to parse string as an integer"
        return _error(errors, "int_parsing", loc, msg, value)
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    return _error(errors, "int_type", loc, "Input should be a valid integer", value)


def _float(value: Any, loc: Loc, errors: list[dict[str, Any]]) -> Any:
    if type(value) is float:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:
            return _error(errors, "finite_number", loc, "Input should be a finite number", value)
    if isinstance(value, str):
        text = value.strip()
        if _FLOAT_TEXT.fullmatch(text):
            return float(text)
        msg = "Input should be a valid number, unable to parse string as a number"
        return _error(errors, "float_parsing", loc, msg, value)
    if isinstance(value, float):
        return float(value)
    return _error(errors, "float_type", loc, "Input should be a valid number", value)


def _bool(value: Any, loc: Loc, errors: list[dict[str, Any]]) -> Any:
    if isinstance(value, bool):
        return value
    return _error(errors, "bool_type", loc, "Input should be a valid boolean", value)


def _date(value: Any, loc: Loc, errors: list[dict[str, Any]]) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            msg = "Input should be a date, without a time or a time zone"
            return _error(errors, "date_type", loc, msg, value)
        if value.time() == dt.time(0):
            return value.date()
        msg = "Datetimes provided to dates should have zero time - e.g. be exact dates"
        return _error(errors, "date_from_datetime_inexact", loc, msg, value)
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            try:
                return dt.date.fromisoformat(text)
            except ValueError:
                pass
        msg = "Input should be a valid date in the format YYYY-MM-DD"
        return _error(errors, "date_parsing", loc, msg, value)
    return _error(errors, "date_type", loc, "Input should be a valid date", value)


_SCALARS: dict[Any, Validator] = {str: _str, int: _int, float: _float, bool: _bool, dt.date: _date}


def _exact(tp: Any) -> Callable[[Any], bool] | None:
    """For a union: the test that a value already *is* of this member type."""
    if tp in (int, float, str, bool):
        return lambda value: type(value) is tp
    if tp is dt.date:
        return lambda value: type(value) is dt.date
    if isinstance(tp, type) and issubclass(tp, Model):
        return lambda value: isinstance(value, tp)
    origin = typing.get_origin(tp)
    if origin is list:
        return lambda value: isinstance(value, list)
    if origin is dict:
        return lambda value: isinstance(value, dict)
    return None


def _union(members: list[Any], info: FieldInfo | None) -> Validator:
    checks = [(_exact(m), _compile(m, info)) for m in members]

    def check(value: Any, loc: Loc, errors: list[dict[str, Any]]) -> Any:
        for exact, member in checks:
            if exact is not None and exact(value):
                return member(value, loc, errors)
        tried: list[dict[str, Any]] = []
        for _, member in checks:
            attempt: list[dict[str, Any]] = []
            got = member(value, loc, attempt)
            if not attempt:
                return got
            tried += attempt
        errors.extend(tried)
        return _FAIL

    return check


def _tagged(tagged: Tagged) -> Validator:
    def check(value: Any, loc: Loc, errors: list[dict[str, Any]]) -> Any:
        model = tagged.choices[tagged.kind_of(value)]
        return model_validator(model)(value, loc, errors)

    return check


def _list(item: Validator, info: FieldInfo | None) -> Validator:
    min_length = info.min_length if info is not None else None

    def check(value: Any, loc: Loc, errors: list[dict[str, Any]]) -> Any:
        if not isinstance(value, list | tuple):
            return _error(errors, "list_type", loc, "Input should be a valid list", value)
        before = len(errors)
        out = [item(v, (*loc, i), errors) for i, v in enumerate(value)]
        if len(errors) > before:
            return _FAIL
        if min_length is not None and len(out) < min_length:
            noun = "item" if min_length == 1 else "items"
            msg = f"List should have at least {min_length} {noun} after validation, not {len(out)}"
            return _error(errors, "too_short", loc, msg, value)
        return out

    return check


def _tuple(items: list[Validator]) -> Validator:
    def check(value: Any, loc: Loc, errors: list[dict[str, Any]]) -> Any:
        if not isinstance(value, list | tuple):
            return _error(errors, "tuple_type", loc, "Input should be a valid tuple", value)
        if len(value) > len(items):
            msg = f"Tuple should have at most {len(items)} items after validation, not {len(value)}"
            return _error(errors, "too_long", loc, msg, value)
        before = len(errors)
        out = []
        for i, item in enumerate(items):
            if i < len(value):
                out.append(item(value[i], (*loc, i), errors))
            else:
                _error(errors, "missing", (*loc, i), "Field required", value)
        return _FAIL if len(errors) > before else tuple(out)

    return check


def _dict(item: Validator) -> Validator:
    def check(value: Any, loc: Loc, errors: list[dict[str, Any]]) -> Any:
        if not isinstance(value, dict):
            return _error(errors, "dict_type", loc, "Input should be a valid dictionary", value)
        before = len(errors)
        out = {}
        for key, v in value.items():
            name = _str(key, (*loc, key), errors)
            if name in out:
                msg = f"Input has the key '{name}' twice (once as a number, once as text)"
                _error(errors, "duplicate_key", (*loc, key), msg, v)
                continue
            out[name] = item(v, (*loc, key), errors)
        return _FAIL if len(errors) > before else out

    return check


def _choices_text(values: list[Any]) -> str:
    shown = [repr(v) if not isinstance(v, str) else f"'{v}'" for v in values]
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"


def _literal(allowed: tuple[Any, ...]) -> Validator:
    msg = f"Input should be {_choices_text(list(allowed))}"

    def check(value: Any, loc: Loc, errors: list[dict[str, Any]]) -> Any:
        for a in allowed:
            if type(value) is type(a) and value == a:
                return a
        return _error(errors, "literal_error", loc, msg, value)

    return check


def _enum(tp: type[enum.Enum]) -> Validator:
    members = {m.value: m for m in tp}
    msg = f"Input should be {_choices_text(list(members))}"

    def check(value: Any, loc: Loc, errors: list[dict[str, Any]]) -> Any:
        if isinstance(value, tp):
            return value
        match = next((m for v, m in members.items() if type(v) is type(value) and v == value), None)
        if match is not None:
            return match
        return _error(errors, "enum", loc, msg, value)

    return check

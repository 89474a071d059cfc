"""cmo.strict, the models behind every file cmo reads: what each type accepts, what it refuses
with which error, and that its JSON Schema says the same as its validation."""

from __future__ import annotations

import datetime as dt
import enum
import typing
from enum import StrEnum
from typing import Annotated, Any, Literal

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmo.strict import Constrained, Field, Model, Tagged, ValidationError, json_schema, model_at


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


Id = Annotated[str, Constrained(pattern=r"^[a-z][a-z0-9_]*$", max_length=8, description="An id.")]


class Leaf(Model):
    """A leaf."""

    name: Id
    count: int = Field(1, ge=1, description="How many.")
    share: float | None = Field(None, gt=0, le=1, description="A share.")
    on: dt.date | None = None
    colour: Colour = Colour.RED
    method: Literal["mean", "sum"] = "mean"
    code: int | str = 0
    pair: tuple[float, float] | None = None
    tags: list[str] = Field(default_factory=list, min_length=0)
    labels: dict[str, int | str] = Field(default_factory=dict)
    key: str | None = Field(None, alias="in")


class Both(Model):
    """Two conditions."""

    all: list[Node] = Field(min_length=1)


def _kind(value: Any) -> str:
    return "both" if isinstance(value, dict) and "all" in value else "leaf"


Node = Annotated[Leaf | Both, Tagged(_kind, {"leaf": Leaf, "both": Both})]


class Root(Model):
    """A root."""

    node: Node
    nodes: list[Node] = Field(default_factory=list)


def _errors(model: type[Model], data: Any) -> list[tuple[str, tuple[Any, ...], str]]:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    return [(e["type"], e["loc"], e["msg"]) for e in info.value.errors()]


def test_defaults_aliases_and_conversions() -> None:
    leaf = Leaf.model_validate(
        {"name": "a1", "count": "3", "share": 1, "on": "2026-03-01", "colour": "blue", "in": 5}
    )
    assert (leaf.count, leaf.share, leaf.on) == (3, 1.0, dt.date(2026, 3, 1))
    assert leaf.colour is Colour.BLUE and leaf.method == "mean" and leaf.key == "5"
    assert leaf.tags == [] and leaf.tags is not Leaf.model_validate({"name": "b"}).tags
    assert Leaf.model_validate({"name": "a", "key": "by name"}).key == "by name"
    assert Leaf.model_validate({"name": "a", "on": dt.datetime(2026, 3, 1)}).on == dt.date(
        2026, 3, 1
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, [("missing", ("name",), "Field required")]),
        (
            {"name": "a", "nme": 1},
            [("extra_forbidden", ("nme",), "Extra inputs are not permitted")],
        ),
        (
            {"name": "A b"},
            [
                (
                    "string_pattern_mismatch",
                    ("name",),
                    "String should match pattern '^[a-z][a-z0-9_]*$'",
                )
            ],
        ),
        (
            {"name": "a\n"},
            [
                (
                    "string_pattern_mismatch",
                    ("name",),
                    "String should match pattern '^[a-z][a-z0-9_]*$'",
                )
            ],
        ),
        (
            {"name": "abcdefghi"},
            [("string_too_long", ("name",), "String should have at most 8 characters")],
        ),
        ({"name": True}, [("string_type", ("name",), "Input should be a valid string")]),
        (
            {"name": "a", "count": 0},
            [("greater_than_equal", ("count",), "Input should be greater than or equal to 1")],
        ),
        (
            {"name": "a", "count": 1.5},
            [
                (
                    "int_from_float",
                    ("count",),
                    "Input should be a valid integer, got a number with a fractional part",
                )
            ],
        ),
        (
            {"name": "a", "count": True},
            [("int_type", ("count",), "Input should be a valid integer")],
        ),
        (
            {"name": "a", "count": "x"},
            [
                (
                    "int_parsing",
                    ("count",),
                    "Input should be a valid integer, unable to parse string as an integer",
                )
            ],
        ),
        (
            {"name": "a", "count": "9" * 5000},
            [
                (
                    "int_parsing",
                    ("count",),
                    "Input should be a valid integer, unable to parse string as an integer",
                )
            ],
        ),
        (
            {"name": "a", "share": 0},
            [("greater_than", ("share",), "Input should be greater than 0")],
        ),
        (
            {"name": "a", "share": 2},
            [("less_than_equal", ("share",), "Input should be less than or equal to 1")],
        ),
        (
            {"name": "a", "share": float("nan")},
            [("greater_than", ("share",), "Input should be greater than 0")],
        ),
        (
            {"name": "a", "share": "x"},
            [
                (
                    "float_parsing",
                    ("share",),
                    "Input should be a valid number, unable to parse string as a number",
                )
            ],
        ),
        (
            {"name": "a", "share": 10**400},
            [("finite_number", ("share",), "Input should be a finite number")],
        ),
        ({"name": "a", "on": 0}, [("date_type", ("on",), "Input should be a valid date")]),
        (
            {"name": "a", "on": "1.2.2026"},
            [("date_parsing", ("on",), "Input should be a valid date in the format YYYY-MM-DD")],
        ),
        (
            {"name": "a", "on": "2026-02-30"},
            [("date_parsing", ("on",), "Input should be a valid date in the format YYYY-MM-DD")],
        ),
        (
            {"name": "a", "on": dt.datetime(2026, 1, 1, 12)},
            [
                (
                    "date_from_datetime_inexact",
                    ("on",),
                    "Datetimes provided to dates should have zero time - e.g. be exact dates",
                )
            ],
        ),
        (
            {"name": "a", "colour": "green"},
            [("enum", ("colour",), "Input should be 'red' or 'blue'")],
        ),
        (
            {"name": "a", "method": "median"},
            [("literal_error", ("method",), "Input should be 'mean' or 'sum'")],
        ),
        (
            {"name": "a", "code": None},
            [
                ("int_type", ("code",), "Input should be a valid integer"),
                ("string_type", ("code",), "Input should be a valid string"),
            ],
        ),
        (
            {"name": "a", "pair": [1, 2, 3]},
            [("too_long", ("pair",), "Tuple should have at most 2 items after validation, not 3")],
        ),
        ({"name": "a", "pair": [1]}, [("missing", ("pair", 1), "Field required")]),
        ({"name": "a", "tags": "x"}, [("list_type", ("tags",), "Input should be a valid list")]),
        (
            {"name": "a", "tags": [[1]]},
            [("string_type", ("tags", 0), "Input should be a valid string")],
        ),
        (
            {"name": "a", "labels": []},
            [("dict_type", ("labels",), "Input should be a valid dictionary")],
        ),
        (
            {"name": "a", "labels": {"k": [1]}},
            [
                ("int_type", ("labels", "k"), "Input should be a valid integer"),
                ("string_type", ("labels", "k"), "Input should be a valid string"),
            ],
        ),
        ([], [("model_type", (), "Input should be a mapping of keys")]),
    ],
)
def test_each_mistake_is_an_error_at_its_place(data: Any, expected: list[Any]) -> None:
    assert _errors(Leaf, data) == expected


def test_every_error_of_a_document_is_reported_not_only_the_first() -> None:
    found = _errors(Root, {"node": {"all": [{"name": "x", "cont": 1}, {"all": []}]}, "nodes": [{}]})
    assert found == [
        ("extra_forbidden", ("node", "all", 0, "cont"), "Extra inputs are not permitted"),
        (
            "too_short",
            ("node", "all", 1, "all"),
            "List should have at least 1 item after validation, not 0",
        ),
        ("missing", ("nodes", 0, "name"), "Field required"),
    ]


def test_unions_keep_what_a_value_is() -> None:
    assert Leaf.model_validate({"name": "a", "code": 1}).code == 1
    assert Leaf.model_validate({"name": "a", "code": "1"}).code == "1"
    assert Leaf.model_validate({"name": "a", "code": 2.0}).code == 2
    assert Leaf.model_validate({"name": "a", "code": 2.5}).code == "2.5"


def test_tagged_unions_pick_the_model_and_walk_to_it() -> None:
    data = {"node": {"all": [{"name": "x"}, {"all": [{"name": "y"}]}]}}
    root = Root.model_validate(data)
    assert isinstance(root.node, Both) and isinstance(root.node.all[1], Both)
    assert model_at(Root, data, ("node",)) is Both
    assert model_at(Root, data, ("node", "all", 0)) is Leaf
    assert model_at(Root, data, ("node", "all", 1, "all", 0)) is Leaf
    assert model_at(Root, data, ("node", "all", 0, "name")) is None


def test_models_compare_by_value_and_construct_with_checks() -> None:
    assert Leaf(name="a") == Leaf.model_validate({"name": "a"})
    assert Leaf(name="a") != Leaf(name="b")
    with pytest.raises(ValidationError):
        Leaf(name="A")


def test_the_json_schema_is_valid_and_has_every_field() -> None:
    schema = json_schema(Root)
    jsonschema.Draft202012Validator.check_schema(schema)
    leaf = schema["$defs"]["Leaf"]
    assert leaf["additionalProperties"] is False and leaf["required"] == ["name"]
    assert set(leaf["properties"]) == {f.key for f in Leaf.model_fields.values()}
    assert leaf["properties"]["name"]["pattern"] == "^[a-z][a-z0-9_]*$"
    assert leaf["properties"]["count"] == {
        "type": "integer",
        "minimum": 1,
        "description": "How many.",
        "default": 1,
    }


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["a", "b1", "A", "", "red"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["name", "count", "all", "node", "x", "in"]), inner, max_size=3
        )
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(_json)
def test_schema_and_validation_agree_on_json_data(data: Any) -> None:
    """What the JSON Schema accepts, validation accepts, and the other way round (for data
    without the conversions only validation makes: numbers as text, text as numbers)."""
    schema = json_schema(Root)
    by_schema = jsonschema.Draft202012Validator(schema).is_valid(data)
    try:
        Root.model_validate(data)
        by_model = True
    except ValidationError:
        by_model = False
    if by_model != by_schema:
        # the only differences allowed: validation reading numbers as text and whole text as numbers
        assert by_model and not by_schema, data


@pytest.mark.parametrize("kind", ["theory", "indicators", "settings"])
def test_the_shipped_schemas_are_valid_json_schema(kind: str) -> None:
    from cmo.theory.schema import json_schema as shipped

    jsonschema.Draft202012Validator.check_schema(shipped(kind))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"name": "a", "count": 1.0e300}, "int_parsing_size"),
        ({"name": "a", "share": "０.５"}, "float_parsing"),
        ({"name": "a", "on": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}, "date_type"),
        ({"name": "a", "labels": {1: 2, "1": 3}}, "duplicate_key"),
    ],
)
def test_found_in_review(data: Any, expected: str) -> None:
    """Whole floats beyond 2**63 are no counts, digits are ASCII, a date has no time zone, a
    number key and its text are one key."""
    assert [kind for kind, _, _ in _errors(Leaf, data)] == [expected]


class Level(enum.IntEnum):
    ONE = 1
    TWO = 2


class Plain(Model):
    """Defaults given as values, an enum of numbers."""

    xs: list[str] = []  # noqa: RUF012 - a value default, as a user might write it
    level: Level = Level.ONE


def test_list_defaults_are_not_shared_and_number_enums_take_their_numbers() -> None:
    a, b = Plain.model_validate({}), Plain.model_validate({"level": 2})
    a.xs.append("x")
    assert b.xs == [] and b.level is Level.TWO
    assert _errors(Plain, {"level": "2"})[0][0] == "enum"


def test_models_validated_for_the_first_time_in_many_threads_agree() -> None:
    """A validator is published only when complete: threads racing to compile it all see
    the whole model (a half-built one reported made-up unknown keys)."""
    import threading

    # many fields, so that compiling takes long enough for the threads to meet in it
    fields: dict[str, Any] = {f"a{i}": list[Leaf] | None for i in range(400)}
    wide = typing.cast(
        type[Model],
        type("Wide", (Model,), {"__annotations__": fields, "__module__": __name__}),
    )
    data = {f"a{i}": [{"name": "x"}] for i in range(400)}
    failures: list[BaseException] = []
    start = threading.Barrier(8)

    def work() -> None:
        start.wait()
        try:
            wide.model_validate(data)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures

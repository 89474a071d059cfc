"""The theory language's models."""

from __future__ import annotations

import pytest

from cmo.strict import ValidationError
from cmo.theory.models import AllOf, AnyOf, Comparison, Context, NotOf, Text


def test_plain_string_label_is_finnish() -> None:
    text = Text.model_validate("Osallisuus")
    assert text.fi == "Osallisuus" and text.get("en") == "Osallisuus"


def test_text_falls_back_to_finnish_then_english() -> None:
    text = Text(fi="Luottamus", en="Trust")
    assert text.get("sv") == "Luottamus"
    assert Text(en="Trust").get("fi") == "Trust"


def test_text_needs_a_language() -> None:
    with pytest.raises(ValidationError):
        Text.model_validate({})


def test_conditions_nest() -> None:
    ctx = Context.model_validate(
        {
            "id": "c",
            "label": "C",
            "when": {
                "all": [
                    {"indicator": "a", "equals": 1},
                    {
                        "any": [
                            {"indicator": "b", "in": [1, 2]},
                            {"not": {"indicator": "c", "missing": True}},
                        ]
                    },
                ]
            },
        }
    )
    assert isinstance(ctx.when, AllOf)
    inner = ctx.when.all[1]
    assert isinstance(inner, AnyOf)
    assert isinstance(inner.any[0], Comparison) and inner.any[0].in_ == [1, 2]
    assert isinstance(inner.any[1], NotOf)


def test_unknown_keys_are_forbidden() -> None:
    with pytest.raises(ValidationError) as info:
        Comparison.model_validate({"indicator": "a", "eqals": 1})
    assert info.value.errors()[0]["type"] == "extra_forbidden"


def test_a_number_where_a_text_is_due_is_its_text() -> None:
    assert Text.model_validate(2026).fi == "2026"
    with pytest.raises(ValidationError) as info:
        Text.model_validate(["a"])
    assert info.value.errors()[0]["msg"].startswith("Input should be a text, or texts by language")


def test_a_list_where_a_condition_is_due_says_what_a_condition_is() -> None:
    with pytest.raises(ValidationError) as info:
        Context.model_validate({"id": "c", "label": "C", "when": {"not": [{"indicator": "a"}]}})
    assert info.value.errors()[0]["loc"] == ("when", "not")
    assert "a condition: a mapping such as {indicator" in info.value.errors()[0]["msg"]

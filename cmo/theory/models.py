"""The theory language: indicators and programme theories as strict models (:mod:`cmo.strict`).

Every field carries a description; the JSON Schema (``cmo schema``) and the field reference in
``docs/theory-reference.md`` are generated from these models, so they cannot drift apart.
Models forbid unknown keys (``extra="forbid"``): a typo is a finding, never silently ignored.
Semantic rules that need more than one field or file (references, types of conditions, graph
checks) live in :mod:`cmo.theory.checks`, where each finding gets its own code and position.
"""

import datetime as dt
from enum import StrEnum
from typing import Annotated, Any, Literal

from cmo.strict import Constrained, Field, Model, Tagged

ID_PATTERN = r"^[a-z][a-z0-9_]*$"
REF_PATTERN = r"^([a-z][a-z0-9_]*\.)?[a-z][a-z0-9_]*$"

Id = Annotated[
    str,
    Constrained(
        pattern=ID_PATTERN,
        max_length=64,
        description="Identifier: lower-case letters, digits and `_`, starting with a letter.",
    ),
]
Ref = Annotated[
    str,
    Constrained(
        pattern=REF_PATTERN,
        max_length=129,
        description="A reference to an id; `theory_id.element_id` reaches another theory.",
    ),
]
IdRef = Annotated[
    str,
    Constrained(
        pattern=ID_PATTERN,
        max_length=64,
        description="A reference to an indicator or measurement point id.",
    ),
]
Scalar = int | float | str | bool


class StrictModel(Model):
    """Base of every model of the theory language: unknown keys are errors."""


class Text(StrictModel):
    """Text in several languages. Finnish is first-class; a plain string means Finnish."""

    fi: str | None = Field(None, description="Finnish (suomi).")
    sv: str | None = Field(None, description="Swedish (svenska).")
    en: str | None = Field(None, description="English.")

    _expected = "a text, or texts by language ({fi: ..., sv: ..., en: ...})"

    @classmethod
    def _before(cls, value: Any) -> Any:
        # a plain string (or a number, read as its text) is Finnish
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        return {"fi": value} if isinstance(value, str) else value

    def _after(self) -> None:
        if not any((self.fi, self.sv, self.en)):
            raise ValueError("give the text in at least one language (fi, sv or en)")

    @classmethod
    def _json_schema(cls, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "anyOf": [
                {"type": "string", "description": "Finnish text (shorthand for {fi: ...})."},
                schema,
            ]
        }

    def get(self, lang: str = "fi") -> str:
        """The text in ``lang``, falling back to Finnish, English, Swedish."""
        for candidate in (lang, "fi", "en", "sv"):
            value = getattr(self, candidate, None)
            if value:
                return str(value)
        return ""  # pragma: no cover - prevented by the validator

    def languages(self) -> set[str]:
        return {lang for lang in ("fi", "sv", "en") if getattr(self, lang)}


# --------------------------------------------------------------------------------------------
# Indicators
# --------------------------------------------------------------------------------------------


class Level(StrEnum):
    """Where an indicator is measured."""

    CASE = "case"
    WORKER = "worker"
    OFFICE = "office"


class IndicatorType(StrEnum):
    """What kind of values an indicator takes."""

    LIKERT = "likert"
    BINARY = "binary"
    COUNT = "count"
    NUMERIC = "numeric"
    CATEGORY = "category"
    DATE = "date"


#: Types whose values are numbers that can be averaged and correlated.
QUANTITATIVE = frozenset(
    {IndicatorType.LIKERT, IndicatorType.BINARY, IndicatorType.COUNT, IndicatorType.NUMERIC}
)


class Direction(StrEnum):
    """Which way is good for an indicator."""

    HIGHER_IS_BETTER = "higher_is_better"
    LOWER_IS_BETTER = "lower_is_better"
    NEUTRAL = "neutral"


class Scale(StrictModel):
    """The points of a Likert scale, e.g. 1–5."""

    min: int = Field(description="Lowest point of the scale (e.g. 1).")
    max: int = Field(description="Highest point of the scale (e.g. 5).")


class ValueRange(StrictModel):
    """The valid range of a numeric or count indicator; values outside are quarantined."""

    min: float | None = Field(None, description="Smallest valid value.")
    max: float | None = Field(None, description="Largest valid value.")


class ValueLabel(StrictModel):
    """A code and the words offices use for it (in exports, forms and reports)."""

    code: int | str = Field(
        description="The stored code: a scale point (Likert), 0/1 (binary) or a category id."
    )
    label: Text = Field(description="The label shown in reports and read from exports.")
    synonyms: list[str] = Field(
        default_factory=list,
        description="Other words that mean this code in exports (any language), "
        "e.g. `kyllä`, `K`, `yes`. Compared without case and accents.",
    )


class Composite(StrictModel):
    """A composite scale: the indicator's value is computed from item indicators."""

    items: list[IdRef] = Field(min_length=2, description="The item indicators (at least two).")
    method: Literal["mean", "sum"] = Field(
        "mean",
        description="How items are combined: `mean`, or `sum` (prorated to all items when "
        "some are missing).",
    )
    min_items: int | None = Field(
        None,
        ge=1,
        description="Fewest answered items needed for a score (default: all items).",
    )
    reverse: list[IdRef] = Field(
        default_factory=list,
        description="Items scored in reverse before combining (min+max−value).",
    )


class Indicator(StrictModel):
    """A metric (mittari): what is measured, at which level, and how values are read."""

    id: Id
    label: Text = Field(description="Name of the indicator in reports.")
    description: Text | None = Field(None, description="What is measured and how (the question).")
    level: Level = Field(Level.CASE, description="`case`, `worker` or `office`.")
    type: IndicatorType = Field(
        description="`likert`, `binary`, `count`, `numeric`, `category` or `date`."
    )
    scale: Scale | None = Field(None, description="Scale points; required for `likert`.")
    values: list[ValueLabel] = Field(
        default_factory=list,
        description="Codes with labels and synonyms. Required for `category`; optional labels "
        "for `likert` points and `binary` 0/1.",
    )
    range: ValueRange | None = Field(None, description="Valid range (`numeric`, `count`).")
    unit: str | None = Field(None, description="Unit shown after values, e.g. `€` or `km`.")
    direction: Direction = Field(
        Direction.NEUTRAL, description="Whether higher values are better or worse."
    )
    aliases: list[str] = Field(
        default_factory=list,
        description="Column names used for this indicator in office exports (any language). "
        "Compared without case, accents and surrounding whitespace.",
    )
    composite: Composite | None = Field(
        None, description="Makes this a composite scale computed from other indicators."
    )
    source: str | None = Field(
        None, description="Where the data come from, e.g. client information system, survey."
    )


class MeasurementPoint(StrictModel):
    """A named point of measurement in a client's process (e.g. baseline, follow-up)."""

    id: Id
    label: Text = Field(description="Name of the measurement point in reports.")
    order: int = Field(description="Position in time: smaller comes first.")
    aliases: list[str] = Field(
        default_factory=list,
        description="Words offices use for this point in their exports, e.g. `alkutilanne`.",
    )


class IndicatorFile(StrictModel):
    """An indicator file (`indicators/*.yaml`)."""

    indicators: list[Indicator] = Field(default_factory=list, description="The indicators.")
    measurement_points: list[MeasurementPoint] = Field(
        default_factory=list, description="Measurement points that outcomes and criteria name."
    )


# --------------------------------------------------------------------------------------------
# Conditions
# --------------------------------------------------------------------------------------------


class Comparison(StrictModel):
    """A condition on one indicator's value. Give exactly one operator, or a range made of a
    lower (`at_least`/`above`) and/or an upper (`at_most`/`below`) bound."""

    _expected = "a condition: a mapping such as {indicator: ..., at_least: ...}"

    indicator: IdRef = Field(description="The indicator compared.")
    measurement_point: IdRef | None = Field(
        None, description="Evaluate at this measurement point (default: the case's first)."
    )
    equals: Scalar | None = Field(None, description="Value equals this code or number.")
    in_: list[Scalar] | None = Field(
        None, alias="in", description="Value is one of these codes or numbers."
    )
    not_in: list[Scalar] | None = Field(None, description="Value is none of these.")
    at_least: float | dt.date | None = Field(None, description="Value ≥ this.")
    at_most: float | dt.date | None = Field(None, description="Value ≤ this.")
    above: float | dt.date | None = Field(None, description="Value > this.")
    below: float | dt.date | None = Field(None, description="Value < this.")
    between: tuple[float, float] | None = Field(
        None, description="Value within `[low, high]`, both ends included."
    )
    missing: Literal[True] | None = Field(None, description="`true`: the value is missing.")
    present: Literal[True] | None = Field(None, description="`true`: the value is present.")


class AllOf(StrictModel):
    """All of the conditions hold."""

    all: list["Condition"] = Field(min_length=1, description="Conditions that must all hold.")


class AnyOf(StrictModel):
    """At least one of the conditions holds."""

    any: list["Condition"] = Field(min_length=1, description="Conditions of which one must hold.")


class NotOf(StrictModel):
    """The condition does not hold."""

    not_: "Condition" = Field(alias="not", description="The condition that must not hold.")


def _condition_kind(value: Any) -> str:
    if isinstance(value, dict):
        for kind in ("all", "any", "not"):
            if kind in value:
                return kind
        return "compare"
    if isinstance(value, AllOf):
        return "all"
    if isinstance(value, AnyOf):
        return "any"
    if isinstance(value, NotOf):
        return "not"
    return "compare"


Condition = Annotated[
    Comparison | AllOf | AnyOf | NotOf,
    Tagged(_condition_kind, {"compare": Comparison, "all": AllOf, "any": AnyOf, "not": NotOf}),
]


class ValueTest(StrictModel):
    """Which values of the criterion's own indicator count as a success."""

    equals: Scalar | None = Field(None, description="Value equals this code or number.")
    in_: list[Scalar] | None = Field(None, alias="in", description="Value is one of these.")
    at_least: float | None = Field(None, description="Value ≥ this.")
    at_most: float | None = Field(None, description="Value ≤ this.")
    above: float | None = Field(None, description="Value > this.")
    below: float | None = Field(None, description="Value < this.")


# --------------------------------------------------------------------------------------------
# Programme theories
# --------------------------------------------------------------------------------------------


class Perspective(StrEnum):
    """Strategy perspective of a critical success factor (balanced scorecard)."""

    CLIENT = "client"
    PERSONNEL = "personnel"
    PROCESS = "process"
    ECONOMY = "economy"


class ExpectedDirection(StrEnum):
    """The declared direction of the mechanism–outcome association."""

    POSITIVE = "positive"
    NEGATIVE = "negative"


class Change(StrictModel):
    """Change of a value between two measurement points (later minus earlier)."""

    from_: IdRef = Field(alias="from", description="The earlier measurement point.")
    to: IdRef = Field(description="The later measurement point.")


class Source(StrictModel):
    """A document the theory draws on."""

    title: str = Field(description="Title or short citation.")
    note: str | None = Field(None, description="What was taken from it.")
    url: str | None = Field(None, description="Where to find it.")


class StrategyMap(StrictModel):
    """The strategy map of an evaluation framework."""

    vision: Text = Field(description="Vision (visio).")
    strategy: Text = Field(description="Strategy (strategia).")
    mission: Text = Field(description="Mission (toiminta-ajatus).")


class Context(StrictModel):
    """A context (C): circumstances in which a mechanism is expected to fire."""

    id: Id
    label: Text = Field(description="Name of the context.")
    description: Text | None = Field(None, description="Why this context matters.")
    when: Condition = Field(description="The condition that defines the context.")


class Mechanism(StrictModel):
    """A mechanism (M): how people respond to what the programme offers."""

    id: Id
    label: Text = Field(description="Name of the mechanism.")
    description: Text | None = Field(None, description="How the mechanism works.")
    indicator: IdRef = Field(description="The indicator (or composite scale) that measures it.")
    measurement_point: IdRef | None = Field(
        None, description="Measure the mechanism at this point (default: any, per case)."
    )


class Outcome(StrictModel):
    """An outcome (O): a level at a measurement point, or a change between two."""

    id: Id
    label: Text = Field(description="Name of the outcome.")
    description: Text | None = Field(None, description="What the outcome means for the client.")
    indicator: IdRef = Field(description="The indicator that measures the outcome.")
    measurement_point: IdRef | None = Field(
        None, description="Take the outcome at this point (default: the case's last)."
    )
    change: Change | None = Field(
        None, description="Use the change between two measurement points instead of a level."
    )


class Intervention(StrictModel):
    """An intervention or resource the programme offers (what triggers the mechanism)."""

    id: Id
    label: Text = Field(description="Name of the intervention.")
    description: Text | None = Field(None, description="What is offered.")
    indicator: IdRef = Field(
        description="The indicator recording it (e.g. binary: offered or not)."
    )


class Chain(StrictModel):
    """A CMO chain: in these contexts, (the intervention triggers) the mechanism, which
    produces the outcome in the expected direction."""

    id: Id
    label: Text | None = Field(None, description="Name of the chain.")
    description: Text | None = Field(None, description="The reasoning behind the chain.")
    contexts: list[Ref] = Field(
        default_factory=list,
        description="Contexts where the chain is expected to hold; empty means everywhere.",
    )
    intervention: Ref | None = Field(
        None, description="The intervention that triggers the mechanism (enables mediation)."
    )
    mechanism: Ref = Field(description="The mechanism.")
    outcome: Ref = Field(description="The outcome.")
    negative_control: Ref | None = Field(
        None,
        description="An outcome the mechanism should *not* affect (a negative control): if "
        "the mechanism goes with it too, something else may drive both, and the chain's "
        "'held' verdicts are marked fragile.",
    )
    direction: ExpectedDirection = Field(
        ExpectedDirection.POSITIVE,
        description="`positive`: more mechanism, more outcome; `negative`: less outcome.",
    )
    covariates: list[IdRef] = Field(
        default_factory=list, description="Indicators to adjust for in the analysis."
    )
    sources: list[str] = Field(
        default_factory=list, description="Evidence the chain rests on (citations, notes)."
    )


class Target(StrictModel):
    """The target value of a criterion's statistic."""

    at_least: float | None = Field(None, description="The statistic should be ≥ this.")
    at_most: float | None = Field(None, description="The statistic should be ≤ this.")


class Statistic(StrEnum):
    """What a criterion measures."""

    SHARE = "share"
    MEAN = "mean"
    MEAN_CHANGE = "mean_change"


class Criterion(StrictModel):
    """An evaluation criterion (arviointikriteeri): a target on an indicator."""

    id: Id
    label: Text = Field(description="Name of the criterion.")
    description: Text | None = Field(None, description="Why the target is what it is.")
    indicator: IdRef = Field(description="The indicator the criterion is about.")
    statistic: Statistic = Field(
        description="`share` of cases meeting `counts`, `mean`, or `mean_change`."
    )
    counts: ValueTest | None = Field(
        None, description="For `share`: which values count (default for binary: 1)."
    )
    measurement_point: IdRef | None = Field(
        None, description="Compute at this measurement point (default: the latest)."
    )
    change: Change | None = Field(None, description="For `mean_change`: between which points.")
    target: Target = Field(description="The target: `at_least` and/or `at_most`.")


class SuccessFactor(StrictModel):
    """A critical success factor (kriittinen menestystekijä) in one strategy perspective."""

    id: Id
    label: Text = Field(description="Name of the success factor.")
    description: Text | None = Field(None, description="What success means here.")
    perspective: Perspective = Field(description="`client`, `personnel`, `process` or `economy`.")
    criteria: list[Ref] = Field(
        min_length=1, description="The criteria that show whether the factor is met."
    )


class ProgrammeTheory(StrictModel):
    """A programme theory file (`programme_theories/*.yaml`)."""

    id: Id
    title: Text = Field(description="Title of the theory.")
    description: Text | None = Field(None, description="The theory in a few sentences.")
    version: str | None = Field(None, description="Version of the theory, e.g. `2026-1`.")
    authors: list[str] = Field(default_factory=list, description="Who wrote the theory.")
    sources: list[Source] = Field(default_factory=list, description="Documents it draws on.")
    strategy: StrategyMap | None = Field(None, description="Strategy map of the framework.")
    contexts: list[Context] = Field(default_factory=list, description="Contexts (C).")
    interventions: list[Intervention] = Field(
        default_factory=list, description="Interventions and resources."
    )
    mechanisms: list[Mechanism] = Field(default_factory=list, description="Mechanisms (M).")
    outcomes: list[Outcome] = Field(default_factory=list, description="Outcomes (O).")
    chains: list[Chain] = Field(default_factory=list, description="CMO chains.")
    criteria: list[Criterion] = Field(default_factory=list, description="Evaluation criteria.")
    critical_success_factors: list[SuccessFactor] = Field(
        default_factory=list, description="Critical success factors by perspective."
    )


#: Sections of a theory whose items have ids, with the word used for them in messages.
THEORY_SECTIONS: dict[str, str] = {
    "contexts": "context",
    "interventions": "intervention",
    "mechanisms": "mechanism",
    "outcomes": "outcome",
    "chains": "chain",
    "criteria": "criterion",
    "critical_success_factors": "success factor",
}

#: Every model of the language, for docs and schema generation.
ALL_MODELS: tuple[type[StrictModel], ...] = (
    ProgrammeTheory,
    StrategyMap,
    Source,
    Context,
    Comparison,
    AllOf,
    AnyOf,
    NotOf,
    Intervention,
    Mechanism,
    Outcome,
    Change,
    Chain,
    Criterion,
    ValueTest,
    Target,
    SuccessFactor,
    IndicatorFile,
    Indicator,
    Scale,
    ValueRange,
    ValueLabel,
    Composite,
    MeasurementPoint,
    Text,
)

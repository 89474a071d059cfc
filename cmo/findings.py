"""Findings: what `cmo validate` (and later checks) report, each with a code and a place.

The catalogue :data:`CODES` is the single source of truth for finding codes. Every code has a
severity, a short title and an explanation of what to do; ``docs/findings.md`` is generated from it
(``python -m cmo.findings``) and a test fails when the two drift apart.

This module is the ground floor: it imports nothing from cmo.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """How serious a finding is. Errors make ``cmo validate`` exit 1; warnings do not
    (unless ``--strict``)."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Code:
    """One entry of the finding catalogue."""

    code: str
    severity: Severity
    title: str
    explanation: str


def _catalogue(*codes: Code) -> dict[str, Code]:
    out: dict[str, Code] = {}
    for c in codes:
        if c.code in out:  # pragma: no cover - guarded by tests
            raise ValueError(f"duplicate finding code {c.code}")
        out[c.code] = c
    return out


E, W = Severity.ERROR, Severity.WARNING

CODES: dict[str, Code] = _catalogue(
    # --- Y: reading YAML -------------------------------------------------------------------
    Code(
        "Y001",
        E,
        "YAML syntax error",
        "The file is not valid YAML. The position points at where the parser gave up; the "
        "mistake is often just before it (a missing colon, a tab used for indentation, an "
        "unclosed quote or bracket).",
    ),
    Code(
        "Y002",
        E,
        "Duplicate key",
        "The same key appears twice in one mapping. YAML readers silently keep only the last "
        "one, so half of what was written would be lost. Remove or rename one of them.",
    ),
    Code(
        "Y003",
        E,
        "Not a cmo file",
        "The file is empty or its top level is not a mapping of keys. A theory file starts "
        "with `id:`; an indicator file with `indicators:`.",
    ),
    Code(
        "Y004",
        E,
        "File cannot be read",
        "cmo reads only regular files of at most 32 MB. The file is a folder, a pipe, a device "
        "or a socket, a symbolic link that leads in a circle or to nothing, too large, or not "
        "readable by you. The message says which; replace it with an ordinary file or move it "
        "out of the theory and indicator folders.",
    ),
    Code(
        "Y005",
        E,
        "YAML tag",
        "A tag (`!!python/object/…`, `!!binary`, `!!str`, `!custom`) stands before a value. The "
        "theory language has no use for tags, and a tag can make other YAML readers run code; "
        "remove it. cmo reads the value as if the tag were not there.",
    ),
    Code(
        "Y006",
        E,
        "Aliases repeat too much",
        "Aliases (`*name`) repeat what their anchor (`&name`) holds. In one file they may repeat "
        "at most 100,000 values in all, and an alias must not lie inside the value it names (an "
        "endless loop). A file beyond that (a 'billion laughs' file) is not read further. Write "
        "the values out, or reuse less.",
    ),
    Code(
        "Y007",
        E,
        "Value cannot be read",
        "A value has the form of a number or a date but cannot be one (an integer of thousands "
        "of digits, 2025-13-45), or a key is a list or a mapping. Write a real number or date "
        "(YYYY-MM-DD), quote the value to keep it as text, or use a plain word as the key.",
    ),
    # --- S: schema -------------------------------------------------------------------------
    Code(
        "S001",
        E,
        "Unknown key",
        "The key is not part of the theory language at this place. Usually a typo: the "
        "message suggests the closest known key. See docs/theory-reference.md for all keys.",
    ),
    Code(
        "S002",
        E,
        "Missing required key",
        "A key that must be present is missing, e.g. a chain without `mechanism`.",
    ),
    Code(
        "S003",
        E,
        "Invalid value",
        "The value has the wrong type or form: text where a number belongs, an id with "
        "capital letters or spaces, a level that is not one of case/worker/office, and so on.",
    ),
    # --- D: identity -----------------------------------------------------------------------
    Code(
        "D001",
        E,
        "Duplicate id",
        "Two elements of the same kind share an id (two indicators, two measurement points, "
        "two theories, or two contexts/mechanisms/... within one theory), an indicator lists a "
        "code twice, or two measurement points share an order. References would be ambiguous. "
        "Rename or renumber one.",
    ),
    # --- R: references ---------------------------------------------------------------------
    Code(
        "R001",
        E,
        "Unresolved reference",
        "A reference names something that does not exist: an indicator, measurement point, "
        "context, mechanism, outcome, intervention or criterion. References to another "
        "theory's elements are written `theory_id.element_id`.",
    ),
    # --- T: types --------------------------------------------------------------------------
    Code(
        "T001",
        E,
        "Operator does not fit the indicator type",
        "A condition uses an operator that has no meaning for the indicator's type, e.g. a "
        "range (`at_least`, `between`) on a category, or a date compared with a number.",
    ),
    Code(
        "T002",
        E,
        "Value outside the scale or range",
        "A value in a condition, value label or target lies outside what the indicator allows: "
        "6 on a 1–5 Likert scale, a share target above 1, a binary code other than 0 or 1.",
    ),
    Code(
        "T003",
        E,
        "Unknown category",
        "A condition names a category code that the indicator does not define in `values`.",
    ),
    Code(
        "T004",
        E,
        "Condition has no single operator",
        "A comparison must have exactly one operator (`equals`, `in`, `not_in`, `between`, "
        "`missing`, `present`), or a range made of a lower bound (`at_least`/`above`) and/or an "
        "upper bound (`at_most`/`below`).",
    ),
    Code(
        "T005",
        E,
        "Indicator type does not fit its role",
        "The indicator cannot play the role it is given: a mechanism or outcome measured by a "
        "category or a date, or per worker or office (mechanisms, outcomes and interventions "
        "are measured per case; worker and office values belong in contexts), a mean of a "
        "category, a change of a category, a criterion whose statistic does not fit the "
        "indicator.",
    ),
    Code(
        "T006",
        E,
        "Impossible condition or target",
        "No value can meet it: an empty `in` list, `between` with the low end above the high "
        "end, a lower bound above an upper bound, a target whose `at_least` is above its "
        "`at_most`.",
    ),
    # --- I: indicator definitions ----------------------------------------------------------
    Code(
        "I001",
        E,
        "Incomplete indicator definition",
        "The indicator's type needs something it does not have, or has something it cannot "
        "use: a Likert indicator needs `scale`, a category needs `values`, a scale's `min` must "
        "be below its `max`, a `range` only fits numbers and counts.",
    ),
    Code(
        "I002",
        E,
        "Ambiguous value label",
        "The same label or synonym (compared without case and accents) maps to two different "
        "codes of one indicator, so data could not be read unambiguously.",
    ),
    Code(
        "I003",
        E,
        "Ambiguous column alias",
        "Two indicators claim the same column name (compared without case, accents, `_` and "
        "`-`), so an office's export could not be mapped unambiguously.",
    ),
    Code(
        "I004",
        E,
        "Invalid composite scale",
        "A composite scale's items must be numeric indicators (Likert, numeric, count, binary) "
        "at the same level as the composite, must not include the composite itself, and "
        "composites must not be built from each other in a circle.",
    ),
    # --- G: graph --------------------------------------------------------------------------
    Code(
        "G001",
        E,
        "Cycle among chains",
        "Chains lead in a circle: the outcome of one chain is (through its indicator) the "
        "mechanism of another, and so on back to the first. A circular theory cannot be "
        "tested chain by chain; cut the circle or split it into measurement points.",
    ),
    Code(
        "G002",
        W,
        "Unused element",
        "A context, mechanism, outcome or intervention is defined but no chain uses it. It "
        "will not be analysed. Use it in a chain or remove it.",
    ),
    Code(
        "G003",
        W,
        "Outcome without a criterion",
        "A chain's outcome has no evaluation criterion on its indicator anywhere in the "
        "workspace, so the report cannot say whether the outcome reached its target.",
    ),
    Code(
        "G004",
        W,
        "Criterion outside every success factor",
        "An evaluation criterion is not tied to any critical success factor, so it will not "
        "appear in the scorecard by strategy perspective.",
    ),
    # --- A: designs that can mislead (from `cmo validate` or `cmo analyse`) ------------------
    Code(
        "A001",
        W,
        "Context defined on the outcome's own indicator",
        "A chain's context is a condition on the indicator the chain's outcome is measured by "
        "(often its baseline). Cases picked for a low or high value drift back towards the "
        "average by themselves (regression to the mean), so an effect inside the context can "
        "be an artefact. Define the context on another indicator, or analyse the change with "
        "the baseline as a covariate.",
    ),
    Code(
        "A002",
        W,
        "Mechanism and outcome from the same measurement point",
        "The mechanism and the outcome are measured at the same point in time (named in the "
        "theory, or — reported by `cmo analyse` — seen in the data for most cases). The data "
        "cannot tell which came first: a client who is doing well may also rate the encounter "
        "better. Measure the mechanism earlier (e.g. at baseline) when the design allows.",
    ),
    Code(
        "A003",
        W,
        "Intervention constant within offices",
        "Reported by `cmo analyse`: every case of an office has the same value of the chain's "
        "intervention. Its effect cannot be told apart from everything else that differs "
        "between offices, so the mediation (intervention → mechanism → outcome) would compare "
        "offices, not people; cmo does not estimate it. Record the intervention per case.",
    ),
    Code(
        "A004",
        W,
        "Context splits the offices with fewer than three on one side",
        "Reported by `cmo analyse`: fewer than three offices have cases in the context (or "
        "outside it). A difference between the sides is then a difference between one or two "
        "offices and the rest, and with office-clustered uncertainty it usually cannot be "
        "tested ('too few offices'). Compare within offices (a case- or worker-level context) "
        "or collect from more offices.",
    ),
    # --- P: privacy -------------------------------------------------------------------------
    Code(
        "P001",
        E,
        "Personal identity code in a theory or indicator file",
        "A label, description, alias, source or other text holds a Finnish personal identity "
        "code (henkilötunnus; python-stdnum decides, the temporary range included). Everything "
        "in these files is shown in reports and summaries, so the file is refused until the "
        "code is removed. The finding names the place, never the code.",
    ),
    # --- L: languages ----------------------------------------------------------------------
    Code(
        "L001",
        W,
        "Missing translation",
        "A label or text lacks a language the workspace promises (`languages` in cmo.yaml). "
        "Reports in that language will fall back to another language for it.",
    ),
)


@dataclass(frozen=True)
class Finding:
    """One finding: a code, a message and the place it is about.

    ``line`` and ``column`` are 1-based and come from the YAML parser's node marks. ``path`` is
    the YAML path inside the file, e.g. ``chains[2].mechanism``.
    """

    code: str
    message: str
    file: str
    line: int = 0
    column: int = 0
    path: str = ""

    @property
    def severity(self) -> Severity:
        return CODES[self.code].severity

    def format(self) -> str:
        """``file:line:col CODE message (path)`` — the form compilers and editors understand."""
        where = f"{self.file}:{self.line}:{self.column}"
        tail = f" ({self.path})" if self.path else ""
        return f"{where} {self.code} {self.severity.value}: {self.message}{tail}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "code": self.code,
            "severity": self.severity.value,
            "title": CODES[self.code].title,
            "message": self.message,
            "path": self.path,
        }

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.file, self.line, self.column, self.code, self.message)


def catalogue_markdown() -> str:
    """The finding catalogue as Markdown (the body of ``docs/findings.md``)."""
    lines = [
        "# Finding codes",
        "",
        "<!-- Generated from cmo/findings.py by `python -m cmo.findings`. Do not edit by hand. -->",
        "",
        "`cmo validate` reports each finding as "
        "`file:line:col CODE severity: message (yaml.path)`.",
        "Errors make the command exit with 1; warnings do not, unless `--strict` is given.",
        "",
        "| Code | Severity | Title |",
        "|---|---|---|",
    ]
    lines += [
        f"| [{c.code}](#{c.code.lower()}) | {c.severity.value} | {c.title} |"
        for c in CODES.values()
    ]
    lines.append("")
    for c in CODES.values():
        lines += [f"## {c.code}", "", f"**{c.title}** ({c.severity.value})", "", c.explanation, ""]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(catalogue_markdown(), end="")

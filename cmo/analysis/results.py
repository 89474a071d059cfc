"""What `cmo analyse` returns: result objects with ``to_dict()`` (numbers at full precision).

The verdicts are defined here, each with the words a manager reads (docs/analysis.md explains
them); :mod:`cmo.analysis.verdicts` decides which one a test gets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from cmo import __version__
from cmo.results import Tabular

# -- verdicts --------------------------------------------------------------------------------
HELD = "held"
HELD_STRONGER = "held_stronger"
HELD_NO_DIFFERENCE = "held_no_difference"
HELD_WEAKER = "held_weaker"
HELD_UNTESTED = "held_untested"
STRONGER_NOT_HELD = "stronger_not_held"
WEAKER_HERE = "weaker_here"
NOT_SUPPORTED = "not_supported"
CONTRADICTED = "contradicted"
TOO_LITTLE_DATA = "too_little_data"

#: Each verdict: its class (what the summary counts) and its words.
VERDICTS: dict[str, tuple[str, str]] = {
    HELD: ("held", "held"),
    HELD_STRONGER: ("held", "held, and stronger in this context than elsewhere"),
    HELD_NO_DIFFERENCE: ("held", "held here; no evidence that the context matters"),
    HELD_WEAKER: ("held", "held here, but weaker than elsewhere"),
    HELD_UNTESTED: ("held", "held here; too little data to compare with elsewhere"),
    STRONGER_NOT_HELD: (
        "not supported",
        "stronger here than elsewhere, but not clear on its own",
    ),
    WEAKER_HERE: ("not supported", "not supported here, and weaker than elsewhere"),
    NOT_SUPPORTED: ("not supported", "not supported"),
    CONTRADICTED: ("contradicted", "contradicted"),
    TOO_LITTLE_DATA: ("too little data", "too little data"),
}
CLASSES = ("held", "not supported", "contradicted", "too little data")

# Chain summaries: what the chain as a whole shows.
HELD_EVERYWHERE = "held_everywhere"
CONTEXT_MATTERS = "context_matters"
HELD_SOMEWHERE = "held_somewhere"
SUMMARIES: dict[str, str] = {
    HELD_EVERYWHERE: "held everywhere it could be tested; the contexts make no clear difference",
    CONTEXT_MATTERS: "works differently by context",
    HELD_SOMEWHERE: "held in some contexts; no evidence that the contexts matter",
    CONTRADICTED: "contradicted",
    NOT_SUPPORTED: "not supported",
    TOO_LITTLE_DATA: "too little data",
}

EVERYWHERE, ELSEWHERE = "everywhere", "elsewhere"


def _f(x: float | None) -> float:
    """A number read back from JSON (None stood for a missing or non-finite number)."""
    return math.nan if x is None else float(x)


def num(x: float | None) -> float | None:
    """A number for output at full precision; None for missing or non-finite numbers."""
    if x is None or not math.isfinite(x):
        return None
    return float(x)


@dataclass
class Effect:
    """The mechanism's effect on the outcome in one context (or its interaction with it)."""

    estimate: float
    se: float
    df: float
    ci_low: float
    ci_high: float
    p: float
    per_sd: tuple[float, float, float]
    scale: str  # difference, log odds, log rate
    model: str
    covariance: str
    reason: str
    notes: list[str]
    n_offices: int
    q: float | None = None

    @classmethod
    def of(cls, fit: Any, family: str) -> Effect:
        scale = {"gaussian": "difference", "binomial": "log odds", "poisson": "log rate"}[family]
        return cls(
            estimate=fit.estimate,
            se=fit.se,
            df=fit.df,
            ci_low=fit.ci_low,
            ci_high=fit.ci_high,
            p=fit.p,
            per_sd=fit.per_sd,
            scale=scale,
            model=fit.model,
            covariance=fit.covariance,
            reason=fit.reason,
            notes=list(fit.notes),
            n_offices=fit.n_offices,
        )

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Effect:
        per_sd = d["per_sd"]
        return cls(
            estimate=_f(d["estimate"]),
            se=_f(d["se"]),
            df=math.inf if d["df"] == "inf" else _f(d["df"]),
            ci_low=_f(d["ci_low"]),
            ci_high=_f(d["ci_high"]),
            p=_f(d["p"]),
            per_sd=(_f(per_sd["estimate"]), _f(per_sd["ci_low"]), _f(per_sd["ci_high"])),
            scale=d["scale"],
            model=d["model"],
            covariance=d["covariance"],
            reason=d["reason"],
            notes=list(d["notes"]),
            n_offices=int(d["n_offices"]),
            q=None if d["q"] is None else float(d["q"]),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "estimate": num(self.estimate),
            "se": num(self.se),
            "df": "inf" if math.isinf(self.df) else num(self.df),
            "ci_low": num(self.ci_low),
            "ci_high": num(self.ci_high),
            "p": num(self.p),
            "q": num(self.q),
            "scale": self.scale,
            "per_sd": {
                "estimate": num(self.per_sd[0]),
                "ci_low": num(self.per_sd[1]),
                "ci_high": num(self.per_sd[2]),
            },
            "model": self.model,
            "covariance": self.covariance,
            "n_offices": self.n_offices,
            "reason": self.reason,
            "notes": self.notes,
        }
        if self.scale != "difference":
            name = "odds_ratio" if self.scale == "log odds" else "rate_ratio"
            out[f"{name}_per_sd"] = {
                k: num(math.exp(v))
                for k, v in zip(("estimate", "ci_low", "ci_high"), self.per_sd, strict=True)
            }
            out[name] = {
                k: num(math.exp(v))
                for k, v in zip(
                    ("estimate", "ci_low", "ci_high"),
                    (self.estimate, self.ci_low, self.ci_high),
                    strict=True,
                )
            }
        return out


@dataclass
class ContextTest:
    """A chain in one context (or elsewhere, or everywhere)."""

    context: str
    label: str
    n: int
    n_offices: int
    excluded: dict[str, int]
    verdict: str = TOO_LITTLE_DATA
    why: str = ""
    effect: Effect | None = None
    mediation: dict[str, Any] | None = None
    #: What the refuters made of a held test (:mod:`cmo.analysis.refuters`).
    refutation: Any = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ContextTest:
        from cmo.analysis.refuters import Refutation

        return cls(
            context=d["context"],
            label=d["label"],
            n=int(d["n"]),
            n_offices=int(d["n_offices"]),
            excluded=dict(d["excluded"]),
            verdict=d["verdict"],
            why=d["why"],
            effect=Effect.from_dict(d["effect"]) if d["effect"] else None,
            mediation=d["mediation"],
            refutation=Refutation.from_dict(d["refutation"]) if d.get("refutation") else None,
        )

    @property
    def verdict_class(self) -> str:
        return VERDICTS[self.verdict][0] if self.verdict in VERDICTS else ""

    @property
    def verdict_text(self) -> str:
        return VERDICTS[self.verdict][1] if self.verdict in VERDICTS else ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "context": self.context,
            "label": self.label,
            "verdict": self.verdict,
            "verdict_text": self.verdict_text,
            "why": self.why,
            "n": self.n,
            "n_offices": self.n_offices,
            "excluded": self.excluded,
            "effect": self.effect.to_dict() if self.effect else None,
            "mediation": self.mediation,
            "refutation": self.refutation.to_dict() if self.refutation else None,
        }


@dataclass
class Interaction:
    """Context-specificity: mechanism × context in a model pooled over the context and the
    rest. ``difference`` says what it shows once corrected: ``stronger``, ``weaker`` (than
    elsewhere, relative to the declared direction), ``no clear difference`` or ``untested``."""

    context: str
    n: int
    effect: Effect | None
    why: str = ""
    offices_inside: int = 0
    offices_outside: int = 0
    difference: str = "untested"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Interaction:
        return cls(
            context=d["context"],
            n=int(d["n"]),
            effect=Effect.from_dict(d["effect"]) if d["effect"] else None,
            why=d["why"],
            offices_inside=int(d["offices_inside"]),
            offices_outside=int(d["offices_outside"]),
            difference=d["difference"],
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "context": self.context,
            "n": self.n,
            "offices_inside": self.offices_inside,
            "offices_outside": self.offices_outside,
            "difference": self.difference,
            "effect": self.effect.to_dict() if self.effect else None,
            "why": self.why,
        }


@dataclass
class DesignWarning:
    """A design that can mislead (docs/findings.md, codes A…), seen in the data."""

    code: str
    chain: str
    context: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ChainResult:
    theory: str
    chain: str
    label: str
    mechanism: str
    outcome: str
    intervention: str | None
    direction: str
    family: str
    intervention_label: str | None = None
    tests: list[ContextTest] = field(default_factory=list)
    interactions: list[Interaction] = field(default_factory=list)
    #: The effect in each office separately (all of the chain's cases there; descriptive).
    by_office: list[ContextTest] = field(default_factory=list)
    summary: str = TOO_LITTLE_DATA
    warnings: list[DesignWarning] = field(default_factory=list)
    #: The labels of the mechanism and of the outcome's indicator (its measure), in the run's
    #: language: a declared direction reads "the more M, the lower <measure>", never a double
    #: negative such as "less of fewer overlaps".
    mechanism_label: str = ""
    measure_label: str = ""

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ChainResult:
        return cls(
            theory=d["theory"],
            chain=d["chain"],
            label=d["label"],
            mechanism=d["mechanism"],
            outcome=d["outcome"],
            intervention=d["intervention"],
            direction=d["direction"],
            family=d["family"],
            intervention_label=d["intervention_label"],
            tests=[ContextTest.from_dict(t) for t in d["tests"]],
            interactions=[Interaction.from_dict(i) for i in d["interactions"]],
            by_office=[ContextTest.from_dict(t) for t in d["by_office"]],
            summary=d["summary"],
            warnings=[DesignWarning(**w) for w in d["warnings"]],
            mechanism_label=d.get("mechanism_label", ""),
            measure_label=d.get("measure_label", ""),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "theory": self.theory,
            "chain": self.chain,
            "label": self.label,
            "mechanism": self.mechanism,
            "outcome": self.outcome,
            "intervention": self.intervention,
            "intervention_label": self.intervention_label,
            "direction": self.direction,
            "family": self.family,
            "summary": self.summary,
            "summary_text": SUMMARIES.get(self.summary, ""),
            "mechanism_label": self.mechanism_label,
            "measure_label": self.measure_label,
            "tests": [t.to_dict() for t in self.tests],
            "interactions": [i.to_dict() for i in self.interactions],
            "by_office": [t.to_dict() for t in self.by_office],
            "warnings": [w.to_dict() for w in self.warnings],
        }


@dataclass
class CriterionCell:
    office: str
    period: str
    n: int
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    status: str

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CriterionCell:
        return cls(
            d["office"],
            d["period"],
            int(d["n"]),
            d["estimate"],
            d["ci_low"],
            d["ci_high"],
            d["status"],
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "office": self.office,
            "period": self.period,
            "n": self.n,
            "estimate": num(self.estimate),
            "ci_low": num(self.ci_low),
            "ci_high": num(self.ci_high),
            "status": self.status,
        }


@dataclass
class CriterionResult:
    theory: str
    criterion: str
    label: str
    indicator: str
    statistic: str
    target: dict[str, float | None]
    cells: list[CriterionCell]
    trends: dict[str, str]
    #: What the "all offices" interval estimates (``population`` or ``sample`` of offices).
    all_offices: str = "population"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CriterionResult:
        return cls(
            theory=d["theory"],
            criterion=d["criterion"],
            label=d["label"],
            indicator=d["indicator"],
            statistic=d["statistic"],
            target=dict(d["target"]),
            cells=[CriterionCell.from_dict(c) for c in d["cells"]],
            trends=dict(d["trends"]),
            all_offices=d["all_offices"],
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "theory": self.theory,
            "criterion": self.criterion,
            "label": self.label,
            "indicator": self.indicator,
            "statistic": self.statistic,
            "target": self.target,
            "all_offices": self.all_offices,
            "cells": [c.to_dict() for c in self.cells],
            "trends": self.trends,
        }


@dataclass
class FactorResult:
    theory: str
    factor: str
    label: str
    perspective: str
    criteria: list[str]
    by_office: dict[str, dict[str, int]]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class AnalysisResult(Tabular):
    """Everything ``cmo analyse`` found, and what it was computed from. As a table
    (``to_frame()``, a notebook's view): one row per chain and context."""

    columns = (
        "theory",
        "chain",
        "context",
        "verdict",
        "refuters",
        "n",
        "offices",
        "effect_per_sd",
        "ci_low",
        "ci_high",
        "scale",
        "df",
        "q",
    )

    chains: list[ChainResult]
    criteria: list[CriterionResult]
    factors: list[FactorResult]
    scales: dict[str, dict[str, Any]]
    settings: dict[str, Any]
    provenance: dict[str, Any]
    language: str = "fi"
    #: Office id → the name to show (municipality, or name, from cmo.yaml).
    office_names: dict[str, str] = field(default_factory=dict)

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for chain in self.chains:
            for test in chain.tests:
                e = test.effect
                out.append(
                    {
                        "theory": chain.theory,
                        "chain": chain.chain,
                        "context": test.label,
                        "verdict": test.verdict_text,
                        "refuters": test.refutation.status if test.refutation else None,
                        "n": test.n,
                        "offices": test.n_offices,
                        "effect_per_sd": num(e.per_sd[0]) if e else None,
                        "ci_low": num(e.per_sd[1]) if e else None,
                        "ci_high": num(e.per_sd[2]) if e else None,
                        "scale": e.scale if e else None,
                        "df": num(e.df) if e else None,
                        "q": num(e.q) if e else None,
                    }
                )
        return out

    def caption(self) -> str:
        counts = self.verdict_counts()
        return (
            f"{counts['held']} held, {counts['not supported']} not supported, "
            f"{counts['contradicted']} contradicted, {counts['too little data']} with too little "
            f"data (uncertainty: {self.settings.get('covariance', 'CR2')} by office)"
        )

    def verdict_counts(self) -> dict[str, int]:
        """Tests by verdict class: held, not supported, contradicted, too little data."""
        counts = dict.fromkeys(CLASSES, 0)
        for chain in self.chains:
            for test in chain.tests:
                counts[test.verdict_class] += 1
        return counts

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AnalysisResult:
        """An analysis read back from `cmo analyse --format json` (for `cmo report --from`)."""
        return cls(
            chains=[ChainResult.from_dict(c) for c in d["chains"]],
            criteria=[CriterionResult.from_dict(c) for c in d["criteria"]],
            factors=[FactorResult(**f) for f in d["success_factors"]],
            scales=dict(d["scales"]),
            settings=dict(d["settings"]),
            provenance=dict(d["provenance"]),
            language=d.get("language", "fi"),
            office_names=dict(d.get("office_names", {})),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "cmo_version": __version__,
            "language": self.language,
            # counts below k are in here: for the evaluators only (--shareable applies the
            # report's rules; docs/report.md says which outputs are safe to share)
            "disclosure": {"k": self.settings.get("disclosure_threshold"), "applied": False},
            "settings": self.settings,
            "office_names": self.office_names,
            "provenance": self.provenance,
            "verdicts": self.verdict_counts(),
            "chains": [c.to_dict() for c in self.chains],
            "scales": self.scales,
            "criteria": [c.to_dict() for c in self.criteria],
            "success_factors": [f.to_dict() for f in self.factors],
        }

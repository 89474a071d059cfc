"""Testing programme theories on collected data: chain tests, verdicts, criteria."""

from cmo.analysis.run import (
    AnalysisResult,
    ChainResult,
    ContextTest,
    CriterionResult,
    Effect,
    FactorResult,
    analyse,
)

__all__ = [
    "AnalysisResult",
    "ChainResult",
    "ContextTest",
    "CriterionResult",
    "Effect",
    "FactorResult",
    "analyse",
]

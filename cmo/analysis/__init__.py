"""Testing programme theories on collected data: chain tests, verdicts, criteria."""

from cmo.analysis.results import (
    AnalysisResult,
    ChainResult,
    ContextTest,
    CriterionResult,
    DesignWarning,
    Effect,
    FactorResult,
    Interaction,
)
from cmo.analysis.run import analyse

__all__ = [
    "AnalysisResult",
    "ChainResult",
    "ContextTest",
    "CriterionResult",
    "DesignWarning",
    "Effect",
    "FactorResult",
    "Interaction",
    "analyse",
]

"""Programme theories and indicators: the language, its loader and `cmo validate`."""

from cmo.theory.validate import ValidationResult, validate

__all__ = ["ValidationResult", "validate"]

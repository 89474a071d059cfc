"""Fixed texts of the report in Finnish and English, and numbers the way each language writes
them (Finnish: decimal comma, a space before %, no-break space between thousands)."""

from __future__ import annotations

import math
from functools import cache
from importlib import resources
from typing import Any

import yaml

LANGUAGES = ("fi", "en")


@cache
def catalogue(lang: str) -> dict[str, str]:
    text = (resources.files("cmo.report") / "i18n" / f"{lang}.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    return {str(k): str(v) for k, v in data.items()}


class Texts:
    """``t("key", name=value)``: a fixed text in the chosen language."""

    def __init__(self, lang: str) -> None:
        if lang not in LANGUAGES:
            raise ValueError(f"no report texts for language {lang!r}")
        self.lang = lang
        self.texts = catalogue(lang)

    def __call__(self, key: str, **values: Any) -> str:
        return self.texts[key].format(**values)

    def number(self, x: float | None, digits: int = 2) -> str:
        if x is None or not math.isfinite(x):
            return "–"
        text = f"{x:,.{digits}f}"
        if self.lang == "fi":
            text = text.replace(",", "\u00a0").replace(".", ",")
        return text.replace("-", "−")

    def signed(self, x: float | None, digits: int = 2) -> str:
        if x is None or not math.isfinite(x):
            return "–"
        return ("+" if x > 0 else "") + self.number(x, digits)

    def percent(self, x: float | None, digits: int = 0) -> str:
        if x is None or not math.isfinite(x):
            return "–"
        value = self.number(100 * x, digits)
        return f"{value}\u00a0%" if self.lang == "fi" else f"{value}%"

    def integer(self, n: int) -> str:
        text = f"{n:,d}"
        return text.replace(",", "\u00a0") if self.lang == "fi" else text

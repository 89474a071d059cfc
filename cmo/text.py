"""Comparing words the way people mean them: without case, accents or extra whitespace."""

from __future__ import annotations

import unicodedata


def normalise(text: str) -> str:
    """``"  Työntekijä  ID "`` → ``"tyontekija id"``: casefold, strip accents, collapse spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.split())


def normalise_header(text: str) -> str:
    """Like :func:`normalise`, and ``_``/``-`` count as spaces (``worker_id`` = ``worker id``)."""
    return normalise(text.replace("_", " ").replace("-", " ").replace("\ufeff", ""))

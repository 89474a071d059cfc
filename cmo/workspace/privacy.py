"""What may be stored or shown: personal identity codes, periods, and text safe to echo.

Every value an office controls and cmo might store or print — a period, a column name, a file
or sheet name, a word in a mapping file — passes through here first. A Finnish personal
identity code (henkilötunnus, python-stdnum decides; the temporary range 900–999 counts) is
never stored or echoed, and terminal control characters are shown escaped, never sent to the
terminal.
"""

from __future__ import annotations

import re

from cmo.errors import InputError

#: A Finnish personal identity code anywhere in a text (century signs of 2023 included).
HETU_PATTERN = r"[0-3][0-9][01][0-9][0-9]{2}[-+A-FYXWVUa-fyxwvu][0-9]{3}[0-9A-Ya-y]"
_HETU_RE = re.compile(HETU_PATTERN)

#: The periods cmo accepts: a year, a half, a quarter or a month.
PERIOD_PATTERN = r"[0-9]{4}(H[12]|Q[1-4]|-(0[1-9]|1[0-2]))?"
_PERIOD_RE = re.compile(PERIOD_PATTERN)
PERIOD_HELP = "a year, half, quarter or month: 2026, 2026H1, 2026Q2 or 2026-03"

#: C0 and C1 control characters, DEL, and the bidirectional overrides that reorder text on a
#: terminal or in a browser.
_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
#: The longest name (column, sheet, file) echoed in full.
MAX_NAME_CHARS = 120
REDACTED = "[identity code]"


def contains_identity_code(text: str | None) -> bool:
    """Whether the text holds a valid Finnish personal identity code (python-stdnum decides;
    temporary codes, individual numbers 900–999, count too)."""
    if not text:
        return False
    candidates = [match.group(0).upper() for match in _HETU_RE.finditer(text)]
    if not candidates:  # the common case: no import of stdnum (it costs a command's start)
        return False
    from stdnum.fi import hetu

    return any(hetu.is_valid(code, allow_temporary=True) for code in candidates)


def looks_like_identity_code(text: str | None) -> bool:
    """Whether the text holds something shaped like an identity code, valid or not (a code
    with a typo still points at a person: it is withheld too)."""
    return bool(text) and _HETU_RE.search(text or "") is not None


def safe_text(text: str, limit: int = MAX_NAME_CHARS) -> str:
    """Text an office controls, made safe to store and echo: anything shaped like an identity
    code replaced by ``[identity code]``, control characters shown escaped (``\\x1b``), at
    most ``limit`` characters."""
    out = _HETU_RE.sub(REDACTED, text)
    out = _CONTROL_RE.sub(lambda m: f"\\x{ord(m.group(0)):02x}", out)
    if len(out) > limit:
        out = out[: limit - 1] + "…"
    return out


def is_period(text: str) -> bool:
    return _PERIOD_RE.fullmatch(text) is not None


def check_period(period: str, where: str = "--period") -> str:
    """The period, canonical (``2026h1`` → ``2026H1``), or an :class:`InputError` that does not
    echo it (it might be anything, an identity code included)."""
    canonical = period.strip().upper()
    if is_period(canonical):
        return canonical
    what = (
        "a personal identity code, not a period"
        if looks_like_identity_code(period)
        else "not a period"
    )
    raise InputError(
        f"{where}: the value given is {what}",
        hint=f"a period is {PERIOD_HELP}",
    )

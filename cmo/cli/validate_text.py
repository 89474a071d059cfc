"""What `cmo validate` prints as text: one line per finding and a closing line, each with its
colour (the full command prints them with rich, the fast path with plain ANSI codes)."""

from __future__ import annotations

from typing import Any


def _n(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def validation_lines(result: Any) -> list[tuple[str, str]]:
    """(text, colour) for each line: the findings, a note on other files, the summary."""
    lines = [
        (f.format(), "red" if f.severity.value == "error" else "yellow") for f in result.findings
    ]
    c = result.counts()
    what = (
        f"{_n(c['files'], 'file')}: {_n(c['theories'], 'theory', 'theories')}, "
        f"{_n(c['indicators'], 'indicator')}, {_n(c['chains'], 'chain')}"
    )
    if result.other_errors:
        lines.append(
            (
                f"note: other files of the workspace have {_n(result.other_errors, 'error')} "
                "(run 'cmo validate' to see them)",
                "yellow",
            )
        )
    mark, colour = ("✔", "green") if result.ok else ("✖", "red")
    errs, warns = _n(c["errors"], "error"), _n(c["warnings"], "warning")
    lines.append((f"{mark} {what} — {errs}, {warns}", colour))
    return lines

"""What `cmo collect` returns: per file, per batch, per quarantine reason, and the office's
fix list rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cmo import __version__
from cmo.collect.normalise import (
    REASONS,
)
from cmo.results import Tabular


@dataclass
class ReasonCount:
    """Quarantined cells of one reason in one column, with the first rows to look at."""

    reason: str
    column: str | None
    indicator: str | None
    count: int
    rows: list[int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "column": self.column,
            "indicator": self.indicator,
            "count": self.count,
            "rows": self.rows,
            "advice": REASONS.get(self.reason, ""),
        }


@dataclass(frozen=True)
class FixRow:
    """One quarantined cell, for the office's fix list (the value redacted as stored)."""

    row: int
    column: str | None
    reason: str
    value: str | None


@dataclass
class BatchReport:
    period: str
    batch_id: int | None
    rows_in: int
    rows_accepted: int
    rows_quarantined: int
    replaced_batch: int | None = None
    office: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class FileReport:
    """What happened to one export file."""

    source: str
    sha256: str
    format: str
    level: str
    status: str  # stored, replaced, unchanged, dry_run
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    rows_in: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    batches: list[BatchReport] = field(default_factory=list)
    reasons: list[ReasonCount] = field(default_factory=list)
    mapped: dict[str, str] = field(default_factory=dict)
    dropped: list[tuple[str, str]] = field(default_factory=list)
    identity_codes_found: int = 0
    #: case pseudonyms of this file already stored under another office (a count only)
    shared_with_other_offices: int = 0
    encoding_declared: bool = False
    date_formats: list[str] = field(default_factory=list)
    #: every quarantined cell (at most MAX_FIX_ROWS), for ``--fix-list``
    fixes: list[FixRow] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "sha256": self.sha256,
            "format": self.format,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "sheet": self.sheet,
            "level": self.level,
            "status": self.status,
            "rows_in": self.rows_in,
            "rows_accepted": self.rows_accepted,
            "rows_quarantined": self.rows_quarantined,
            "batches": [b.to_dict() for b in self.batches],
            "quarantine": [r.to_dict() for r in self.reasons],
            "mapped_columns": self.mapped,
            "dropped_columns": [{"column": c, "why": w} for c, w in self.dropped],
            "identity_codes_found": self.identity_codes_found,
            "shared_with_other_offices": self.shared_with_other_offices,
            "encoding_declared": self.encoding_declared,
            "date_formats": self.date_formats,
        }


@dataclass
class CollectResult(Tabular):
    """The result of one ``cmo collect`` run; as a table, one row per file."""

    office: str | None  # None: the files' office columns say
    files: list[FileReport]
    dry_run: bool
    store: str
    #: why nothing was stored although every file could be read (too much quarantined);
    #: the command exits 1 (findings). Empty when the collect went through.
    problems: list[str] = field(default_factory=list)
    key_fingerprint: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def rows_in(self) -> int:
        return sum(f.rows_in for f in self.files)

    @property
    def rows_accepted(self) -> int:
        return sum(f.rows_accepted for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    def rows(self) -> list[dict[str, Any]]:
        """One row per export file: what it was and what became of its rows."""
        return [
            {
                "office": self.office or ", ".join(sorted({b.office for b in f.batches})),
                "source": f.source,
                "format": f.format,
                "level": f.level,
                "status": f.status,
                "rows_in": f.rows_in,
                "rows_accepted": f.rows_accepted,
                "rows_quarantined": f.rows_quarantined,
            }
            for f in self.files
        ]

    def caption(self) -> str:
        what = "dry run" if self.dry_run else "collected"
        if not self.ok:
            what = "nothing stored (too much quarantined)"
        office = self.office or ", ".join(sorted({b.office for f in self.files for b in f.batches}))
        return (
            f"{office}: {what}, {self.rows_in} rows in, {self.rows_accepted} accepted, "
            f"{self.rows_quarantined} quarantined"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "cmo_version": __version__,
            "office": self.office,
            "offices": sorted({b.office for f in self.files for b in f.batches}),
            "dry_run": self.dry_run,
            "store": self.store,
            "ok": self.ok,
            "problems": self.problems,
            "key_fingerprint": self.key_fingerprint,
            "rows_in": self.rows_in,
            "rows_accepted": self.rows_accepted,
            "rows_quarantined": self.rows_quarantined,
            "files": [f.to_dict() for f in self.files],
        }

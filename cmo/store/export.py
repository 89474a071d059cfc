"""Exports: the store's observations as Parquet (pseudonymised, for when the data outgrow one
machine: Spark, Trino, R and pandas read it unchanged), and tables as XLSX or as the CSV dialect
a Finnish Excel opens correctly (semicolons, decimal commas, UTF-8 with BOM, CRLF)."""

from __future__ import annotations

import csv
import io
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from cmo.errors import InputError
from cmo.store.db import LEVEL_TABLES, Store
from cmo.store.sql import sql_str

Cell = str | int | float | None


@dataclass
class ExportResult:
    folder: str
    files: dict[str, int] = field(default_factory=dict)  # file name -> rows

    def to_dict(self) -> dict[str, Any]:
        return {"folder": self.folder, "files": self.files}


def export_parquet(
    store: Store,
    folder: Path,
    offices: Sequence[str] = (),
    periods: Sequence[str] = (),
) -> ExportResult:
    """Write ``batches`` and each level's observations (only pseudonyms, never an identifier)
    to ``folder/<table>.parquet``, owner-only (0600): row-level data for the evaluators, not
    for publication."""
    store.check_scope(list(offices), list(periods))
    folder.mkdir(parents=True, exist_ok=True)
    where = ["1=1"]
    if offices:
        where.append(f"office IN ({', '.join(sql_str(o) for o in offices)})")
    if periods:
        where.append(f"period IN ({', '.join(sql_str(p.upper()) for p in periods)})")
    result = ExportResult(str(folder))
    old = os.umask(0o077)
    try:
        for table in ("batches", *LEVEL_TABLES.values()):
            target = folder / f"{table}.parquet"
            row = store.con.execute(
                f"SELECT count(*) FROM {table} WHERE {' AND '.join(where)}"
            ).fetchone()
            store.con.execute(
                f"COPY (SELECT * FROM {table} WHERE {' AND '.join(where)}) TO "
                f"{sql_str(str(target))} (FORMAT parquet, COMPRESSION zstd)"
            )
            os.chmod(target, 0o600)
            result.files[target.name] = int(row[0]) if row else 0
    finally:
        os.umask(old)
    return result


def _fi_number(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value).replace(".", ",")
    return str(value)


def _text(value: str) -> str:
    """Text a spreadsheet shows as text, never runs as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def write_table(path: Path, header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> None:
    """Write a table as ``.xlsx`` or as Finnish-Excel ``.csv``; numbers stay numbers."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([_text(v) if isinstance(v, str) else _fi_number(v) for v in row])
        path.write_bytes(buffer.getvalue().encode("utf-8-sig"))
    elif suffix == ".xlsx":
        write_xlsx(path, [list(header), *(list(r) for r in rows)])
    else:
        raise InputError(f"{path}: write .xlsx or .csv", hint="e.g. --results tulokset.xlsx")


def _column(n: int) -> str:
    name = ""
    n += 1
    while n:
        n, rest = divmod(n - 1, 26)
        name = chr(65 + rest) + name
    return name


def write_xlsx(path: Path, table: Sequence[Sequence[Cell]], sheet: str = "Taulukko") -> None:
    """A minimal XLSX: one sheet, strings inline, numbers as numbers."""
    lines = []
    for r, row in enumerate(table, start=1):
        cells = []
        for c, value in enumerate(row):
            ref = f"{_column(c)}{r}"
            if value is None or value == "":
                continue
            if isinstance(value, bool):
                cells.append(f'<c r="{ref}" t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, int | float):
                if value != value or value in (float("inf"), float("-inf")):
                    continue  # NaN and infinities have no spreadsheet form: left empty
                cells.append(f'<c r="{ref}"><v>{value!r}</v></c>')
            else:
                text = escape(str(value))
                cells.append(
                    f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'
                )
        lines.append(f'<row r="{r}">{"".join(cells)}</row>')
    ns = "http://schemas.openxmlformats.org"
    head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    parts = {
        "[Content_Types].xml": (
            f'{head}<Types xmlns="{ns}/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
        ),
        "_rels/.rels": (
            f'{head}<Relationships xmlns="{ns}/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/'
            'officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'{head}<workbook xmlns="{ns}/spreadsheetml/2006/main" '
            f'xmlns:r="{ns}/officeDocument/2006/relationships">'
            f'<sheets><sheet name="{escape(sheet)}" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'{head}<Relationships xmlns="{ns}/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/worksheet" '
            'Target="worksheets/sheet1.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": (
            f'{head}<worksheet xmlns="{ns}/spreadsheetml/2006/main">'
            f"<sheetData>{''.join(lines)}</sheetData></worksheet>"
        ),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, text in parts.items():
            book.writestr(name, text)

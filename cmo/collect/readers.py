"""Reading what offices export: CSV (any delimiter, UTF-8 with or without BOM, Windows-1252)
and workbooks (XLSX, XLS, ODS via calamine)."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cmo.errors import InputError

CSV_SUFFIXES = (".csv", ".txt", ".tsv")
BOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
_CHUNK = 1 << 20
#: Bytes where Windows-1252 and Latin-1 differ (€, ‚, „, …, ‘, ’, “, ”, –, —, ...).
_CP1252_ONLY = bytes(range(0x80, 0xA0))


@dataclass
class Source:
    """An export file, its detected format, and its header."""

    path: Path
    name: str
    sha256: str
    kind: str  # "csv" or "workbook"
    headers: list[str] = field(default_factory=list)
    encoding: str | None = None  # as detected: utf-8-sig, utf-8, cp1252
    delimiter: str | None = None
    sheet: str | None = None
    rows: list[list[str]] | None = None  # workbook data rows as text
    header_row: int = 1  # spreadsheet row number of the header

    @property
    def delimiter_name(self) -> str | None:
        names = {";": "semicolon", ",": "comma", "\t": "tab", "|": "pipe"}
        return names.get(self.delimiter or "", self.delimiter)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def open_source(path: Path, *, sheet: str | None = None) -> Source:
    """Detect the format of an export and read its header (and a workbook's rows)."""
    if not path.exists():
        raise InputError(f"{path}: no such file", hint="check the path of the export")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not an export file")
    suffix = path.suffix.lower()
    source = Source(path=path, name=path.name, sha256=file_sha256(path), kind="csv")
    if suffix in BOOK_SUFFIXES:
        source.kind = "workbook"
        _read_workbook(source, sheet)
    elif suffix in CSV_SUFFIXES or suffix == "":
        if sheet:
            raise InputError(f"{path}: --sheet only applies to workbooks (xlsx, ods)")
        _sniff_csv(source)
    else:
        raise InputError(
            f"{path}: unknown file type '{suffix}'",
            hint="cmo reads .csv, .txt, .tsv, .xlsx, .xls and .ods exports",
        )
    return source


# ------------------------------------------------------------------------------------------
# CSV
# ------------------------------------------------------------------------------------------


def detect_encoding(path: Path) -> str:
    """``utf-8-sig`` with a BOM, ``utf-8`` if the bytes decode strictly, else ``cp1252``."""
    with path.open("rb") as fh:
        head = fh.read(3)
        if head == codecs.BOM_UTF8:
            return "utf-8-sig"
        fh.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
        try:
            for block in iter(lambda: fh.read(_CHUNK), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8"


def _first_line(path: Path, encoding: str) -> tuple[str, int]:
    """The header line (first non-blank) and its line number."""
    with path.open("r", encoding=encoding, errors="replace", newline="") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                return line.rstrip("\r\n"), number
    return "", 0


def _sniff_csv(source: Source) -> None:
    source.encoding = detect_encoding(source.path)
    line, number = _first_line(source.path, source.encoding)
    if not line:
        raise InputError(f"{source.path}: the file is empty", hint="export the data again")
    counts = {d: _count_outside_quotes(line, d) for d in (";", "\t", ",", "|")}
    delimiter = max(counts, key=lambda d: (counts[d], d == ";"))
    if counts[delimiter] == 0:
        delimiter = ";"
    source.delimiter = delimiter
    source.header_row = number
    source.headers = next(csv.reader(io.StringIO(line), delimiter=delimiter))
    source.headers = [h.strip().lstrip("\ufeff") for h in source.headers]


def _count_outside_quotes(line: str, delimiter: str) -> int:
    count, quoted = 0, False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == delimiter and not quoted:
            count += 1
    return count


@contextmanager
def duckdb_readable(source: Source, scratch: Path | None) -> Iterator[tuple[Path, str]]:
    """A path and encoding DuckDB's CSV reader can read exactly.

    DuckDB reads UTF-8 and Latin-1 natively. Windows-1252 equals Latin-1 except for the bytes
    0x80–0x9F (€, dashes, curly quotes); only a file containing those is transcoded, to a
    private temporary file in ``scratch`` that is removed at once after use.
    """
    enc = source.encoding or "utf-8"
    if enc in ("utf-8", "utf-8-sig"):
        yield source.path, "utf-8"
        return
    if not _contains_any(source.path, _CP1252_ONLY):
        yield source.path, "latin-1"
        return
    if scratch is not None:
        scratch.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(suffix=".csv", dir=scratch)
    tmp = Path(name)
    try:
        os.chmod(tmp, 0o600)
        with (
            source.path.open("r", encoding="cp1252", errors="replace", newline="") as src,
            os.fdopen(fd, "w", encoding="utf-8", newline="") as dst,
        ):
            for block in iter(lambda: src.read(_CHUNK), ""):
                dst.write(block)
        yield tmp, "utf-8"
    finally:
        tmp.unlink(missing_ok=True)


def _contains_any(path: Path, table: bytes) -> bool:
    wanted = set(table)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            if not wanted.isdisjoint(block):
                return True
    return False


# ------------------------------------------------------------------------------------------
# Workbooks
# ------------------------------------------------------------------------------------------


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _read_workbook(source: Source, sheet: str | None) -> None:
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(source.path))
    except Exception as exc:  # calamine raises its own error types
        raise InputError(
            f"{source.path}: cannot read the workbook ({type(exc).__name__})",
            hint="save it again as .xlsx or .ods, or export CSV",
        ) from None
    names = list(book.sheet_names)
    if not names:
        raise InputError(f"{source.path}: the workbook has no sheets")
    if sheet is None:
        chosen = names[0]
    elif sheet in names:
        chosen = sheet
    else:
        raise InputError(
            f"{source.path}: no sheet '{sheet}'",
            hint=f"sheets in this workbook: {', '.join(names)}",
        )
    source.sheet = chosen
    rows = book.get_sheet_by_name(chosen).to_python(skip_empty_area=False)
    text_rows = [[_cell_text(v).strip() for v in row] for row in rows]
    # The header is the first row with at least two filled cells: a title line above the
    # table (common in hand-kept workbooks) is skipped.
    start = next((i for i, row in enumerate(text_rows) if sum(1 for v in row if v) >= 2), None)
    if start is None:
        raise InputError(f"{source.path}: sheet '{chosen}' has no table (no header row)")
    source.header_row = start + 1
    headers = text_rows[start]
    width = max((len(r) for r in text_rows[start:]), default=len(headers))
    source.headers = headers + [""] * (width - len(headers))
    data = text_rows[start + 1 :]
    while data and not any(data[-1]):
        data.pop()
    source.rows = [r + [""] * (width - len(r)) for r in data]

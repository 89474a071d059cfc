"""Reading what offices export: CSV (any delimiter, UTF-8 with or without BOM, Windows-1252)
and workbooks (XLSX, XLS, ODS via calamine)."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cmo.errors import InputError
from cmo.source import irregular_kind
from cmo.store.scratch import anonymous_file
from cmo.workspace.privacy import looks_like_identity_code, safe_text

CSV_SUFFIXES = (".csv", ".txt", ".tsv")
BOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
_CHUNK = 1 << 20
#: Bytes where Windows-1252 and Latin-1 differ (€, ‚, „, …, ‘, ’, “, ”, –, —, ...).
_CP1252_ONLY = bytes(range(0x80, 0xA0))

#: Limits (docs/collect.md, "Limits"): beyond them a file is refused with one sentence.
MAX_COLUMNS = 1000
#: The longest line of a CSV file (DuckDB's reader holds one line in memory at a time).
MAX_LINE_BYTES = 32 << 20
#: Cells of a workbook sheet (a workbook is read into memory; export larger data as CSV).
MAX_BOOK_CELLS = 3_000_000
#: Uncompressed bytes of a workbook's parts (a zip bomb is refused before it is expanded).
MAX_BOOK_BYTES = 512 << 20

#: Encodings an office (mapping file ``encoding:``) or the command line (``--encoding``) can
#: declare, by the names people use → Python's codec.
ENCODINGS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "windows-1252": "cp1252",
    "cp1252": "cp1252",
    "iso-8859-15": "iso8859-15",
    "latin-9": "iso8859-15",
    "latin9": "iso8859-15",
    "iso-8859-1": "latin-1",
    "latin-1": "latin-1",
    "latin1": "latin-1",
    "utf-16": "utf-16",
}


def declared_encoding(name: str | None, where: str = "--encoding") -> str | None:
    """The codec of a declared encoding name, or None for detection."""
    if name is None or name.strip().lower() in ("", "auto"):
        return None
    codec = ENCODINGS.get(name.strip().lower())
    if codec is None:
        raise InputError(
            f"{where}: unknown encoding '{safe_text(name, 40)}'",
            hint="use utf-8, windows-1252, iso-8859-15 or iso-8859-1 (or leave it out to detect)",
        )
    return codec


@dataclass
class Source:
    """An export file, its detected format, and its header.

    ``name``, ``headers`` and ``sheet`` are safe to store and show: a personal identity code in
    them is withheld and control characters are escaped (:mod:`cmo.workspace.privacy`).
    """

    path: Path
    name: str
    sha256: str
    kind: str  # "csv" or "workbook"
    headers: list[str] = field(default_factory=list)
    encoding: str | None = None  # detected (utf-8-sig, utf-8, cp1252) or declared
    delimiter: str | None = None
    sheet: str | None = None
    rows: list[list[str]] | None = None  # workbook data rows as text
    header_row: int = 1  # spreadsheet row number of the header
    encoding_declared: bool = False

    @property
    def label(self) -> str:
        """The path as messages show it."""
        return safe_text(str(self.path), 300)

    @property
    def delimiter_name(self) -> str | None:
        names = {";": "semicolon", ",": "comma", "\t": "tab", "|": "pipe"}
        return names.get(self.delimiter or "", self.delimiter)


def safe_headers(headers: list[str]) -> list[str]:
    """Column names safe to store and show; a name holding anything shaped like an identity
    code becomes ``(column N: name withheld)``."""
    out = []
    for i, header in enumerate(headers):
        if looks_like_identity_code(header):
            out.append(f"(column {i + 1}: name withheld, it holds an identity code)")
        else:
            out.append(safe_text(header))
    return out


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _sha256_meanwhile(path: Path) -> Callable[[], str]:
    """Start hashing the file in a thread (hashlib lets go of the interpreter while it hashes,
    so the file is sniffed meanwhile); the returned call waits for the digest."""
    done: list[str] = []
    failed: list[BaseException] = []

    def work() -> None:
        try:
            done.append(file_sha256(path))
        except BaseException as exc:  # re-raised by the caller
            failed.append(exc)

    thread = threading.Thread(target=work, name="cmo-sha256", daemon=True)
    thread.start()

    def wait() -> str:
        thread.join()
        if failed:
            raise failed[0]
        return done[0]

    return wait


def open_source(path: Path, *, sheet: str | None = None, encoding: str | None = None) -> Source:
    """Detect the format of an export and read its header (and a workbook's rows).

    ``encoding`` is a declared codec (see :func:`declared_encoding`); without it the encoding
    is detected.
    """
    label = safe_text(str(path), 300)
    if not path.exists():
        raise InputError(f"{label}: no such file", hint="check the path of the export")
    if path.is_dir():
        raise InputError(f"{label}: is a folder, not an export file")
    kind = irregular_kind(path.stat().st_mode)
    if kind is not None:  # a pipe or a device could be read for ever
        raise InputError(
            f"{label}: is {kind}, not a regular file (cmo reads only regular files)",
            hint="give the export file itself",
        )
    suffix = path.suffix.lower()
    name = path.name
    if looks_like_identity_code(name):
        name = f"(file name withheld, it holds an identity code){suffix}"
    digest = _sha256_meanwhile(path)
    source = Source(path=path, name=safe_text(name, 300), sha256="", kind="csv")
    if suffix in BOOK_SUFFIXES:
        source.kind = "workbook"
        _read_workbook(source, sheet)
    elif suffix in CSV_SUFFIXES or suffix == "":
        if sheet:
            raise InputError(f"{label}: --sheet only applies to workbooks (xlsx, ods)")
        _sniff_csv(source, encoding)
    else:
        raise InputError(
            f"{label}: unknown file type '{safe_text(suffix, 20)}'",
            hint="cmo reads .csv, .txt, .tsv, .xlsx, .xls and .ods exports",
        )
    if len(source.headers) > MAX_COLUMNS:
        raise InputError(
            f"{label}: {len(source.headers)} columns, more than the {MAX_COLUMNS} cmo reads",
            hint="export only the columns the indicators need",
        )
    source.headers = safe_headers(source.headers)
    source.sha256 = digest()
    return source


# ------------------------------------------------------------------------------------------
# CSV
# ------------------------------------------------------------------------------------------


def _line_of(path: Path, offset: int) -> int:
    """The line number of byte ``offset``."""
    lines = 1
    done = 0
    with path.open("rb") as fh:
        while done < offset:
            block = fh.read(min(_CHUNK, offset - done))
            if not block:
                break
            lines += block.count(b"\n")
            done += len(block)
    return lines


#: A UTF-8 encoded letter of Latin-1 (ä, ö, å, é, ...): two bytes, C3 and a continuation byte.
#: In Windows-1252 text this is "Ã" followed by a symbol, which Finnish text never has.
_UTF8_LATIN = re.compile(rb"\xc3[\x80-\xbf]")


def detect_encoding(path: Path, label: str | None = None) -> str:
    """``utf-8-sig`` with a BOM, ``utf-8`` if the bytes decode strictly, else ``cp1252``.

    A file that is partly UTF-8 and partly not (an export appended to by two programs) is
    refused with the first line of each, not guessed.
    """
    label = label or safe_text(str(path), 300)
    with path.open("rb") as fh:
        head = fh.read(3)
        if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            return "utf-16"  # Excel's "Unicode text": transcoded like Windows-1252
        if head == codecs.BOM_UTF8:
            bad = _first_invalid_utf8(fh, 3)
            if bad is None:
                return "utf-8-sig"
            raise _mixed(label, path, None, bad)
        fh.seek(0)
        bad = _first_invalid_utf8(fh, 0)
        if bad is None:
            return "utf-8"
        fh.seek(0)
        offset = 0
        first_utf8: int | None = None
        tail = b""
        for block in iter(lambda: fh.read(_CHUNK), b""):
            found = _UTF8_LATIN.search(tail + block)
            if found is not None:
                first_utf8 = offset - len(tail) + found.start()
                break
            tail = block[-1:]
            offset += len(block)
    if first_utf8 is not None:
        raise _mixed(label, path, first_utf8, bad)
    return "cp1252"


def _first_invalid_utf8(fh: io.BufferedReader, start: int) -> int | None:
    """The offset of the first byte that is not UTF-8, or None."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    offset = start
    for block in iter(lambda: fh.read(_CHUNK), b""):
        try:
            decoder.decode(block)
        except UnicodeDecodeError as exc:
            pending = len(exc.object) - len(block)
            return offset - pending + exc.start
        offset += len(block)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return offset - 1
    return None


def _mixed(label: str, path: Path, utf8_at: int | None, bad_at: int) -> InputError:
    bad_line = _line_of(path, bad_at)
    if utf8_at is None or utf8_at < bad_at:
        where = f"line {bad_line} is not UTF-8 although the lines before it are"
        if utf8_at is not None:
            where = (
                f"line {_line_of(path, utf8_at)} is UTF-8 but line {bad_line} is not: the "
                "file mixes encodings"
            )
    else:
        where = (
            f"line {bad_line} is not UTF-8 but line {_line_of(path, utf8_at)} is: the file "
            "mixes encodings"
        )
    return InputError(
        f"{label}: {where}",
        hint="export the file again in one encoding (UTF-8 is best), or declare the "
        "encoding with --encoding or 'encoding:' in the office's mapping file",
    )


def _check_declared(source: Source, codec: str) -> None:
    if codec != "utf-8":
        return
    with source.path.open("rb") as fh:
        start = 3 if fh.read(3) == codecs.BOM_UTF8 else 0
        fh.seek(start)
        bad = _first_invalid_utf8(fh, start)
    if bad is not None:
        raise InputError(
            f"{source.label}: line {_line_of(source.path, bad)} is not UTF-8, although UTF-8 "
            "was declared",
            hint="declare the encoding the office really uses (windows-1252, iso-8859-15)",
        )


def _lines(path: Path, encoding: str) -> Iterator[str]:
    """Lines of a text file, each at most :data:`MAX_LINE_BYTES` characters."""
    with path.open("r", encoding=encoding, errors="replace", newline="") as fh:
        while True:
            line = fh.readline(MAX_LINE_BYTES)
            if not line:
                return
            yield line


def _sniff_csv(source: Source, declared: str | None = None) -> None:
    if declared is not None:
        _check_declared(source, declared)
        source.encoding = declared
        source.encoding_declared = True
    else:
        source.encoding = detect_encoding(source.path, source.label)
    read_as = "utf-8-sig" if source.encoding == "utf-8" else source.encoding
    line, number, more = "", 0, False
    for n, text in enumerate(_lines(source.path, read_as), start=1):
        if not text.strip():
            continue
        if not line:
            if len(text) >= MAX_LINE_BYTES and not text.endswith(("\n", "\r")):
                raise InputError(
                    f"{source.label}: the header line is longer than {MAX_LINE_BYTES >> 20} MB",
                    hint="this is not a table export: check the file",
                )
            line, number = text.rstrip("\r\n"), n
            continue
        more = True
        break
    if not line:
        raise InputError(f"{source.label}: the file is empty", hint="export the data again")
    if not more:
        raise InputError(
            f"{source.label}: the file has a header but no rows",
            hint="export the data again; an office with nothing to report sends no file",
        )
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
    0x80–0x9F (€, dashes, curly quotes); only a file containing those is transcoded — into an
    anonymous file (:func:`cmo.store.scratch.anonymous_file`) that has no name on disk and so
    cannot outlive this process, whatever happens to it.
    """
    enc = source.encoding or "utf-8"
    if enc in ("utf-8", "utf-8-sig"):
        yield source.path, "utf-8"
        return
    if enc == "latin-1" or (enc == "cp1252" and not _contains_any(source.path, _CP1252_ONLY)):
        yield source.path, "latin-1"
        return
    with (
        anonymous_file(scratch) as (fd, path),
        source.path.open("r", encoding=enc, errors="replace", newline="") as src,
    ):
        dst = io.TextIOWrapper(
            io.FileIO(fd, "w", closefd=False), encoding="utf-8", newline="", write_through=False
        )
        for block in iter(lambda: src.read(_CHUNK), ""):
            dst.write(block)
        dst.flush()
        dst.detach()
        yield path, "utf-8"


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


_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]+)([0-9]+)(?::([A-Z]+)([0-9]+))?"')
_CELL = re.compile(rb"<(?:\w+:)?c[\s>/]")
_CELL_REF = re.compile(rb'<(?:\w+:)?c\s[^>]*?\br="([A-Z]{1,3})([0-9]{1,7})"')


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n


def _check_workbook(source: Source) -> None:
    """Refuse a workbook that would take unbounded memory or time before it is expanded:
    parts larger than :data:`MAX_BOOK_BYTES` uncompressed, an XML DOCTYPE (entity expansion),
    a sheet that declares or holds more than :data:`MAX_BOOK_CELLS` cells."""
    import zipfile

    label = source.label
    try:
        book = zipfile.ZipFile(source.path)
    except (zipfile.BadZipFile, OSError):
        return  # .xls (not a zip) or damaged: calamine reports it
    with book:
        infos = book.infolist()
        total = sum(i.file_size for i in infos)
        if total > MAX_BOOK_BYTES:
            raise InputError(
                f"{label}: the workbook expands to {total >> 20} MB, more than the "
                f"{MAX_BOOK_BYTES >> 20} MB cmo reads",
                hint="export the data as CSV instead",
            )
        for info in infos:
            if not info.filename.endswith(".xml"):
                continue
            with book.open(info) as part:
                head = part.read(4096)
                if b"<!DOCTYPE" in head.upper().replace(b"<!doctype", b"<!DOCTYPE"):
                    raise InputError(
                        f"{label}: the workbook contains an XML DOCTYPE, which no spreadsheet "
                        "program writes",
                        hint="open and save it again in a spreadsheet program, or export CSV",
                    )
                if info.filename == "content.xml":
                    _check_ods_content(label, head, part)
                    continue
                if not info.filename.startswith("xl/worksheets/"):
                    continue
                dim = _DIMENSION.search(head)
                if dim is not None and dim.group(3):
                    _check_extent(
                        label,
                        _column_number(dim.group(3)) - _column_number(dim.group(1)) + 1,
                        int(dim.group(4)) - int(dim.group(2)) + 1,
                        "declares",
                    )
                cells, max_col, max_row, tail = 0, 0, 0, b""
                block = head
                while block:
                    text = tail + block
                    cells += len(_CELL.findall(text))
                    for ref in _CELL_REF.finditer(text):
                        max_col = max(max_col, _column_number(ref.group(1)))
                        max_row = max(max_row, int(ref.group(2)))
                    if cells > 2 * MAX_BOOK_CELLS:
                        break
                    tail = block[-32:]
                    block = part.read(_CHUNK)
                # (cells are counted twice where a tag straddles two blocks: a bound, not a
                # count; the extent is what calamine would allocate)
                _check_extent(label, max_col, max_row, "holds cells as far as")
                if cells > 2 * MAX_BOOK_CELLS:
                    _too_many_cells(label, cells // 2)


_ODS_TAG = re.compile(rb"<table:table-(row|cell)\b([^>]*)>")
_ODS_ROWS = re.compile(rb'number-rows-repeated="([0-9]+)"')
_ODS_COLS = re.compile(rb'number-columns-repeated="([0-9]+)"')


def _check_ods_content(label: str, head: bytes, part: Any) -> None:
    """An ODS sheet says "this cell, 16384 times; this row, a million times" in a few bytes:
    the filled cells it would expand to are counted before calamine expands them."""
    cells, repeat, carry = 0, 1, b""
    block = head
    while block:
        text = carry + block
        end = text.rfind(b">") + 1
        for tag in _ODS_TAG.finditer(text, 0, end):
            attrs = tag.group(2)
            if tag.group(1) == b"row":
                found = _ODS_ROWS.search(attrs)
                repeat = int(found.group(1)) if found else 1
            elif b"value-type" in attrs:
                found = _ODS_COLS.search(attrs)
                cols = int(found.group(1)) if found else 1
                if cols > MAX_COLUMNS:
                    _check_extent(label, cols, repeat, "holds filled cells as far as")
                cells += cols * repeat
                if cells > MAX_BOOK_CELLS:
                    _too_many_cells(label, cells)
        carry = text[end:][-4096:]
        block = part.read(_CHUNK)


def _too_many_cells(label: str, cells: int) -> None:
    raise InputError(
        f"{label}: a sheet holds more than {cells:_} filled cells, more than the "
        f"{MAX_BOOK_CELLS:_} cmo reads from a workbook".replace("_", " "),
        hint="export the data as CSV instead",
    )


def _check_extent(label: str, cols: int, rows: int, verb: str) -> None:
    if cols > MAX_COLUMNS or cols * rows > MAX_BOOK_CELLS:
        raise InputError(
            f"{label}: a sheet {verb} {cols} columns × {rows} rows, more than cmo reads from a "
            f"workbook ({MAX_COLUMNS} columns, {MAX_BOOK_CELLS:_} cells)".replace("_", " "),
            hint="export the data as CSV instead (or save only the table's rows and columns)",
        )


def _read_workbook(source: Source, sheet: str | None) -> None:
    from python_calamine import CalamineWorkbook

    _check_workbook(source)
    label = source.label
    try:
        book = CalamineWorkbook.from_path(str(source.path))
    except Exception as exc:  # calamine raises its own error types
        raise InputError(
            f"{label}: cannot read the workbook ({type(exc).__name__})",
            hint="save it again as .xlsx or .ods, or export CSV",
        ) from None
    names = list(book.sheet_names)
    if not names:
        raise InputError(f"{label}: the workbook has no sheets")
    if sheet is None:
        chosen = names[0]
    elif sheet in names:
        chosen = sheet
    else:
        raise InputError(
            f"{label}: no sheet '{safe_text(sheet, 60)}'",
            hint=f"sheets in this workbook: {', '.join(safe_text(n, 60) for n in names)}",
        )
    source.sheet = safe_text(chosen, 60)
    try:
        rows = book.get_sheet_by_name(chosen).to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises its own error types
        raise InputError(
            f"{label}: cannot read sheet '{source.sheet}' ({type(exc).__name__})",
            hint="save it again as .xlsx or .ods, or export CSV",
        ) from None
    text_rows = [[_cell_text(v).strip() for v in row] for row in rows]
    # The header is the first row with at least two filled cells: a title line above the
    # table (common in hand-kept workbooks) is skipped.
    start = next((i for i, row in enumerate(text_rows) if sum(1 for v in row if v) >= 2), None)
    if start is None:
        raise InputError(f"{label}: sheet '{source.sheet}' has no table (no header row)")
    source.header_row = start + 1
    headers = text_rows[start]
    width = max((len(r) for r in text_rows[start:]), default=len(headers))
    source.headers = headers + [""] * (width - len(headers))
    data = text_rows[start + 1 :]
    while data and not any(data[-1]):
        data.pop()
    if not data:
        raise InputError(
            f"{label}: sheet '{source.sheet}' has a header but no rows",
            hint="export the data again; an office with nothing to report sends no file",
        )
    source.rows = [r + [""] * (width - len(r)) for r in data]

"""The office's fix list as a file: every quarantined cell — file, row, column, reason, what to
do, the value (redacted where it could identify someone) — in Finnish or English, as CSV (the
dialect a Finnish Excel opens: semicolons, UTF-8 with BOM, CRLF) or XLSX, ready to send back."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING

from cmo.collect.normalise import REASONS
from cmo.errors import InputError
from cmo.store.export import write_xlsx

if TYPE_CHECKING:
    from cmo.collect.results import CollectResult

#: What the office should do, in Finnish (the English text is :data:`REASONS`).
REASONS_FI: dict[str, str] = {
    "missing_id": "Tunniste (asiakas tai työntekijä) puuttuu: täydennä se.",
    "personal_identity_code": "Henkilötunnus muualla kuin tunnistesarakkeessa. Arvoa ei "
    "tallennettu: poista henkilötunnus viennistä.",
    "unknown_label": "Sana ei ole mittarin vastausvaihtoehto: käytä sovittuja vaihtoehtoja tai "
    "lisää sana synonyymiksi (mittaritiedosto tai toimiston kuvaustiedosto).",
    "out_of_scale": "Luku on asteikon ulkopuolella (esim. 6 asteikolla 1–5).",
    "out_of_range": "Luku on sallitun vaihteluvälin ulkopuolella (tai negatiivinen määrä).",
    "not_a_number": "Tekstiä luvun paikalla (esim. 'ei tiedossa'): jätä solu tyhjäksi, kun "
    "arvoa ei tiedetä.",
    "not_an_integer": "Lukumäärässä on desimaaleja.",
    "invalid_date": "Mahdoton tai lukukelvoton päivämäärä: kirjoita p.k.vvvv tai vvvv-kk-pp.",
    "unknown_measurement_point": "Tuntematon mittauskerta: käytä määriteltyä mittauskertaa "
    "(tai sen aliasta).",
    "missing_period": "Seurantajakso puuttuu tältä riviltä.",
    "invalid_period": "Seurantajakso ei ole jakso (2026, 2026H1, 2026Q2, 2026-03). Arvoa ei "
    "tallennettu.",
    "missing_office": "Toimisto puuttuu tältä riviltä.",
    "unknown_office": "Toimistosarakkeessa on toimisto, jota ei ole cmo.yaml-tiedostossa: "
    "kirjoita toimiston tunnus tai nimi.",
    "totals_row": "Yhteensä- tai summarivi: ei asiakas. Jätä summarivit pois viennistä.",
    "duplicate_row": "Sama asiakas (tai työntekijä) ja mittauskerta uudelleen tässä "
    "tiedostossa; ensimmäinen rivi säilytettiin.",
}

HEADERS = {
    "fi": ("tiedosto", "rivi", "sarake", "syy", "mitä tehdä", "arvo"),
    "en": ("file", "row", "column", "reason", "what to do", "value"),
}
REDACTED = {"fi": "(poistettu)", "en": "(redacted)"}


def fix_list_rows(result: CollectResult, lang: str = "fi") -> list[tuple[str, ...]]:
    """The rows of the fix list (without the header)."""
    advice = REASONS_FI if lang == "fi" else REASONS
    out: list[tuple[str, ...]] = []
    for f in result.files:
        for fix in f.fixes:
            value = fix.value
            if value is None and fix.reason in ("personal_identity_code",):
                value = REDACTED[lang]
            out.append(
                (
                    f.source,
                    str(fix.row),
                    fix.column or "",
                    fix.reason,
                    advice.get(fix.reason, ""),
                    value or "",
                )
            )
    return out


def _cell(text: str) -> str:
    """Text a spreadsheet shows as text, never runs as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_fix_list(result: CollectResult, path: Path, lang: str = "fi") -> int:
    """Write the fix list to ``path`` (``.csv`` or ``.xlsx``); returns the number of rows."""
    if lang not in HEADERS:
        raise InputError(f"--lang {lang}: the fix list is written in Finnish or English")
    rows = fix_list_rows(result, lang)
    table = [HEADERS[lang], *((r[0], r[1], *(_cell(c) for c in r[2:])) for r in rows)]
    suffix = path.suffix.lower()
    if suffix == ".csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
        writer.writerows(table)
        path.write_bytes(buffer.getvalue().encode("utf-8-sig"))
    elif suffix == ".xlsx":
        cells: list[list[str | int | float | None]] = [list(HEADERS[lang])]
        cells += [[r[0], int(r[1]), *(_cell(c) for c in r[2:])] for r in rows]
        write_xlsx(path, cells, sheet="Korjattavat" if lang == "fi" else "Fixes")
    else:
        raise InputError(
            f"{path}: the fix list is written as .csv or .xlsx",
            hint="e.g. --fix-list korjattavat.xlsx",
        )
    return len(rows)

"""Result objects as tables: to_frame() and the HTML a notebook shows (parsed, not matched)."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import cmo
from cmo.results import HTML_ROWS, Tabular

from .conftest import FIXTURES, ROOT


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.head: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th"):
            self._in = tag

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "th":
            self.head.append(data)
        elif self._in == "td":
            self.rows[-1].append(data)


def _parse(html: str) -> _Cells:
    p = _Cells()
    p.feed(html)
    return p


def test_validation_result_as_frame_and_html() -> None:
    result = cmo.validate([FIXTURES / "broken" / "unknown_key_typo"])
    frame = result.to_frame()
    assert list(frame.columns) == list(result.columns or ())
    assert list(frame["code"]) == [f.code for f in result.findings] == ["S002", "S001"]
    assert list(frame["line"]) == [17, 19]
    cells = _parse(result._repr_html_())
    assert cells.head == list(frame.columns)
    body = [r for r in cells.rows if r]
    assert [r[3] for r in body] == ["S002", "S001"]
    assert "✖" in result.caption() and "2 errors" in result.caption()


def test_clean_validation_has_an_empty_frame_with_its_columns() -> None:
    result = cmo.validate(workspace=ROOT)
    assert result.ok
    frame = result.to_frame()
    assert frame.empty and list(frame.columns)[:3] == ["file", "line", "column"]
    assert "no rows" in result._repr_html_()


@dataclass
class _Many(Tabular):
    n: int

    def rows(self) -> list[dict[str, Any]]:
        return [
            {"i": i, "text": "<b>&</b>" if i == 0 else "x", "v": 0.123456} for i in range(self.n)
        ]


def test_html_escapes_and_truncates_but_the_frame_has_every_row() -> None:
    many = _Many(HTML_ROWS + 7)
    html = many._repr_html_()
    assert "<b>&</b>" not in html and "&lt;b&gt;&amp;&lt;/b&gt;" in html
    cells = _parse(html)
    assert len([r for r in cells.rows if r]) == HTML_ROWS
    assert f"{HTML_ROWS} of {HTML_ROWS + 7} rows shown" in html
    assert len(many.to_frame()) == HTML_ROWS + 7
    assert next(r for r in cells.rows if r)[2] == "0.1235"


def test_import_cmo_is_light_and_exports_resolve() -> None:
    import subprocess
    import sys

    code = (
        "import sys, cmo\n"
        "heavy = [m for m in ('pydantic', 'pandas', 'yaml', 'duckdb') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "for name in cmo.__all__: getattr(cmo, name)\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.stdout.strip() == "ok", proc.stderr

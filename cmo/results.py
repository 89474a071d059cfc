"""Result objects as tables: ``to_frame()`` for pandas and an HTML view for notebooks.

A result class mixes in :class:`Tabular` and says what one row is (:meth:`Tabular.rows`, plain
values) and what it is about (:meth:`Tabular.caption`); it then offers

- ``to_frame()``: a pandas DataFrame of the rows (pandas is imported only here, so that
  ``cmo validate`` starts fast);
- ``_repr_html_()``: what Jupyter shows for the object, an HTML table built with escaping (no
  pandas needed), at most :data:`HTML_ROWS` rows.

This module is the ground floor: it imports nothing from cmo.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

#: Rows shown in a notebook; ``to_frame()`` has them all.
HTML_ROWS = 50


class Tabular:
    """Mixin for result objects: rows → DataFrame and notebook HTML."""

    #: Column order of the table (the keys of each row); None: the first row's keys.
    columns: tuple[str, ...] | None = None

    def rows(self) -> list[dict[str, Any]]:
        """One dict per row, plain values (text, numbers, None)."""
        raise NotImplementedError

    def caption(self) -> str:
        """One line saying what the table is about."""
        return type(self).__name__

    def to_frame(self) -> pd.DataFrame:
        """The rows as a pandas DataFrame (one column per key, in :attr:`columns` order)."""
        import pandas as pd

        rows = self.rows()
        return pd.DataFrame.from_records(rows, columns=list(self._columns(rows)))

    def _columns(self, rows: list[dict[str, Any]]) -> tuple[str, ...]:
        if self.columns is not None:
            return self.columns
        return tuple(rows[0]) if rows else ()

    def _repr_html_(self) -> str:
        rows = self.rows()
        cols = self._columns(rows)
        esc = html.escape
        out = [f"<div><p><strong>{esc(self.caption())}</strong></p>"]
        if not rows:
            out.append("<p><em>no rows</em></p></div>")
            return "".join(out)
        out.append("<table><thead><tr>")
        out.extend(f"<th>{esc(str(c))}</th>" for c in cols)
        out.append("</tr></thead><tbody>")
        for row in rows[:HTML_ROWS]:
            out.append("<tr>")
            out.extend(f"<td>{esc(_cell(row.get(c)))}</td>" for c in cols)
            out.append("</tr>")
        out.append("</tbody></table>")
        if len(rows) > HTML_ROWS:
            out.append(
                f"<p>{HTML_ROWS} of {len(rows)} rows shown; <code>.to_frame()</code> has all.</p>"
            )
        out.append("</div>")
        return "".join(out)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)

"""Helpers for the collect tests: a fresh workspace with the shipped framework and a key."""

from __future__ import annotations

from pathlib import Path

from cmo.store import open_store
from cmo.workspace import Workspace, init_workspace, load_workspace

HEADER = (
    "Asiakasnumero;Työntekijä;Jakso;Mittauskerta;Osallisuus;Luottamus;Elämäntilanne;Etäisyys km"
)


def make_workspace(root: Path, offices: tuple[str, ...] = ("kemi", "inari")) -> Workspace:
    init_workspace(root, name="Testi")
    settings = root / "cmo.yaml"
    text = settings.read_text(encoding="utf-8")
    listed = "".join(f"  - {{id: {o}, name: {o.title()}}}\n" for o in offices)
    text = text.replace(
        "  - {id: office_a, name: Sosiaalitoimisto A, municipality: Kunta A}\n", listed
    )
    settings.write_text(text, encoding="utf-8")
    return load_workspace(root)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def store_rows(ws: Workspace, sql: str) -> list[tuple]:
    with open_store(ws.store_path, read_only=True) as store:
        return store.con.execute(sql).fetchall()

"""Which key the store's pseudonyms were made with, and whether the key in use is that one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cmo.store.db import open_store
from cmo.workspace import Workspace, load_key


@dataclass(frozen=True)
class KeyStatus:
    """Fingerprints only: a fingerprint tells keys apart and reveals nothing of them."""

    source: str
    fingerprint: str
    store_fingerprint: str | None

    @property
    def matches(self) -> bool | None:
        """True or False; None when the store has no key recorded (or no store yet)."""
        if self.store_fingerprint is None:
            return None
        return self.store_fingerprint == self.fingerprint

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "fingerprint": self.fingerprint,
            "store_fingerprint": self.store_fingerprint,
            "matches": self.matches,
        }


def key_status(ws: Workspace) -> KeyStatus:
    key = load_key(ws.key_path)
    stored = None
    if ws.store_path.exists():
        with open_store(ws.store_path, read_only=True) as store:
            stored = store.key_fingerprint()
    return KeyStatus(key.source, key.fingerprint, stored)

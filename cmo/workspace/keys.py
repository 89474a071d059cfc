"""The pseudonymisation key: read from ``CMO_KEY`` or the workspace's key file."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cmo.errors import WorkspaceError

ENV_VAR = "CMO_KEY"
MIN_KEY_BYTES = 32


@dataclass(frozen=True)
class PseudonymKey:
    """A secret key for HMAC-SHA-256 pseudonyms. Its ``repr`` never shows the secret."""

    secret: bytes
    source: str

    def __repr__(self) -> str:
        return f"PseudonymKey(source={self.source!r}, fingerprint={self.fingerprint})"

    @property
    def fingerprint(self) -> str:
        """A short public fingerprint: tells keys apart without revealing them."""
        return hmac.new(self.secret, b"cmo key fingerprint", hashlib.sha256).hexdigest()[:16]

    def pseudonym(self, identifier: str) -> str:
        """The pseudonym of an identifier (trimmed, upper-cased): HMAC-SHA-256, hex."""
        text = identifier.strip().upper()
        return hmac.new(self.secret, text.encode("utf-8"), hashlib.sha256).hexdigest()


def _parse(text: str, source: str) -> PseudonymKey:
    value = text.strip()
    try:
        secret = bytes.fromhex(value)
    except ValueError:
        secret = value.encode("utf-8")
    if len(secret) < MIN_KEY_BYTES:
        raise WorkspaceError(
            f"{source}: the pseudonymisation key is too short ({len(secret)} bytes; at least "
            f"{MIN_KEY_BYTES} are needed)",
            hint="create a proper key with 'cmo key create'",
        )
    return PseudonymKey(secret=secret, source=source)


def load_key(key_file: Path) -> PseudonymKey:
    """The key from ``CMO_KEY`` if set, else from ``key_file``."""
    env = os.environ.get(ENV_VAR)
    if env:
        return _parse(env, f"${ENV_VAR}")
    if not key_file.is_file():
        raise WorkspaceError(
            f"{key_file}: no pseudonymisation key",
            hint="create one with 'cmo key create' (or set CMO_KEY); keep it secret and back it "
            "up: the same key gives the same pseudonyms across offices and periods",
        )
    mode = stat.S_IMODE(key_file.stat().st_mode)
    if mode & 0o077:
        raise WorkspaceError(
            f"{key_file}: the key file is readable by others (mode {mode:04o})",
            hint=f"restrict it: chmod 600 {key_file}",
        )
    return _parse(key_file.read_text(encoding="ascii", errors="replace"), str(key_file))

"""DuckDB-backed store. DuckDB is imported only when a store is opened."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cmo.errors import CmoError, InputError
from cmo.store.scratch import prepare as prepare_scratch
from cmo.workspace.privacy import PERIOD_HELP, check_period, safe_text

if TYPE_CHECKING:
    import duckdb

SCHEMA_VERSION = "1"

#: The observation table of each level.
LEVEL_TABLES = {
    "case": "case_observations",
    "worker": "worker_observations",
    "office": "office_observations",
}
#: Key columns of each level's table (besides batch_id, source_row, office, period).
LEVEL_KEYS = {
    "case": ("case_key", "worker_key", "measurement_point", "measured_on"),
    "worker": ("worker_key", "measurement_point"),
    "office": (),
}
_KEY_TYPES = {
    "case_key": "VARCHAR NOT NULL",
    "worker_key": "VARCHAR",
    "measurement_point": "VARCHAR",
    "measured_on": "DATE",
}
_IDENT = re.compile(r"^[a-z][a-z0-9_]*$")


class StoreError(CmoError):
    """The store cannot be used as asked."""


class StoreBusyError(StoreError):
    """Another process holds the store."""


class KeyMismatchError(StoreError):
    """The key in use is not the one the store's pseudonyms were made with."""


@dataclass(frozen=True)
class Batch:
    """One collected batch: a file's rows of one level for one office and period."""

    batch_id: int
    office: str
    period: str
    level: str
    source_name: str
    source_sha256: str
    rows_in: int
    rows_accepted: int
    rows_quarantined: int
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    collected_at: dt.datetime
    cmo_version: str

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["collected_at"] = self.collected_at.isoformat(timespec="seconds")
        return out


@dataclass(frozen=True)
class BatchAudit:
    """Rows of a batch as recounted from the stored data."""

    batch_id: int
    rows_in: int
    accepted_recorded: int
    accepted_stored: int
    quarantined_recorded: int
    quarantined_stored: int

    @property
    def balanced(self) -> bool:
        return (
            self.accepted_recorded == self.accepted_stored
            and self.quarantined_recorded == self.quarantined_stored
            and self.rows_in == self.accepted_stored + self.quarantined_stored
        )


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS batches (
    batch_id INTEGER PRIMARY KEY,
    office VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    level VARCHAR NOT NULL CHECK (level IN ('case', 'worker', 'office')),
    source_name VARCHAR NOT NULL,
    source_sha256 VARCHAR NOT NULL,
    rows_in BIGINT NOT NULL,
    rows_accepted BIGINT NOT NULL,
    rows_quarantined BIGINT NOT NULL,
    encoding VARCHAR,
    delimiter VARCHAR,
    sheet VARCHAR,
    collected_at TIMESTAMP NOT NULL,
    cmo_version VARCHAR NOT NULL,
    CHECK (rows_in = rows_accepted + rows_quarantined)
);
CREATE TABLE IF NOT EXISTS quarantine (
    batch_id INTEGER NOT NULL,
    source_row BIGINT NOT NULL,
    column_name VARCHAR,
    indicator VARCHAR,
    reason VARCHAR NOT NULL,
    value VARCHAR,
    redacted BOOLEAN NOT NULL
);
CREATE TABLE IF NOT EXISTS case_observations (
    batch_id INTEGER NOT NULL, source_row BIGINT NOT NULL, office VARCHAR NOT NULL,
    period VARCHAR NOT NULL, case_key VARCHAR NOT NULL, worker_key VARCHAR,
    measurement_point VARCHAR, measured_on DATE
);
CREATE TABLE IF NOT EXISTS worker_observations (
    batch_id INTEGER NOT NULL, source_row BIGINT NOT NULL, office VARCHAR NOT NULL,
    period VARCHAR NOT NULL, worker_key VARCHAR NOT NULL, measurement_point VARCHAR
);
CREATE TABLE IF NOT EXISTS office_observations (
    batch_id INTEGER NOT NULL, source_row BIGINT NOT NULL, office VARCHAR NOT NULL,
    period VARCHAR NOT NULL
);
"""


def _busy_message(path: Path, exc: Exception) -> str:
    text = str(exc)
    pid = re.search(r"PID (\d+)", text)
    who = f" (process {pid.group(1)})" if pid else ""
    return f"{path}: the store is in use by another program{who}"


def open_store(
    path: Path,
    *,
    read_only: bool = False,
    create: bool = True,
    memory_limit: str | None = None,
) -> Store:
    """Open (and if needed create) the store at ``path``. Temporary files go to the private
    folder ``tmp`` beside it, and ``memory_limit`` bounds the memory DuckDB may use."""
    import duckdb

    if read_only and not path.exists():
        raise StoreError(
            f"{path}: no store yet", hint="collect data first: cmo collect --office ID FILE"
        )
    if not create and not path.exists():
        raise StoreError(f"{path}: no store yet", hint="collect data first")
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    # A new store is created owner-only (0600), like the key; so is everything DuckDB writes
    # beside it while this connection opens.
    mask = os.umask(0o077) if new and not read_only else None
    try:
        con = duckdb.connect(str(path), read_only=read_only, config=dict(_CONNECT_CONFIG))
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise StoreBusyError(
                _busy_message(path, exc),
                hint="wait for the other cmo command to finish, then try again",
            ) from None
        raise _damaged(path) from None
    except duckdb.Error:
        raise _damaged(path) from None
    finally:
        if mask is not None:
            os.umask(mask)
    store = Store(path, con, read_only=read_only)
    try:
        store.configure(path.parent / "tmp", memory_limit)
        if not read_only:
            store._ensure_schema()
        else:
            store.con.execute("SELECT count(*) FROM meta").fetchall()
        _check_size(store, path)
    except duckdb.Error:
        con.close()
        raise _damaged(path) from None
    if not read_only:
        restrict(path)
    return store


#: No extension is ever downloaded or loaded behind the user's back (a file that is really a
#: SQLite database would otherwise make DuckDB fetch the sqlite extension from the internet).
_CONNECT_CONFIG = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


def _check_size(store: Store, path: Path) -> None:
    """A truncated store (a copy cut short, a disk that filled up) is caught at once, not in
    the middle of an analysis: the file must hold every block the database says it has."""
    import duckdb

    if path.with_name(path.name + ".wal").exists():
        return  # blocks replayed from the log are not in the file yet
    row = store.con.execute("PRAGMA database_size").fetchone()
    if row is None:
        return
    block_size, used_blocks = int(row[2]), int(row[4])
    if path.stat().st_size < 3 * 4096 + block_size * used_blocks:
        raise duckdb.IOException("truncated")


@contextmanager
def guarded(path: Path) -> Iterator[None]:
    """Turn a DuckDB failure a user can cause (a damaged store, a full disk) into one clear
    :class:`StoreError` sentence instead of an internal error."""
    import duckdb

    try:
        yield
    except duckdb.Error as exc:
        problem = resource_error(exc, path)
        text = str(exc).lower()
        if any(w in text for w in ("could not read", "corrupt", "checksum", "invalid block")):
            raise _damaged(path) from None
        if problem is not None:
            raise problem from None
        raise


def _damaged(path: Path) -> StoreError:
    return StoreError(
        f"{path}: this is not a cmo store, or the store is damaged",
        hint="restore the store from a backup, or move the file away and collect the exports "
        "again into a new store",
    )


def resource_error(exc: BaseException, path: Path, *, always: bool = False) -> StoreError | None:
    """A clear error for a DuckDB failure the user can fix — a full disk, too little memory,
    an unwritable file — or None when ``exc`` is not one (``always``: any DuckDB error while
    writing is reported so)."""
    import duckdb

    if not isinstance(exc, duckdb.Error):
        return None
    text = str(exc).lower()
    if isinstance(exc, duckdb.OutOfMemoryException) or "out of memory" in text:
        return StoreError(
            f"{path}: nothing was stored: the work did not fit in the memory allowed "
            "(memory_limit in cmo.yaml) nor in the free disk space for temporary files",
            hint="free disk space in the workspace's .cmo folder, or raise memory_limit",
        )
    if "no space" in text or "disk is full" in text or "disk full" in text:
        return StoreError(
            f"{path}: nothing was stored: the disk is full",
            hint="free some disk space (the store needs about twice the export's size while "
            "writing), then run the command again",
        )
    if isinstance(exc, duckdb.IOException | duckdb.PermissionException) or always:
        return StoreError(
            f"{path}: nothing was stored: the database could not write",
            hint="check that the disk is writable and has space, then run the command again",
        )
    return None


def restrict(path: Path) -> None:
    """Make the store and its write-ahead log owner-only (0600) if they are not."""
    for p in (path, path.with_name(path.name + ".wal")):
        with contextlib.suppress(OSError):
            if stat.S_IMODE(p.stat().st_mode) & 0o077:
                os.chmod(p, 0o600)


def memory_store(scratch: Path, memory_limit: str | None) -> Store:
    """A throw-away store in memory (for ``--dry-run``), configured like a real one."""
    import duckdb

    store = Store(
        Path(":memory:"), duckdb.connect(":memory:", config=dict(_CONNECT_CONFIG)), read_only=False
    )
    store.configure(scratch, memory_limit)
    store._ensure_schema()
    return store


class Store:
    """An open store. Use as a context manager, or call :meth:`close`."""

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection, *, read_only: bool) -> None:
        self.path = path
        self.con = con
        self.read_only = read_only
        # DuckDB would draw its own progress bar on stdout, into JSON output: cmo reports
        # progress itself (query_progress) where it wants to.
        con.execute("SET enable_progress_bar = false")
        con.execute("SET enable_progress_bar_print = false")

    def configure(self, scratch: Path, memory_limit: str | None) -> None:
        """Where DuckDB may spill (a private folder, never the current directory) and how
        much memory it may use."""
        spill = prepare_scratch(scratch)
        self.con.execute(f"SET temp_directory = '{str(spill).replace(chr(39), chr(39) * 2)}'")
        if memory_limit:
            self.con.execute(f"SET memory_limit = '{memory_limit}'")

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()
        if not self.read_only and self.path.name != ":memory:":
            restrict(self.path)

    # -- the key --------------------------------------------------------------------------

    def key_fingerprint(self) -> str | None:
        """The fingerprint of the key the store's pseudonyms were made with (never the key)."""
        row = self.con.execute("SELECT value FROM meta WHERE key = 'key_fingerprint'").fetchone()
        return str(row[0]) if row else None

    def bind_key(self, fingerprint: str, source: str) -> None:
        """Record the key's fingerprint in a store that has none; refuse a different key.

        Pseudonyms made with another key never link to the stored ones: the same client would
        silently become a new person.
        """
        stored = self.key_fingerprint()
        if stored == fingerprint:
            return
        if stored is not None:
            raise KeyMismatchError(
                f"{self.path}: the store's pseudonyms were made with another key (fingerprint "
                f"{stored}), the key in use ({source}) has fingerprint {fingerprint}",
                hint="with this key no client would link to their earlier pseudonyms: restore "
                "the original key from its backup (or set CMO_KEY to it); 'cmo key show' "
                "shows both fingerprints",
            )
        if self.read_only:
            return
        self.con.execute("INSERT OR REPLACE INTO meta VALUES ('key_fingerprint', ?)", [fingerprint])

    # -- scope ----------------------------------------------------------------------------

    def check_scope(
        self, offices: list[str] | None = None, periods: list[str] | None = None
    ) -> None:
        """Refuse (:class:`InputError`, exit 2) an office or period filter that names nothing in
        the store, instead of an empty result. Called by every command that filters."""
        have_offices = {
            str(r[0]) for r in self.con.execute("SELECT DISTINCT office FROM batches").fetchall()
        }
        have_periods = {
            str(r[0]) for r in self.con.execute("SELECT DISTINCT period FROM batches").fetchall()
        }
        for office in offices or []:
            if office not in have_offices:
                known = ", ".join(sorted(have_offices)) or "none yet"
                raise InputError(
                    f"--office {safe_text(office, 40)}: no such office in the store",
                    hint=f"offices with data: {known}",
                )
        for period in periods or []:
            canonical = check_period(period)
            if canonical not in have_periods:
                known = ", ".join(sorted(have_periods)) or "none yet"
                raise InputError(
                    f"--period {canonical}: no data for this period in the store",
                    hint=f"periods with data: {known} ({PERIOD_HELP})",
                )

    # -- which files made which batches ----------------------------------------------------

    def record_file(self, office: str, sha256: str, batches: int) -> None:
        """Remember how many batches a file made, so that a file whose batches were partly
        retracted is collected again rather than reported unchanged."""
        self.con.execute(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)", [f"file:{office}:{sha256}", str(batches)]
        )

    def file_batches(self, office: str, sha256: str) -> int | None:
        row = self.con.execute(
            "SELECT value FROM meta WHERE key = ?", [f"file:{office}:{sha256}"]
        ).fetchone()
        return int(row[0]) if row else None

    def shared_pseudonyms(self) -> list[tuple[str, str, int]]:
        """``(office, other office, clients)``: how many case pseudonyms appear under two
        offices (the same person collected twice, or a client who moved) — counts only."""
        rows = self.con.execute(
            "WITH k AS (SELECT DISTINCT office, case_key FROM case_observations) "
            "SELECT a.office, b.office, count(*) FROM k a JOIN k b "
            "ON a.case_key = b.case_key AND a.office < b.office GROUP BY ALL ORDER BY 1, 2"
        ).fetchall()
        return [(str(a), str(b), int(n)) for a, b, n in rows]

    # -- schema ---------------------------------------------------------------------------

    def _ensure_schema(self) -> None:
        self.con.execute(_SCHEMA)
        row = self.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            self.con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [SCHEMA_VERSION])
        elif row[0] != SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: store schema version {row[0]}, this cmo expects {SCHEMA_VERSION}",
                hint="use the cmo version that created the store, or collect into a new store",
            )

    def columns(self, table: str) -> dict[str, str]:
        rows = self.con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = ? ORDER BY ordinal_position",
            [table],
        ).fetchall()
        return {str(name): str(kind) for name, kind in rows}

    def ensure_indicator_columns(self, level: str, wanted: dict[str, str]) -> None:
        """Add a typed column per indicator (``{indicator: SQL type}``) to a level's table."""
        table = LEVEL_TABLES[level]
        have = self.columns(table)
        for name, sql_type in wanted.items():
            if not _IDENT.match(name):  # ids are validated by the theory language already
                raise StoreError(f"invalid indicator id for the store: {name!r}")
            if name in have:
                if have[name] != sql_type:
                    raise StoreError(
                        f"{self.path}: indicator '{name}' is stored as {have[name]} but is now "
                        f"declared as {sql_type}",
                        hint="give the changed indicator a new id, or collect into a new store",
                    )
                continue
            self.con.execute(f'ALTER TABLE {table} ADD COLUMN "{name}" {sql_type}')

    # -- transactions -------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: commit on success, roll back on any error (or a kill)."""
        import duckdb

        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException as exc:
            with contextlib.suppress(duckdb.Error):
                self.con.execute("ROLLBACK")
            problem = resource_error(exc, self.path)
            if problem is not None:
                raise problem from None
            raise
        try:
            self.con.execute("COMMIT")
        except duckdb.Error as exc:
            with contextlib.suppress(duckdb.Error):
                self.con.execute("ROLLBACK")
            raise resource_error(exc, self.path, always=True) or exc from None
        if not self.read_only:
            restrict(self.path)

    def next_batch_id(self) -> int:
        """The next batch id (call inside a transaction: the store has one writer at a time)."""
        row = self.con.execute("SELECT coalesce(max(batch_id), 0) + 1 FROM batches").fetchone()
        assert row is not None
        return int(row[0])

    # -- batches --------------------------------------------------------------------------

    _BATCH_COLS = (
        "batch_id, office, period, level, source_name, source_sha256, rows_in, rows_accepted, "
        "rows_quarantined, encoding, delimiter, sheet, collected_at, cmo_version"
    )

    def batches(self, office: str | None = None, period: str | None = None) -> list[Batch]:
        sql = f"SELECT {self._BATCH_COLS} FROM batches WHERE 1=1"
        params: list[Any] = []
        if office:
            sql += " AND office = ?"
            params.append(office)
        if period:
            sql += " AND period = ?"
            params.append(period)
        sql += " ORDER BY office, period, level, batch_id"
        return [Batch(*row) for row in self.con.execute(sql, params).fetchall()]

    def find_batch(self, office: str, period: str, level: str) -> Batch | None:
        rows = self.con.execute(
            f"SELECT {self._BATCH_COLS} FROM batches WHERE office = ? AND period = ? AND level = ?",
            [office, period, level],
        ).fetchall()
        return Batch(*rows[0]) if rows else None

    def get_batch(self, batch_id: int) -> Batch | None:
        rows = self.con.execute(
            f"SELECT {self._BATCH_COLS} FROM batches WHERE batch_id = ?", [batch_id]
        ).fetchall()
        return Batch(*rows[0]) if rows else None

    def delete_batch(self, batch_id: int) -> None:
        """Remove a batch and everything it stored (call inside a transaction)."""
        for table in (*LEVEL_TABLES.values(), "quarantine"):
            self.con.execute(f"DELETE FROM {table} WHERE batch_id = ?", [batch_id])
        self.con.execute("DELETE FROM batches WHERE batch_id = ?", [batch_id])

    def insert_batch(self, batch: Batch) -> None:
        # The last line of defence: nothing an office wrote reaches the batch table unchecked.
        if check_period(batch.period, "period") != batch.period:
            raise StoreError(f"batch period {batch.period!r} is not canonical")
        if safe_text(batch.source_name, 300) != batch.source_name or (
            batch.sheet is not None and safe_text(batch.sheet) != batch.sheet
        ):
            raise StoreError("a batch's file or sheet name must be made safe before storing")
        self.con.execute(
            f"INSERT INTO batches ({self._BATCH_COLS}) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                batch.batch_id,
                batch.office,
                batch.period,
                batch.level,
                batch.source_name,
                batch.source_sha256,
                batch.rows_in,
                batch.rows_accepted,
                batch.rows_quarantined,
                batch.encoding,
                batch.delimiter,
                batch.sheet,
                batch.collected_at,
                batch.cmo_version,
            ],
        )

    def audit(self, batch_id: int | None = None) -> list[BatchAudit]:
        """Recount every batch's rows from the stored observations and quarantine."""
        parts = [
            f"SELECT batch_id, count(*) AS n FROM {t} GROUP BY batch_id"
            for t in LEVEL_TABLES.values()
        ]
        sql = f"""
            WITH acc AS (SELECT batch_id, sum(n) AS n FROM ({" UNION ALL ".join(parts)})
                         GROUP BY batch_id),
                 q AS (SELECT batch_id, count(DISTINCT source_row) AS n FROM quarantine
                       GROUP BY batch_id)
            SELECT b.batch_id, b.rows_in, b.rows_accepted, coalesce(acc.n, 0),
                   b.rows_quarantined, coalesce(q.n, 0)
            FROM batches b LEFT JOIN acc USING (batch_id) LEFT JOIN q USING (batch_id)
            {"WHERE b.batch_id = ?" if batch_id is not None else ""}
            ORDER BY b.batch_id
        """
        params = [batch_id] if batch_id is not None else []
        return [
            BatchAudit(*(int(v) for v in row)) for row in self.con.execute(sql, params).fetchall()
        ]

    def quarantine_rows(
        self, batch_id: int, limit: int = 100_000
    ) -> list[tuple[int, str | None, str, str | None]]:
        """``(source row, column, reason, value)`` of a batch's quarantined cells, by row (the
        value as stored: redacted when it could identify someone)."""
        rows = self.con.execute(
            "SELECT source_row, column_name, reason, value FROM quarantine WHERE batch_id = ? "
            "ORDER BY source_row, column_name NULLS FIRST, reason LIMIT ?",
            [batch_id, limit],
        ).fetchall()
        return [(int(r), c, str(q), v) for r, c, q, v in rows]

    def quarantine_reasons(self, batch_id: int) -> list[tuple[str, str | None, int]]:
        """``(reason, column, count)`` of a batch's quarantined cells."""
        rows = self.con.execute(
            "SELECT reason, column_name, count(*) FROM quarantine WHERE batch_id = ? "
            "GROUP BY ALL ORDER BY 3 DESC, 1, 2",
            [batch_id],
        ).fetchall()
        return [(str(r), c, int(n)) for r, c, n in rows]

"""The store: one embedded DuckDB database per workspace, with batches, observations and
quarantine.

Observations are kept in one wide table per level (``case_observations``,
``worker_observations``, ``office_observations``) with a typed column per indicator, added on
demand. Every batch records where it came from and how many rows went in, were accepted and were
quarantined; ``rows_in = rows_accepted + rows_quarantined`` is a constraint of the table and
:meth:`Store.audit` recounts it from the data.

This module knows nothing about reading exports: collect and analyse meet only here.
"""

from cmo.store.db import (
    LEVEL_TABLES,
    Batch,
    BatchAudit,
    KeyMismatchError,
    Store,
    StoreBusyError,
    StoreError,
    open_store,
)

__all__ = [
    "LEVEL_TABLES",
    "Batch",
    "BatchAudit",
    "KeyMismatchError",
    "Store",
    "StoreBusyError",
    "StoreError",
    "open_store",
]

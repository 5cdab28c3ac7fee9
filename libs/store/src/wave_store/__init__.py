"""WAVE's event store: the port and its adapters (SQLite embedded, PostgreSQL distributed)."""

from .config import open_store
from .errors import (
    ConcurrencyError,
    EventIdConflictError,
    InvalidAppendError,
    StoreError,
    StoreUnavailable,
    UnsupportedByStoreError,
)
from .port import AppendResult, EventStore, RelayLock

__all__ = [
    "AppendResult",
    "ConcurrencyError",
    "EventIdConflictError",
    "EventStore",
    "InvalidAppendError",
    "RelayLock",
    "StoreError",
    "StoreUnavailable",
    "UnsupportedByStoreError",
    "open_store",
]

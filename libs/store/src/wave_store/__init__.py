"""WAVE's event store: the port and its adapters (SQLite embedded, PostgreSQL distributed)."""

from .config import open_store
from .errors import ConcurrencyError, EventIdConflictError, InvalidAppendError, StoreError
from .port import AppendResult, EventStore

__all__ = [
    "AppendResult",
    "ConcurrencyError",
    "EventIdConflictError",
    "EventStore",
    "InvalidAppendError",
    "StoreError",
    "open_store",
]

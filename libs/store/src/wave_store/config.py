"""Which store to open: PostgreSQL when WAVE_DATABASE_URL is set, else the embedded SQLite file."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import StoreError
from .port import EventStore

SUPPORTED_PREFIXES = ("postgresql://", "postgres://", "sqlite:///")


def check_store_url(url: str) -> str:
    """`url` when a store can be opened from it ("" is the embedded default); else a StoreError naming it."""
    if url and not url.startswith(SUPPORTED_PREFIXES):
        raise StoreError(
            f"WAVE_DATABASE_URL={url!r} is not supported: use postgresql://user@host:port/db or sqlite:///path/to/file.db"
        )
    return url


async def open_store(url: str | None = None) -> EventStore:
    """Open the configured store. `url` overrides WAVE_DATABASE_URL: `postgresql://…` or `sqlite:///path`."""
    url = check_store_url(url if url is not None else os.environ.get("WAVE_DATABASE_URL", ""))
    if url.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresEventStore

        return await PostgresEventStore.connect(url)
    from .sqlite import SqliteEventStore

    if url:
        return SqliteEventStore(url.removeprefix("sqlite:///"))
    return SqliteEventStore(Path(os.environ.get("WAVE_HOME", ".wave")) / "wave.db", create_parent=True)

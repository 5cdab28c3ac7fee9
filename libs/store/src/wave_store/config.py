"""Which store to open: PostgreSQL when WAVE_DATABASE_URL is set, else the embedded SQLite file."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import StoreError
from .port import EventStore

DEFAULT_SQLITE_PATH = Path(".wave") / "wave.db"


async def open_store(url: str | None = None) -> EventStore:
    """Open the configured store. `url` overrides WAVE_DATABASE_URL: `postgresql://…` or `sqlite:///path`."""
    url = url if url is not None else os.environ.get("WAVE_DATABASE_URL", "")
    if url.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresEventStore

        return await PostgresEventStore.connect(url)
    if url.startswith("sqlite:///"):
        from .sqlite import SqliteEventStore

        return SqliteEventStore(url.removeprefix("sqlite:///"))
    if url == "":
        from .sqlite import SqliteEventStore

        home = Path(os.environ.get("WAVE_HOME", ".wave"))
        return SqliteEventStore(home / "wave.db")
    raise StoreError(
        f"WAVE_DATABASE_URL={url!r} is not supported: use postgresql://user@host:port/db or sqlite:///path/to/file.db"
    )

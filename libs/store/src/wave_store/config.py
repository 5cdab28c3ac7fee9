"""Which store to open: PostgreSQL when WAVE_DATABASE_URL is set, else the embedded SQLite file."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import StoreError
from .port import EventStore

SUPPORTED_PREFIXES = ("postgresql://", "postgres://", "sqlite:///")


class StoreSettings(BaseSettings):
    """WAVE_DATABASE_URL and WAVE_HOME, by the rule of wave_runtime.settings (which builds on this
    package, so it cannot be used here): a blank variable is unset."""

    model_config = SettingsConfigDict(env_prefix="WAVE_", env_ignore_empty=True, str_strip_whitespace=True, extra="ignore")

    database_url: str = ""
    home: str | None = None  # blank after stripping counts as unset too: open_store then uses .wave


def check_store_url(url: str) -> str:
    """`url` when a store can be opened from it ("" is the embedded default); else a StoreError naming it."""
    if url and not url.startswith(SUPPORTED_PREFIXES):
        raise StoreError(
            f"WAVE_DATABASE_URL={url!r} is not supported: use postgresql://user@host:port/db or sqlite:///path/to/file.db"
        )
    return url


async def open_store(url: str | None = None) -> EventStore:
    """Open the configured store. `url` overrides WAVE_DATABASE_URL: `postgresql://…` or `sqlite:///path`."""
    settings = StoreSettings()
    url = check_store_url(url if url is not None else settings.database_url)
    if url.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresEventStore

        return await PostgresEventStore.connect(url)
    from .sqlite import SqliteEventStore

    if url:
        return SqliteEventStore(url.removeprefix("sqlite:///"))
    return SqliteEventStore(Path(settings.home or ".wave") / "wave.db", create_parent=True)

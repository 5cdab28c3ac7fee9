"""The PostgreSQL event store (asyncpg, pooled). Migrations in migrations/postgres are applied on start."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

import asyncpg

from wave_events import Envelope, envelope_from_columns, registry

from .errors import ConcurrencyError, EventIdConflictError
from .port import AppendResult, EventStore, PreparedEvent, prepare_append

_MIGRATION_LOCK = 7460
_COLUMNS = (
    "global_position, stream_id, stream_version, event_id, event_type, event_version, occurred_at, "
    "correlation_id, causation_id, producer, traceparent, payload::text AS payload"
)
_APPEND = "SELECT event_id, stream_version, global_position, duplicate FROM wave_append($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11::jsonb[])"


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration shipped with the package, in order."""
    found = []
    for entry in resources.files("wave_store").joinpath("migrations/postgres").iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append((version, entry.name, entry.read_text()))
    return sorted(found)


async def migrate(connection: asyncpg.Connection) -> list[str]:
    """Apply the migrations not yet recorded; safe to run from several processes at once."""
    applied = []
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS wave_schema_migrations "
            "(version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await connection.fetch("SELECT version FROM wave_schema_migrations")}
        for version, name, sql in migrations():
            if version in done:
                continue
            await connection.execute(sql)
            await connection.execute("INSERT INTO wave_schema_migrations (version, name) VALUES ($1, $2)", version, name)
            applied.append(name)
    return applied


class PostgresEventStore(EventStore):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @classmethod
    async def connect(cls, dsn: str, *, min_size: int = 1, max_size: int = 10) -> PostgresEventStore:
        pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size)
        async with pool.acquire() as connection:
            await migrate(connection)
        return cls(pool)

    async def append(self, stream_id: str, events: Sequence[Envelope], expected_version: int) -> AppendResult:
        prepared = prepare_append(stream_id, events, expected_version)
        async with self.pool.acquire() as connection:
            return await _append(connection, stream_id, prepared, expected_version)

    @asynccontextmanager
    async def hold_append_open(
        self, stream_id: str, events: Sequence[Envelope], expected_version: int
    ) -> AsyncIterator[AppendResult]:
        prepared = prepare_append(stream_id, events, expected_version)
        async with self.pool.acquire() as connection, connection.transaction():
            yield await _append(connection, stream_id, prepared, expected_version)

    async def read_stream(self, stream_id: str, from_version: int = 1) -> list[Envelope]:
        rows = await self.pool.fetch(
            f"SELECT {_COLUMNS} FROM events WHERE stream_id = $1 AND stream_version >= $2 ORDER BY stream_version",
            stream_id,
            from_version,
        )
        return [_envelope(row) for row in rows]

    async def read_all(self, from_position: int = 0, limit: int = 1000) -> list[Envelope]:
        rows = await self.pool.fetch(
            f"SELECT {_COLUMNS} FROM events WHERE global_position > $1 ORDER BY global_position LIMIT $2",
            from_position,
            limit,
        )
        return [_envelope(row) for row in rows]

    async def stream_version(self, stream_id: str) -> int:
        return await self.pool.fetchval(
            "SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = $1", stream_id
        )

    async def last_position(self) -> int:
        return await self.pool.fetchval("SELECT coalesce(max(global_position), 0) FROM events")

    async def stream_ids(self, prefix: str = "run-") -> list[str]:
        rows = await self.pool.fetch(
            "SELECT stream_id FROM events WHERE stream_version = 1 AND starts_with(stream_id, $1) "
            "ORDER BY global_position",
            prefix,
        )
        return [row["stream_id"] for row in rows]

    async def close(self) -> None:
        await self.pool.close()


async def _append(
    connection: asyncpg.Connection, stream_id: str, prepared: list[PreparedEvent], expected_version: int
) -> AppendResult:
    envelopes = [p.envelope for p in prepared]
    try:
        rows = await connection.fetch(
            _APPEND,
            stream_id,
            expected_version,
            [e.event_id for e in envelopes],
            [e.type for e in envelopes],
            [e.version for e in envelopes],
            [e.occurred_at for e in envelopes],
            [e.correlation_id for e in envelopes],
            [e.causation_id for e in envelopes],
            [e.producer for e in envelopes],
            [e.traceparent for e in envelopes],
            [p.payload_json for p in prepared],
        )
    except asyncpg.PostgresError as exc:
        if exc.sqlstate == "WV001":
            raise ConcurrencyError(stream_id, expected_version, int(exc.detail)) from None
        if exc.sqlstate == "WV002":
            raise EventIdConflictError(exc.message) from None
        raise
    by_id = {row["event_id"]: row for row in rows}
    duplicate = bool(rows) and rows[0]["duplicate"]
    result = sorted(
        (e.positioned(by_id[e.event_id]["stream_version"], by_id[e.event_id]["global_position"]) for e in envelopes),
        key=lambda e: e.global_position or 0,
    )
    return AppendResult(tuple(result), duplicate=duplicate)


def _envelope(row: Any) -> Envelope:
    return envelope_from_columns(dict(row.items()), registry.decode(row["event_type"], row["event_version"], row["payload"]))


__all__ = ["PostgresEventStore", "migrate", "migrations"]

"""The PostgreSQL event store (asyncpg, pooled). Migrations in migrations/postgres are applied on start."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from wave_events import Envelope, decode_envelope, encode_envelope, registry
from wave_events.envelope import trusted_envelope

from .errors import ConcurrencyError, EventIdConflictError, StoreUnavailable
from .paid import ends_a_run, kept_form
from .port import (
    AppendResult,
    EventStore,
    Handling,
    HandlingResult,
    PreparedEvent,
    RelayLock,
    Snapshot,
    StoredEvent,
    TimerRecord,
    check_handling,
    decode_rows,
    prepare_append,
    read_payload_later,
)

log = logging.getLogger(__name__)

_MIGRATION_LOCK = 7460
_RELAY_LOCK = 7462  # a session lock: held as long as the active relay's connection lives
_COLUMNS = (
    "global_position, stream_id, stream_version, event_id, event_type, event_version, occurred_at, "
    "correlation_id, causation_id, producer, traceparent, payload::text AS payload"
)
# Only positions below the horizon are read: see migrations/postgres/0003_positions_from_transaction_ids.sql.
_PAGE = (
    f"SELECT {_COLUMNS} FROM events WHERE global_position > $1 AND global_position < (SELECT wave_horizon()) "
    "ORDER BY global_position LIMIT $2"
)
_HORIZON_WAIT_S = 1.0
_FIRE_ATTEMPTS = 20
_RECORD_HANDLING = (
    "SELECT event_id, stream_version, global_position, duplicate, handled_before FROM wave_record_handling("
    "$1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13::jsonb[],$14,$15,$16,$17,$18,$19)"
)
_APPEND = "SELECT event_id, stream_version, global_position, duplicate FROM wave_append($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11::jsonb[])"


def database_name(dsn: str) -> str:
    """host:port/database of a PostgreSQL URL, without the user or the password."""
    parts = urlsplit(dsn)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path or '/'}"


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
        self._listener: asyncpg.Connection | None = None
        self._appended = asyncio.Condition()
        self._listener_lock = asyncio.Lock()  # one LISTEN connection, even when followers race
        self._notified_position = 0
        self._appended_position = 0  # the newest position this store appended (its own commits)
        self._announcing: set[asyncio.Task[None]] = set()  # notifications of recorded handlings being sent

    @classmethod
    async def connect(cls, dsn: str, *, min_size: int = 0, max_size: int = 10) -> PostgresEventStore:
        # No floor of idle sessions by default: asyncpg restores a floor lost in a database outage by
        # logging a warning with a traceback every few seconds until the database is back.
        try:
            pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, reset=_keep_session)
        except (OSError, TimeoutError, asyncpg.PostgresConnectionError, asyncpg.CannotConnectNowError,
                asyncpg.AdminShutdownError, asyncpg.TooManyConnectionsError) as exc:
            raise StoreUnavailable(
                f"the database {database_name(dsn)} cannot be reached ({type(exc).__name__}: {exc}); "
                "start PostgreSQL there, or set WAVE_DATABASE_URL to one that runs"
            ) from exc
        async with pool.acquire() as connection:
            await migrate(connection)
        return cls(pool)

    async def append(self, stream_id: str, events: Sequence[Envelope], expected_version: int) -> AppendResult:
        prepared = prepare_append(stream_id, events, expected_version)
        async with self.pool.acquire() as connection:
            try:
                result = await _append(connection, stream_id, prepared, expected_version)
            except EventIdConflictError:
                # The same batch appended twice at once (a retried append racing its first try):
                # now that the other has committed, it reads as the duplicate it is.
                result = await _append(connection, stream_id, prepared, expected_version)
            await self._announce(connection, result)
            return result

    @asynccontextmanager
    async def hold_append_open(
        self, stream_id: str, events: Sequence[Envelope], expected_version: int
    ) -> AsyncIterator[AppendResult]:
        prepared = prepare_append(stream_id, events, expected_version)
        async with self.pool.acquire() as connection:
            async with connection.transaction():
                result = await _append(connection, stream_id, prepared, expected_version)
                yield result
            await self._announce(connection, result)

    async def read_stream(self, stream_id: str, from_version: int = 1) -> list[Envelope]:
        rows = await self.pool.fetch(
            f"SELECT {_COLUMNS} FROM events WHERE stream_id = $1 AND stream_version >= $2 ORDER BY stream_version",
            stream_id,
            from_version,
        )
        return decode_rows(rows, _envelope, _stored, strict=True)

    async def read_stream_raw(self, stream_id: str) -> list[StoredEvent]:
        rows = await self.pool.fetch(
            f"SELECT {_COLUMNS} FROM events WHERE stream_id = $1 ORDER BY stream_version", stream_id
        )
        return [_stored(row) for row in rows]

    async def read_all(self, from_position: int = 0, limit: int = 1000) -> list[Envelope]:
        rows = await self._readable_page(from_position, limit)
        return decode_rows(rows, _envelope, _stored, strict=False)

    async def _readable_page(self, from_position: int, limit: int) -> list[asyncpg.Record]:
        """The committed events after `from_position` below the horizon (migration 0003), in order.

        A short page whose end is held back by an older transaction still running anywhere on the
        server waits for it, at most `_HORIZON_WAIT_S`: a caller reading right after its own commit
        sees that commit, as it did when appends were serialised."""
        rows = await self.pool.fetch(_PAGE, from_position, limit)
        if len(rows) >= limit:
            return rows
        reached = rows[-1]["global_position"] if rows else from_position
        if _is_open(self._listener) and self._heard_of() <= reached:
            # Listening, this store hears of every commit: none it heard of is held back, so there is
            # no need to ask the server (one round trip less on every short page of a follower).
            return rows
        newest = await self._newest_held_back()
        if newest is None:
            return rows
        await self._await_horizon(newest)
        return await self.pool.fetch(_PAGE, from_position, limit)

    async def _newest_held_back(self) -> int | None:
        """The newest committed position when it is not readable yet, else None."""
        row = await self.pool.fetchrow("SELECT max(global_position) AS newest, wave_horizon() AS horizon FROM events")
        if row["newest"] is None or row["newest"] < row["horizon"]:
            return None
        return row["newest"]

    async def _await_horizon(self, position: int) -> None:
        deadline = asyncio.get_running_loop().time() + _HORIZON_WAIT_S
        while asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.002)
            if await self.pool.fetchval("SELECT $1::bigint < wave_horizon()", position):
                return

    async def stream_version(self, stream_id: str) -> int:
        return await self.pool.fetchval(
            "SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = $1", stream_id
        )

    async def last_position(self) -> int:
        newest = await self._newest_held_back()
        if newest is not None:
            await self._await_horizon(newest)
        return await self._readable_last_position()

    async def _readable_last_position(self) -> int:
        return await self.pool.fetchval(
            "SELECT coalesce(max(global_position), 0) FROM events WHERE global_position < (SELECT wave_horizon())"
        )

    async def stream_ids(self, prefix: str = "run-") -> list[str]:
        rows = await self.pool.fetch(
            "SELECT stream_id FROM events WHERE stream_version = 1 AND starts_with(stream_id, $1) "
            "ORDER BY global_position",
            prefix,
        )
        return [row["stream_id"] for row in rows]

    # --- runtime bookkeeping ------------------------------------------------------------------

    async def record_handling(self, handling: Handling) -> HandlingResult:
        prepared = check_handling(handling)
        connection = await self.pool.acquire()
        try:
            # One statement outside a transaction block: its own transaction, one round trip.
            result = await _record_handling(connection, handling, prepared)
        except BaseException:
            await self.pool.release(connection)
            raise
        if result.appended is None or result.appended.duplicate:
            await self.pool.release(connection)
            return result
        # The handling has committed: the caller goes on while the notification that wakes the
        # followers (the relay) is sent on the same connection, one round trip off its path.
        self._appended_position = max(self._appended_position, *result.appended.positions)
        announcing = asyncio.get_running_loop().create_task(self._announce_and_release(connection, result.appended))
        self._announcing.add(announcing)
        announcing.add_done_callback(self._announcing.discard)
        return result

    async def _announce_and_release(self, connection: asyncpg.Connection, result: AppendResult) -> None:
        try:
            await self._announce(connection, result)
        except Exception as exc:  # noqa: BLE001 - a lost wake costs a follower at most its wait's timeout
            log.debug("the notification of position %s was not sent: %s", max(result.positions), exc)
        finally:
            try:
                await self.pool.release(connection)
            except Exception:  # noqa: BLE001 - a connection that cannot go back is dropped by the pool
                pass

    async def was_handled(self, consumer: str, event_id: uuid.UUID) -> bool:
        return bool(
            await self.pool.fetchval(
                "SELECT 1 FROM wave_handled WHERE consumer = $1 AND event_id = $2", consumer, event_id
            )
        )

    async def handled_among(self, consumer: str, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        rows = await self.pool.fetch(
            "SELECT event_id FROM wave_handled WHERE consumer = $1 AND event_id = ANY($2::uuid[])", consumer, list(event_ids)
        )
        return {row["event_id"] for row in rows}

    async def keep_paid_result(self, consumer: str, cause_event_id: uuid.UUID, key: str, document: str) -> None:
        await self.pool.execute(
            "INSERT INTO wave_paid_results (consumer, cause_id, key, document) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT DO NOTHING",
            consumer, cause_event_id, key, kept_form(document),
        )  # fmt: skip

    async def paid_result(self, consumer: str, cause_event_id: uuid.UUID, key: str) -> str | None:
        return await self.pool.fetchval(
            "SELECT document FROM wave_paid_results WHERE consumer = $1 AND cause_id = $2 AND key = $3",
            consumer, cause_event_id, key,
        )  # fmt: skip

    async def load_position(self, name: str) -> int:
        return await self.pool.fetchval("SELECT coalesce(max(position), 0) FROM wave_positions WHERE name = $1", name)

    async def save_position(self, name: str, position: int) -> None:
        await self.pool.execute(
            "INSERT INTO wave_positions (name, position) VALUES ($1, $2) "
            "ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = now()",
            name,
            position,
        )

    async def due_timers(self, now: datetime, limit: int = 100) -> list[TimerRecord]:
        rows = await self.pool.fetch(
            "SELECT timer_id, stream_id, due_at, envelope FROM wave_timers "
            "WHERE status = 'pending' AND due_at <= $1 ORDER BY due_at, timer_id LIMIT $2",
            now,
            limit,
        )
        return [TimerRecord(r["timer_id"], r["stream_id"], r["due_at"], decode_envelope(r["envelope"])) for r in rows]

    async def next_timer_due(self) -> datetime | None:
        return await self.pool.fetchval("SELECT min(due_at) FROM wave_timers WHERE status = 'pending'")

    async def fire_timer(self, timer: TimerRecord) -> AppendResult | None:
        prepared = prepare_append(timer.stream_id, [timer.envelope], 0)
        for _ in range(_FIRE_ATTEMPTS):
            try:
                return await self._fire_once(timer, prepared)
            except ConcurrencyError:
                continue  # another writer appended to the stream meanwhile: read its version again
        raise ConcurrencyError(timer.stream_id, 0, await self.stream_version(timer.stream_id))

    async def _fire_once(self, timer: TimerRecord, prepared: list[PreparedEvent]) -> AppendResult | None:
        async with self.pool.acquire() as connection:
            async with connection.transaction():
                # The stream's version first, before the row lock below gives this transaction its id:
                # the version's writer then has a lower id, as the append requires (migration 0003).
                current = await connection.fetchval(
                    "SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = $1", timer.stream_id
                )
                status = await connection.fetchval(
                    "SELECT status FROM wave_timers WHERE timer_id = $1 FOR UPDATE", timer.timer_id
                )
                if status != "pending":
                    return None
                result = await _append(connection, timer.stream_id, prepared, current)
                await connection.execute(
                    "UPDATE wave_timers SET status = 'fired', settled_at = now() WHERE timer_id = $1", timer.timer_id
                )
            await self._announce(connection, result)
            return result

    async def timer_status(self, timer_id: str) -> str | None:
        return await self.pool.fetchval("SELECT status FROM wave_timers WHERE timer_id = $1", timer_id)

    async def wait_for_append(self, after_position: int, timeout: float) -> None:  # noqa: ASYNC109 - the port's API
        """LISTEN on the channel the store notifies after each commit, so followers wake without polling. A
        commit notified but still above the horizon (an older transaction is running) is looked at
        again every few milliseconds until it can be read."""
        await self._ensure_listener()
        if self._heard_of() > after_position:
            return  # committed already: the caller reads it (waiting, if need be, for the horizon)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while await self._readable_last_position() <= after_position:
            left = deadline - loop.time()
            if left <= 0:
                return
            if self._notified_position > after_position:
                await asyncio.sleep(min(0.005, left))
                continue
            async with self._appended:
                try:
                    async with asyncio.timeout(left):  # not wait_for: it can swallow a cancellation (3.11)
                        await self._appended.wait_for(lambda: self._notified_position > after_position)
                except TimeoutError:
                    return

    async def _ensure_listener(self) -> None:
        if _is_open(self._listener):
            return
        async with self._listener_lock:
            if _is_open(self._listener):
                return
            if self._listener is not None:  # a closed connection (database restart): give it back
                try:
                    await self.pool.release(self._listener)
                except Exception:  # noqa: BLE001 - it is gone either way
                    pass
                self._listener = None
            connection = await self.pool.acquire()
            await connection.add_listener("wave_events", self._on_notify)
            self._listener = connection

    async def _announce(self, connection: asyncpg.Connection, result: AppendResult) -> None:
        """Wake followers (`wait_for_append`) once an append has committed, from a statement of its own:
        NOTIFY inside the append's transaction would hold the server's notify lock through that commit's
        fsync, one committing append at a time. A wake lost to a crash right here costs a follower at most
        its wait's timeout."""
        if not result.duplicate and result.positions:
            newest = max(result.positions)
            self._appended_position = max(self._appended_position, newest)
            await connection.execute("SELECT pg_notify('wave_events', $1)", str(newest))

    def _heard_of(self) -> int:
        """The newest position this store knows was committed: its own appends, and others' it was
        notified of (all of them once it listens)."""
        return max(self._notified_position, self._appended_position)

    def _on_notify(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        position = int(payload)
        if position > self._notified_position:
            self._notified_position = position
            asyncio.get_running_loop().create_task(self._wake())

    async def _wake(self) -> None:
        async with self._appended:
            self._appended.notify_all()

    # --- state snapshots --------------------------------------------------------------------------

    async def load_snapshot(self, stream_id: str, projection: str) -> Snapshot | None:
        row = await self.pool.fetchrow(
            "SELECT stream_version, state::text AS state FROM wave_snapshots WHERE stream_id = $1 AND projection = $2",
            stream_id,
            projection,
        )
        if row is None:
            return None
        return Snapshot(stream_id, row["stream_version"], projection, json.loads(row["state"]))

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        await self.pool.execute(
            "INSERT INTO wave_snapshots AS s (stream_id, stream_version, projection, state) VALUES ($1, $2, $3, $4::jsonb) "
            "ON CONFLICT (stream_id) DO UPDATE SET stream_version = excluded.stream_version, "
            "projection = excluded.projection, state = excluded.state, taken_at = now() "
            "WHERE s.projection <> excluded.projection OR s.stream_version < excluded.stream_version",
            snapshot.stream_id,
            snapshot.stream_version,
            snapshot.projection,
            json.dumps(snapshot.state, ensure_ascii=False, allow_nan=False),
        )

    # --- the outbox relay ------------------------------------------------------------------------

    async def read_publishable(self, from_position: int, limit: int) -> Sequence[Mapping[str, Any]]:
        return await self._readable_page(from_position, limit)

    async def try_relay_lock(self) -> RelayLock | None:
        connection = await self.pool.acquire()
        try:
            held = await connection.fetchval("SELECT pg_try_advisory_lock($1)", _RELAY_LOCK)
        except BaseException:
            await _give_back_locked(self.pool, connection)  # the lock may have been taken before the failure
            raise
        if held:
            return _SessionLock(self.pool, connection)
        await self.pool.release(connection)
        return None

    async def close(self) -> None:
        """Never raises: a database that went away took the sessions with it."""
        if self._announcing:
            await asyncio.wait(set(self._announcing), timeout=10)
        listener, self._listener = self._listener, None
        if _is_open(listener):
            try:
                await listener.remove_listener("wave_events", self._on_notify)
                await self.pool.release(listener)
            except Exception:  # noqa: BLE001 - a lost session: the pool drops it below
                pass
        try:
            await asyncio.wait_for(self.pool.close(), 10)
        except Exception:  # noqa: BLE001 - a connection that cannot close cleanly is cut
            self.pool.terminate()


def _is_open(connection: asyncpg.Connection | None) -> bool:
    """Whether a held connection still has its session. After a lost session asyncpg may already have
    given it back to the pool, and then even asking raises."""
    if connection is None:
        return False
    try:
        return not connection.is_closed()
    except asyncpg.InterfaceError:
        return False



async def _record_handling(
    connection: asyncpg.Connection, handling: Handling, prepared: list[PreparedEvent]
) -> HandlingResult:
    """The handling in one call of wave_record_handling (migration 0005), on a connection not in a
    transaction: the statement commits by itself."""
    timers = handling.schedule
    try:
        rows = await connection.fetch(
            _RECORD_HANDLING,
            handling.consumer,
            handling.cause_event_id,
            handling.stream_id,
            handling.expected_version,
            *_event_columns(prepared),
            [t.timer_id for t in timers],
            [t.stream_id for t in timers],
            [t.due_at for t in timers],
            [encode_envelope(t.envelope) for t in timers],
            list(handling.cancel),
            ends_a_run(p.envelope.type for p in prepared),
        )
    except asyncpg.PostgresError as exc:
        _raise_refusal(exc, handling.stream_id, handling.expected_version)
        raise
    if rows and rows[0]["handled_before"]:
        return HandlingResult(duplicate=True)
    appended = _append_result(prepared, rows) if prepared else None
    return HandlingResult(False, appended, tuple(t.timer_id for t in timers))


async def _append(
    connection: asyncpg.Connection, stream_id: str, prepared: list[PreparedEvent], expected_version: int
) -> AppendResult:
    try:
        rows = await connection.fetch(_APPEND, stream_id, expected_version, *_event_columns(prepared))
    except asyncpg.PostgresError as exc:
        _raise_refusal(exc, stream_id, expected_version)
        raise
    result = _append_result(prepared, rows)
    if not result.duplicate and ends_a_run(p.envelope.type for p in prepared):
        # The run ends with this append (made in the caller's transaction): nothing of it will pay again.
        await connection.execute(
            "DELETE FROM wave_paid_results WHERE cause_id IN (SELECT event_id FROM events WHERE stream_id = $1)",
            stream_id,
        )
    return result


def _event_columns(prepared: list[PreparedEvent]) -> tuple[list[Any], ...]:
    """The events of an append as wave_append's nine arrays, one per column."""
    envelopes = [p.envelope for p in prepared]
    return (
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


def _raise_refusal(exc: asyncpg.PostgresError, stream_id: str, expected_version: int) -> None:
    """Raise the store's error for an append the database refused; return for any other failure."""
    if exc.sqlstate == "WV001":
        raise ConcurrencyError(stream_id, expected_version, int(exc.detail)) from None
    if exc.sqlstate == "WV002":
        raise EventIdConflictError(exc.message) from None
    if isinstance(exc, asyncpg.UniqueViolationError):
        # Two appends raced past the version check (appends take no common lock): the unique
        # keys decide, and the one that lost learns it as the same errors.
        if exc.constraint_name == "events_stream_id_stream_version_key":
            raise ConcurrencyError(stream_id, expected_version, expected_version + 1) from None
        if exc.constraint_name == "events_event_id_key":
            raise EventIdConflictError(
                f"an event id of this batch for {stream_id!r} was stored meanwhile by another append"
            ) from None


def _append_result(prepared: list[PreparedEvent], rows: Sequence[asyncpg.Record]) -> AppendResult:
    envelopes = [p.envelope for p in prepared]
    by_id = {row["event_id"]: row for row in rows}
    duplicate = bool(rows) and rows[0]["duplicate"]
    result = sorted(
        (e.positioned(by_id[e.event_id]["stream_version"], by_id[e.event_id]["global_position"]) for e in envelopes),
        key=lambda e: e.global_position or 0,
    )
    return AppendResult(tuple(result), duplicate=duplicate)


class _SessionLock(RelayLock):
    """The relay's advisory lock on the pooled connection that took it, kept out of the pool meanwhile."""

    def __init__(self, pool: asyncpg.Pool, connection: asyncpg.Connection) -> None:
        self._pool, self._connection = pool, connection

    async def confirm(self) -> None:
        try:
            await self._connection.fetchval("SELECT 1")
        except asyncpg.InternalClientError as exc:
            # A session the server ended can leave asyncpg mid-protocol: the lock is gone all the same.
            raise asyncpg.InterfaceError(f"the relay lock's connection is closed ({exc})") from exc

    async def release(self) -> None:
        try:
            await self._connection.execute("SELECT pg_advisory_unlock($1)", _RELAY_LOCK)
        except Exception:  # noqa: BLE001 - the session is gone, and with it the lock
            await _give_back_locked(self._pool, self._connection)
            return
        try:
            await self._pool.release(self._connection)
        except Exception:  # noqa: BLE001 - a connection that cannot go back is dropped by the pool
            pass


async def _give_back_locked(pool: asyncpg.Pool, connection: asyncpg.Connection) -> None:
    """Hand back a connection that may still hold the relay's lock. The pool does not reset sessions
    on release (`_keep_session`), so the connection is terminated first: its lock dies with it."""
    try:
        connection.terminate()
    except asyncpg.InterfaceError:
        return  # the session was lost already, and asyncpg gave the connection back to the pool itself
    try:
        await pool.release(connection)
    except Exception:  # noqa: BLE001 - it is gone either way
        pass


async def _keep_session(connection: asyncpg.Connection) -> None:
    """The pool's reset on release. asyncpg's default sends `SELECT pg_advisory_unlock_all(); CLOSE ALL;
    UNLISTEN *; RESET ALL;` every time a connection goes back: a second round trip for every store call.
    The store sets no session state, declares no cursors and takes only transaction-scoped advisory
    locks; whoever takes a session lock on a pooled connection (`_SessionLock`, the relay's) unlocks it before
    releasing, or terminates the connection. asyncpg still rolls back an open transaction and drops
    the connection's listeners on release."""
    return None


def _stored(row: Any) -> StoredEvent:
    causation_id = row["causation_id"]
    return StoredEvent(
        str(row["event_id"]), row["stream_id"], row["stream_version"], row["global_position"], row["event_type"],
        row["event_version"], row["occurred_at"].isoformat(), row["correlation_id"],
        None if causation_id is None else str(causation_id), row["producer"], row["traceparent"], row["payload"],
    )


def _envelope(row: Any, lazy: bool = False) -> Envelope:
    """A stored row as an envelope. The row was validated when it was appended and the database
    enforces its types, so the envelope is built without validating it again; the payload still goes
    through the registry (validation and upcasting), at once or, `lazy`, when first looked at.
    asyncpg's UUIDs are `uuid.UUID`s (a subclass, equal and hashing alike): kept as they come, since
    converting them cost more than the rest of the envelope."""
    fields = {"event_id": row["event_id"], "stream_id": row["stream_id"]}
    if not lazy:  # in the envelope's field order, as validation would have made it
        fields["payload"] = registry.decode(row["event_type"], row["event_version"], row["payload"])
    fields.update(
        occurred_at=row["occurred_at"],
        correlation_id=row["correlation_id"],
        causation_id=row["causation_id"],
        producer=row["producer"],
        traceparent=row["traceparent"],
        stream_version=row["stream_version"],
        global_position=row["global_position"],
    )
    if lazy:
        return read_payload_later(fields, row["event_type"], row["event_version"], row["payload"])
    return trusted_envelope(fields)


__all__ = ["PostgresEventStore", "migrate", "migrations"]

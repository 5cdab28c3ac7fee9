"""The embedded event store: one SQLite file (WAL mode), the default when no database URL is configured.

SQLite admits one writer at a time, so positions are assigned inside the write transaction as
max+1 and commit order equals position order. Several processes may share the file (the CLI appends
decisions while `wave run` works); `BEGIN IMMEDIATE` plus a busy timeout serialises them.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import threading
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wave_events import (
    Envelope,
    decode_envelope,
    encode_envelope,
    envelope_from_columns,
    registry,
    validate_stream_id,
)

from .errors import ConcurrencyError, EventIdConflictError, StoreError, UnsupportedByStoreError
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

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    global_position INTEGER PRIMARY KEY,
    stream_id       TEXT    NOT NULL,
    stream_version  INTEGER NOT NULL,
    event_id        TEXT    NOT NULL UNIQUE,
    event_type      TEXT    NOT NULL,
    event_version   INTEGER NOT NULL,
    occurred_at     TEXT    NOT NULL,
    recorded_at     TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    correlation_id  TEXT    NOT NULL,
    causation_id    TEXT,
    producer        TEXT    NOT NULL,
    traceparent     TEXT,
    payload         TEXT    NOT NULL,
    UNIQUE (stream_id, stream_version)
);
CREATE TRIGGER IF NOT EXISTS events_refuse_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only: UPDATE refused'); END;
CREATE TRIGGER IF NOT EXISTS events_refuse_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only: DELETE refused'); END;
CREATE TABLE IF NOT EXISTS wave_handled (
    consumer   TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    handled_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (consumer, event_id)
);
CREATE TABLE IF NOT EXISTS wave_positions (
    name     TEXT PRIMARY KEY,
    position INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS wave_timers (
    timer_id   TEXT PRIMARY KEY,
    stream_id  TEXT NOT NULL,
    due_at     TEXT NOT NULL,
    envelope   TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'fired', 'cancelled')),
    settled_at TEXT
);
CREATE INDEX IF NOT EXISTS wave_timers_due ON wave_timers (status, due_at);
CREATE TABLE IF NOT EXISTS wave_paid_results (
    consumer TEXT NOT NULL,
    cause_id TEXT NOT NULL,
    key      TEXT NOT NULL,
    document TEXT NOT NULL,
    kept_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (consumer, cause_id, key)
);
CREATE TABLE IF NOT EXISTS wave_snapshots (
    stream_id      TEXT    PRIMARY KEY,
    stream_version INTEGER NOT NULL,
    projection     TEXT    NOT NULL,
    state          TEXT    NOT NULL,
    taken_at       TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
"""

_COLUMNS = (
    "global_position, stream_id, stream_version, event_id, event_type, event_version, occurred_at, "
    "correlation_id, causation_id, producer, traceparent, payload"
)


_DROP_PAID_RESULTS_OF_STREAM = (
    "DELETE FROM wave_paid_results WHERE cause_id IN (SELECT event_id FROM events WHERE stream_id = ?)"
)


class SqliteEventStore(EventStore):
    """`create_parent` makes the file's directory when missing (WAVE_HOME); an explicit path must exist.

    A file (or directory) this process cannot write is opened read-only: reading commands work,
    and an append raises a StoreError naming the file.
    """

    def __init__(self, path: str | Path, *, create_parent: bool = False) -> None:
        self.path = Path(path)
        if create_parent:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create {self.path.parent} for the event store: {exc.strerror}") from None
        elif not self.path.parent.is_dir():
            raise StoreError(
                f"cannot open the event store {self.path}: no directory {self.path.parent}; "
                "create it, or point WAVE_DATABASE_URL at an existing directory"
            )
        self.read_only = not _writable(self.path)
        # One thread per connection: the writer's open transaction must never be seen by readers.
        self._write_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wave-sqlite-w")
        self._read_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wave-sqlite-r")
        try:
            self._writer = self._connect()
            if not self.read_only:
                self._writer.executescript(_SCHEMA)
            self._reader = self._connect()
        except sqlite3.Error as exc:
            self._write_executor.shutdown(wait=False)
            self._read_executor.shutdown(wait=False)
            raise self._fault(exc) from None
        self._write_lock = asyncio.Lock()
        self._closed = threading.Event()
        # Connections for reads made on the caller's thread (`_look`), one per thread that reads.
        self._local = threading.local()
        self._local_connections: list[sqlite3.Connection] = []
        self._local_lock = threading.Lock()
        # Fired by this process's commits (from the writer thread), so in-process followers wake at once;
        # one watch per event loop looks for other processes' commits, and only while someone waits.
        self._appended = _AppendSignal()
        self._watches: dict[asyncio.AbstractEventLoop, asyncio.Task[None]] = {}

    def _connect(self) -> sqlite3.Connection:
        if self.read_only:
            return _connect_read_only(self.path)
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        connection.execute("PRAGMA journal_mode=WAL")
        # FULL: an acknowledged append survives power loss, not just a process crash.
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA busy_timeout=30000")
        return connection

    def _fault(self, exc: sqlite3.Error) -> StoreError:
        """A database error as one line naming the file and what to do."""
        text = str(exc)
        if self.read_only or "readonly" in text:
            return StoreError(
                f"the event store {self.path} is read-only ({text}): this command needs to write; "
                "make the file and its directory writable, or set WAVE_HOME to a writable directory"
            )
        if isinstance(exc, sqlite3.DatabaseError) and ("not a database" in text or "malformed" in text):
            return StoreError(
                f"the event store {self.path} is not a readable SQLite database ({text}): "
                "move it aside to start a new store, or set WAVE_HOME to another directory"
            )
        return StoreError(f"the event store {self.path} cannot be used: {text}")

    async def _write(self, fn, *args):
        if self.read_only:
            raise StoreError(
                f"the event store {self.path} is read-only: this command needs to write; "
                "make the file and its directory writable, or set WAVE_HOME to a writable directory"
            )
        try:
            return await asyncio.get_running_loop().run_in_executor(self._write_executor, fn, *args)
        except sqlite3.Error as exc:
            raise self._fault(exc) from None

    async def _read(self, fn, *args):
        try:
            return await asyncio.get_running_loop().run_in_executor(self._read_executor, fn, *args)
        except sqlite3.Error as exc:
            raise self._fault(exc) from None

    async def _look(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """A read of a few rows (a key lookup, a page), made on the caller's thread: it takes
        microseconds, less than handing it to the reader thread and back, which under load cost more
        than the reads themselves. A WAL reader almost never waits for a lock; when this one would, it
        is handed to the reader thread, which may wait (the caller's event loop must not)."""
        if self._closed.is_set():
            return await self._read(self._query, sql, params)  # refused as every read after close()
        # Still a point where the caller yields, as every read was: a loop that polls the store must
        # not keep the other tasks (the timer poller, the followers) from running.
        await asyncio.sleep(0)
        try:
            return self._local_connection().execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise self._fault(exc) from None
        except sqlite3.Error as exc:
            raise self._fault(exc) from None
        return await self._read(self._query, sql, params)

    def _local_connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            if self.read_only:
                connection = _connect_read_only(self.path)
            else:
                connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA busy_timeout=0")  # never wait on the caller's thread
            connection.execute("PRAGMA query_only=1")
            with self._local_lock:
                self._local_connections.append(connection)
            self._local.connection = connection
        return connection

    # --- append -------------------------------------------------------------------------------

    async def append(self, stream_id: str, events: Sequence[Envelope], expected_version: int) -> AppendResult:
        prepared = prepare_append(stream_id, events, expected_version)
        async with self._write_lock:
            return await self._write(self._append_sync, stream_id, prepared, expected_version, True)

    @asynccontextmanager
    async def hold_append_open(
        self, stream_id: str, events: Sequence[Envelope], expected_version: int
    ) -> AsyncIterator[AppendResult]:
        prepared = prepare_append(stream_id, events, expected_version)
        async with self._write_lock:
            result = await self._write(self._append_sync, stream_id, prepared, expected_version, False)
            try:
                yield result
            finally:
                await self._write(self._writer.execute, "COMMIT")
                self._appended.fire()

    def _append_sync(
        self, stream_id: str, prepared: list[PreparedEvent], expected_version: int, commit: bool
    ) -> AppendResult:
        db = self._writer
        db.execute("BEGIN IMMEDIATE")
        try:
            result = self._append_in_transaction(stream_id, prepared, expected_version)
            if result.duplicate or commit:
                db.execute("COMMIT")
                self._appended.fire()
            return result
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _append_in_transaction(
        self, stream_id: str, prepared: list[PreparedEvent], expected_version: int | None
    ) -> AppendResult:
        """Append inside the writer's open transaction; expected_version None means "at the current version"."""
        db = self._writer
        ids = [str(p.envelope.event_id) for p in prepared]
        marks = ",".join("?" * len(ids))
        stored = db.execute(
            f"SELECT event_id, stream_id, stream_version, global_position FROM events WHERE event_id IN ({marks})",
            ids,
        ).fetchall()
        if stored:
            return _duplicate_result(stream_id, prepared, stored)
        (current,) = db.execute(
            "SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = ?", (stream_id,)
        ).fetchone()
        if expected_version is None:
            expected_version = current
        if current != expected_version:
            raise ConcurrencyError(stream_id, expected_version, current)
        (last,) = db.execute("SELECT coalesce(max(global_position), 0) FROM events").fetchone()
        rows = []
        result = []
        for offset, p in enumerate(prepared, start=1):
            e = p.envelope
            rows.append(
                (
                    last + offset, stream_id, expected_version + offset, str(e.event_id), e.type, e.version,
                    e.occurred_at.isoformat(), e.correlation_id, str(e.causation_id) if e.causation_id else None,
                    e.producer, e.traceparent, p.payload_json,
                )
            )
            result.append(e.positioned(expected_version + offset, last + offset))
        db.executemany(f"INSERT INTO events ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        if ends_a_run(p.envelope.type for p in prepared):
            db.execute(_DROP_PAID_RESULTS_OF_STREAM, (stream_id,))
        return AppendResult(tuple(result), duplicate=False)

    # --- runtime bookkeeping ------------------------------------------------------------------

    async def record_handling(self, handling: Handling) -> HandlingResult:
        prepared = check_handling(handling)
        async with self._write_lock:
            return await self._write(self._record_handling_sync, handling, prepared)

    def _record_handling_sync(self, handling: Handling, prepared: list[PreparedEvent]) -> HandlingResult:
        db = self._writer
        # Most handlings store nothing but their handled mark (a service looking at an event that asks
        # nothing of it). Such a commit does not wait for the disk: WAL keeps commit order, so only a
        # power cut (not a crash) can lose it, and never ahead of a later, synced commit; the event is
        # then handled again and decided the same. Anything stored besides the mark waits for the disk.
        marks_only = not prepared and not handling.schedule and not handling.cancel
        if marks_only:
            db.execute("PRAGMA synchronous=NORMAL")
        try:
            return self._record_handling_in_transaction(handling, prepared)
        finally:
            if marks_only:
                db.execute("PRAGMA synchronous=FULL")

    def _record_handling_in_transaction(self, handling: Handling, prepared: list[PreparedEvent]) -> HandlingResult:
        db = self._writer
        db.execute("BEGIN IMMEDIATE")
        try:
            inserted = db.execute(
                "INSERT OR IGNORE INTO wave_handled (consumer, event_id) VALUES (?, ?)",
                (handling.consumer, str(handling.cause_event_id)),
            ).rowcount
            if not inserted:
                db.execute("ROLLBACK")
                return HandlingResult(duplicate=True)
            db.execute(
                "DELETE FROM wave_paid_results WHERE consumer = ? AND cause_id = ?",
                (handling.consumer, str(handling.cause_event_id)),
            )
            appended = (
                self._append_in_transaction(handling.stream_id, prepared, handling.expected_version)
                if prepared
                else None
            )
            db.executemany(
                "INSERT OR IGNORE INTO wave_timers (timer_id, stream_id, due_at, envelope) VALUES (?, ?, ?, ?)",
                [
                    (t.timer_id, t.stream_id, _utc_text(t.due_at), encode_envelope(t.envelope))
                    for t in handling.schedule
                ],
            )
            db.executemany(
                "UPDATE wave_timers SET status = 'cancelled', settled_at = ? WHERE timer_id = ? AND status = 'pending'",
                [(_utc_text(datetime.now(UTC)), timer_id) for timer_id in handling.cancel],
            )
            db.execute("COMMIT")
            self._appended.fire()
            return HandlingResult(False, appended, tuple(t.timer_id for t in handling.schedule))
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    async def was_handled(self, consumer: str, event_id: uuid.UUID) -> bool:
        rows = await self._look(
            "SELECT 1 FROM wave_handled WHERE consumer = ? AND event_id = ?", (consumer, str(event_id))
        )
        return bool(rows)

    async def keep_paid_result(self, consumer: str, cause_event_id: uuid.UUID, key: str, document: str) -> None:
        async with self._write_lock:
            await self._write(
                self._writer.execute,
                "INSERT OR IGNORE INTO wave_paid_results (consumer, cause_id, key, document) VALUES (?, ?, ?, ?)",
                (consumer, str(cause_event_id), key, kept_form(document)),
            )

    async def paid_result(self, consumer: str, cause_event_id: uuid.UUID, key: str) -> str | None:
        rows = await self._look(
            "SELECT document FROM wave_paid_results WHERE consumer = ? AND cause_id = ? AND key = ?",
            (consumer, str(cause_event_id), key),
        )
        return rows[0][0] if rows else None

    async def load_position(self, name: str) -> int:
        rows = await self._look("SELECT position FROM wave_positions WHERE name = ?", (name,))
        return rows[0][0] if rows else 0

    async def save_position(self, name: str, position: int) -> None:
        async with self._write_lock:
            await self._write(
                self._writer.execute,
                "INSERT INTO wave_positions (name, position) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET position = excluded.position",
                (name, position),
            )

    async def load_snapshot(self, stream_id: str, projection: str) -> Snapshot | None:
        rows = await self._look(
            "SELECT stream_version, state FROM wave_snapshots WHERE stream_id = ? AND projection = ?",
            (stream_id, projection),
        )
        if not rows:
            return None
        return Snapshot(stream_id, rows[0][0], projection, json.loads(rows[0][1]))

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        async with self._write_lock:
            await self._write(
                self._writer.execute,
                "INSERT INTO wave_snapshots (stream_id, stream_version, projection, state) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (stream_id) DO UPDATE SET stream_version = excluded.stream_version, "
                "projection = excluded.projection, state = excluded.state, taken_at = excluded.taken_at "
                "WHERE wave_snapshots.projection <> excluded.projection "
                "OR wave_snapshots.stream_version < excluded.stream_version",
                (
                    snapshot.stream_id,
                    snapshot.stream_version,
                    snapshot.projection,
                    json.dumps(snapshot.state, ensure_ascii=False, allow_nan=False),
                ),
            )

    async def due_timers(self, now: datetime, limit: int = 100) -> list[TimerRecord]:
        rows = await self._look(
            "SELECT timer_id, stream_id, due_at, envelope FROM wave_timers WHERE status = 'pending' AND due_at <= ? "
            "ORDER BY due_at, timer_id LIMIT ?",
            (_utc_text(now), limit),
        )
        return [TimerRecord(r[0], r[1], datetime.fromisoformat(r[2]), decode_envelope(r[3])) for r in rows]

    async def next_timer_due(self) -> datetime | None:
        rows = await self._look("SELECT min(due_at) FROM wave_timers WHERE status = 'pending'", ())
        return datetime.fromisoformat(rows[0][0]) if rows[0][0] is not None else None

    async def fire_timer(self, timer: TimerRecord) -> AppendResult | None:
        prepared = prepare_append(timer.stream_id, [timer.envelope], 0)
        async with self._write_lock:
            return await self._write(self._fire_timer_sync, timer, prepared)

    def _fire_timer_sync(self, timer: TimerRecord, prepared: list[PreparedEvent]) -> AppendResult | None:
        db = self._writer
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT status FROM wave_timers WHERE timer_id = ?", (timer.timer_id,)).fetchone()
            if row is None or row[0] != "pending":
                db.execute("ROLLBACK")
                return None
            result = self._append_in_transaction(timer.stream_id, prepared, None)
            db.execute(
                "UPDATE wave_timers SET status = 'fired', settled_at = ? WHERE timer_id = ?",
                (_utc_text(datetime.now(UTC)), timer.timer_id),
            )
            db.execute("COMMIT")
            self._appended.fire()
            return result
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    async def timer_status(self, timer_id: str) -> str | None:
        rows = await self._look("SELECT status FROM wave_timers WHERE timer_id = ?", (timer_id,))
        return rows[0][0] if rows else None

    async def wait_for_append(self, after_position: int, timeout: float) -> None:  # noqa: ASYNC109 - the port's API
        """Appends from this process wake followers at once; other processes' appends are noticed by a
        watch on SQLite's data_version, at most WATCH_INTERVAL_S later. Nothing polls in between."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            woken = self._appended.waiter()  # registered before the look, so no commit slips between
            try:
                if await self.last_position() > after_position:
                    return
                left = deadline - loop.time()
                if left <= 0:
                    return
                self._ensure_watch(loop)
                try:
                    async with asyncio.timeout(left):  # not wait_for: it can swallow a cancellation (3.11)
                        await woken
                except TimeoutError:
                    return
            finally:
                self._appended.discard(woken)

    def _ensure_watch(self, loop: asyncio.AbstractEventLoop) -> None:
        watch = self._watches.get(loop)
        if watch is None or watch.done():
            self._watches = {other: task for other, task in self._watches.items() if not task.done()}
            self._watches[loop] = loop.create_task(self._watch_other_processes(), name="wave:sqlite-watch")

    async def _watch_other_processes(self) -> None:
        """While anyone waits, look at data_version every WATCH_INTERVAL_S: it changes when any other
        connection (another process, or another store on this file) commits."""
        seen = None
        while self._appended.waiting() and not self._closed.is_set():
            try:
                version = await self._read(self._data_version)
            except (StoreError, RuntimeError):
                version = None  # the waiters' own reads will say what is wrong
            # The first look wakes the waiters once too: a commit made before it is not a change of it.
            if version is None or version != seen:
                self._appended.fire()
            seen = version
            await asyncio.sleep(WATCH_INTERVAL_S)

    def _data_version(self) -> int:
        return self._reader.execute("PRAGMA data_version").fetchone()[0]

    # --- reads --------------------------------------------------------------------------------

    async def read_stream(self, stream_id: str, from_version: int = 1) -> list[Envelope]:
        rows = await self._look(
            f"SELECT {_COLUMNS} FROM events WHERE stream_id = ? AND stream_version >= ? ORDER BY stream_version",
            (stream_id, from_version),
        )
        return decode_rows(rows, _envelope, _stored, strict=True)

    async def read_stream_raw(self, stream_id: str) -> list[StoredEvent]:
        rows = await self._read(
            self._query, f"SELECT {_COLUMNS} FROM events WHERE stream_id = ? ORDER BY stream_version", (stream_id,)
        )
        return [_stored(row) for row in rows]

    async def read_all(self, from_position: int = 0, limit: int = 1000) -> list[Envelope]:
        rows = await self._look(
            f"SELECT {_COLUMNS} FROM events WHERE global_position > ? ORDER BY global_position LIMIT ?",
            (from_position, limit),
        )
        return decode_rows(rows, _envelope, _stored, strict=False)

    async def stream_version(self, stream_id: str) -> int:
        rows = await self._look("SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = ?", (stream_id,))
        return rows[0][0]

    async def last_position(self) -> int:
        rows = await self._look("SELECT coalesce(max(global_position), 0) FROM events", ())
        return rows[0][0]

    async def stream_ids(self, prefix: str = "run-") -> list[str]:
        rows = await self._read(
            self._query,
            "SELECT stream_id FROM events WHERE stream_version = 1 AND substr(stream_id, 1, ?) = ? "
            "ORDER BY global_position",
            (len(prefix), prefix),
        )
        return [row[0] for row in rows]

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        return self._reader.execute(sql, params).fetchall()

    # The outbox relay publishes to Kafka for the distributed transport, which needs PostgreSQL; the
    # embedded transport follows this store directly and has no relay.

    async def read_publishable(self, from_position: int, limit: int) -> Sequence[Mapping[str, Any]]:
        raise UnsupportedByStoreError(_NO_RELAY)

    async def try_relay_lock(self) -> RelayLock | None:
        raise UnsupportedByStoreError(_NO_RELAY)

    async def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        for watch in self._watches.values():
            watch.cancel()
        self._appended.fire()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._write_executor, self._writer.close)
        await loop.run_in_executor(self._read_executor, self._reader.close)
        with self._local_lock:
            local, self._local_connections = self._local_connections, []
        for connection in local:
            connection.close()
        self._write_executor.shutdown(wait=True)
        self._read_executor.shutdown(wait=True)


_NO_RELAY = (
    "the outbox relay needs the PostgreSQL event store (WAVE_DATABASE_URL=postgresql://…); "
    "the SQLite store serves the embedded transport only, which needs no relay"
)


WATCH_INTERVAL_S = 0.25


class _AppendSignal:
    """Wakes every waiting coroutine, on whichever event loop it waits, when fired from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: set[asyncio.Future[None]] = set()

    def waiter(self) -> asyncio.Future[None]:
        woken = asyncio.get_running_loop().create_future()
        with self._lock:
            self._waiters.add(woken)
        return woken

    def discard(self, woken: asyncio.Future[None]) -> None:
        with self._lock:
            self._waiters.discard(woken)

    def waiting(self) -> bool:
        with self._lock:
            return bool(self._waiters)

    def fire(self) -> None:
        with self._lock:
            waiters, self._waiters = self._waiters, set()
        for woken in waiters:
            try:
                woken.get_loop().call_soon_threadsafe(_wake, woken)
            except RuntimeError:  # its loop is closed: nobody waits there any more
                pass


def _wake(woken: asyncio.Future[None]) -> None:
    if not woken.done():
        woken.set_result(None)


def _writable(path: Path) -> bool:
    """Whether this process may write the database: the file (when it exists) and its directory
    (SQLite writes its journal files next to it). os.access honours read-only mounts, even for root."""
    if path.exists() and not os.access(path, os.W_OK):
        return False
    return os.access(path.parent, os.W_OK)


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """Open without writing anything. A WAL database needs its -shm file; when it cannot be created
    (a read-only directory) the file is read as immutable, which is what a read-only mount is."""
    if not path.exists():
        raise sqlite3.OperationalError("no database file, and its directory cannot be written to create one")
    uri = path.resolve().as_uri()
    for options in ("mode=ro", "mode=ro&immutable=1"):
        connection = sqlite3.connect(f"{uri}?{options}", uri=True, isolation_level=None, check_same_thread=False)
        try:
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:
            connection.close()
            continue
        connection.execute("PRAGMA busy_timeout=30000")
        return connection
    raise sqlite3.OperationalError("the database cannot be opened read-only")


def _duplicate_result(stream_id: str, prepared: list[PreparedEvent], stored: list[tuple]) -> AppendResult:
    by_id = {row[0]: row for row in stored}
    if len(by_id) != len(prepared) or any(row[1] != stream_id for row in stored):
        raise EventIdConflictError(
            f"{len(by_id)} of {len(prepared)} event ids are stored already"
            + ("" if all(row[1] == stream_id for row in stored) else " on another stream")
            + f"; a batch for {stream_id!r} must be stored whole or not at all"
        )
    result = [p.envelope.positioned(by_id[str(p.envelope.event_id)][2], by_id[str(p.envelope.event_id)][3]) for p in prepared]
    return AppendResult(tuple(sorted(result, key=lambda e: e.global_position or 0)), duplicate=True)


def _utc_text(moment: datetime) -> str:
    """Timestamps as fixed-width UTC text, so SQLite's text comparison orders them correctly."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _stored(row: tuple[Any, ...]) -> StoredEvent:
    position, stream_id, version, event_id, event_type, event_version, occurred_at, correlation, causation, producer, trace, payload = row
    return StoredEvent(
        str(event_id), stream_id, version, position, event_type, event_version, str(occurred_at), correlation,
        causation, producer, trace, str(payload),
    )


def _envelope(row: tuple[Any, ...], lazy: bool = False) -> Envelope:
    """A stored row as an envelope, its columns checked (SQLite keeps them as text); the payload is
    decoded at once or, `lazy`, when first looked at."""
    position, stream_id, version, event_id, event_type, event_version, occurred_at, correlation, causation, producer, trace, payload = row
    columns = {
        "event_id": uuid.UUID(event_id),
        "stream_id": stream_id,
        "occurred_at": occurred_at,
        "correlation_id": correlation,
        "causation_id": causation,
        "producer": producer,
        "traceparent": trace,
        "stream_version": version,
        "global_position": position,
    }
    if not lazy:
        return envelope_from_columns(columns, registry.decode(event_type, event_version, payload))
    moment = datetime.fromisoformat(occurred_at)
    if moment.tzinfo is None:
        raise ValueError(f"occurred_at must carry a timezone, got {occurred_at!r}")
    texts = (correlation, producer) + ((trace,) if trace is not None else ())
    if not all(isinstance(text, str) for text in texts) or not all(isinstance(n, int) for n in (version, position)):
        raise TypeError("malformed event envelope: a column has the wrong type")
    columns.update(
        stream_id=validate_stream_id(stream_id),
        occurred_at=moment,
        causation_id=uuid.UUID(causation) if causation else None,
    )
    return read_payload_later(columns, event_type, event_version, payload)

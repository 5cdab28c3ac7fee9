"""The tables beside the event log that the HTTP API and the CLI share: access tokens (stored as
hashes), the sessions signed in with them, and the runs read model (one row per run, kept by a
projector from the log and rebuildable from it).

They live in the store's own database so that `wave token create` on one machine and the API serving
the same store see the same tokens, and so that a deployment has one database to back up. None of
them is a source of truth for a run: the runs table is a projection of the log; tokens and sessions
are access control, not history. `open_tables(store)` gives the adapter for an open event store.
"""

from __future__ import annotations

import abc
import asyncio
import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .errors import StoreError
from .port import EventStore

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS wave_api_tokens (
        name       TEXT PRIMARY KEY,
        role       TEXT NOT NULL,
        digest     TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        revoked_at TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS wave_api_sessions (
        digest      TEXT PRIMARY KEY,
        token_name  TEXT NOT NULL,
        csrf_digest TEXT NOT NULL,
        expires_at  TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS wave_runs (
        run_id        TEXT PRIMARY KEY,
        status        TEXT NOT NULL,
        title         TEXT NOT NULL,
        repo          TEXT NOT NULL,
        target_branch TEXT NOT NULL,
        gates         TEXT NOT NULL,
        cost_usd      DOUBLE PRECISION NOT NULL,
        tokens_used   BIGINT NOT NULL,
        retries       INTEGER NOT NULL,
        pending       TEXT NOT NULL,
        error         TEXT,
        last_event_at TEXT NOT NULL,
        version       INTEGER NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS wave_runs_activity ON wave_runs (last_event_at, run_id)",
    # A status filter (`GET /runs?status=awaiting_human`) reads its page off this index instead of
    # walking the whole activity index past every run of another status.
    "CREATE INDEX IF NOT EXISTS wave_runs_status_activity ON wave_runs (status, last_event_at, run_id)",
]

_RUN_COLUMNS = (
    "run_id", "status", "title", "repo", "target_branch", "gates", "cost_usd", "tokens_used", "retries",
    "pending", "error", "last_event_at", "version",
)


@dataclass(frozen=True)
class TokenRecord:
    name: str
    role: str
    created_at: str
    revoked_at: str | None = None


@dataclass(frozen=True)
class RunRow:
    """One run as listed: `gates` and `pending` are JSON text (the gate map, the pending escalations);
    `last_event_at` is ISO-8601 UTC text, so text order is time order."""

    run_id: str
    status: str
    title: str
    repo: str
    target_branch: str
    gates: str
    cost_usd: float
    tokens_used: int
    retries: int
    pending: str
    error: str | None
    last_event_at: str
    version: int


class TokenExists(StoreError):
    """A token with that name is stored already."""


class ApiTables(abc.ABC):
    """Contract (tests/integration/store/test_tables.py runs it against both adapters): token names are
    unique; a revoked token is never returned by `token_by_digest`, nor are its sessions; the runs
    table holds one row per run, listed by newest activity first (ties by run id, descending)."""

    # --- tokens ---------------------------------------------------------------------------------

    async def add_token(self, name: str, role: str, digest: str, created_at: str) -> None:
        try:
            await self._execute(
                "INSERT INTO wave_api_tokens (name, role, digest, created_at) VALUES (?, ?, ?, ?)",
                (name, role, digest, created_at),
            )
        except self._unique_violation:
            raise TokenExists(f"a token named {name!r} exists already; revoke it first or choose another name") from None

    async def list_tokens(self) -> list[TokenRecord]:
        rows = await self._fetch("SELECT name, role, created_at, revoked_at FROM wave_api_tokens ORDER BY name", ())
        return [TokenRecord(*row) for row in rows]

    async def revoke_token(self, name: str, revoked_at: str) -> bool:
        """Revoke a live token and end its sessions; False when no live token has that name. A revoked
        token's name is freed by renaming its record, so the name can be given out again."""
        rows = await self._fetch(
            "SELECT name FROM wave_api_tokens WHERE name = ? AND revoked_at IS NULL", (name,)
        )
        if not rows:
            return False
        await self._execute("DELETE FROM wave_api_sessions WHERE token_name = ?", (name,))
        await self._execute(
            "UPDATE wave_api_tokens SET revoked_at = ?, name = ? WHERE name = ? AND revoked_at IS NULL",
            (revoked_at, f"{name}@revoked-{revoked_at}", name),
        )
        return True

    async def token_by_digest(self, digest: str) -> tuple[TokenRecord, str] | None:
        """The live token whose digest is `digest`, and the digest as stored (for a constant-time check)."""
        rows = await self._fetch(
            "SELECT name, role, created_at, revoked_at, digest FROM wave_api_tokens "
            "WHERE digest = ? AND revoked_at IS NULL",
            (digest,),
        )
        if not rows:
            return None
        *token, stored = rows[0]
        return TokenRecord(*token), stored

    # --- sessions -------------------------------------------------------------------------------

    async def add_session(self, digest: str, token_name: str, csrf_digest: str, expires_at: str) -> None:
        await self._execute(
            "INSERT INTO wave_api_sessions (digest, token_name, csrf_digest, expires_at) VALUES (?, ?, ?, ?)",
            (digest, token_name, csrf_digest, expires_at),
        )

    async def session_by_digest(self, digest: str, now: str) -> tuple[TokenRecord, str] | None:
        """The live token a session was signed in with, and the session's CSRF digest."""
        rows = await self._fetch(
            "SELECT t.name, t.role, t.created_at, t.revoked_at, s.csrf_digest FROM wave_api_sessions s "
            "JOIN wave_api_tokens t ON t.name = s.token_name "
            "WHERE s.digest = ? AND s.expires_at > ? AND t.revoked_at IS NULL",
            (digest, now),
        )
        if not rows:
            return None
        *token, csrf = rows[0]
        return TokenRecord(*token), csrf

    async def drop_session(self, digest: str) -> None:
        await self._execute("DELETE FROM wave_api_sessions WHERE digest = ?", (digest,))

    # --- the runs read model --------------------------------------------------------------------

    async def upsert_runs(self, rows: Sequence[RunRow]) -> None:
        columns = ", ".join(_RUN_COLUMNS)
        marks = ", ".join("?" for _ in _RUN_COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in _RUN_COLUMNS[1:])
        sql = f"INSERT INTO wave_runs ({columns}) VALUES ({marks}) ON CONFLICT (run_id) DO UPDATE SET {updates}"
        # One transaction for the lot: a commit per row made a rebuild of 10,000 runs take a minute.
        await self._execute_many(sql, [tuple(getattr(row, c) for c in _RUN_COLUMNS) for row in rows])

    async def clear_runs(self) -> None:
        await self._execute("DELETE FROM wave_runs", ())

    async def list_runs(
        self, *, status: str | None = None, text: str | None = None, limit: int = 50,
        before: tuple[str, str] | None = None,
    ) -> list[RunRow]:
        """Runs by newest activity; `before` (last_event_at, run_id) continues after that row;
        `text` matches the run id, story title or repository, ignoring case."""
        where, params = [], []
        if status:
            where.append("status = ?")
            params.append(status)
        if text:
            where.append("(lower(run_id) LIKE ? OR lower(title) LIKE ? OR lower(repo) LIKE ?)")
            pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where[-1] = where[-1].replace("LIKE ?", "LIKE ? ESCAPE '\\'")
            params += [pattern] * 3
        if before is not None:
            where.append("(last_event_at < ? OR (last_event_at = ? AND run_id < ?))")
            params += [before[0], before[0], before[1]]
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = await self._fetch(
            f"SELECT {', '.join(_RUN_COLUMNS)} FROM wave_runs {clause} "
            f"ORDER BY last_event_at DESC, run_id DESC LIMIT ?",
            (*params, limit),
        )
        return [RunRow(*row) for row in rows]

    async def run_ids_with_pending(self, escalation_id: str) -> list[str]:
        """The runs whose pending escalations mention `escalation_id` (Slack's buttons carry only it)."""
        pattern = "%" + escalation_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = await self._fetch("SELECT run_id FROM wave_runs WHERE pending LIKE ? ESCAPE '\\'", (pattern,))
        return [row[0] for row in rows]

    # --- the adapter's database access ----------------------------------------------------------

    async def close(self) -> None:  # noqa: B027 - adapters that hold nothing of their own need nothing
        """Let go of what the adapter holds of its own (not the event store's connections)."""

    _unique_violation: type[BaseException] | tuple[type[BaseException], ...] = ()

    @abc.abstractmethod
    async def _execute(self, sql: str, params: tuple[Any, ...]) -> None: ...

    @abc.abstractmethod
    async def _execute_many(self, sql: str, params: list[tuple[Any, ...]]) -> None:
        """`sql` once per parameter tuple, all in one transaction."""

    @abc.abstractmethod
    async def _fetch(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]: ...


class SqliteTables(ApiTables):
    """Its own connection to the store's file (WAL: readers never block the log's writer), used from one
    thread of its own, so that closing it waits for a statement still running there."""

    _unique_violation = sqlite3.IntegrityError

    def __init__(self, path: str) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wave-sqlite-tables")
        self._connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self._connection.execute("PRAGMA busy_timeout=30000")
        for statement in _SCHEMA:
            self._connection.execute(statement)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._connection.close)
        self._executor.shutdown(wait=True)

    def _run(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        return self._connection.execute(sql, params).fetchall()

    async def _execute(self, sql: str, params: tuple[Any, ...]) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._run, sql, params)

    def _run_many(self, sql: str, params: list[tuple[Any, ...]]) -> None:
        with self._connection:  # BEGIN … COMMIT, or ROLLBACK on an error
            self._connection.execute("BEGIN")
            self._connection.executemany(sql, params)

    async def _execute_many(self, sql: str, params: list[tuple[Any, ...]]) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._run_many, sql, params)

    async def _fetch(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._run, sql, params)


class PostgresTables(ApiTables):
    """Through the event store's connection pool."""

    def __init__(self, pool: Any) -> None:
        import asyncpg

        self._pool = pool
        self._unique_violation = asyncpg.UniqueViolationError

    async def create(self) -> PostgresTables:
        async with self._pool.acquire() as connection, connection.transaction():
            # Several API processes may start at once; CREATE … IF NOT EXISTS alone races in PostgreSQL.
            await connection.execute("SELECT pg_advisory_xact_lock(hashtext('wave_api_tables'))")
            for statement in _SCHEMA:
                await connection.execute(statement)
        return self

    @staticmethod
    def _numbered(sql: str) -> str:
        parts = sql.split("?")
        return parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], start=1))

    async def _execute(self, sql: str, params: tuple[Any, ...]) -> None:
        async with self._pool.acquire() as connection:
            await connection.execute(self._numbered(sql), *params)

    async def _execute_many(self, sql: str, params: list[tuple[Any, ...]]) -> None:
        async with self._pool.acquire() as connection, connection.transaction():
            await connection.executemany(self._numbered(sql), params)

    async def _fetch(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        async with self._pool.acquire() as connection:
            return [tuple(row) for row in await connection.fetch(self._numbered(sql), *params)]


async def open_tables(store: EventStore) -> ApiTables:
    from .postgres import PostgresEventStore
    from .sqlite import SqliteEventStore

    if isinstance(store, SqliteEventStore):
        try:
            return SqliteTables(str(store.path))
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the API tables in {store.path}: {exc}") from None
    if isinstance(store, PostgresEventStore):
        return await PostgresTables(store.pool).create()
    raise StoreError(f"{type(store).__name__} keeps no API tables")

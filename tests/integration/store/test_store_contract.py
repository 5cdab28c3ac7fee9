"""The EventStore contract (tests/support/store_contract.py) on each adapter: SQLite and PostgreSQL,
plus what only PostgreSQL has (recorded migrations, a notification per commit)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest
from store_contract import EventStoreContract, failed, requested
from wave_store.port import Handling
from wave_store.postgres import PostgresEventStore
from wave_store.sqlite import SqliteEventStore


class TestSqliteEventStore(EventStoreContract):
    @pytest.fixture
    def path(self, tmp_path: Path) -> Path:
        return tmp_path / "events.db"

    @pytest.fixture
    async def store(self, path):
        store = SqliteEventStore(path)
        yield store
        await store.close()

    @pytest.fixture
    async def second_store(self, path):
        store = SqliteEventStore(path)
        yield store
        await store.close()

    @pytest.fixture
    def reopen(self, path):
        async def open_again():
            return SqliteEventStore(path)

        return open_again

    @pytest.fixture
    def raw_sql(self, path):
        import sqlite3

        async def run(sql: str) -> None:
            connection = sqlite3.connect(path, isolation_level=None)
            try:
                connection.execute(sql)
            finally:
                connection.close()

        return run


@pytest.mark.postgres
class TestPostgresEventStore(EventStoreContract):
    @pytest.fixture
    async def store(self, pg_database_url):
        store = await PostgresEventStore.connect(pg_database_url)
        yield store
        await store.close()

    @pytest.fixture
    async def second_store(self, pg_database_url, store):
        other = await PostgresEventStore.connect(pg_database_url)
        yield other
        await other.close()

    @pytest.fixture
    def reopen(self, pg_database_url):
        async def open_again():
            return await PostgresEventStore.connect(pg_database_url)

        return open_again

    @pytest.fixture
    def raw_sql(self, pg_database_url, store):
        async def run(sql: str) -> None:
            connection = await asyncpg.connect(pg_database_url)
            try:
                await connection.execute(sql)
            finally:
                await connection.close()

        return run

    async def test_migrations_are_recorded_and_not_reapplied(self, pg_database_url, store):
        again = await PostgresEventStore.connect(pg_database_url)
        await again.close()
        connection = await asyncpg.connect(pg_database_url)
        try:
            rows = await connection.fetch("SELECT version, name FROM wave_schema_migrations ORDER BY version")
        finally:
            await connection.close()
        assert [(r["version"], r["name"]) for r in rows] == [
            (1, "0001_events.sql"),
            (2, "0002_runtime.sql"),
            (3, "0003_positions_from_transaction_ids.sql"),
            (4, "0004_paid_results.sql"),
            (5, "0005_record_handling.sql"),
        ]

    async def test_a_notification_follows_each_commit(self, pg_database_url, store):
        connection = await asyncpg.connect(pg_database_url)
        heard: asyncio.Queue[str] = asyncio.Queue()
        await connection.add_listener("wave_events", lambda *args: heard.put_nowait(args[3]))
        try:
            result = await store.append("run-one", [requested(), failed()], 0)
            assert int(await asyncio.wait_for(heard.get(), 5)) == result.positions[-1]
        finally:
            await connection.close()

    async def test_a_notification_follows_each_recorded_handling_even_when_the_store_closes_at_once(
        self, pg_database_url
    ):
        connection = await asyncpg.connect(pg_database_url)
        heard: asyncio.Queue[str] = asyncio.Queue()
        await connection.add_listener("wave_events", lambda *args: heard.put_nowait(args[3]))
        store = await PostgresEventStore.connect(pg_database_url)
        try:
            cause = (await store.append("run-one", [requested()], 0)).events[0]
            assert int(await asyncio.wait_for(heard.get(), 5)) == cause.global_position
            output = failed()
            result = await store.record_handling(Handling("svc", cause.event_id, "run-one", (output,), 1))
            await store.close()  # the notification is sent after the handling returned: closing waits for it
            assert int(await asyncio.wait_for(heard.get(), 5)) == result.appended.positions[-1]
        finally:
            await store.close()
            await connection.close()



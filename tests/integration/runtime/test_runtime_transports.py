"""The subscription contract (tests/support/transport_contract.py) on every transport: embedded
over SQLite, embedded over PostgreSQL, and Kafka (outbox relay + consumer groups) over PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest
from transport_contract import TransportContract
from wave_runtime import EmbeddedRuntime, FileDeadLetters
from wave_runtime.kafka import KafkaDeadLetters, KafkaServiceRunner, OutboxRelay, Topics, ensure_topics
from wave_store.postgres import PostgresEventStore
from wave_store.sqlite import SqliteEventStore


class EmbeddedTransport:
    def __init__(self, store, dead_letters: FileDeadLetters) -> None:
        self.store = store
        self.dead_letters = dead_letters
        self.runtime: EmbeddedRuntime | None = None

    @contextlib.asynccontextmanager
    async def running(self, services):
        from wave_runtime import RetryPolicy

        self.runtime = EmbeddedRuntime(self.store, services, self.dead_letters, retry=RetryPolicy(max_attempts=3, base_delay_s=0.01))
        async with self.runtime:
            yield

    async def settle(self) -> None:
        await self.runtime.drain()


class KafkaTransport:
    def __init__(self, store, bootstrap: str, topics: Topics) -> None:
        self.store = store
        self.bootstrap = bootstrap
        self.topics = topics
        self.dead_letters = KafkaDeadLetters(bootstrap, topics)

    @contextlib.asynccontextmanager
    async def running(self, services):
        from wave_runtime import RetryPolicy

        await ensure_topics(self.bootstrap, self.topics, partitions=3)
        stop = asyncio.Event()
        relay = OutboxRelay(self.store, self.bootstrap, self.topics)
        runners = [
            KafkaServiceRunner(s, self.store, self.bootstrap, self.topics, retry=RetryPolicy(max_attempts=3, base_delay_s=0.01))
            for s in services
        ]
        tasks = [asyncio.create_task(relay.run(stop)), *(asyncio.create_task(r.run(stop)) for r in runners)]
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def settle(self) -> None:
        await asyncio.sleep(0.3)


class TestEmbeddedOverSqlite(TransportContract):
    @pytest.fixture
    async def transport(self, tmp_path):
        store = SqliteEventStore(tmp_path / "wave.db")
        yield EmbeddedTransport(store, FileDeadLetters(tmp_path / "dead-letters.jsonl"))
        await store.close()


@pytest.mark.postgres
class TestEmbeddedOverPostgres(TransportContract):
    @pytest.fixture
    async def transport(self, tmp_path, pg_database_url):
        store = await PostgresEventStore.connect(pg_database_url)
        yield EmbeddedTransport(store, FileDeadLetters(tmp_path / "dead-letters.jsonl"))
        await store.close()


@pytest.mark.postgres
@pytest.mark.kafka
class TestKafkaOverPostgres(TransportContract):
    @pytest.fixture
    async def transport(self, pg_database_url, kafka_bootstrap):
        store = await PostgresEventStore.connect(pg_database_url)
        yield KafkaTransport(store, kafka_bootstrap, Topics(f"wavetest.{uuid.uuid4().hex[:10]}"))
        await store.close()

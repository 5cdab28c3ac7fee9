"""Consumer lag as an operator reads it on /metrics: one series per partition of the events topic
(labels service, topic, partition), so a partition stuck on a record shows its backlog while the
others show theirs, and the embedded transport reports the store's global order as one sequence."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka.partitioner import DefaultPartitioner
from prometheus_client import REGISTRY
from runtime_flow import Finisher, Stamper
from wave_events import catalogue as c
from wave_events import new_envelope, run_stream_id
from wave_runtime import EmbeddedRuntime, FileDeadLetters
from wave_runtime.kafka import KafkaServiceRunner, OutboxRelay, Topics, ensure_topics
from wave_store.postgres import PostgresEventStore
from wave_store.sqlite import SqliteEventStore

PARTITIONS = [0, 1, 2]


class Holder:
    """Handles RunRequested with no outputs; one whose story says "hold" waits until released."""

    name = "lagholder"
    handles = frozenset({"RunRequested"})

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def handle(self, state, event):
        if "hold" in event.payload.story:
            await self.release.wait()
        return []


def lag(service: str, topic: str, partition: int | str) -> float | None:
    return REGISTRY.get_sample_value(
        "wave_consumer_lag", {"service": service, "topic": topic, "partition": str(partition)}
    )


def runs_on(partition: int, count: int) -> list[str]:
    """Run ids whose records the relay puts on `partition` (the run id is the record key)."""
    partitioner, found = DefaultPartitioner(), []
    while len(found) < count:
        run_id = uuid.uuid4().hex[:12]
        if partitioner(run_id.encode(), PARTITIONS, PARTITIONS) == partition:
            found.append(run_id)
    return found


async def request(store, run_id: str, story: str, *, followed_by: int = 0) -> None:
    """RunRequested and `followed_by` more events of the run, stored (and so published) together."""
    stream = run_stream_id(run_id)
    events = [new_envelope(stream, c.RunRequested(story=story, repo="/srv/r", budget_usd=1), producer="test")]
    events += [new_envelope(stream, c.RunFailed(reason=f"note {n}"), producer="test") for n in range(followed_by)]
    await store.append(stream, events, 0)


async def until(check, timeout: float = 60.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.05)


@pytest.mark.postgres
@pytest.mark.kafka
async def test_lag_is_reported_per_partition(pg_database_url, kafka_bootstrap):
    topics = Topics(f"wavetest.{uuid.uuid4().hex[:10]}")
    await ensure_topics(kafka_bootstrap, topics, partitions=len(PARTITIONS))
    store = await PostgresEventStore.connect(pg_database_url)
    service = Holder()
    runner = KafkaServiceRunner(service, store, kafka_bootstrap, topics)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(OutboxRelay(store, kafka_bootstrap, topics).run(stop)), asyncio.create_task(runner.run(stop))]
    try:
        # Partitions 1 and 2 get 3 and 5 requests, all handled: nothing left on either.
        for run_id in runs_on(1, 3) + runs_on(2, 5):
            await request(store, run_id, "go")
        await until(lambda: runner.handled == 8)
        await until(lambda: lag(service.name, topics.events, 1) == 0 and lag(service.name, topics.events, 2) == 0)
        assert lag(service.name, topics.events, 0) is None  # nothing was consumed from it yet

        # Partition 0 gets one run of 4 events whose first the service cannot finish yet: its 4 records
        # are not handled, and the other partitions still say 0.
        [held] = runs_on(0, 1)
        await request(store, held, "hold this one", followed_by=3)
        await until(lambda: lag(service.name, topics.events, 0) == 4)
        assert lag(service.name, topics.events, 1) == 0 and lag(service.name, topics.events, 2) == 0

        service.release.set()
        await until(lambda: lag(service.name, topics.events, 0) == 0)
        assert runner.handled == 9
        assert [lag(service.name, topics.events, p) for p in PARTITIONS] == [0, 0, 0]
    finally:
        service.release.set()
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await store.close()
    # The instance left its group: the partitions are no longer its to report.
    assert [lag(service.name, topics.events, p) for p in PARTITIONS] == [None, None, None]


async def test_the_embedded_transport_reports_the_store_as_one_sequence(tmp_path):
    store = SqliteEventStore(tmp_path / "wave.db")
    try:
        for _ in range(3):
            run_id = uuid.uuid4().hex[:12]
            await request(store, run_id, "add a health endpoint")
        stamper, finisher = Stamper(), Finisher()
        stamper.name, finisher.name = f"stamper-{uuid.uuid4().hex[:6]}", f"finisher-{uuid.uuid4().hex[:6]}"
        runtime = EmbeddedRuntime(store, [stamper, finisher], FileDeadLetters(tmp_path / "dead-letters.jsonl"))
        async with runtime:
            await runtime.drain()
            await until(lambda: lag(stamper.name, "store", "all") == 0 and lag(finisher.name, "store", "all") == 0)
        assert await store.last_position() == 9  # 3 runs, each requested, stamped and finished
    finally:
        await store.close()

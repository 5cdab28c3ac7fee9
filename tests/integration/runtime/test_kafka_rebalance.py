"""A partition taken away while its record is being handled: the instance goes on.

Scaling a role out (a new replica joins its group) or a replica dying moves partitions between
instances while they handle records. The instance that loses a partition in the middle of a handling
finishes that handling, leaves the partition's offsets to its new owner (which skips what is stored)
and keeps consuming what it still holds; it must not exit."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from consumer_groups import group_is_stable
from wave_events import catalogue as c
from wave_events import new_envelope, run_stream_id
from wave_runtime.kafka import KafkaServiceRunner, OutboxRelay, Topics, ensure_topics
from wave_store.postgres import PostgresEventStore

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


class Holder:
    """Answers RunRequested with RunCompleted; the first one waits until released."""

    name = "rebalanceholder"
    handles = frozenset({"RunRequested"})

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def handle(self, state, event):
        if not self.entered.is_set():
            self.entered.set()
            await self.release.wait()
        return [c.RunCompleted(merge_commit="0" * 40)]


async def _request(store) -> str:
    run_id = uuid.uuid4().hex[:12]
    stream = run_stream_id(run_id)
    await store.append(stream, [new_envelope(stream, c.RunRequested(story="s", repo="/srv/r", budget_usd=1), producer="test")], 0)
    return run_id


@pytest.mark.timeout(180)
async def test_an_instance_losing_the_partition_it_is_handling_keeps_running(pg_database_url, kafka_bootstrap):
    topics = Topics(f"wavetest.{uuid.uuid4().hex[:10]}")
    await ensure_topics(kafka_bootstrap, topics, partitions=2)
    store = await PostgresEventStore.connect(pg_database_url)
    first, second = Holder(), Holder()
    second.entered.set()  # only the first instance holds its first record
    runners = [KafkaServiceRunner(s, store, kafka_bootstrap, topics) for s in (first, second)]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(OutboxRelay(store, kafka_bootstrap, topics).run(stop)), asyncio.create_task(runners[0].run(stop))]
    try:
        held = await _request(store)
        async with asyncio.timeout(60):
            await first.entered.wait()
        # A second instance joins the group while the first is inside its handling: the partitions
        # are shared out again, the held one possibly to the newcomer.
        tasks.append(asyncio.create_task(runners[1].run(stop)))
        async with asyncio.timeout(60):
            while not await group_is_stable(kafka_bootstrap, topics.group(first.name), 2):  # noqa: ASYNC110
                await asyncio.sleep(0.2)
        first.release.set()

        others = [await _request(store) for _ in range(6)]
        async with asyncio.timeout(60):
            while await store.pool.fetchval("SELECT count(*) FROM events WHERE event_type = 'RunCompleted'") < 7:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
        assert not tasks[1].done(), f"the first instance stopped: {tasks[1].exception() if tasks[1].done() else ''}"
        assert not tasks[2].done()
        for run_id in [held, *others]:
            types = [e.type for e in await store.read_stream(run_stream_id(run_id))]
            assert types == ["RunRequested", "RunCompleted"], (run_id, types)
    finally:
        first.release.set()
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await store.close()

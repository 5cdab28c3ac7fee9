"""Records of one partition handled side by side per run, committed only up to the first not handled.

A run's events share a partition (the Kafka key is the run id), and so do many runs. A slow handling
of one run must not hold back the other runs of its partition; and while it is under way, the
partition's committed offset must stay at it, so an instance dying meanwhile has it delivered again
to whoever takes the partition over (the runs handled after it are then skipped, being stored)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from wave_events import catalogue as c
from wave_events import new_envelope, run_stream_id
from wave_runtime.kafka import KafkaServiceRunner, OutboxRelay, Topics, ensure_topics
from wave_store.postgres import PostgresEventStore

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


class Holder:
    """Answers RunRequested with RunCompleted; the run named `held` waits until released."""

    name = "pipelineholder"
    handles = frozenset({"RunRequested"})

    def __init__(self, held: str | None = None) -> None:
        self.held = held
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.handled: list[str] = []

    async def handle(self, state, event):
        if event.run_id == self.held:
            self.entered.set()
            await self.release.wait()
        self.handled.append(event.run_id)
        return [c.RunCompleted(merge_commit="0" * 40)]


async def _request(store, run_id: str) -> None:
    stream = run_stream_id(run_id)
    await store.append(stream, [new_envelope(stream, c.RunRequested(story="s", repo="/srv/r", budget_usd=1), producer="test")], 0)


async def _completed(store, run_id: str) -> bool:
    return "RunCompleted" in [e.type for e in await store.read_stream(run_stream_id(run_id))]


async def _until(predicate, seconds: float = 60) -> None:
    async with asyncio.timeout(seconds):
        while not await predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def _committed(bootstrap: str, group: str) -> dict[int, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items()}


@pytest.fixture
async def one_partition(pg_database_url, kafka_bootstrap):
    topics = Topics(f"wavetest.{uuid.uuid4().hex[:10]}")
    await ensure_topics(kafka_bootstrap, topics, partitions=1)
    store = await PostgresEventStore.connect(pg_database_url)
    stop = asyncio.Event()
    relay = asyncio.create_task(OutboxRelay(store, kafka_bootstrap, topics).run(stop))
    try:
        yield topics, store, stop
    finally:
        stop.set()
        await asyncio.gather(relay, return_exceptions=True)
        await store.close()


@pytest.mark.timeout(120)
async def test_a_slow_run_does_not_hold_back_the_other_runs_of_its_partition(one_partition, kafka_bootstrap):
    topics, store, stop = one_partition
    slow, quick = "slow" + uuid.uuid4().hex[:8], "quick" + uuid.uuid4().hex[:8]
    service = Holder(held=slow)
    runner = asyncio.create_task(KafkaServiceRunner(service, store, kafka_bootstrap, topics).run(stop))
    try:
        await _request(store, slow)
        async with asyncio.timeout(60):
            await service.entered.wait()
        await _request(store, quick)  # the same partition, behind the held record
        await _until(lambda: _completed(store, quick), 30)
        assert not await _completed(store, slow)
        service.release.set()
        await _until(lambda: _completed(store, slow), 30)
        assert service.handled == [quick, slow]
    finally:
        service.release.set()
        stop.set()
        await asyncio.gather(runner, return_exceptions=True)
    assert not runner.exception()


@pytest.mark.timeout(120)
async def test_an_instance_dying_mid_way_never_commits_past_a_record_not_handled(one_partition, kafka_bootstrap):
    topics, store, stop = one_partition
    held, *after = [f"r{i}" + uuid.uuid4().hex[:8] for i in range(4)]
    first = Holder(held=held)
    group = topics.group(first.name)
    dying = asyncio.create_task(KafkaServiceRunner(first, store, kafka_bootstrap, topics).run(stop))
    try:
        await _request(store, held)
        async with asyncio.timeout(60):
            await first.entered.wait()
        for run_id in after:
            await _request(store, run_id)

        async def all_after_completed() -> bool:
            return all([await _completed(store, run_id) for run_id in after])

        await _until(all_after_completed, 30)
        await asyncio.sleep(1.0)  # commits run in the background: give them time to (wrongly) pass the held record
        assert (await _committed(kafka_bootstrap, group)).get(0, -1) <= 0  # the held record is offset 0
    finally:
        dying.cancel()  # dies inside the held handling: nothing more is stored or committed
        await asyncio.gather(dying, return_exceptions=True)
    assert not await _completed(store, held)

    successor = Holder()
    runner = KafkaServiceRunner(successor, store, kafka_bootstrap, topics)
    taking_over = asyncio.create_task(runner.run(stop))
    try:
        await _until(lambda: _completed(store, held), 60)
        await _until(lambda: _committed_at(kafka_bootstrap, group, 5), 30)
        assert successor.handled == [held]  # the runs handled before the death are not handled again
        for run_id in [held, *after]:
            types = [e.type for e in await store.read_stream(run_stream_id(run_id))]
            assert types == ["RunRequested", "RunCompleted"], (run_id, types)
    finally:
        stop.set()
        await asyncio.gather(taking_over, return_exceptions=True)


async def _committed_at(bootstrap: str, group: str, offset: int) -> bool:
    return (await _committed(bootstrap, group)).get(0, -1) >= offset

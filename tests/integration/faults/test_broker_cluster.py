"""A broker of a three-broker cluster dies (-9) in the middle of a stream: replication carries on.

A private KRaft cluster of three brokers on this machine (tests/support/fault_broker.py: the jars
deploy/local/kafka.sh fetched, ports and data dirs of its own under the test's tmp dir, small heaps)
holds the events topic with replication factor 3 and `min.insync.replicas` 2. The relay publishes
with its idempotent producer (acks=all), services A and B consume; none of them is restarted. While
inputs stream in, the leader of a partition carrying them is killed. Nothing acknowledged may be
lost, nothing applied twice; the time the relay's acknowledged position stood still is the stall."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from fault_broker import PrivateCluster
from fault_flow import LEDGER_DDL, OUTPUT, count_of, feed, tally, wait_for_count
from fault_procs import Deployment
from wave_runtime.kafka import Topics, ensure_topics
from wave_store.postgres import PostgresEventStore

pytestmark = [pytest.mark.postgres, pytest.mark.kafka, pytest.mark.slow]

INPUTS = 600
FEED_S = 20.0


@pytest.fixture
def cluster(tmp_path):
    cluster = PrivateCluster(tmp_path / "cluster", size=3, heap="256m")
    yield cluster
    cluster.close()


async def _leaders(bootstrap: str, topic: str) -> dict[int, int]:
    """Partition -> the node id leading it now."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return {p["partition"]: p["leader"] for d in described if d["topic"] == topic for p in d["partitions"]}


class PositionWatch:
    """The relay's acknowledged position (saved only once Kafka acknowledged every record up to it),
    sampled every 50 ms: when it last moved, and when it first moved after a given moment."""

    def __init__(self, store, name: str) -> None:
        self.store, self.name = store, name
        self.moves: list[tuple[float, int]] = []

    async def run(self) -> None:
        last = -1
        while True:
            position = await self.store.load_position(self.name)
            if position != last:
                self.moves.append((time.monotonic(), position))
                last = position
            await asyncio.sleep(0.05)

    def first_move_after(self, moment: float) -> float | None:
        return next((at for at, _ in self.moves if at > moment), None)


@pytest.mark.timeout(600)
async def test_the_leader_of_a_busy_partition_killed_loses_nothing(cluster, pg_database_url, tmp_path, figures):
    cluster_start_s = await asyncio.to_thread(cluster.start)
    topics = Topics(f"wavecluster.{uuid.uuid4().hex[:10]}")
    await ensure_topics(cluster.bootstrap, topics, partitions=3, replication=3)
    store = await PostgresEventStore.connect(pg_database_url, max_size=4)
    await store.pool.execute(LEDGER_DDL)
    deployment = Deployment(pg_database_url, cluster.bootstrap, topics.prefix, tmp_path)
    watch = PositionWatch(store, f"relay:{topics.events}")
    watching = asyncio.create_task(watch.run())
    try:
        pool = store.pool
        children = deployment.start_flow()
        feeding = asyncio.create_task(feed(store, INPUTS, seconds=FEED_S))
        await wait_for_count(pool, OUTPUT, INPUTS // 5, timeout=120)

        leaders = await _leaders(cluster.bootstrap, topics.events)
        victim = leaders[0]
        cluster.node(victim).kill9()
        killed_at = time.monotonic()
        outputs_at_kill = await count_of(pool, OUTPUT)

        async with asyncio.timeout(60):
            while watch.first_move_after(killed_at) is None:
                await asyncio.sleep(0.05)
        stall_s = watch.first_move_after(killed_at) - killed_at
        await wait_for_count(pool, OUTPUT, outputs_at_kill + 1, timeout=120)
        first_output_s = time.monotonic() - killed_at
        runs = await feeding
        await wait_for_count(pool, OUTPUT, INPUTS, timeout=180)
        new_leaders = await _leaders(cluster.bootstrap, topics.events)
        await asyncio.sleep(1.0)

        left = await tally(pool, cluster.bootstrap, topics.events, runs, children)
        stored, audit, result, exited = left.stored, left.audit, left.result, left.died
        figures.report(
            inputs=INPUTS, cluster_start_s=cluster_start_s, killed_leader=victim, publish_stall_s=stall_s,
            first_output_after_kill_s=first_output_s, lost=result.lost + (stored - audit.events),
            duplicates_applied=result.duplicates_applied, topic_repeats=audit.duplicates,
            handler_reruns=sum(result.handler_reruns.values()),
        )  # fmt: skip
        assert victim not in new_leaders.values(), f"the dead broker still leads: {new_leaders}"
        assert not exited, f"these processes died instead of failing over: {exited}"
        assert audit.events == stored and audit.gaps == 0 and audit.conflicts == 0 and audit.split_runs == 0
        assert result.lost == 0
        assert result.duplicates_applied == 0
        assert result.wrong_order == 0 and result.wrong_cause == 0
        assert stall_s < 30, f"publishing stood still {stall_s:.1f} s after the leader died"
    except BaseException:
        print(deployment.logs())
        print(cluster.logs())
        raise
    finally:
        watching.cancel()
        deployment.stop_all()
        await store.close()

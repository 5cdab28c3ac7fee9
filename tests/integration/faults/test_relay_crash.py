"""Guarantees 1 and 2 against a crashing outbox relay: `kill -9` the relay three times while it
publishes, start it again each time. The topic has no gap in any run's stream versions (a repeat is
only ever the same event, re-published because the crash came between Kafka's ack and the saved
position), and the repeats change nothing downstream."""

from __future__ import annotations

import asyncio
import time

import pytest
from fault_flow import OUTPUT, feed, outcome, wait_for_count
from fault_procs import audit_topic, until
from wave_runtime.kafka import read_topic

pytestmark = [pytest.mark.postgres, pytest.mark.kafka, pytest.mark.slow]

INPUTS = 1000


async def test_kill_9_the_relay_while_publishing(deployment, store, topics, kafka_bootstrap, figures):
    pool = store.pool
    relay_name = f"relay:{topics.events}"

    async def relay_position() -> int:
        return await pool.fetchval("SELECT coalesce(max(position), 0) FROM wave_positions WHERE name = $1", relay_name)

    deployment.service("fault_flow:create_a").start()
    deployment.service("fault_flow:create_b").start()
    relay = deployment.relay().start()
    feeding = asyncio.create_task(feed(store, INPUTS, seconds=6))
    started = time.monotonic()

    recoveries = []
    for threshold in (300, 900, 1500):
        await until(lambda t=threshold: _at_least(relay_position(), t), 90, interval=0.02)
        at_kill = await relay_position()
        killed = time.monotonic()
        relay.kill9()
        await asyncio.sleep(0.5)
        relay.start()
        await until(lambda p=at_kill: _at_least(relay_position(), p + 1), 90, interval=0.05)
        recoveries.append(time.monotonic() - killed)

    runs = await feeding
    await wait_for_count(pool, OUTPUT, INPUTS, timeout=120)
    elapsed = time.monotonic() - started
    last = await pool.fetchval("SELECT max(global_position) FROM events")
    await until(lambda: _at_least(relay_position(), last), 60)
    stored = await pool.fetchval("SELECT count(*) FROM events")

    audit = audit_topic(await read_topic(kafka_bootstrap, topics.events))
    result = await outcome(pool, runs)
    figures.report(
        inputs=INPUTS, relay_kills=3, stored=stored, on_topic=audit.events, lost=stored - audit.events,
        gaps=audit.gaps, topic_duplicates=audit.duplicates, duplicates_applied=result.duplicates_applied,
        recovery_s=max(recoveries), total_s=elapsed,
    )  # fmt: skip
    assert audit.events == stored, "an event in the store never reached the topic"
    assert audit.gaps == 0 and audit.conflicts == 0 and audit.split_runs == 0
    assert result.lost == 0
    assert result.duplicates_applied == 0
    assert result.wrong_order == 0 and result.wrong_cause == 0


async def _at_least(value, threshold: int) -> bool:
    return (await value) >= threshold

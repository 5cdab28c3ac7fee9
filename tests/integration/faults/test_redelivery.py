"""Guarantee 3 against redelivery: while 1,000 inputs flow, a rogue producer re-publishes 10% of the
records on the events topic (same key, value and headers: the same event ids), interleaved with live
traffic. Services must recognise every repeat (no handler runs twice, no output is stored twice),
and a projection built from the topic — which sees every repeat — must equal the golden fold of
the store."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from fault_flow import OUTPUT, SERVICE_A, SERVICE_B, feed, outcome, wait_for_count
from fault_procs import until
from wave_events import decode_envelope, run_stream_id
from wave_events.projections import RunState, evolve, fold
from wave_runtime.kafka import partitions_of, read_topic

pytestmark = [pytest.mark.postgres, pytest.mark.kafka, pytest.mark.slow]

INPUTS = 1000
MARK = "fault-redelivered"


def chosen(event_id: str) -> bool:
    """A stable 10% of events."""
    return uuid.UUID(event_id).int % 10 == 0


async def redeliver(bootstrap: str, topic: str, stop: asyncio.Event) -> int:
    """Follow the topic and re-publish every chosen record once, right away; returns how many."""
    partitions = await partitions_of(bootstrap, topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await consumer.start()
    await producer.start()
    sent = 0
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        while not stop.is_set():
            futures = []
            for messages in (await consumer.getmany(timeout_ms=100)).values():
                for m in messages:
                    headers = list(m.headers or ())
                    if MARK in dict(headers) or not chosen(dict(headers)["event-id"].decode()):
                        continue
                    futures.append(await producer.send(topic, m.value, key=m.key, headers=[*headers, (MARK, b"1")]))
            await asyncio.gather(*futures)
            sent += len(futures)
    finally:
        await producer.stop()
        await consumer.stop()
    return sent


async def caught_up(bootstrap: str, topic: str, groups: list[str]) -> bool:
    """Every group has committed the end of every partition (repeats included)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await consumer.start()
    await admin.start()
    try:
        ends = await consumer.end_offsets(await partitions_of(bootstrap, topic))
        for group in groups:
            committed = await admin.list_consumer_group_offsets(group)
            if any(committed.get(tp) is None or committed[tp].offset < end for tp, end in ends.items()):
                return False
        return True
    finally:
        await admin.close()
        await consumer.stop()


async def test_redelivering_ten_percent_changes_nothing(deployment, store, topics, kafka_bootstrap, figures):
    pool = store.pool
    deployment.relay().start()
    deployment.service("fault_flow:create_a").start()
    deployment.service("fault_flow:create_b").start()
    stop = asyncio.Event()
    rogue = asyncio.create_task(redeliver(kafka_bootstrap, topics.events, stop))
    started = time.monotonic()
    runs = await feed(store, INPUTS, seconds=4)
    await wait_for_count(pool, OUTPUT, INPUTS, timeout=120)
    await asyncio.sleep(1.0)  # the rogue re-publishes the last outputs
    stop.set()
    redelivered = await rogue
    groups = [topics.group(SERVICE_A), topics.group(SERVICE_B)]
    await until(lambda: caught_up(kafka_bootstrap, topics.events, groups), 60, interval=0.3)
    elapsed = time.monotonic() - started

    # A projection fed by the topic, repeats and all. It applies an event only when it is the next
    # version of its run; a repeat is recognised by its version, never applied twice.
    live: dict[str, RunState] = {}
    repeats_seen = not_completed = 0
    for record in await read_topic(kafka_bootstrap, topics.events):
        meta = json.loads(record.value)
        state = live.get(meta["stream_id"], RunState())
        if meta["stream_version"] <= state.version:
            repeats_seen += 1
            continue
        assert meta["stream_version"] == state.version + 1, "a gap on the topic"
        live[meta["stream_id"]] = evolve(state, decode_envelope(record.value))
    mismatches = 0
    for run_id in runs:
        golden = fold(await store.read_stream(run_stream_id(run_id)))
        if live.get(run_stream_id(run_id)) != golden:
            mismatches += 1
        not_completed += int(golden.status != "completed")

    result = await outcome(pool, runs)
    reruns = sum(result.handler_reruns.values())
    figures.report(
        inputs=INPUTS, redelivered=redelivered, repeats_seen_by_projection=repeats_seen, lost=result.lost,
        duplicates_applied=result.duplicates_applied + reruns, projection_mismatches=mismatches, total_s=elapsed,
    )  # fmt: skip
    assert redelivered >= INPUTS * 3 // 20  # about 10% of 3,000 records (300 expected)
    assert repeats_seen == redelivered
    assert result.lost == 0
    assert result.duplicates_applied == 0
    assert reruns == 0, f"a handler ran again for a redelivered event: {result.handler_reruns}"
    assert mismatches == 0 and not_completed == 0

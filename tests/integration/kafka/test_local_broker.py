"""The local broker is a real Kafka configured for one node: an idempotent
producer gets its producer id (needs the transaction-state topic at
replication 1), a consumer group gets a coordinator (needs the offsets topic
at replication 1), and committed offsets survive a new consumer."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

pytestmark = pytest.mark.kafka


async def _create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
    finally:
        await admin.close()


async def test_idempotent_producer_and_group_consumer_with_manual_commit(kafka_bootstrap, kafka_topic_name):
    await _create_topic(kafka_bootstrap, kafka_topic_name, partitions=3)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        for i in range(30):
            await producer.send_and_wait(kafka_topic_name, f"value-{i}".encode(), key=f"run-{i % 5}".encode())
    finally:
        await producer.stop()

    group = kafka_topic_name + ".group"
    consumer = AIOKafkaConsumer(
        kafka_topic_name,
        bootstrap_servers=kafka_bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    received: dict[str, list[str]] = {}
    try:
        async with asyncio.timeout(30):
            while sum(map(len, received.values())) < 20:
                msg = await consumer.getone()
                received.setdefault(msg.key.decode(), []).append(msg.value.decode())
        await consumer.commit()
    finally:
        await consumer.stop()

    # Same key, same partition: each run's values arrive in the order sent.
    for key, values in received.items():
        numbers = [int(v.split("-")[1]) for v in values]
        assert numbers == sorted(numbers), key
        assert all(n % 5 == int(key.split("-")[1]) for n in numbers)

    # A new member of the group resumes after the committed offsets: together
    # the two members saw every message exactly once.
    second = AIOKafkaConsumer(
        kafka_topic_name,
        bootstrap_servers=kafka_bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await second.start()
    rest: list[str] = []
    try:
        async with asyncio.timeout(30):
            while len(rest) < 10:
                msg = await second.getone()
                rest.append(msg.value.decode())
    finally:
        await second.stop()
    seen = [v for values in received.values() for v in values] + rest
    assert sorted(seen) == sorted(f"value-{i}" for i in range(30))

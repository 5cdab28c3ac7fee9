"""The Kafka cluster as WAVE uses it: topic and group names, topic creation with explicit settings,
the producer settings every writer shares, and reading a topic back from its beginning."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from pydantic import Field

from ..settings import EnvSettings, read_settings

TOPIC_PREFIX = r"[A-Za-z0-9][A-Za-z0-9._-]{0,100}"


class TopicSettings(EnvSettings):
    """WAVE_TOPIC_PREFIX."""

    model_config = {"env_prefix": "WAVE_TOPIC_"}

    prefix: str = Field("wave", pattern=f"^{TOPIC_PREFIX}$")


@dataclass(frozen=True)
class Topics:
    """Topic and group names. The prefix (WAVE_TOPIC_PREFIX, default "wave") lets several WAVE
    installations — or test runs — share one cluster without seeing each other's events."""

    prefix: str = "wave"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Topics:
        """The prefix from WAVE_TOPIC_PREFIX; a SettingError naming it when it cannot be a topic name."""
        return cls(read_settings(TopicSettings, env).prefix)

    def __post_init__(self) -> None:
        if not re.fullmatch(TOPIC_PREFIX, self.prefix):
            raise ValueError(f"topic prefix {self.prefix!r} must be letters, digits, '.', '_' or '-'")

    @property
    def events(self) -> str:
        return f"{self.prefix}.events.v1"

    @property
    def dlq(self) -> str:
        return f"{self.prefix}.events.dlq.v1"

    @property
    def work(self) -> str:
        return f"{self.prefix}.work.v1"

    def group(self, service: str) -> str:
        return f"{self.prefix}.{service}"

    def work_group(self, service: str) -> str:
        return f"{self.prefix}.{service}.work"


EVENTS_TOPIC = Topics().events
DLQ_TOPIC = Topics().dlq
WORK_TOPIC = Topics().work

# The events published to the work topic as well (keyed `<run id>/<task id>`): one task's work each,
# taken by whichever instance of the service's work group holds the record's partition.
WORK_EVENT_TYPES: frozenset[str] = frozenset({"TaskWorkRequested"})


# What `ensure_topics` creates; the AsyncAPI document (wave_runtime.kafka.asyncapi) describes the same.
EVENTS_PARTITIONS = 6
EVENTS_TOPIC_CONFIG = {"retention.ms": str(7 * 24 * 3600 * 1000), "cleanup.policy": "delete"}
DLQ_PARTITIONS = 1
# The work topic: a run's work items go to consecutive partitions (`work_partition`) and the work
# group assigns partitions round-robin, so as long as the partition count is a multiple of the
# number of instances (12: 1, 2, 3, 4, 6 or 12 of them) a run's first N items reach N instances.
WORK_PARTITIONS = 12
WORK_TOPIC_CONFIG = dict(EVENTS_TOPIC_CONFIG)
DLQ_TOPIC_CONFIG = {"retention.ms": "-1", "cleanup.policy": "delete"}


async def ensure_topics(
    bootstrap: str, topics: Topics, *, partitions: int = EVENTS_PARTITIONS, replication: int = 1
) -> None:
    """Create the topics with explicit settings (the local broker refuses auto-creation)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = [
            NewTopic(topics.events, partitions, replication, topic_configs=dict(EVENTS_TOPIC_CONFIG)),
            NewTopic(topics.dlq, DLQ_PARTITIONS, replication, topic_configs=dict(DLQ_TOPIC_CONFIG)),
            NewTopic(topics.work, WORK_PARTITIONS, replication, topic_configs=dict(WORK_TOPIC_CONFIG)),
        ]
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t.name not in existing]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # another process created them meanwhile
    finally:
        await admin.close()


def work_partition(run_id: str, lane: int, partitions: int) -> int:
    """The work topic's partition of a run's `lane`-th work item: the run's own starting partition
    (a stable hash, so runs spread too), then the next ones, one per lane."""
    start = int.from_bytes(hashlib.blake2b(run_id.encode(), digest_size=4).digest(), "big")
    return (start + lane) % partitions


def idempotent_producer(bootstrap: str, **settings) -> AIOKafkaProducer:
    # Idempotent (forces acks=all): a retried send after a lost ack is not written twice.
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", request_timeout_ms=30000, **settings
    )


async def partitions_of(bootstrap: str, topic: str) -> list[TopicPartition]:
    """The partitions of `topic` as the cluster describes them (none when it does not exist). A
    consumer's own metadata does not learn of a topic it is not subscribed to."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return [TopicPartition(topic, p["partition"]) for d in described if d["topic"] == topic for p in d["partitions"]]


async def read_topic(bootstrap: str, topic: str) -> list:
    """Every record of `topic` from the beginning up to its end offsets of now, by partition and offset."""
    partitions = await partitions_of(bootstrap, topic)
    if not partitions:
        return []
    # "earliest": assign() starts an offset reset of its own, which must not land at the end.
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.seek_to_beginning(*partitions)
        records = []
        while any([await consumer.position(tp) < ends[tp] for tp in partitions]):
            for messages in (await consumer.getmany(timeout_ms=500, max_records=5000)).values():
                records.extend(m for m in messages if m.offset < ends[TopicPartition(m.topic, m.partition)])
        records.sort(key=lambda m: (m.partition, m.offset))
        return records
    finally:
        await consumer.stop()


__all__ = [
    "DLQ_PARTITIONS", "DLQ_TOPIC", "DLQ_TOPIC_CONFIG", "EVENTS_PARTITIONS", "EVENTS_TOPIC", "EVENTS_TOPIC_CONFIG",
    "WORK_EVENT_TYPES", "WORK_PARTITIONS", "WORK_TOPIC", "WORK_TOPIC_CONFIG",
    "Topics", "ensure_topics", "idempotent_producer", "partitions_of", "read_topic", "work_partition",
]

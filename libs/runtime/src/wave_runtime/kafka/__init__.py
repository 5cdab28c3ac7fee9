"""Distributed transport over Apache Kafka: topics, the record codec, the outbox relay, service
consumers, the DLQ.

Every stored event is published by the relay (`relay`) to `wave.events.v1` (`topics`) as a record
(`records`), keyed by run id so a run's events stay in one partition and in stream order. Each
service is one consumer group (`runner`); an offset is committed only after the handling it covers
is stored, so a crash means redelivery, never loss, and redelivery is a no-op because handling is
recorded with the outputs. Events no service can handle go to the DLQ topic (`deadletters`). A
service's work requests (the developer's, one task each) are published to the work topic as well,
keyed by run and task, and taken by the service's work group, so a run's tasks spread over instances.
"""

from .deadletters import KafkaDeadLetters
from .records import CONTENT_TYPE, message_of, message_of_row, message_of_stored
from .relay import OutboxRelay
from .runner import KafkaServiceRunner
from .topics import (
    DLQ_TOPIC,
    EVENTS_TOPIC,
    WORK_EVENT_TYPES,
    WORK_TOPIC,
    Topics,
    ensure_topics,
    partitions_of,
    read_topic,
)

__all__ = [
    "CONTENT_TYPE",
    "DLQ_TOPIC",
    "EVENTS_TOPIC",
    "KafkaDeadLetters",
    "KafkaServiceRunner",
    "OutboxRelay",
    "Topics",
    "WORK_EVENT_TYPES",
    "WORK_TOPIC",
    "ensure_topics",
    "message_of",
    "message_of_row",
    "message_of_stored",
    "partitions_of",
    "read_topic",
]

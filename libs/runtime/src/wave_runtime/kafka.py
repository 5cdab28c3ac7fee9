"""Distributed transport over Apache Kafka: topics, the outbox relay, service consumers, the DLQ.

Every stored event is published by the relay to `wave.events.v1`, keyed by run id so a run's
events stay in one partition and in stream order. Each service is one consumer group; an offset
is committed only after the handling it covers is stored, so a crash means redelivery, never loss,
and redelivery is a no-op because handling is recorded with the outputs.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring as _quote

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.partitioner import DefaultPartitioner
from pydantic import Field
from wave_events import (
    Envelope,
    EventError,
    decode_envelope,
    encode_envelope,
    envelope_from_columns,
    redact,
    registry,
)
from wave_events.redaction import may_hold_secret
from wave_store import EventStore

from .deadletters import DeadLetter, DeadLetters
from .engine import Dispatcher, HandlingFailed, RetryPolicy, TimerPoller
from .handler import Service
from .metrics import CONSUMER_LAG, DEAD_LETTERS, RELAY_POSITION, RELAY_PUBLISHED
from .settings import EnvSettings, read_settings

log = logging.getLogger("wave.runtime.kafka")

CONTENT_TYPE = "application/vnd.wave.envelope+json"
RELAY_LOCK = 7462


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

    def group(self, service: str) -> str:
        return f"{self.prefix}.{service}"


EVENTS_TOPIC = Topics().events
DLQ_TOPIC = Topics().dlq


async def ensure_topics(bootstrap: str, topics: Topics, *, partitions: int = 6, replication: int = 1) -> None:
    """Create the topics with explicit settings (the local broker refuses auto-creation)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = [
            NewTopic(
                topics.events, partitions, replication,
                topic_configs={"retention.ms": str(7 * 24 * 3600 * 1000), "cleanup.policy": "delete"},
            ),
            NewTopic(topics.dlq, 1, replication, topic_configs={"retention.ms": "-1", "cleanup.policy": "delete"}),
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


def message_of(envelope: Envelope) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """(key, value, headers) of the Kafka record for a stored event."""
    headers = [
        ("event-type", envelope.type.encode()),
        ("event-version", str(envelope.version).encode()),
        ("event-id", str(envelope.event_id).encode()),
        ("content-type", CONTENT_TYPE.encode()),
    ]
    if envelope.traceparent:
        headers.append(("traceparent", envelope.traceparent.encode()))
    return envelope.correlation_id.encode(), encode_envelope(envelope).encode(), headers


_HEADER_CONTENT_TYPE = ("content-type", CONTENT_TYPE.encode())
# The columns the relay publishes, read without building envelopes (see OutboxRelay._records_of).
_RELAY_COLUMNS = (
    "global_position, stream_id, stream_version, event_id, event_type, event_version, occurred_at, "
    "correlation_id, causation_id, producer, traceparent, payload::text AS payload"
)


def message_of_row(row: Mapping, *, clean: bool = False) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """`message_of` for a stored row, without decoding the payload into its model and encoding it again.

    Only for rows whose payload is at the newest version of its type (older ones must be upcast:
    `message_of(envelope)`). The payload text is the stored one (validated and redacted on append,
    redacted again here unless the caller checked it `clean` already); the record says the same as
    `message_of` of the row's envelope, in JSON that differs only in spacing and key order."""
    event_id = str(row["event_id"])
    event_type = row["event_type"]
    version = row["event_version"]
    traceparent = row["traceparent"]
    causation_id = row["causation_id"]
    payload = row["payload"] if clean else redact(row["payload"])
    # The metadata object by hand: the same JSON json.dumps(..., ensure_ascii=False) writes, at a
    # quarter of the cost. Ids, versions and positions are typed columns; text goes through _quote.
    value = (
        f'{{"event_id":"{event_id}","type":{_quote(event_type)},"version":{int(version)},'
        f'"stream_id":{_quote(row["stream_id"])},"stream_version":{int(row["stream_version"])},'
        f'"global_position":{int(row["global_position"])},"occurred_at":"{row["occurred_at"].isoformat()}",'
        f'"correlation_id":{_quote(row["correlation_id"])},'
        f'"causation_id":{_quote(str(causation_id)) if causation_id else "null"},'
        f'"producer":{_quote(row["producer"])},"traceparent":{_quote(traceparent) if traceparent else "null"},'
        f'"payload":{payload}}}'
    )
    headers = [
        ("event-type", event_type.encode()),
        ("event-version", str(version).encode()),
        ("event-id", event_id.encode()),
        _HEADER_CONTENT_TYPE,
    ]
    if traceparent:
        headers.append(("traceparent", traceparent.encode()))
    return row["correlation_id"].encode(), value.encode(), headers


def _message_of_stored(row: Mapping, clean: bool) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    if row["event_version"] == registry.latest_version(row["event_type"]):
        return message_of_row(row, clean=clean)
    # An older version: upcast it, as every reader of the store does.
    try:
        payload = registry.decode(row["event_type"], row["event_version"], row["payload"])
    except EventError:
        # Undecodable: published as stored, so the relay goes on and each consumer dead-letters it.
        return message_of_row(row, clean=clean)
    return message_of(envelope_from_columns(dict(row.items()), payload))


def _producer(bootstrap: str, **settings) -> AIOKafkaProducer:
    # Idempotent (forces acks=all): a retried send after a lost ack is not written twice.
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", request_timeout_ms=30000, **settings
    )


class OutboxRelay:
    """Publishes the store's global order to Kafka. One relay is active (a PostgreSQL advisory lock
    held on a session); standbys wait for the lock and take over when the active one goes away. The
    position is saved only after Kafka acknowledged every event up to it: duplicates on a crash,
    never gaps. Requires the PostgreSQL store."""

    def __init__(self, store: EventStore, bootstrap: str, topics: Topics, *, batch: int = 2000) -> None:
        if not hasattr(store, "pool"):
            raise TypeError("the outbox relay needs the PostgreSQL event store (WAVE_DATABASE_URL=postgresql://…)")
        self.store, self.bootstrap, self.topics, self.batch = store, bootstrap, topics, batch
        self.name = f"relay:{topics.events}"
        self.active = False
        self.published = 0
        self._partitions: list[int] = []
        self._partition_of: dict[bytes, int] = {}  # key -> partition for the current partition list

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            lock = await self._take_lock(stop)
            if lock is None:
                return
            try:
                self.active = True
                await self._publish_until(stop, lock)
            except Exception:  # noqa: BLE001 - lost broker or database: give up the lock, start again
                log.exception("relay: publishing failed; restarting")
                await asyncio.sleep(0.5)
            finally:
                self.active = False
                await self._release(lock)

    async def _take_lock(self, stop: asyncio.Event):
        while not stop.is_set():
            try:
                connection = await self.store.pool.acquire()
            except Exception:  # noqa: BLE001
                await asyncio.sleep(0.5)
                continue
            if await connection.fetchval("SELECT pg_try_advisory_lock($1)", RELAY_LOCK):
                log.info("relay: active")
                return connection
            await self.store.pool.release(connection)
            try:
                await asyncio.wait_for(stop.wait(), 0.5)
            except TimeoutError:
                pass
        return None

    async def _release(self, connection) -> None:
        try:
            await connection.execute("SELECT pg_advisory_unlock($1)", RELAY_LOCK)
        except Exception:  # noqa: BLE001 - the session is gone, and with it the lock
            # The store's pool does not reset sessions on release: never hand back a connection
            # that might still hold the lock.
            connection.terminate()
        try:
            await self.store.pool.release(connection)
        except Exception:  # noqa: BLE001
            pass

    async def _publish_until(self, stop: asyncio.Event, lock) -> None:
        producer = _producer(self.bootstrap, linger_ms=2, max_batch_size=256 * 1024)
        await producer.start()
        try:
            position = await self.store.load_position(self.name)
            checked = asyncio.get_running_loop().time()
            following: asyncio.Future | None = None  # the next page, read while the acks come back
            try:
                while not stop.is_set():
                    rows = await (following or self._read(position))
                    following = None
                    if not rows:
                        await self.store.wait_for_append(position, 0.5)
                    else:
                        acked = await self._send(producer, rows)
                        if len(rows) == self.batch:
                            following = asyncio.ensure_future(self._read(rows[-1]["global_position"]))
                        await acked
                        # Every record up to here is acknowledged by all in-sync replicas: only now move on.
                        position = rows[-1]["global_position"]
                        await self.store.save_position(self.name, position)
                        self.published += len(rows)
                        RELAY_PUBLISHED.inc(len(rows))
                        RELAY_POSITION.set(position)
                    now = asyncio.get_running_loop().time()
                    if now - checked > 1.0:
                        await lock.fetchval("SELECT 1")  # the lock lives on this session: make sure it still does
                        checked = now
            finally:
                if following is not None:
                    following.cancel()
                    await asyncio.gather(following, return_exceptions=True)
        finally:
            await producer.stop()

    async def _read(self, position: int) -> list:
        """The next page of the global order after `position`, as rows (see message_of_row)."""
        return await self.store.pool.fetch(
            f"SELECT {_RELAY_COLUMNS} FROM events WHERE global_position > $1 ORDER BY global_position LIMIT $2",
            position,
            self.batch,
        )

    async def _send(self, producer: AIOKafkaProducer, rows: Sequence[Mapping]) -> asyncio.Future:
        """Hand rows to the producer in global order; returns the future of every acknowledgement.

        Records go into one batch per partition (the producer's own key partitioner decides the
        partition, so a run's events share one), in order, and each batch is handed to the producer
        whole: per-record `send` costs more than encoding the record. The producer keeps one batch
        per partition in flight and numbers them (idempotence), so a partition's order is the
        global order."""
        topic = self.topics.events
        partitions = list(await producer.partitions_for(topic))
        if self._partitions != partitions:
            self._partitions, self._partition_of = partitions, {}
        batches: dict[int, object] = {}
        futures = []
        # Redaction again on the way out (rules added since an event was stored apply to it too): one
        # look for the rules' literals over the whole page instead of one per payload.
        clean = not may_hold_secret("\n".join([row["payload"] for row in rows]))
        for row in rows:
            key, value, headers = _message_of_stored(row, clean)
            partition = self._partition_of.get(key)
            if partition is None:
                if len(self._partition_of) > 100_000:
                    self._partition_of.clear()
                partition = self._partition_of[key] = _PARTITIONER(key, partitions, partitions)
            batch = batches.get(partition)
            if batch is None:
                batch = batches[partition] = producer.create_batch()
            if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                # Full: send it, start the next one (a batch always takes its first record).
                futures.append(await producer.send_batch(batch, topic, partition=partition))
                batch = batches[partition] = producer.create_batch()
                if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                    raise ValueError(f"event {row['event_id']} does not fit in a Kafka batch")
        for partition, batch in batches.items():
            futures.append(await producer.send_batch(batch, topic, partition=partition))
        return asyncio.gather(*futures)


_PARTITIONER = DefaultPartitioner()


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


class KafkaDeadLetters(DeadLetters):
    """Dead letters on `wave.events.dlq.v1`: the original record with the error in headers. A re-drive
    republishes the record to the events topic and leaves a marker on the DLQ topic."""

    def __init__(self, bootstrap: str, topics: Topics, producer: AIOKafkaProducer | None = None) -> None:
        self.bootstrap = bootstrap
        self.topics = topics
        self._producer = producer

    async def _send(self, topic: str, value: bytes | None, key: bytes | None, headers: list[tuple[str, bytes]]) -> None:
        if self._producer is not None:
            await self._producer.send_and_wait(topic, value, key=key, headers=headers)
            return
        producer = _producer(self.bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(topic, value, key=key, headers=headers)
        finally:
            await producer.stop()

    async def add(self, consumer, envelope, raw, error_type, error, attempts) -> None:
        if envelope is not None:
            key, value, headers = message_of(envelope)
        else:
            key, value, headers = None, raw or b"", []
        headers = [
            *headers,
            ("dlq-consumer", consumer.encode()),
            ("dlq-error-type", error_type.encode()),
            ("dlq-error", error[:4000].encode()),
            ("dlq-attempts", str(attempts).encode()),
            ("dlq-dead-at", datetime.now(UTC).isoformat().encode()),
        ]
        await self._send(self.topics.dlq, value, key, headers)

    async def _records(self):
        return await read_topic(self.bootstrap, self.topics.dlq)

    async def _letters(self) -> list[tuple[DeadLetter, object]]:
        records = await self._records()
        redriven = set()
        letters = []
        for record in records:
            headers = {k: v.decode() for k, v in record.headers}
            if "dlq-redriven" in headers:
                redriven.add(headers["dlq-redriven"])
                continue
            letter = DeadLetter(
                consumer=headers.get("dlq-consumer", ""),
                event_id=headers.get("event-id", ""),
                event_type=headers.get("event-type", ""),
                stream_id=f"run-{record.key.decode()}" if record.key else "",
                error_type=headers.get("dlq-error-type", ""),
                error=headers.get("dlq-error", ""),
                attempts=int(headers.get("dlq-attempts", "0")),
                dead_at=headers.get("dlq-dead-at", ""),
            )
            letters.append((letter, record))
        marked = []
        for letter, record in letters:
            done = f"{letter.consumer}/{letter.event_id}/{record.offset}" in redriven
            marked.append((DeadLetter(**{**letter.__dict__, "redriven": done}), record))
        return marked

    async def list(self, consumer: str | None = None) -> list[DeadLetter]:
        return [d for d, _ in await self._letters() if consumer in (None, d.consumer)]

    async def redrive(self, consumer: str | None = None, event_id: str | None = None) -> int:
        count = 0
        for letter, record in await self._letters():
            if letter.redriven or consumer not in (None, letter.consumer) or event_id not in (None, letter.event_id):
                continue
            if not letter.event_id:
                continue  # undecodable bytes cannot be handled again as they are
            original = [(k, v) for k, v in record.headers if not k.startswith("dlq-")]
            await self._send(self.topics.events, record.value, record.key, [*original, ("redriven", b"1")])
            marker = f"{letter.consumer}/{letter.event_id}/{record.offset}".encode()
            await self._send(self.topics.dlq, None, record.key, [("dlq-redriven", marker)])
            count += 1
        return count


class _OffsetCommitter:
    """Commits handled offsets in the background, one commit at a time, the newest offset per
    partition. A commit is a broker round trip (several ms under load); awaited after every batch it
    sat on the path of every event behind it. Offsets are only marked once their handling is stored,
    so a commit lost to a crash or a rebalance means redelivery, which the dispatcher recognises."""

    def __init__(self, consumer: AIOKafkaConsumer, service: str) -> None:
        self._consumer = consumer
        self._service = service
        self._pending: dict[TopicPartition, int] = {}
        self._wake = asyncio.Event()
        self._closing = False
        self._task = asyncio.create_task(self._run(), name=f"wave:{service}:commits")

    def mark(self, tp: TopicPartition, offset: int) -> None:
        self._pending[tp] = offset
        self._wake.set()

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
        await self._task

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            offsets, self._pending = self._pending, {}
            if offsets:
                try:
                    await self._consumer.commit(offsets)
                except Exception as exc:  # noqa: BLE001 - e.g. partitions revoked meanwhile: redelivery is safe
                    log.warning("%s: committing offsets %s failed: %s", self._service, offsets, exc)
            if self._closing and not self._pending:
                return


class KafkaServiceRunner:
    """One service instance in its consumer group `wave.<service>`."""

    def __init__(
        self,
        service: Service,
        store: EventStore,
        bootstrap: str,
        topics: Topics,
        *,
        instance: str | None = None,
        retry: RetryPolicy | None = None,
        max_poll_records: int = 500,
        timer_interval_s: float = 0.2,
    ) -> None:
        self.service = service
        self.store = store
        self.bootstrap = bootstrap
        self.topics = topics
        self.dispatcher = Dispatcher(service, store, instance=instance or uuid.uuid4().hex[:8], retry=retry)
        self.max_poll_records = max_poll_records
        # Durable timers fire from every service process (the store fires each one once), so a
        # distributed deployment needs no extra role for them.
        self.timers = TimerPoller(store, timer_interval_s)
        self.ready = False
        self.handled = 0

    @property
    def group_id(self) -> str:
        return self.topics.group(self.service.name)

    async def run(self, stop: asyncio.Event) -> None:
        consumer = AIOKafkaConsumer(
            self.topics.events,
            bootstrap_servers=self.bootstrap,
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.max_poll_records,
            session_timeout_ms=10000,
            heartbeat_interval_ms=1000,
        )
        producer = _producer(self.bootstrap)
        await producer.start()
        dead_letters = KafkaDeadLetters(self.bootstrap, self.topics, producer)
        await consumer.start()
        committer = _OffsetCommitter(consumer, self.service.name)
        timers_stop = asyncio.Event()
        timers = asyncio.create_task(self.timers.run(timers_stop), name=f"wave:{self.service.name}:timers")
        self.ready = True
        try:
            while not stop.is_set():
                batch = await consumer.getmany(timeout_ms=200)
                # Partitions side by side (a run's events share one partition, so each run is still
                # handled in order): one partition's database round trips no longer queue the others.
                await asyncio.gather(
                    *(self._handle_partition(consumer, committer, tp, messages, dead_letters) for tp, messages in batch.items())
                )
        finally:
            self.ready = False
            timers_stop.set()
            await asyncio.gather(timers, return_exceptions=True)
            await committer.close()  # commits everything handled so far
            await consumer.stop()  # leaves the group: partitions move to other instances at once
            await producer.stop()

    async def _handle_partition(self, consumer, committer: _OffsetCommitter, tp, messages, dead_letters) -> None:
        for message in messages:
            await self._handle(message, dead_letters)
        # Only now is every message of the batch handled and stored: safe to commit.
        committer.mark(tp, messages[-1].offset + 1)
        highwater = consumer.highwater(tp)
        if highwater is not None:
            CONSUMER_LAG.labels(self.service.name).set(max(0, highwater - messages[-1].offset - 1))

    async def _handle(self, message, dead_letters: DeadLetters) -> None:
        headers = dict(message.headers or ())
        event_type = headers.get("event-type", b"").decode()
        if event_type and not self.dispatcher.wants_type(event_type):
            return  # not ours: no need to decode
        try:
            envelope = decode_envelope(message.value)
        except EventError as exc:
            DEAD_LETTERS.labels(self.service.name).inc()
            log.error("%s: undecodable message at %s/%s: %s", self.service.name, message.partition, message.offset, exc)
            await dead_letters.add(self.service.name, None, message.value, type(exc).__name__, str(exc), 1)
            return
        try:
            outcome = await self.dispatcher.dispatch(envelope)
            if outcome == "handled":
                self.handled += 1
        except HandlingFailed as failed:
            DEAD_LETTERS.labels(self.service.name).inc()
            f = failed.failure
            log.error("%s: %s %s dead-lettered: %s", self.service.name, envelope.type, envelope.event_id, failed)
            await dead_letters.add(self.service.name, envelope, None, f.error_type, f.message, f.attempts)
            try:
                await self.dispatcher.record_dead_letter(envelope, f)
            except Exception:  # noqa: BLE001 - the dead letter is stored; the run's note is what may be missing
                log.exception("%s: recording the dead letter of %s on its run failed", self.service.name, envelope.event_id)


__all__ = [
    "DLQ_TOPIC",
    "EVENTS_TOPIC",
    "KafkaDeadLetters",
    "KafkaServiceRunner",
    "OutboxRelay",
    "Topics",
    "ensure_topics",
    "message_of",
    "partitions_of",
    "read_topic",
]

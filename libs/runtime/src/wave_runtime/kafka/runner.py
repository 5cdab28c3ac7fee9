"""The consumer runner: one service instance in its consumer group on the events topic.

An offset is committed only after the handling it covers is stored, so a crash means redelivery,
never loss, and redelivery is a no-op because handling is recorded with the outputs.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from wave_events import EventError, decode_envelope
from wave_store import EventStore

from ..deadletters import DeadLetters
from ..engine import Dispatcher, HandlingFailed, RetryPolicy, Stopping, TimerPoller
from ..handler import Service
from ..metrics import CONSUMER_LAG, DEAD_LETTERS
from .deadletters import KafkaDeadLetters
from .topics import Topics, idempotent_producer

log = logging.getLogger("wave.runtime.kafka")


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


class _PartitionLag:
    """The consumer-lag gauge of the partitions this instance holds, one series per partition (as
    Kafka exporters report it): records of the partition not yet handled, counted from the batch in
    hand, so a partition stuck on a record shows its backlog while the others show theirs. A
    partition that moved to another instance is no longer reported here."""

    def __init__(self, service: str) -> None:
        self._service = service
        self._gauges: dict[TopicPartition, object] = {}

    def set(self, tp: TopicPartition, lag: int) -> None:
        gauge = self._gauges.get(tp)
        if gauge is None:
            gauge = self._gauges[tp] = CONSUMER_LAG.labels(self._service, tp.topic, str(tp.partition))
        gauge.set(max(0, lag))

    def keep_only(self, assigned: set[TopicPartition]) -> None:
        for tp in [tp for tp in self._gauges if tp not in assigned]:
            del self._gauges[tp]
            CONSUMER_LAG.remove(self._service, tp.topic, str(tp.partition))


class KafkaServiceRunner:
    """One service instance in its consumer group `wave.<service>`.

    A service that hands work off (it declares `work_types`, the developer) is also a member of
    its work group `wave.<service>.work` on the work topic: the runner sets its `hands_off`, so the
    work an event starts is stored as requests (one per task) that the relay publishes to the work
    topic; each is handled by the instance holding its partition, up to the service's `concurrency`
    at once, while the events topic's consumer leaves them alone."""

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
        self.consuming = False
        self.handled = 0
        self._lag = _PartitionLag(service.name)
        self.work_types: frozenset[str] = frozenset(getattr(service, "work_types", ()))
        if self.work_types:
            service.hands_off = True  # type: ignore[attr-defined] - the work topic's consumer below writes it
            # The work topic's handlings have a dispatcher (and state cache) of their own, under the same producer.
            self.work_dispatcher = Dispatcher(service, store, instance=self.dispatcher.producer.split("@", 1)[1], retry=retry)
            self._work_gate = asyncio.Semaphore(max(1, int(getattr(service, "concurrency", 1))))
            self._work_lag = _PartitionLag(service.name)

    @property
    def ready(self) -> bool:
        """Consuming, and reaching the store: `/readyz` says not ready while an outage is waited out."""
        work_outage = self.work_types and self.work_dispatcher.outage.active
        return self.consuming and not self.dispatcher.outage.active and not self.timers.outage.active and not work_outage

    @property
    def group_id(self) -> str:
        return self.topics.group(self.service.name)

    async def run(self, stop: asyncio.Event) -> None:
        self.dispatcher.stop = stop
        producer = idempotent_producer(self.bootstrap)
        await producer.start()
        dead_letters = KafkaDeadLetters(self.bootstrap, self.topics, producer)
        timers_stop = asyncio.Event()
        timers = asyncio.create_task(self.timers.run(timers_stop), name=f"wave:{self.service.name}:timers")
        feeds = [self._consume(stop, self.topics.events, self.group_id, self.dispatcher, self._lag, dead_letters)]
        if self.work_types:
            self.work_dispatcher.stop = stop
            feeds.append(self._consume(
                stop, self.topics.work, self.topics.work_group(self.service.name), self.work_dispatcher,
                self._work_lag, dead_letters, work=True,
            ))
        try:
            if len(feeds) == 1:
                await feeds[0]
            else:
                async with asyncio.TaskGroup() as group:  # one feed failing stops the other
                    for feed in feeds:
                        group.create_task(feed)
        finally:
            self.consuming = False
            timers_stop.set()
            await asyncio.gather(timers, return_exceptions=True)
            await producer.stop()

    async def _consume(
        self, stop: asyncio.Event, topic: str, group: str, dispatcher: Dispatcher, lag: _PartitionLag,
        dead_letters: DeadLetters, *, work: bool = False,
    ) -> None:
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=self.bootstrap,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.max_poll_records,
            session_timeout_ms=10000,
            heartbeat_interval_ms=1000,
            # Round-robin: consecutive partitions go to different members, and a run's work items are
            # on consecutive partitions (`work_partition`), so they reach different instances.
            **({"partition_assignment_strategy": (RoundRobinPartitionAssignor,)} if work else {}),
        )
        await consumer.start()
        committer = _OffsetCommitter(consumer, self.service.name)
        self.consuming = True
        try:
            while not stop.is_set():
                batch = await consumer.getmany(timeout_ms=200)
                lag.keep_only(consumer.assignment())
                # One round trip for the whole batch instead of one handled-check per event.
                await dispatcher.check_handled_ahead(
                    [event_id for messages in batch.values() for m in messages if (event_id := _wanted_id(m, dispatcher))]
                )
                # Partitions side by side (a run's events share one partition, so each run is still
                # handled in order): one partition's database round trips no longer queue the others.
                await asyncio.gather(*(
                    self._handle_partition(consumer, committer, tp, messages, dead_letters, dispatcher, lag, work)
                    for tp, messages in batch.items()
                ))  # fmt: skip
        finally:
            self.consuming = False
            await committer.close()  # commits everything handled so far
            await consumer.stop()  # leaves the group: partitions move to other instances at once
            lag.keep_only(set())

    async def _handle_partition(
        self, consumer, committer: _OffsetCommitter, tp, messages, dead_letters, dispatcher: Dispatcher,
        lag: _PartitionLag, work: bool,
    ) -> None:
        highwater = _highwater(consumer, tp)
        if highwater is not None:
            lag.set(tp, highwater - messages[0].offset)
        if work:
            # Work items are independent (one task each): handled side by side, up to the service's
            # concurrency in this instance; the offsets are committed once all of them are stored.
            async def one(message) -> None:
                async with self._work_gate:
                    await self._handle(message, dead_letters, dispatcher, work=True)

            results = await asyncio.gather(*(one(m) for m in messages), return_exceptions=True)
            failures = [r for r in results if isinstance(r, BaseException)]
            if any(isinstance(r, Stopping) for r in failures):
                return  # stopped during an outage: the batch is delivered again (what was stored is skipped)
            if failures:
                raise failures[0]
        else:
            for message in messages:
                try:
                    await self._handle(message, dead_letters, dispatcher)
                except Stopping:
                    # Stopped during an outage: commit what was handled; the rest is redelivered.
                    if message.offset > messages[0].offset:
                        committer.mark(tp, message.offset)
                    return
        # Only now is every message of the batch handled and stored: safe to commit.
        committer.mark(tp, messages[-1].offset + 1)
        highwater = _highwater(consumer, tp)
        if highwater is not None:
            lag.set(tp, highwater - messages[-1].offset - 1)

    def _takes(self, event_type: str, work: bool) -> bool:
        """Work requests are the work topic's: the events topic's consumer leaves them to it."""
        return (event_type in self.work_types) == work

    async def _handle(self, message, dead_letters: DeadLetters, dispatcher: Dispatcher | None = None, *, work: bool = False) -> None:
        dispatcher = dispatcher or self.dispatcher
        headers = dict(message.headers or ())
        event_type = headers.get("event-type", b"").decode()
        if event_type and (not dispatcher.wants_type(event_type) or not self._takes(event_type, work)):
            return  # not ours: no need to decode
        try:
            envelope = decode_envelope(message.value)
        except EventError as exc:
            DEAD_LETTERS.labels(self.service.name).inc()
            log.error("%s: undecodable message at %s/%s: %s", self.service.name, message.partition, message.offset, exc)
            await dead_letters.add(self.service.name, None, message.value, type(exc).__name__, str(exc), 1)
            return
        if not self._takes(envelope.stored_type, work):
            return
        try:
            outcome = await dispatcher.dispatch(envelope)
            if outcome == "handled":
                self.handled += 1
        except HandlingFailed as failed:
            DEAD_LETTERS.labels(self.service.name).inc()
            f = failed.failure
            log.error("%s: %s %s dead-lettered: %s", self.service.name, envelope.type, envelope.event_id, failed)
            await dead_letters.add(self.service.name, envelope, None, f.error_type, f.message, f.attempts)
            try:
                await dispatcher.record_dead_letter(envelope, f)
            except Exception:  # noqa: BLE001 - the dead letter is stored; the run's note is what may be missing
                log.exception("%s: recording the dead letter of %s on its run failed", self.service.name, envelope.event_id)


def _highwater(consumer, tp) -> int | None:
    """The partition's end offset; None when unknown or when a rebalance took the partition away
    while its records were being handled (aiokafka asserts it is assigned). Its new owner reports
    its lag, and the offsets marked here fail to commit: the owner skips what was stored."""
    if tp not in consumer.assignment():
        return None
    return consumer.highwater(tp)


__all__ = ["KafkaServiceRunner"]


def _wanted_id(message, dispatcher: Dispatcher) -> uuid.UUID | None:
    """The id of the event a record carries when its type may be for this service (headers only)."""
    headers = dict(message.headers or ())
    if not dispatcher.wants_type(headers.get("event-type", b"").decode()):
        return None
    try:
        return uuid.UUID(headers.get("event-id", b"").decode())
    except ValueError:
        return None

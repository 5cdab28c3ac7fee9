"""The consumer runner: one service instance in its consumer group on the events topic.

An offset is committed only after the handling it covers is stored, so a crash means redelivery,
never loss, and redelivery is a no-op because handling is recorded with the outputs.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter, deque

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
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

    def forget(self, tps) -> None:
        """Partitions being revoked: their offsets are committed by the revocation itself."""
        for tp in tps:
            self._pending.pop(tp, None)

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
        await self._task

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            offsets, self._pending = self._pending, {}
            # A partition taken away meanwhile would fail the whole commit, the others' offsets with it.
            assigned = self._consumer.assignment()
            offsets = {tp: offset for tp, offset in offsets.items() if tp in assigned}
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


#: Records of one partition in hand at most (fetched, not yet handled): beyond it the partition is
#: paused, so a slow run cannot make the runner hold its partition's whole backlog in memory.
MAX_IN_HAND_PER_PARTITION = 256
#: How long a revocation waits for the handlings under way of the partitions it takes away, so it
#: commits them rather than have their new owner deliver them again.
REVOKE_WAIT_S = 5.0


class _Partition:
    """The records of one partition in hand: queued per run (the Kafka key is the run id), and the
    offsets in fetch order, so the committed offset never passes a record not yet handled."""

    def __init__(self, tp: TopicPartition) -> None:
        self.tp = tp
        self.offsets: deque[int] = deque()  # fetched, not yet committable, in order
        self.done: set[int] = set()  # handled, but behind a record still being handled
        self.queues: dict[object, deque] = {}  # run key -> its records waiting, in order
        self.workers: set[asyncio.Task] = set()
        self.next_offset: int | None = None  # the offset after the newest record fetched
        self.committable: int | None = None  # every record before it is handled
        self.closed = False  # revoked (or the feed is ending): workers stop after the record in hand
        self.paused = False

    def handled(self, offset: int) -> bool:
        """Note a record handled; True when the committable offset moved."""
        self.done.add(offset)
        moved = False
        while self.offsets and self.offsets[0] in self.done:
            self.done.discard(first := self.offsets.popleft())
            self.committable, moved = first + 1, True
        return moved

    @property
    def lowest_unhandled(self) -> int | None:
        return self.offsets[0] if self.offsets else self.next_offset


class _Feed:
    """One topic's records in hand, between the fetch loop and the handlings.

    Within a partition, records of different runs are handled side by side and each run's records
    one after another in order (work items, independent, each on its own, up to the service's
    concurrency). Offsets are committed per partition up to the lowest record not yet handled, so a
    crash redelivers, and never skips, a record whose handling was not stored."""

    def __init__(self, runner, consumer, committer: _OffsetCommitter, dispatcher: Dispatcher,
                 lag: _PartitionLag, dead_letters: DeadLetters, stop: asyncio.Event, work: bool) -> None:
        self.runner = runner
        self.consumer = consumer
        self.committer = committer
        self.dispatcher = dispatcher
        self.lag = lag
        self.dead_letters = dead_letters
        self.stop = stop
        self.work = work
        self.partitions: dict[TopicPartition, _Partition] = {}
        self.failure: BaseException | None = None
        self.events_in_hand: Counter[uuid.UUID] = Counter()

    def take(self, tp: TopicPartition, messages) -> None:
        part = self.partitions.get(tp)
        if part is None:
            part = self.partitions[tp] = _Partition(tp)
        for message in messages:
            part.offsets.append(message.offset)
            part.next_offset = message.offset + 1
            if not self._may_want(message):
                part.handled(message.offset)  # not ours (headers say): no task, no decoding
                continue
            key = message.offset if self.work else message.key
            if event_id := _wanted_id(message, self.dispatcher):
                self.events_in_hand[event_id] += 1
            queue = part.queues.get(key)
            if queue is not None:
                queue.append(message)
                continue
            queue = part.queues[key] = deque([message])
            worker = asyncio.create_task(self._work(part, key, queue), name=f"wave:{self.runner.service.name}:{tp.partition}")
            part.workers.add(worker)
            worker.add_done_callback(part.workers.discard)
        self._progress(part)
        if len(part.offsets) >= MAX_IN_HAND_PER_PARTITION and not part.paused and tp in self.consumer.assignment():
            self.consumer.pause(tp)
            part.paused = True

    def _may_want(self, message) -> bool:
        event_type = dict(message.headers or ()).get("event-type", b"").decode()
        return not event_type or (self.dispatcher.wants_type(event_type) and self.runner._takes(event_type, self.work))

    async def _work(self, part: _Partition, key, queue: deque) -> None:
        try:
            while queue and not part.closed and not self.stop.is_set() and self.failure is None:
                message = queue[0]
                event_id = _wanted_id(message, self.dispatcher)
                try:
                    if self.work:
                        async with self.runner._work_gate:
                            await self.runner._handle(message, self.dead_letters, self.dispatcher, work=True)
                    else:
                        await self.runner._handle(message, self.dead_letters, self.dispatcher)
                except Stopping:
                    return  # stopped during an outage: left unhandled, so redelivered after the restart
                except Exception as exc:  # noqa: BLE001 - raised by the fetch loop, which ends the feed
                    if self.failure is None:
                        self.failure = exc
                    return
                queue.popleft()
                if event_id:
                    self._out_of_hand(event_id)
                if part.handled(message.offset):
                    self._progress(part)
        finally:
            if part.queues.get(key) is queue:
                del part.queues[key]
                for left in queue:  # not handled here: redelivered
                    if event_id := _wanted_id(left, self.dispatcher):
                        self._out_of_hand(event_id)

    def _out_of_hand(self, event_id: uuid.UUID) -> None:
        self.events_in_hand[event_id] -= 1
        if self.events_in_hand[event_id] <= 0:
            del self.events_in_hand[event_id]

    def _progress(self, part: _Partition) -> None:
        """Commit what is contiguous, report the lag, and take more once there is room again."""
        if part.closed:
            return
        if part.committable is not None:
            self.committer.mark(part.tp, part.committable)
        highwater = _highwater(self.consumer, part.tp)
        if highwater is not None and part.lowest_unhandled is not None:
            self.lag.set(part.tp, highwater - part.lowest_unhandled)
        if part.paused and len(part.offsets) < MAX_IN_HAND_PER_PARTITION // 2 and part.tp in self.consumer.assignment():
            self.consumer.resume(part.tp)
            part.paused = False

    async def revoke(self, tps) -> None:
        """Partitions taken away in a rebalance: their workers stop after the record in hand, and
        what is handled is committed before the new owner starts from it."""
        parts = [self.partitions.pop(tp) for tp in tps if tp in self.partitions]
        if not parts:
            return
        for part in parts:
            part.closed = True
        self.committer.forget([part.tp for part in parts])
        workers = [worker for part in parts for worker in part.workers]
        if workers:
            await asyncio.wait(workers, timeout=REVOKE_WAIT_S)
        offsets = {part.tp: part.committable for part in parts if part.committable is not None}
        if offsets:
            try:
                await self.consumer.commit(offsets)
            except Exception as exc:  # noqa: BLE001 - the new owner redelivers, and skips what was stored
                log.warning("%s: committing revoked offsets %s failed: %s", self.runner.service.name, offsets, exc)

    def cancel(self) -> None:
        for part in self.partitions.values():
            part.closed = True
            for worker in part.workers:
                worker.cancel()

    async def settle(self) -> None:
        """The feed ends: wait for the handlings under way, leaving the queued records unhandled."""
        workers = [worker for part in self.partitions.values() for worker in part.workers]
        if workers:
            await asyncio.gather(*workers, return_exceptions=True)


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self) -> None:
        self.feed: _Feed | None = None

    async def on_partitions_revoked(self, revoked) -> None:
        if self.feed is not None:
            await self.feed.revoke(revoked)

    async def on_partitions_assigned(self, assigned) -> None:
        pass


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
        rebalance = _Rebalance()
        consumer.subscribe([topic], listener=rebalance)
        await consumer.start()
        committer = _OffsetCommitter(consumer, self.service.name)
        feed = rebalance.feed = _Feed(self, consumer, committer, dispatcher, lag, dead_letters, stop, work)
        self.consuming = True
        try:
            # Fetching never waits for handling: the records go to their partition's runs, each
            # worked by a task of its own, while the next fetch is already waiting on the broker.
            while not stop.is_set() and feed.failure is None:
                batch = await consumer.getmany(timeout_ms=200)
                lag.keep_only(consumer.assignment())
                if not batch:
                    continue
                # One round trip for the whole batch instead of one handled-check per event. A record
                # whose event is already in hand (delivered again) is left to its own check: its
                # first delivery may be handled by then.
                await dispatcher.check_handled_ahead([
                    event_id for messages in batch.values() for m in messages
                    if (event_id := _wanted_id(m, dispatcher)) and event_id not in feed.events_in_hand
                ])
                for tp, messages in batch.items():
                    feed.take(tp, messages)
        except asyncio.CancelledError:
            feed.cancel()  # the handlings under way are dropped (their transactions roll back): redelivered
            raise
        finally:
            self.consuming = False
            await feed.settle()  # every worker ends after the record in hand; the rest is redelivered
            await committer.close()  # commits everything handled so far
            await consumer.stop()  # leaves the group: partitions move to other instances at once
            lag.keep_only(set())
        if feed.failure is not None:
            raise feed.failure

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

"""The outbox relay: the store's global order, published to the events topic.

Every stored event is published to `wave.events.v1`, keyed by run id so a run's events stay in one
partition and in stream order. A work request (`WORK_EVENT_TYPES`: one task's work, handed off by
the developer) is published to `wave.work.v1` as well, keyed `<run id>/<task id>`, each of a run's
lanes on the next partition, so a run's tasks reach different instances of the work group. The store feeds the relay (`EventStore.read_publishable`, its lock
`try_relay_lock`, its append signal `wait_for_append`); only the PostgreSQL store does.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from wave_events.redaction import may_hold_secret
from wave_store import EventStore, RelayLock, UnsupportedByStoreError

from ..metrics import RELAY_POSITION, RELAY_PUBLISHED
from ..outages import OutageWatch, is_outage
from .records import message_of_stored
from .topics import WORK_EVENT_TYPES, Topics, idempotent_producer, work_partition

log = logging.getLogger("wave.runtime.kafka")


class OutboxRelay:
    """Publishes the store's global order to Kafka. One relay is active (it holds the store's relay
    lock, a PostgreSQL advisory lock held on a session); standbys wait for the lock and take over when
    the active one goes away. The position is saved only after Kafka acknowledged every event up to
    it: duplicates on a crash, never gaps. Requires the PostgreSQL store: `run` raises
    UnsupportedByStoreError on any other."""

    def __init__(self, store: EventStore, bootstrap: str, topics: Topics, *, batch: int = 2000) -> None:
        self.store, self.bootstrap, self.topics, self.batch = store, bootstrap, topics, batch
        self.name = f"relay:{topics.events}"
        self.active = False
        self.published = 0
        self._partitions: list[int] = []
        self._partition_of: dict[bytes, int] = {}  # key -> partition for the current partition list
        self._work_partitions: list[int] = []
        self.outage = OutageWatch("relay", log)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            lock = await self._take_lock(stop)
            if lock is None:
                return
            failure: Exception | None = None
            try:
                self.active = True
                await self._publish_until(stop, lock)
            except Exception as exc:  # noqa: BLE001 - lost broker or database: give up the lock, start again
                failure = exc
            finally:
                self.active = False
                await lock.release()  # never raises: a lock whose session is gone went with it
            if failure is None:
                continue
            if is_outage(failure):
                await self.outage.wait(failure, stop)  # logged once when it starts, once when it ends
            else:
                log.error("relay: publishing failed; restarting", exc_info=failure)
                await asyncio.sleep(0.5)

    async def _take_lock(self, stop: asyncio.Event) -> RelayLock | None:
        while not stop.is_set():
            try:
                lock = await self.store.try_relay_lock()
            except UnsupportedByStoreError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database is away: try again
                if not is_outage(exc):
                    log.warning("relay: taking the lock failed (%s: %s); trying again", type(exc).__name__, exc)
                await self.outage.wait(exc, stop)
                continue
            if lock is not None:
                log.info("relay: active")
                return lock
            try:
                async with asyncio.timeout(0.5):  # not wait_for: it can swallow a cancellation (3.11)
                    await stop.wait()
            except TimeoutError:
                pass
        return None

    async def _publish_until(self, stop: asyncio.Event, lock: RelayLock) -> None:
        producer = idempotent_producer(self.bootstrap, linger_ms=2, max_batch_size=256 * 1024)
        await producer.start()
        try:
            position = await self.store.load_position(self.name)
            self.outage.recovered()
            checked = asyncio.get_running_loop().time()
            following: asyncio.Future | None = None  # the next page, read while the acks come back
            saver = _PositionSaver(self.store, self.name)
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
                        saver.save(position)
                        self.published += len(rows)
                        RELAY_PUBLISHED.inc(len(rows))
                        RELAY_POSITION.set(position)
                    now = asyncio.get_running_loop().time()
                    if now - checked > 1.0:
                        await lock.confirm()  # the lock lives on a session: make sure it still does
                        checked = now
            finally:
                if following is not None:
                    following.cancel()
                    await asyncio.gather(following, return_exceptions=True)
                await saver.close()
        finally:
            await producer.stop()

    async def _read(self, position: int) -> Sequence[Mapping]:
        """The next page of the global order after `position`, as stored rows (see message_of_row)."""
        return await self.store.read_publishable(position, self.batch)

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
        work: dict[int, object] = {}  # the work topic's batches, by partition
        futures = []
        # Redaction again on the way out (rules added since an event was stored apply to it too): one
        # look for the rules' literals over the whole page instead of one per payload.
        clean = not may_hold_secret("\n".join([row["payload"] for row in rows]))
        for row in rows:
            key, value, headers = message_of_stored(row, clean)
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
            if row["event_type"] in WORK_EVENT_TYPES:
                work_key, to = await self._work_record(producer, row)
                batch = work.get(to)
                if batch is None:
                    batch = work[to] = producer.create_batch()
                if batch.append(key=work_key, value=value, timestamp=None, headers=headers) is None:
                    futures.append(await producer.send_batch(batch, self.topics.work, partition=to))
                    batch = work[to] = producer.create_batch()
                    batch.append(key=work_key, value=value, timestamp=None, headers=headers)
        for name, by_partition in ((topic, batches), (self.topics.work, work)):
            for partition, batch in by_partition.items():
                # Closed: the page is all there is, so the producer sends it at once instead of lingering
                # for records that will not come (its linger is for `send`, record by record).
                batch.close()
                futures.append(await producer.send_batch(batch, name, partition=partition))
        return asyncio.gather(*futures)

    async def _work_record(self, producer: AIOKafkaProducer, row: Mapping) -> tuple[bytes, int]:
        """The work topic's key and partition of a work request: `<run id>/<task id>`, and the
        partition of its lane among the run's (`work_partition`)."""
        if not self._work_partitions:
            self._work_partitions = sorted(await producer.partitions_for(self.topics.work))
        try:
            payload = json.loads(row["payload"])
            task, lane = str(payload["task_id"]), int(payload.get("lane", 0))
        except (ValueError, KeyError, TypeError):
            task, lane = str(row["event_id"]), 0  # undecodable: published anyway, each consumer dead-letters it
        run_id = row["correlation_id"]
        return f"{run_id}/{task}".encode(), self._work_partitions[work_partition(run_id, lane, len(self._work_partitions))]


class _PositionSaver:
    """Saves the relay's position beside the publishing instead of on its path: a save is a commit
    (an fsync), and awaited after every page it delayed the next event by as much. One save at a
    time, always of the newest acknowledged position; a failed save fails the next `save` or the
    `close`, so the relay restarts from the position saved before it, publishing again, never
    skipping. A crash loses at most the saves not made yet: duplicates, as before."""

    def __init__(self, store: EventStore, name: str) -> None:
        self._store, self._name = store, name
        self._newest: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None

    def save(self, position: int) -> None:
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure
        self._newest = position
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while self._newest is not None:
            position, self._newest = self._newest, None
            try:
                await self._store.save_position(self._name, position)
            except Exception as exc:  # noqa: BLE001 - handed to the publishing loop by the next save
                self._failure = exc
                return

    async def close(self) -> None:
        """Wait for the last save; its failure is raised (the relay then starts again from the store)."""
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure


_PARTITIONER = DefaultPartitioner()


__all__ = ["OutboxRelay"]

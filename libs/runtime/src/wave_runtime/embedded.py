"""Embedded transport: every service in one process, no Kafka. Each service follows the store's
global order from its own saved position, exactly as a Kafka consumer group follows the topic; one
reader (`GlobalOrderFeed`) reads the order for all of them, as one broker serves every group.

Given one run to drive (`only_run`), a follower handles that run's events only and never saves its
position past another run's event it skipped: that run's events are still there, unhandled, when it is
driven in turn (re-reading what was handled meanwhile is safe: the dispatcher skips handled events)."""

from __future__ import annotations

import asyncio
import bisect
import logging
import time
import uuid
from collections.abc import Coroutine, Sequence
from typing import Any

from wave_events import Envelope, UnreadableEvent, run_stream_id
from wave_store import EventStore

from .deadletters import FileDeadLetters
from .engine import Dispatcher, Failure, HandlingFailed, RetryPolicy, TimerPoller
from .handler import Service
from .metrics import CONSUMER_LAG, DEAD_LETTERS, EMBEDDED_LAG_PARTITION, EMBEDDED_LAG_TOPIC

log = logging.getLogger("wave.runtime.embedded")

# How long a follower waits for an append before looking for re-drive requests (`wave dlq redrive`).
FOLLOW_WAIT_S = 1.0
# drain() looks again at least this often, whatever it was told.
DRAIN_LOOK_S = 1.0
# A follower saves its position at most this often (and when it stops): each save is a write, and on
# SQLite an fsync. A crash re-reads at most this long's events, and the dispatcher recognises the ones
# handled already by their handled marks.
SAVE_EVERY_S = 1.0
# Events the feed keeps in memory: a follower further behind reads the store itself.
FEED_KEEP = 5000


class GlobalOrderFeed:
    """The one reader of the global order for every follower of a runtime.

    It keeps the newest events it read (at most `keep`, contiguous in the global order). A follower
    that has taken all of them shares the next read with the others (one `read_all`, one wait for an
    append, however many services wait); a follower still inside what is kept takes its next events
    from memory. A follower behind what is kept (resumed from an older saved position, or slow) reads
    the store itself until it reaches them, so no follower waits for another and none misses an event.
    Each follower keeps its own position: the feed only saves them reading."""

    def __init__(self, store: EventStore, batch: int = 500, keep: int = FEED_KEEP) -> None:
        self.store, self.batch, self.keep = store, batch, keep
        self._events: list[Envelope] = []
        self._positions: list[int] = []  # the global positions of `_events`, for bisecting
        self._after: int | None = None  # the kept events are those right after this position
        self._reading: asyncio.Task[None] | None = None
        self.reads = 0  # reads of the global order made for the followers sharing the feed

    @property
    def head(self) -> int | None:
        """The last position read (None before the first request)."""
        if self._after is None:
            return None
        return self._positions[-1] if self._positions else self._after

    async def after(self, position: int, wait_s: float) -> list[Envelope]:
        """The next events after `position` (at most `batch`); none if nothing is appended within `wait_s`."""
        head = self.head
        if head is None or position > head:
            self._keep_from(position)  # nothing kept is of use to a follower ahead of it
        if self._keeps(position):
            kept = self._kept_after(position)
            if kept:
                return kept
            if self._reading is None or self._reading.done():
                self._reading = asyncio.ensure_future(self._read_newer(wait_s))
                # Its failure reaches every follower awaiting it; retrieved here for when none is left.
                self._reading.add_done_callback(lambda read: read.cancelled() or read.exception())
            # Shielded: a follower that stops waiting does not cancel the read the others wait for.
            await asyncio.shield(self._reading)
            if self._keeps(position):  # more may have come than is kept: then it reads the store
                return self._kept_after(position)
        self.reads += 1
        events = await self.store.read_all(position, self.batch)
        self._take(position, events)
        return events

    async def close(self) -> None:
        """End the read in progress (the followers have stopped)."""
        if self._reading is not None and not self._reading.done():
            self._reading.cancel()
            await asyncio.gather(self._reading, return_exceptions=True)

    def _keeps(self, position: int) -> bool:
        """Whether every event after `position` that was read is kept."""
        return self._after is not None and position >= self._after

    def _keep_from(self, position: int) -> None:
        self._events, self._positions, self._after = [], [], position

    def _kept_after(self, position: int) -> list[Envelope]:
        start = bisect.bisect_right(self._positions, position)
        return self._events[start : start + self.batch]

    async def _read_newer(self, wait_s: float) -> None:
        head = self.head or 0
        self.reads += 1
        events = await self.store.read_all(head, self.batch)
        if not events:
            await self.store.wait_for_append(head, wait_s)
            self.reads += 1
            events = await self.store.read_all(head, self.batch)
        self._take(head, events)

    def _take(self, read_after: int, events: Sequence[Envelope]) -> None:
        """Keep what `events` (the whole order after `read_after`, up to its last) adds past the head:
        when the read began at or before the head, that part is the whole order after the head too."""
        newest = self.head
        if newest is None or read_after > newest:
            return
        fresh = [e for e in events if (e.global_position or 0) > newest]
        self._events.extend(fresh)
        self._positions.extend(e.global_position or 0 for e in fresh)
        surplus = len(self._events) - self.keep
        if surplus > 0:
            self._after = self._positions[surplus - 1]
            del self._events[:surplus], self._positions[:surplus]


class StoreSubscription:
    """Follows the global order for one consumer, resuming from its saved position."""

    def __init__(self, store: EventStore, consumer: str, batch: int = 500, feed: GlobalOrderFeed | None = None) -> None:
        self.store, self.consumer, self.batch = store, consumer, batch
        self.feed = feed  # shared with the runtime's other followers; None: this one reads the store itself
        self.position: int | None = None  # read so far
        self.held_at: int | None = None  # the saved position stays here: an event after it was skipped
        self._saved: int | None = None
        self._saved_at = time.monotonic()

    @property
    def position_name(self) -> str:
        return f"subscription:{self.consumer}"

    async def resume(self) -> None:
        if self.position is None:
            self.position = await self.store.load_position(self.position_name)

    async def next_batch(self, wait_s: float) -> list[Envelope]:
        await self.resume()
        if self.feed is not None:
            return await self.feed.after(self.position or 0, wait_s)
        events = await self.store.read_all(self.position, self.batch)
        if not events:
            await self.store.wait_for_append(self.position, wait_s)
            events = await self.store.read_all(self.position, self.batch)
        return events

    def advance(self, position: int) -> None:
        """Read and handled up to `position`; `save` makes it the saved position."""
        self.position = position

    async def save(self, *, now: bool = True) -> None:
        """Save the position reached; `now=False` only when the last save is `SAVE_EVERY_S` old, so a
        busy follower writes its position about once a second rather than once per batch (a write, and
        on SQLite an fsync, each): after a crash the events since the last save are read again, and the
        ones handled already are recognised as such."""
        if self.held_at is not None or self.position is None or self.position == self._saved:
            return
        if not now and time.monotonic() - self._saved_at < SAVE_EVERY_S:
            return
        await self.store.save_position(self.position_name, self.position)
        self._saved, self._saved_at = self.position, time.monotonic()

    async def commit(self, position: int) -> None:
        self.advance(position)
        await self.save()

    async def skip(self, position: int) -> None:
        """Read past an event left for another time: the saved position stays before the first one."""
        if self.held_at is None:
            self.held_at = position - 1
            await self.store.save_position(self.position_name, self.held_at)
        self.position = position


class EmbeddedRuntime:
    """Runs services and the timer poller until `stop()`; `drain()` waits until every service has
    handled everything stored so far (tests and the demo use it). With `only_run`, the services handle
    that run's events only; timers of every run still fire (firing appends an event, which then waits
    for its own run to be driven).

    Waiting costs nothing: followers sleep until the store signals an append, the timer poller until
    the next timer is due (at most `timer_interval_s`), and `drain()` until a follower moves."""

    def __init__(
        self,
        store: EventStore,
        services: Sequence[Service],
        dead_letters: FileDeadLetters,
        *,
        retry: RetryPolicy | None = None,
        timer_interval_s: float = 1.0,
        only_run: str | None = None,
    ) -> None:
        self.store = store
        self.only_stream = run_stream_id(only_run) if only_run is not None else None
        self.dead_letters = dead_letters
        instance = uuid.uuid4().hex[:8]
        self.dispatchers = [Dispatcher(s, store, instance=instance, retry=retry) for s in services]
        self.feed = GlobalOrderFeed(store)
        self.subscriptions = {
            d.service.name: StoreSubscription(store, d.service.name, feed=self.feed) for d in self.dispatchers
        }
        self.timers = TimerPoller(store, timer_interval_s)
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._progress = asyncio.Event()  # set (and replaced) at every step a follower takes

    def progress(self) -> asyncio.Event:
        """Set at the next step any follower takes (an event handled or skipped, a follower ended):
        take it before looking at the runtime, then wait on it."""
        return self._progress

    def _moved(self) -> None:
        self._progress.set()
        self._progress = asyncio.Event()

    async def start(self) -> None:
        self._stop.clear()
        self._tasks = [asyncio.create_task(self._follow(d), name=f"wave:{d.service.name}") for d in self.dispatchers]
        self._tasks.append(asyncio.create_task(self.timers.run(self._stop), name="wave:timers"))
        for task in self._tasks:
            task.add_done_callback(lambda _: self._moved())

    async def stop(self, *, abort: bool = False) -> None:
        """Let each service finish the event in hand; `abort` cancels them instead (nothing of an
        unfinished handling is recorded, so the event is handled again next time)."""
        self._stop.set()
        if abort:
            for task in self._tasks:
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self.feed.close()

    async def __aenter__(self) -> EmbeddedRuntime:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        await self.stop(abort=exc_type is not None)

    async def drain(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109 - a deadline for the whole drain
        """Wait until every service's position has reached the end of the log."""
        async with asyncio.timeout(timeout):
            while True:
                moved = self.progress()
                if await self.drained():
                    return
                await self.wait_for_progress(moved, DRAIN_LOOK_S)

    async def drained(self) -> bool:
        """Whether every service has handled everything stored so far; a follower that failed raises."""
        for task in self._tasks:
            if task.done() and not task.cancelled() and task.exception():
                raise task.exception()  # type: ignore[misc]
        last = await self.store.last_position()
        return all((s.position or 0) >= last for s in self.subscriptions.values())

    async def wait_for_progress(self, moved: asyncio.Event, timeout: float) -> None:  # noqa: ASYNC109 - a bounded wait
        """Return once `moved` (from `progress()`) is set, or after `timeout` seconds."""
        # Not asyncio.wait_for: it returns normally when cancelled just as `moved` is set, and a
        # Ctrl-C cancelling a followed run at that moment would be lost, its sandbox left running.
        try:
            async with asyncio.timeout(timeout):
                await moved.wait()
        except TimeoutError:
            pass

    async def _follow(self, dispatcher: Dispatcher) -> None:
        name = dispatcher.service.name
        subscription = self.subscriptions[name]
        await subscription.resume()
        self._moved()
        try:
            while not self._stop.is_set():
                for event_id in self.dead_letters.take_redrives(name, self.only_stream):
                    await self._redrive(dispatcher, event_id)
                events = await self._unless_stopped(subscription.next_batch(wait_s=FOLLOW_WAIT_S))
                await self._follow_batch(dispatcher, subscription, events)
                await subscription.save(now=False)
                if events:
                    read = max(self.feed.head or 0, events[-1].global_position or 0)
                    lag = max(0, read - (subscription.position or 0))
                    CONSUMER_LAG.labels(name, EMBEDDED_LAG_TOPIC, EMBEDDED_LAG_PARTITION).set(lag)
        finally:
            await subscription.save()

    async def _follow_batch(
        self, dispatcher: Dispatcher, subscription: StoreSubscription, events: Sequence[Envelope]
    ) -> None:
        name = dispatcher.service.name
        for envelope in events:
            if self._stop.is_set():
                return
            if self.only_stream is not None and envelope.stream_id != self.only_stream:
                await subscription.skip(envelope.global_position or 0)
                self._moved()
                continue
            if dispatcher.wants_type(envelope.stored_type) and isinstance(envelope.payload, UnreadableEvent):
                # No service can act on it; its run shows as unreadable, every other run goes on.
                log.error("%s: skipped stored event %s of %s (%s v%s): %s", name, envelope.event_id,
                          envelope.stream_id, envelope.payload.stored_type, envelope.payload.stored_version,
                          envelope.payload.error)
            scheduled = dispatcher.timers_scheduled
            dead = await self._dispatch(dispatcher, envelope)
            subscription.advance(envelope.global_position or 0)
            if dead:
                await subscription.save()  # a crash now must not try it again and dead-letter it twice
            if dispatcher.timers_scheduled != scheduled:
                self.timers.nudge()  # the timer may be due at once
            self._moved()

    async def _unless_stopped(self, batch: Coroutine[Any, Any, list[Envelope]]) -> list[Envelope]:
        """The next batch, or nothing once `stop()` is called: a follower waiting for events stops at once."""
        reading = asyncio.ensure_future(batch)
        stopping = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait((reading, stopping), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (reading, stopping):
                if not task.done():
                    task.cancel()
        return reading.result() if reading.done() and not reading.cancelled() else []

    async def _dispatch(self, dispatcher: Dispatcher, envelope: Envelope) -> bool:
        """Handle `envelope`; True when it was dead-lettered."""
        try:
            await dispatcher.dispatch(envelope)
        except HandlingFailed as failed:
            name = dispatcher.service.name
            DEAD_LETTERS.labels(name).inc()
            log.error("%s: %s %s dead-lettered: %s", name, envelope.type, envelope.event_id, failed)
            f = failed.failure
            await self.dead_letters.add(name, envelope, None, f.error_type, f.message, f.attempts)
            await _record_on_run(dispatcher, envelope, f)
            return True
        return False

    async def _redrive(self, dispatcher: Dispatcher, event_id: str) -> None:
        for letter in await self.dead_letters.list(dispatcher.service.name):
            if letter.event_id == event_id:
                for envelope in await self.store.read_stream(letter.stream_id):
                    if str(envelope.event_id) == event_id:
                        await self._dispatch(dispatcher, envelope)
                return


async def _record_on_run(dispatcher: Dispatcher, envelope: Envelope, failure: Failure) -> None:
    try:
        await dispatcher.record_dead_letter(envelope, failure)
    except Exception:  # noqa: BLE001 - the dead letter is stored; the run's note is what may be missing
        log.exception("%s: recording the dead letter of %s on its run failed", dispatcher.service.name, envelope.event_id)

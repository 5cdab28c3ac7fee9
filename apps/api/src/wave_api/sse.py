"""Server-Sent Events from the store: every event's `id` is its global position, `event` its type and
`data` its envelope as JSON. A client that reconnects with `Last-Event-ID: P` gets exactly the events
after P, then live ones; waiting uses the store's append notifications, never a polling loop.

One `EventFeed` per process follows the store for every open stream: it reads each new page of the
log once, encodes each event once, and hands the frames to each client's queue. Hundreds of clients
then cost the store one reader, not one each; a client catches up on history from the store on its
own, then takes the feed's frames."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

from wave_events import Envelope, UndecodableEventError
from wave_events.codec import encode_envelope
from wave_store import EventStore

KEEP_ALIVE_S = 15.0
BATCH = 500
# Pages of the log a client may fall behind the feed (a slow reader) before the feed stops queueing for
# it: it then reads the rest from the store itself and rejoins, so a slow client holds no unbounded memory.
QUEUE_LIMIT = 200
_RETRY_S = 1.0

_log = logging.getLogger("wave_api.sse")


def frame(envelope: Envelope) -> str:
    # The envelope's JSON has no raw newline (json.dumps escapes them), so one `data:` line holds it.
    return f"id: {envelope.global_position}\nevent: {envelope.type}\ndata: {encode_envelope(envelope)}\n\n"


@dataclass(frozen=True)
class Frame:
    position: int
    stream_id: str
    text: str

    @classmethod
    def of(cls, envelope: Envelope) -> Frame:
        return cls(envelope.global_position or 0, envelope.stream_id, frame(envelope))


class Subscription:
    """One client's place at the feed: the pages of frames after `since`, in order. `None` in the queue
    means the feed let go of it (it fell QUEUE_LIMIT pages behind)."""

    def __init__(self, since: int) -> None:
        self.since = since
        self.queue: asyncio.Queue[Sequence[Frame] | None] = asyncio.Queue()


class EventFeed:
    """The process's one follower of the store's global order for the event streams."""

    def __init__(self, store: EventStore, *, wait_s: float = KEEP_ALIVE_S) -> None:
        self.store = store
        self.position = 0
        self.wait_s = wait_s
        self._subscribers: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None
        self.closed = False

    async def start(self) -> None:
        self.position = await self.store.last_position()
        self._task = asyncio.create_task(self._follow(), name="wave-api-event-feed")

    async def close(self) -> None:
        self.closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for subscription in self._subscribers:
            subscription.queue.put_nowait(None)
        self._subscribers.clear()

    def subscribe(self) -> Subscription:
        """A queue of every page the feed reads from now on: the events after `since`."""
        subscription = Subscription(self.position)
        self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    async def _follow(self) -> None:
        while True:
            try:
                batch = await self.store.read_all(self.position, BATCH)
                if not batch:
                    await self.store.wait_for_append(self.position, self.wait_s)
                    continue
            except Exception:  # noqa: BLE001 - a lost connection must not end the streams for good
                _log.exception("the event feed cannot read the store; trying again")
                await asyncio.sleep(_RETRY_S)
                continue
            if self._subscribers:
                frames = [Frame.of(envelope) for envelope in batch]
                for subscription in list(self._subscribers):
                    if subscription.queue.qsize() >= QUEUE_LIMIT:
                        self._subscribers.discard(subscription)
                        subscription.queue.put_nowait(None)
                    else:
                        subscription.queue.put_nowait(frames)
            self.position = batch[-1].global_position or self.position


async def _history(store: EventStore, after: int, upto: int, stream_id: str | None) -> AsyncIterator[list[Frame]]:
    """The frames after `after` up to `upto` from the store: one run's stream (no scan of the whole log
    from `after`), or the global order."""
    if stream_id is not None:
        try:
            earlier = await store.read_stream(stream_id)
        except UndecodableEventError:
            earlier = None  # read it in the global order instead: placeholders there
        if earlier is not None:
            yield [Frame.of(e) for e in earlier if after < (e.global_position or 0) <= upto]
            return
    position = after
    while position < upto:
        batch = await store.read_all(position, BATCH)
        if not batch:
            return
        yield [
            Frame.of(e) for e in batch
            if (e.global_position or 0) <= upto and (stream_id is None or e.stream_id == stream_id)
        ]
        position = batch[-1].global_position or upto


async def events_after(
    feed: EventFeed,
    after: int,
    *,
    stream_id: str | None = None,
    disconnected: Callable[[], Awaitable[bool]],
    keep_alive_s: float = KEEP_ALIVE_S,
) -> AsyncIterator[str]:
    """The frames of the events after global position `after` (of one stream, or all), then live
    ones, with a keep-alive comment after `keep_alive_s` of silence; ends when the client leaves.
    Frames that arrive together are sent together: a busy server sends fewer, larger writes."""
    sent = after
    quiet_since = time.monotonic()

    def fresh(frames: Sequence[Frame]) -> str:
        nonlocal sent, quiet_since
        texts = []
        for f in frames:
            if f.position > sent and (stream_id is None or f.stream_id == stream_id):
                texts.append(f.text)
                sent = f.position
        if texts:
            quiet_since = time.monotonic()
        return "".join(texts)

    while not feed.closed:
        subscription = feed.subscribe()
        try:
            # Everything up to where the feed stood comes from the store, the rest from the feed.
            async for page in _history(feed.store, sent, subscription.since, stream_id):
                if text := fresh(page):
                    yield text
            while True:
                left = keep_alive_s - (time.monotonic() - quiet_since)
                try:
                    async with asyncio.timeout(max(left, 0)):
                        page = await subscription.queue.get()
                except TimeoutError:
                    if await disconnected():
                        return
                    quiet_since = time.monotonic()
                    yield ": keep-alive\n\n"
                    continue
                if page is None:
                    break  # fell behind: read the rest from the store and rejoin
                pages, dropped = [page], False
                while not subscription.queue.empty():
                    more = subscription.queue.get_nowait()
                    if more is None:
                        dropped = True
                        break
                    pages.append(more)
                if text := "".join(fresh(p) for p in pages):
                    yield text
                if dropped:
                    break
        finally:
            feed.unsubscribe(subscription)

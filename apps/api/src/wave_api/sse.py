"""Server-Sent Events from the store: every event's `id` is its global position, `event` its type and
`data` its envelope as JSON. A client that reconnects with `Last-Event-ID: P` gets exactly the events
after P, then live ones; waiting uses the store's append notifications, never a polling loop."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable

from wave_events import Envelope, UndecodableEventError
from wave_events.codec import encode_envelope
from wave_store import EventStore

KEEP_ALIVE_S = 15.0
BATCH = 500


def frame(envelope: Envelope) -> str:
    # The envelope's JSON has no raw newline (json.dumps escapes them), so one `data:` line holds it.
    return f"id: {envelope.global_position}\nevent: {envelope.type}\ndata: {encode_envelope(envelope)}\n\n"


async def events_after(
    store: EventStore,
    after: int,
    *,
    stream_id: str | None = None,
    disconnected: Callable[[], Awaitable[bool]],
    keep_alive_s: float = KEEP_ALIVE_S,
) -> AsyncIterator[str]:
    """The frames of the events after global position `after` (of one stream, or all), then live
    ones, with a keep-alive comment after `keep_alive_s` of silence; ends when the client leaves."""
    position, sent = after, after
    if stream_id is not None:
        # One run: its own stream holds what came before (no scan of the whole log from `after`); the
        # live part follows the global order from where the log stood before the stream was read.
        position = max(after, await store.last_position())
        try:
            earlier = await store.read_stream(stream_id)
        except UndecodableEventError:
            earlier, position = [], after  # read it in the global order instead: placeholders there
        for envelope in earlier:
            if (envelope.global_position or 0) > sent:
                sent = envelope.global_position or sent
                yield frame(envelope)
    quiet_since = time.monotonic()
    while not await disconnected():
        batch = await store.read_all(position, BATCH)
        if batch:
            for envelope in batch:
                at = envelope.global_position or 0
                if at > sent and (stream_id is None or envelope.stream_id == stream_id):
                    sent = at
                    quiet_since = time.monotonic()
                    yield frame(envelope)
            position = batch[-1].global_position or position
            continue
        left = keep_alive_s - (time.monotonic() - quiet_since)
        if left <= 0:
            quiet_since = time.monotonic()
            yield ": keep-alive\n\n"
            continue
        await store.wait_for_append(position, min(left, keep_alive_s))

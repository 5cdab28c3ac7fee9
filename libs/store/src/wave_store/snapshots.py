"""Rebuilding a run's state from its newest snapshot and the events after it.

A snapshot is only a shortcut: `rebuild` gives exactly `fold(read_stream(...))`. One taken by another
fold (`PROJECTION` differs), or one that no longer reads as a `RunState`, is ignored and the run is
folded from its first event.
"""

from __future__ import annotations

import logging

from wave_events.projections import RunState, fold
from wave_events.projections.snapshots import PROJECTION, state_from_json, state_to_json

from .port import EventStore, Snapshot

log = logging.getLogger(__name__)

# A snapshot every this many events of a run: a rebuild then folds at most this many events more
# than it must, and a 10,000-event run is written 20 times, each write a few milliseconds.
SNAPSHOT_EVERY = 500


async def rebuild(store: EventStore, stream_id: str, start: RunState | None = None) -> tuple[RunState, int]:
    """The run's state now, and the version of the snapshot it started from (0: none was used).
    `start`, a state of this stream already folded (a cache), is used instead of a snapshot."""
    snapshot_version = 0
    if start is None:
        start, snapshot_version = await _from_snapshot(store, stream_id)
    return fold(await store.read_stream(stream_id, from_version=start.version + 1), start), snapshot_version


async def snapshot_if_due(store: EventStore, stream_id: str, state: RunState, last_snapshot: int) -> bool:
    """Save `state` when it is `SNAPSHOT_EVERY` events past the last snapshot; True when it did.
    Never raises: a snapshot that cannot be written only makes the next rebuild longer."""
    if state.version - last_snapshot < SNAPSHOT_EVERY:
        return False
    try:
        await store.save_snapshot(Snapshot(stream_id, state.version, PROJECTION, state_to_json(state)))
    except Exception as exc:  # noqa: BLE001 - a cache write must not fail what it speeds up
        log.warning("could not save the snapshot of %s at version %d: %s", stream_id, state.version, exc)
        return False
    return True


async def _from_snapshot(store: EventStore, stream_id: str) -> tuple[RunState, int]:
    snapshot = await store.load_snapshot(stream_id, PROJECTION)
    if snapshot is None:
        return RunState(), 0
    try:
        state = state_from_json(snapshot.state)
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("ignoring the snapshot of %s at version %d: %s", stream_id, snapshot.stream_version, exc)
        return RunState(), 0
    if state.version != snapshot.stream_version:
        return RunState(), 0
    return state, snapshot.stream_version

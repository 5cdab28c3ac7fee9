"""The dispatcher keeps a snapshot of each run it handles every SNAPSHOT_EVERY events, after handling,
and a dispatcher that starts cold rebuilds from it: the state its service sees is the full fold."""

from __future__ import annotations

from wave_events import catalogue as c
from wave_events import new_envelope
from wave_events.projections import fold
from wave_events.projections.snapshots import PROJECTION
from wave_runtime.engine import Dispatcher
from wave_store import snapshots
from wave_store.sqlite import SqliteEventStore


class Recorder:
    """Handles every RunFailed and remembers the state it was given."""

    name = "recorder"
    handles = frozenset({"RunFailed"})

    def __init__(self) -> None:
        self.states = []

    async def handle(self, state, event):
        self.states.append(state)
        return []


async def test_snapshots_are_taken_after_handling_and_a_cold_dispatcher_starts_from_one(tmp_path, monkeypatch):
    monkeypatch.setattr(snapshots, "SNAPSHOT_EVERY", 10)
    store = SqliteEventStore(tmp_path / "events.db")
    try:
        stream = "run-snap"
        history = [
            new_envelope(stream, c.RunRequested(story="s", repo="/r", budget_usd=5), producer="test"),
            *[new_envelope(stream, c.RunFailed(reason=f"r{n}"), producer="test") for n in range(24)],
        ]
        await store.append(stream, history[:1], 0)
        warm = Dispatcher(Recorder(), store)
        for version, event in enumerate(history[1:], start=1):
            (stored,) = (await store.append(stream, [event], version)).events
            assert await warm.dispatch(stored) == "handled"
        snapshot = await store.load_snapshot(stream, PROJECTION)
        assert snapshot is not None and snapshot.stream_version == 20  # taken at 10 and 20, not after every event

        later = new_envelope(stream, c.RunFailed(reason="later"), producer="test")
        (appended,) = (await store.append(stream, [later], 25)).events
        cold = Recorder()
        assert await Dispatcher(cold, store).dispatch(appended) == "handled"
        assert cold.states == [fold(await store.read_stream(stream))]
        assert await snapshots.rebuild(store, stream) == (cold.states[0], 20)
    finally:
        await store.close()

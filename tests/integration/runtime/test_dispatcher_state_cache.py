"""The dispatcher folds the event it handles into the state it keeps of the run, without reading the
run, when that event is the next one after the kept state (or the run's first); otherwise it reads.
Whichever way, the state its service sees is the fold of the stored events up to the one handled, and
a kept state that fell behind (another instance appended) is caught by the append and read again."""

from __future__ import annotations

from wave_events import catalogue as c
from wave_events import new_envelope
from wave_events.projections import fold
from wave_runtime.engine import Dispatcher
from wave_store.sqlite import SqliteEventStore

STREAM = "run-cache"


class CountingStore(SqliteEventStore):
    """The SQLite store, counting the reads of a run's events or snapshot, and the handled-checks."""

    reads = 0
    checks = 0

    async def was_handled(self, consumer, event_id):
        self.checks += 1
        return await super().was_handled(consumer, event_id)

    async def handled_among(self, consumer, event_ids):
        return {i for i in event_ids if await SqliteEventStore.was_handled(self, consumer, i)}  # one question

    async def read_stream(self, stream_id, from_version=1):
        self.reads += 1
        return await super().read_stream(stream_id, from_version)

    async def load_snapshot(self, stream_id, projection):
        self.reads += 1
        return await super().load_snapshot(stream_id, projection)


class Answering:
    """Answers each RunRequested and RunFailed with a note (a RunBlocked), remembering each state seen."""

    handles = frozenset({"RunRequested", "RunFailed"})

    def __init__(self, name: str = "answering") -> None:
        self.name = name
        self.states = []

    async def handle(self, state, event):
        self.states.append(state)
        return [c.RunBlocked(reason=f"seen at {state.version}")]


def failed(reason: str):
    return new_envelope(STREAM, c.RunFailed(reason=reason), producer="test")


async def stored_up_to(store, version: int):
    return fold((await store.read_stream(STREAM))[:version])


async def test_the_next_event_of_a_kept_run_is_folded_without_a_read(tmp_path):
    store = CountingStore(tmp_path / "events.db")
    try:
        service = Answering()
        dispatcher = Dispatcher(service, store)
        (first,) = (await store.append(STREAM, [new_envelope(STREAM, c.RunRequested(story="s", repo="/r", budget_usd=5), producer="test")], 0)).events
        assert await dispatcher.dispatch(first) == "handled"  # the run's first event: nothing before it
        (second,) = (await store.append(STREAM, [failed("next")], 2)).events  # after the service's own output
        assert await dispatcher.dispatch(second) == "handled"
        assert store.reads == 0

        await store.append(STREAM, [failed("not for it")], 4)
        (skipping,) = (await store.append(STREAM, [failed("after a gap")], 5)).events
        # A gap: the kept state (version 4) does not reach the event before this one (version 5). Read.
        assert await dispatcher.dispatch(skipping) == "handled"
        assert store.reads == 1

        assert service.states == [await stored_up_to(store, 1), await stored_up_to(store, 3), await stored_up_to(store, 6)]
        assert [e.type for e in await store.read_stream(STREAM)] == [
            "RunRequested", "RunBlocked", "RunFailed", "RunBlocked", "RunFailed", "RunFailed", "RunBlocked",
        ]  # fmt: skip
    finally:
        await store.close()


async def test_a_state_kept_by_one_instance_while_another_moved_the_run_is_read_again(tmp_path):
    """Two instances of one service (a partition moved between them): the first keeps the run at the
    version of its own output, the second appends meanwhile. The first's next handling decides on its
    kept state, its append is refused, and it decides again on the run as stored."""
    store = CountingStore(tmp_path / "events.db")
    try:
        first_service, second_service = Answering(), Answering()
        first, second = Dispatcher(first_service, store, instance="a"), Dispatcher(second_service, store, instance="b")
        (requested,) = (await store.append(STREAM, [new_envelope(STREAM, c.RunRequested(story="s", repo="/r", budget_usd=5), producer="test")], 0)).events
        assert await first.dispatch(requested) == "handled"  # keeps the run at version 2
        (moved,) = (await store.append(STREAM, [failed("to the other instance")], 2)).events
        (after,) = (await store.append(STREAM, [failed("written meanwhile")], 3)).events
        assert await second.dispatch(after) == "handled"  # version 5: its output

        assert await first.dispatch(moved) == "handled"  # version 3: next after the kept state, but stale

        assert first_service.states[1] == await stored_up_to(store, 3)  # decided first on the kept state
        assert first_service.states[2] == await stored_up_to(store, 5)  # refused, read, decided again
        stream = await store.read_stream(STREAM)
        assert [e.stream_version for e in stream] == [1, 2, 3, 4, 5, 6]
        assert stream[-1].payload == c.RunBlocked(reason="seen at 5")
    finally:
        await store.close()


async def test_an_event_that_is_not_the_stored_one_is_not_trusted_after_a_refusal(tmp_path):
    """The kept state folded an envelope the store does not hold at its version (never stored): the
    refused append makes the dispatcher read the run from the start, and the handling lands."""
    store = CountingStore(tmp_path / "events.db")
    try:
        service = Answering()
        dispatcher = Dispatcher(service, store)
        phantom = new_envelope(STREAM, c.RunRequested(story="never stored", repo="/r", budget_usd=5), producer="test")
        phantom = phantom.positioned(1, 1)
        assert await dispatcher.dispatch(phantom) == "handled"
        assert service.states[-1] == fold([])
        stream = await store.read_stream(STREAM)
        assert [(e.stream_version, e.type) for e in stream] == [(1, "RunBlocked")]
    finally:
        await store.close()


async def test_a_batch_asked_about_at_once_is_handled_without_a_check_per_event_and_redeliveries_stay_skipped(tmp_path):
    store = CountingStore(tmp_path / "events.db")
    try:
        service = Answering()
        dispatcher = Dispatcher(service, store)
        (first,) = (await store.append(STREAM, [new_envelope(STREAM, c.RunRequested(story="s", repo="/r", budget_usd=5), producer="test")], 0)).events
        assert await dispatcher.dispatch(first) == "handled"
        (second,) = (await store.append(STREAM, [failed("next")], 2)).events
        checks = store.checks

        await dispatcher.check_handled_ahead([first.event_id, second.event_id])  # `first` comes again
        assert await dispatcher.dispatch(first) == "duplicate"
        assert await dispatcher.dispatch(second) == "handled"
        assert store.checks == checks + 1  # only for the one found handled
        assert await dispatcher.dispatch(second) == "duplicate"  # asked about once: a later delivery is checked
        assert len(service.states) == 2
        assert [e.type for e in await store.read_stream(STREAM)] == ["RunRequested", "RunBlocked", "RunFailed", "RunBlocked"]
    finally:
        await store.close()

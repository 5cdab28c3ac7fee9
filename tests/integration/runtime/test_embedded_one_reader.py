"""The embedded runtime reads the global order once for all its services: each service still keeps its
own position and handles every event meant for it exactly once, whether another service is slow,
fails, or the process restarts."""

from __future__ import annotations

import asyncio

from runtime_flow import Finisher, Stamper, request_run, types_of
from wave_runtime import EmbeddedRuntime, FileDeadLetters, RetryPolicy
from wave_runtime.embedded import GlobalOrderFeed
from wave_store.sqlite import SqliteEventStore

DONE = ["RunRequested", "WorkspaceReady", "RunCompleted"]


class CountingStore(SqliteEventStore):
    """Counts the reads of the global order."""

    reads_of_the_order = 0

    async def read_all(self, from_position: int = 0, limit: int = 1000):
        self.reads_of_the_order += 1
        return await super().read_all(from_position, limit)


class Watcher:
    """Handles its event types by noting each event's position (after `delay_s`); stores nothing."""

    def __init__(self, name: str, handles: frozenset[str], delay_s: float = 0.0, fails_on: str | None = None) -> None:
        self.name, self.handles, self.delay_s, self.fails_on = name, handles, delay_s, fails_on
        self.seen: list[int] = []

    async def handle(self, state, event):
        if self.fails_on is not None and self.fails_on in event.payload.story:
            raise ValueError(f"{self.name} cannot handle this story")
        await asyncio.sleep(self.delay_s)
        self.seen.append(event.global_position)
        return []


class CountingStamper(Stamper):
    def __init__(self) -> None:
        self.seen: list[int] = []

    async def handle(self, state, event):
        self.seen.append(event.global_position)
        return await super().handle(state, event)


async def positions_of(store, event_type: str) -> list[int]:
    return [e.global_position for e in await store.read_all(0, 10_000) if e.type == event_type]


async def test_six_services_share_one_read_of_the_global_order(tmp_path):
    store = CountingStore(tmp_path / "wave.db")
    watchers = [Watcher(f"watcher-{i}", frozenset({"RunCompleted"})) for i in range(4)]
    try:
        async with EmbeddedRuntime(store, [Stamper(), Finisher(), *watchers], FileDeadLetters(tmp_path / "dl.jsonl")) as runtime:
            await runtime.drain()
            store.reads_of_the_order = 0
            runs = [await request_run(store) for _ in range(10)]
            await runtime.drain()
        for run_id in runs:
            assert await types_of(store, run_id) == DONE
        completed = await positions_of(store, "RunCompleted")
        for watcher in watchers:
            assert watcher.seen == completed
        appended = 3 * len(runs)
        # One follower per service reading for itself read the order at least once per service and commit.
        assert store.reads_of_the_order <= 3 * appended, store.reads_of_the_order
    finally:
        await store.close()


async def test_a_slow_service_and_a_failing_one_hold_no_other_back_and_miss_nothing(tmp_path):
    store = SqliteEventStore(tmp_path / "wave.db")
    slow = Watcher("slow", frozenset({"RunRequested"}), delay_s=0.3)
    failing = Watcher("failing", frozenset({"RunRequested"}), fails_on="fragile")
    letters = FileDeadLetters(tmp_path / "dl.jsonl")
    retry = RetryPolicy(max_attempts=2, base_delay_s=0.01)
    runtime = EmbeddedRuntime(store, [slow, failing, Stamper(), Finisher()], letters, retry=retry)
    runtime.feed.keep = 4  # the slow one falls behind what the feed keeps and reads the store itself
    try:
        async with runtime:
            runs = [await request_run(store, "a fragile story" if i == 3 else "add a health endpoint") for i in range(12)]
            while len(await positions_of(store, "RunCompleted")) < len(runs):
                await runtime.wait_for_progress(runtime.progress(), 0.05)
            assert len(slow.seen) < len(runs)  # the others finished every run without waiting for it
            await runtime.drain(timeout=30)
        requested = await positions_of(store, "RunRequested")
        assert slow.seen == requested  # every event, once, in order, although it fell behind
        assert failing.seen == [p for p in requested if p != requested[3]]
        assert [letter.event_type for letter in await letters.list("failing")] == ["RunRequested"]
        assert sorted(await types_of(store, runs[3])) == sorted([*DONE, "HandlingAbandoned"])
        for run_id in runs[:3] + runs[4:]:
            assert await types_of(store, run_id) == DONE
    finally:
        await store.close()


async def test_a_restart_resumes_each_service_from_its_own_position(tmp_path):
    path = tmp_path / "wave.db"
    letters = FileDeadLetters(tmp_path / "dl.jsonl")
    store = SqliteEventStore(path)
    try:
        first = [await request_run(store) for _ in range(3)]
        stamper = CountingStamper()
        async with EmbeddedRuntime(store, [stamper], letters) as runtime:  # the finisher is not running yet
            await runtime.drain()
        assert stamper.seen == await positions_of(store, "RunRequested")
        assert await store.load_position("subscription:stamper") == await store.last_position()
        assert await store.load_position("subscription:finisher") == 0
    finally:
        await store.close()

    store = SqliteEventStore(path)  # a new process: the positions come from the store
    try:
        stamper, watcher = CountingStamper(), Watcher("watcher", frozenset({"WorkspaceReady"}))
        async with EmbeddedRuntime(store, [stamper, Finisher(), watcher], letters) as runtime:
            await runtime.drain()
            assert stamper.seen == []  # resumed after what it handled
            assert watcher.seen == await positions_of(store, "WorkspaceReady")  # from the start: all of it
            later = await request_run(store)
            await runtime.drain()
        assert stamper.seen == (await positions_of(store, "RunRequested"))[-1:]
        assert watcher.seen == await positions_of(store, "WorkspaceReady")
        for run_id in [*first, later]:
            assert await types_of(store, run_id) == DONE
        for service in ("stamper", "finisher", "watcher"):
            assert await store.load_position(f"subscription:{service}") == await store.last_position()
    finally:
        await store.close()


async def test_a_crash_mid_stream_stores_every_output_once_after_the_restart(tmp_path):
    path = tmp_path / "wave.db"
    letters = FileDeadLetters(tmp_path / "dl.jsonl")
    store = SqliteEventStore(path)
    before = Watcher("watcher", frozenset({"RunRequested"}), delay_s=0.02)
    try:
        runs = [await request_run(store) for _ in range(20)]
        runtime = EmbeddedRuntime(store, [Stamper(), Finisher(), before], letters)
        await runtime.start()
        while len(await positions_of(store, "RunCompleted")) < 5:
            await runtime.wait_for_progress(runtime.progress(), 0.05)
        await runtime.stop(abort=True)  # as a crash: the handlings in hand are lost
        for service in ("stamper", "finisher", "watcher"):  # and came before any position was saved
            await store.save_position(f"subscription:{service}", 0)
    finally:
        await store.close()
    assert 0 < len(before.seen) < len(runs)

    store = SqliteEventStore(path)
    after = Watcher("watcher", frozenset({"RunRequested"}))
    try:
        async with EmbeddedRuntime(store, [Stamper(), Finisher(), after], letters) as runtime:
            await runtime.drain()
        for run_id in runs:
            assert await types_of(store, run_id) == DONE
        both = before.seen + after.seen
        assert sorted(set(both)) == await positions_of(store, "RunRequested")
        assert len(both) - len(set(both)) <= 1  # at most the handling cut short is done again
        assert await letters.list() == []
    finally:
        await store.close()


async def test_a_follower_waiting_while_more_arrives_than_is_kept_gets_every_event(tmp_path):
    store = SqliteEventStore(tmp_path / "wave.db")
    try:
        await request_run(store)
        feed = GlobalOrderFeed(store, keep=2)
        (first,) = await feed.after(0, wait_s=1)
        waiting = asyncio.ensure_future(feed.after(first.global_position, wait_s=5))
        await asyncio.sleep(0.05)  # the follower waits for an append
        for _ in range(5):
            await request_run(store)
        got = await waiting
        while got[-1].global_position < 6:
            got += await feed.after(got[-1].global_position, wait_s=1)
        assert [e.global_position for e in got] == [2, 3, 4, 5, 6]
    finally:
        await store.close()

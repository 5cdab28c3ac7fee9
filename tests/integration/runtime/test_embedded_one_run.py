"""The embedded runtime driving one run: the other runs in the store are left exactly as they were, and
handled in full when they are driven in turn."""

from __future__ import annotations

from runtime_flow import Finisher, Stamper, request_run, types_of
from wave_events import run_stream_id
from wave_runtime import EmbeddedRuntime, FileDeadLetters
from wave_store.sqlite import SqliteEventStore


async def test_driving_one_run_leaves_the_others_for_later(tmp_path):
    store = SqliteEventStore(tmp_path / "wave.db")
    letters = FileDeadLetters(tmp_path / "dead-letters.jsonl")
    try:
        waiting = await request_run(store, "an earlier run left behind")
        mine = await request_run(store)
        later = await request_run(store, "a later run")

        async with EmbeddedRuntime(store, [Stamper(), Finisher()], letters, only_run=mine) as runtime:
            await runtime.drain()
        assert await types_of(store, mine) == ["RunRequested", "WorkspaceReady", "RunCompleted"]
        assert await types_of(store, waiting) == ["RunRequested"]
        assert await types_of(store, later) == ["RunRequested"]

        async with EmbeddedRuntime(store, [Stamper(), Finisher()], letters, only_run=later) as runtime:
            await runtime.drain()
        assert await types_of(store, later) == ["RunRequested", "WorkspaceReady", "RunCompleted"]
        assert await types_of(store, waiting) == ["RunRequested"]

        # the run stored first was skipped twice: its events are still there to be handled, once
        async with EmbeddedRuntime(store, [Stamper(), Finisher()], letters, only_run=waiting) as runtime:
            await runtime.drain()
        assert await types_of(store, waiting) == ["RunRequested", "WorkspaceReady", "RunCompleted"]
        async with EmbeddedRuntime(store, [Stamper(), Finisher()], letters) as runtime:
            await runtime.drain()
        for run_id in (waiting, mine, later):
            assert await types_of(store, run_id) == ["RunRequested", "WorkspaceReady", "RunCompleted"]
    finally:
        await store.close()


async def test_another_runs_timer_may_fire_but_its_event_waits_for_that_run(tmp_path):
    store = SqliteEventStore(tmp_path / "wave.db")
    letters = FileDeadLetters(tmp_path / "dead-letters.jsonl")
    try:
        timed = await request_run(store, "a timer run")
        async with EmbeddedRuntime(store, [Stamper(), Finisher()], letters, only_run=timed) as runtime:
            await runtime.drain()  # the stamper schedules a RunCancelled 0.3 s from now
        mine = await request_run(store)
        async with EmbeddedRuntime(store, [Stamper(), Finisher()], letters, only_run=mine) as runtime:
            await runtime.drain()
            while "RunCancelled" not in await types_of(store, timed):
                await runtime.drain()
        assert await types_of(store, timed) == ["RunRequested", "RunCancelled"]
        assert await types_of(store, mine) == ["RunRequested", "WorkspaceReady", "RunCompleted"]
        fired = (await store.read_stream(run_stream_id(timed)))[-1]
        for service in ("stamper", "finisher"):  # a follower of run `timed` must still read the event fired
            assert await store.load_position(f"subscription:{service}") < fired.global_position
    finally:
        await store.close()

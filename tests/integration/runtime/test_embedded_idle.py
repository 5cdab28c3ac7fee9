"""An embedded runtime waiting costs (next to) nothing: waiting for a timer or for the next event, its
threads sleep until something is stored, instead of polling the store every few milliseconds."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

from wave_events import catalogue as c
from wave_events import new_envelope, run_stream_id
from wave_runtime import EmbeddedRuntime, FileDeadLetters, ScheduleTimer
from wave_store.sqlite import SqliteEventStore

IDLE_CPU_LIMIT = 0.02  # of one core; polling every few milliseconds took 85%


class Postponer:
    """Answers a run request with a timer far away: the run then waits."""

    name = "postponer"
    handles = frozenset({"RunRequested", "RunCancelled"})

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s

    async def handle(self, state, event):
        if event.type == "RunCancelled":
            return []
        due = datetime.now(UTC) + timedelta(seconds=self.delay_s)
        return [ScheduleTimer(f"later-{state.run_id}", due, c.RunCancelled(cancelled_by="timer"))]


class Bystander:
    """One of the services a `wave run` follows the store with, none of which has anything to do."""

    handles = frozenset({"RunCompleted"})

    def __init__(self, name: str) -> None:
        self.name = name

    async def handle(self, state, event):
        return []


def services(delay_s: float) -> list:
    """As many followers as `wave run` has: the one that waits and five with nothing to do."""
    return [Postponer(delay_s), *(Bystander(f"bystander-{n}") for n in range(5))]


async def request_run(store) -> str:
    run_id = uuid.uuid4().hex[:12]
    event = new_envelope(run_stream_id(run_id), c.RunRequested(story="wait", repo="/srv/r", budget_usd=1), producer="test")
    await store.append(event.stream_id, [event], 0)
    return run_id


async def cpu_share_while(waiting) -> float:
    """The share of one core this process used while `waiting` ran."""
    started_cpu, started = time.process_time(), time.monotonic()
    await waiting
    return (time.process_time() - started_cpu) / (time.monotonic() - started)


async def test_a_runtime_waiting_on_a_timer_uses_almost_no_cpu(tmp_path):
    store = SqliteEventStore(tmp_path / "wave.db")
    try:
        run_id = await request_run(store)
        async with EmbeddedRuntime(store, services(60), FileDeadLetters(tmp_path / "dead.jsonl"), only_run=run_id) as runtime:
            await runtime.drain()
            assert await store.timer_status(f"later-{run_id}") == "pending"
            share = await cpu_share_while(asyncio.sleep(3))
        assert share < IDLE_CPU_LIMIT, f"the idle runtime used {share:.1%} of a core"
    finally:
        await store.close()


async def test_a_drain_waiting_for_a_busy_service_uses_almost_no_cpu(tmp_path):
    store = SqliteEventStore(tmp_path / "wave.db")
    try:
        run_id = await request_run(store)
        async with EmbeddedRuntime(store, services(60), FileDeadLetters(tmp_path / "dead.jsonl"), only_run=run_id) as runtime:
            await runtime.drain()
            # With the services stopped, an event stored now is never handled: drain() waits to its deadline.
            other = new_envelope(run_stream_id(run_id), c.RunCancelled(cancelled_by="test"), producer="test")
            await runtime.stop()
            await store.append(other.stream_id, [other], await store.stream_version(other.stream_id))

            async def drain_times_out():
                try:
                    await runtime.drain(timeout=3)
                except TimeoutError:
                    return
                raise AssertionError("drain returned though no service was running")

            share = await cpu_share_while(drain_times_out())
        assert share < IDLE_CPU_LIMIT, f"waiting in drain() used {share:.1%} of a core"
    finally:
        await store.close()


async def test_a_due_timer_fires_and_is_handled_promptly(tmp_path):
    store = SqliteEventStore(tmp_path / "wave.db")
    try:
        run_id = await request_run(store)
        async with EmbeddedRuntime(store, services(0.5), FileDeadLetters(tmp_path / "dead.jsonl"), only_run=run_id) as runtime:
            await runtime.drain()
            started = time.monotonic()
            while await store.timer_status(f"later-{run_id}") != "fired":
                assert time.monotonic() - started < 3, "the timer did not fire within 3 s of being due in 0.5 s"
                await asyncio.sleep(0.05)
            await runtime.drain(timeout=2)
        assert [e.type for e in await store.read_stream(run_stream_id(run_id))] == ["RunRequested", "RunCancelled"]
    finally:
        await store.close()

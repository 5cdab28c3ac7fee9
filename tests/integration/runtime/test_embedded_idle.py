"""An embedded runtime waiting costs (next to) nothing: waiting for a timer or for the next event, its
threads sleep until something is stored, instead of polling the store every few milliseconds."""

from __future__ import annotations

import asyncio
import time

from waiting_runtime import CpuUse, waiting_runtime
from wave_events import catalogue as c
from wave_events import new_envelope, run_stream_id

IDLE_CPU_LIMIT = 0.02  # of one core; polling every few milliseconds took 85%


async def test_a_runtime_waiting_on_a_timer_uses_almost_no_cpu(tmp_path):
    async with waiting_runtime(tmp_path, delay_s=60) as waiting:
        assert await waiting.store.timer_status(f"later-{waiting.run_id}") == "pending"
        with CpuUse() as used:
            await asyncio.sleep(3)
    assert used.share < IDLE_CPU_LIMIT, f"the idle runtime used {used.share:.1%} of a core"


async def test_a_drain_waiting_for_a_busy_service_uses_almost_no_cpu(tmp_path):
    async with waiting_runtime(tmp_path, delay_s=60) as waiting:
        # With the services stopped, an event stored now is never handled: drain() waits to its deadline.
        other = new_envelope(run_stream_id(waiting.run_id), c.RunCancelled(cancelled_by="test"), producer="test")
        await waiting.runtime.stop()
        await waiting.store.append(other.stream_id, [other], await waiting.store.stream_version(other.stream_id))

        async def drain_times_out():
            try:
                await waiting.runtime.drain(timeout=3)
            except TimeoutError:
                return
            raise AssertionError("drain returned though no service was running")

        with CpuUse() as used:
            await drain_times_out()
    assert used.share < IDLE_CPU_LIMIT, f"waiting in drain() used {used.share:.1%} of a core"


async def test_a_due_timer_fires_and_is_handled_promptly(tmp_path):
    async with waiting_runtime(tmp_path, delay_s=0.5) as waiting:
        started = time.monotonic()
        while await waiting.store.timer_status(f"later-{waiting.run_id}") != "fired":
            assert time.monotonic() - started < 3, "the timer did not fire within 3 s of being due in 0.5 s"
            await asyncio.sleep(0.05)
        await waiting.runtime.drain(timeout=2)
        events = await waiting.store.read_stream(run_stream_id(waiting.run_id))
    assert [e.type for e in events] == ["RunRequested", "RunCancelled"]

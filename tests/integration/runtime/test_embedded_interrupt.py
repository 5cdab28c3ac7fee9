"""Ctrl-C on a followed run is never lost: `wave run` cancels its drive, which is most of the time
waiting for the runtime to move. An interruption arriving just as a service takes a step (on a loaded
machine, often) must still end the wait, or the run and its sandbox go on as if nothing was typed."""

from __future__ import annotations

import asyncio

import pytest
from waiting_runtime import waiting_runtime


async def test_a_wait_interrupted_as_the_runtime_moves_ends_interrupted(tmp_path):
    async with waiting_runtime(tmp_path, delay_s=60) as waiting:
        moved = waiting.runtime.progress()
        waiter = asyncio.create_task(waiting.runtime.wait_for_progress(moved, 30))
        await asyncio.sleep(0)  # the drive is waiting
        moved.set()  # a service takes a step
        waiter.cancel()  # and Ctrl-C arrives before the drive wakes up
        with pytest.raises(asyncio.CancelledError):
            await waiter


async def test_a_wait_interrupted_while_nothing_moves_ends_interrupted(tmp_path):
    async with waiting_runtime(tmp_path, delay_s=60) as waiting:
        waiter = asyncio.create_task(waiting.runtime.wait_for_progress(waiting.runtime.progress(), 30))
        await asyncio.sleep(0.1)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter


async def test_a_wait_ends_at_its_timeout_or_when_the_runtime_moves(tmp_path):
    async with waiting_runtime(tmp_path, delay_s=60) as waiting:
        await asyncio.wait_for(waiting.runtime.wait_for_progress(waiting.runtime.progress(), 0.1), 5)
        moved = waiting.runtime.progress()
        waiter = asyncio.create_task(waiting.runtime.wait_for_progress(moved, 30))
        await asyncio.sleep(0)
        moved.set()
        await asyncio.wait_for(waiter, 5)

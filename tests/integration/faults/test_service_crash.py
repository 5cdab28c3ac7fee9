"""Guarantees 1 and 3 against a crashing service: `kill -9` each service process in the middle of a
stream of 1,000 inputs, start it again, and every input still produces exactly one output."""

from __future__ import annotations

import asyncio
import time

import pytest
from fault_flow import MIDDLE, OUTPUT, count_of, feed, outcome, wait_for_count

pytestmark = [pytest.mark.postgres, pytest.mark.kafka, pytest.mark.slow]

INPUTS = 1000


async def _kill_and_restart(child, pool, produced: str, at: int) -> float:
    """Wait until `at` events of `produced` exist, SIGKILL the process making them, start it again;
    returns the seconds from the kill until it produced again."""
    await wait_for_count(pool, produced, at, timeout=90)
    before = await count_of(pool, produced)
    killed = time.monotonic()
    child.kill9()
    await asyncio.sleep(1.0)
    after_kill = await count_of(pool, produced)  # what got stored before the process died
    child.start()
    await wait_for_count(pool, produced, max(before, after_kill) + 1, timeout=90)
    return time.monotonic() - killed


async def test_kill_9_a_service_mid_stream(deployment, store, figures):
    pool = store.pool
    deployment.relay().start()
    a = deployment.service("fault_flow:create_a").start()
    b = deployment.service("fault_flow:create_b").start()
    feeding = asyncio.create_task(feed(store, INPUTS, seconds=6))
    started = time.monotonic()

    recovery_a = await _kill_and_restart(a, pool, MIDDLE, INPUTS // 4)
    recovery_b = await _kill_and_restart(b, pool, OUTPUT, INPUTS // 2)
    runs = await feeding
    await wait_for_count(pool, OUTPUT, INPUTS, timeout=120)
    elapsed = time.monotonic() - started
    await asyncio.sleep(1.0)  # anything late would show now

    result = await outcome(pool, runs)
    total = await pool.fetchval("SELECT count(*) FROM events")
    figures.report(
        inputs=INPUTS, kills=2, lost=result.lost, duplicates_applied=result.duplicates_applied,
        handler_reruns=sum(result.handler_reruns.values()), recovery_a_s=recovery_a, recovery_b_s=recovery_b,
        total_s=elapsed,
    )  # fmt: skip
    assert result.lost == 0
    assert result.duplicates_applied == 0
    assert result.wrong_order == 0 and result.wrong_cause == 0
    assert total == 3 * INPUTS  # no stray event: one input, one middle, one output per run
    assert a.alive and b.alive

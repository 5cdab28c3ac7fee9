"""The subscription port's contract: every transport passes it.

The handlers (tests/support/runtime_flow.py) cannot tell which transport drives them; the guarantees
are the same: each event handled once, outputs in stream order, timers fire once, a poison event
is dead-lettered while the rest go on, and a re-drive brings it back after the fix.

`TransportContract` is not collected on its own; tests/integration/runtime/test_runtime_transports.py
subclasses it once per transport.
"""

from __future__ import annotations

import asyncio

import pytest
from runtime_flow import Finisher, Stamper, request_run, types_of
from wave_events import run_stream_id
from wave_events.projections import fold


async def eventually(check, timeout: float = 30.0):
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.05)


class TransportContract:
    """Subclass once per transport and provide a `transport` fixture: an object with `store`,
    `dead_letters`, `running(services)` (an async context in which the services handle events) and
    `settle()` (returns once what was delivered is handled)."""

    @pytest.fixture
    def poison_fix(self, tmp_path, monkeypatch):
        """The file whose existence tells the Stamper the poison is fixed."""
        path = tmp_path / "poison-fixed"
        monkeypatch.setenv("WAVE_TEST_POISON_FIXED", str(path))
        return path

    async def test_every_request_is_handled_once_and_in_stream_order(self, transport, poison_fix):
        store = transport.store
        async with transport.running([Stamper(), Finisher()]):
            runs = [await request_run(store) for _ in range(20)]

            async def done():
                return all([len(await types_of(store, r)) >= 3 for r in runs])

            await eventually(done)
            await transport.settle()
        for run_id in runs:
            assert await types_of(store, run_id) == ["RunRequested", "WorkspaceReady", "RunCompleted"]
            events = await store.read_stream(run_stream_id(run_id))
            assert events[1].causation_id == events[0].event_id and events[2].causation_id == events[1].event_id

    async def test_restarting_the_services_handles_nothing_twice(self, transport, poison_fix):
        store = transport.store
        async with transport.running([Stamper(), Finisher()]):
            first = await request_run(store)
            await eventually(lambda: _has(store, first, 3))
        async with transport.running([Stamper(), Finisher()]):
            second = await request_run(store)
            await eventually(lambda: _has(store, second, 3))
            await transport.settle()
        assert await types_of(store, first) == ["RunRequested", "WorkspaceReady", "RunCompleted"]
        assert await types_of(store, second) == ["RunRequested", "WorkspaceReady", "RunCompleted"]

    async def test_a_timer_fires_once(self, transport, poison_fix):
        store = transport.store
        async with transport.running([Stamper(), Finisher()]):
            run_id = await request_run(store, "timer please")
            await eventually(lambda: _has(store, run_id, 2))
            await asyncio.sleep(0.5)
            await transport.settle()
        assert await types_of(store, run_id) == ["RunRequested", "RunCancelled"]
        assert await store.timer_status(f"cancel-{run_id}") == "fired"

    async def test_a_poison_event_is_dead_lettered_and_redriven_after_the_fix(self, transport, poison_fix):
        store = transport.store
        async with transport.running([Stamper(), Finisher()]):
            poisoned = await request_run(store, "poison the well")
            healthy = await request_run(store)
            await eventually(lambda: _has(store, healthy, 3))
            await eventually(lambda: _dead(transport, "stamper", 1))
            letters = await transport.dead_letters.list("stamper")
            assert [(d.event_type, d.error_type) for d in letters] == [("RunRequested", "ValueError")]
            assert "poisoned story" in letters[0].error and not letters[0].redriven
            # The run says it is stalled, and why.
            await eventually(lambda: _has(store, poisoned, 2))
            assert await types_of(store, poisoned) == ["RunRequested", "HandlingAbandoned"]
            [stall] = fold(await store.read_stream(f"run-{poisoned}")).dead_letters
            assert (stall.service, stall.event_type, stall.attempts) == ("stamper", "RunRequested", letters[0].attempts)
            assert "poisoned story" in stall.reason

            poison_fix.touch()
            assert await transport.dead_letters.redrive("stamper") == 1
            await eventually(lambda: _has(store, poisoned, 4))
            await transport.settle()
        assert await types_of(store, poisoned) == ["RunRequested", "HandlingAbandoned", "WorkspaceReady", "RunCompleted"]
        assert all(d.redriven for d in await transport.dead_letters.list("stamper"))
        assert await transport.dead_letters.redrive("stamper") == 0


async def _has(store, run_id: str, count: int) -> bool:
    return len(await types_of(store, run_id)) >= count


async def _dead(transport, consumer: str, count: int) -> bool:
    return len(await transport.dead_letters.list(consumer)) >= count

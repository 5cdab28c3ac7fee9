"""An embedded runtime with nothing to do but wait, as `wave run` waits on a retry: one service that
answers a run request with a timer far away, and five with nothing to do (not collected: no test_
prefix). The idle tests (tests/integration/runtime/test_embedded_idle.py) check that waiting costs
next to nothing; the idle benchmark (bench/idle_bench.py) measures how little."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from wave_events import catalogue as c
from wave_events import new_envelope, run_stream_id
from wave_runtime import EmbeddedRuntime, FileDeadLetters, ScheduleTimer
from wave_store import EventStore
from wave_store.sqlite import SqliteEventStore


class Postponer:
    """Answers a run request with a timer `delay_s` away (its event cancels the run): the run then waits."""

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


def bystanders(count: int = 5) -> list[Bystander]:
    return [Bystander(f"bystander-{n}") for n in range(count)]


def waiting_services(delay_s: float) -> list:
    """As many followers as `wave run` has: the one that waits and five with nothing to do."""
    return [Postponer(delay_s), *bystanders()]


async def request_run(store: EventStore) -> str:
    """A new run's request, stored; returns the run id."""
    run_id = uuid.uuid4().hex[:12]
    event = new_envelope(run_stream_id(run_id), c.RunRequested(story="wait", repo="/srv/r", budget_usd=1), producer="test")
    await store.append(event.stream_id, [event], 0)
    return run_id


@dataclass(frozen=True)
class Waiting:
    store: SqliteEventStore
    run_id: str
    runtime: EmbeddedRuntime


@contextlib.asynccontextmanager
async def waiting_runtime(directory: Path, delay_s: float) -> AsyncIterator[Waiting]:
    """The embedded runtime on a SQLite store in `directory`, driving one run whose request it has
    answered with a timer `delay_s` away: from here on it waits."""
    store = SqliteEventStore(directory / "wave.db")
    try:
        run_id = await request_run(store)
        dead_letters = FileDeadLetters(directory / "dead.jsonl")
        async with EmbeddedRuntime(store, waiting_services(delay_s), dead_letters, only_run=run_id) as runtime:
            await runtime.drain()
            yield Waiting(store, run_id, runtime)
    finally:
        await store.close()


class CpuUse:
    """The CPU seconds this process uses over a `with` block, and the wall seconds the block takes."""

    cpu_s: float
    wall_s: float

    def __enter__(self) -> CpuUse:
        self._started_cpu, self._started = time.process_time(), time.monotonic()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cpu_s = time.process_time() - self._started_cpu
        self.wall_s = time.monotonic() - self._started

    @property
    def share(self) -> float:
        """Of one core."""
        return self.cpu_s / self.wall_s

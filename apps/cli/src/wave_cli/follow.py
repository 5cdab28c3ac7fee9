"""Following a run until it stops for a reason a person should hear: it finished, it waits for a
decision, or nothing is left that could move it. Embedded, the services run in this process while it
is followed; distributed, they run elsewhere and this only reads the store."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from wave_app.queries import list_runs
from wave_events import Envelope
from wave_events.envelope import run_stream_id
from wave_events.projections import RunState, evolve
from wave_runtime import DeadLetters, EmbeddedRuntime, Service
from wave_store import EventStore

from .progress import Line, progress_lines
from .snapshots import Snapshots

Print = Callable[[Line], None]
LOOK_AGAIN_S = 1.0  # the longest a followed embedded run goes unlooked at


@dataclass(frozen=True)
class Outcome:
    state: RunState
    reason: str  # finished, awaiting_human, stalled, timeout


def _settled(state: RunState) -> str | None:
    if state.finished:
        return "finished"
    if state.status == "stalled":
        return "stalled"  # a dead-lettered event: no service will move the run until it is re-driven
    if state.status == "awaiting_human" and not state.pending_timers:
        return "awaiting_human"
    return None


class RunFollower:
    """Prints a run's events as they are stored and keeps its live projection up to date."""

    def __init__(self, store: EventStore, run_id: str, show: Print, snapshots: Snapshots) -> None:
        self.store, self.run_id, self.show, self.snapshots = store, run_id, show, snapshots
        self.state = RunState()
        self.seen = 0  # stream version printed so far

    async def catch_up(self, *, quiet: bool = False) -> list[Envelope]:
        events = await self.store.read_stream(run_stream_id(self.run_id), self.seen + 1)
        for envelope in events:
            before, self.state = self.state, evolve(self.state, envelope)
            self.seen = envelope.stream_version or self.seen + 1
            if not quiet:
                for line in progress_lines(before, self.state, envelope):
                    self.show(line)
        if events:
            self.snapshots.save(self.state)
        return events


async def drive_embedded(
    store: EventStore,
    services: Sequence[Service],
    dead_letters: DeadLetters,
    follower: RunFollower,
    *,
    timeout_s: float,
    idle_s: float = 1.0,
) -> Outcome:
    """Run every service in this process on the followed run alone until it settles. A run that is
    neither finished nor waiting, while every service has handled everything and no timer is pending,
    has stalled (a dead-lettered event, a missing service): say so rather than wait forever.

    Interrupted (Ctrl-C, SIGTERM), the services stop at once, the sandbox with them; what they had
    not finished is not recorded, so `wave resume` does it again."""
    deadline = time.monotonic() + timeout_s
    runtime = EmbeddedRuntime(store, services, dead_letters, only_run=follower.run_id)
    with _terminate_cancels():
        try:
            async with runtime:
                return await _until_settled(store, runtime, follower, deadline, idle_s)
        except asyncio.CancelledError:
            follower.show(Line(f"stopped; run {follower.run_id} goes on with: wave resume {follower.run_id}", "yellow"))
            raise


async def _until_settled(store: EventStore, runtime: EmbeddedRuntime, follower: RunFollower, deadline: float,
                         idle_s: float) -> Outcome:
    idle_since: float | None = None
    while True:
        moved = runtime.progress()  # taken before looking: a step taken meanwhile ends the wait below
        await follower.catch_up()
        reason = _settled(follower.state)
        drained = await runtime.drained()
        if reason and drained:
            await follower.catch_up()
            return Outcome(follower.state, reason)
        if drained and not follower.state.pending_timers:
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since >= idle_s:
                return Outcome(follower.state, "stalled")
        else:
            idle_since = None
        now = time.monotonic()
        if now >= deadline:
            return Outcome(follower.state, "timeout")
        # Every event stored (by a service, a timer, another process) moves a follower: wait for that,
        # or for the moment the run would count as stalled.
        wake_at = min(deadline, now + LOOK_AGAIN_S, idle_since + idle_s if idle_since is not None else deadline)
        await runtime.wait_for_progress(moved, wake_at - now)


@contextmanager
def _terminate_cancels() -> Iterator[None]:
    """SIGTERM stops the drive the way Ctrl-C does (the current task is cancelled), so the sandbox is
    taken down rather than left running after this process."""
    loop, task = asyncio.get_running_loop(), asyncio.current_task()
    try:
        loop.add_signal_handler(signal.SIGTERM, task.cancel) if task else None
        installed = task is not None
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals here
        installed = False
    try:
        yield
    finally:
        if installed:
            loop.remove_signal_handler(signal.SIGTERM)


async def other_unfinished_runs(store: EventStore, run_id: str) -> list[str]:
    """Runs other than `run_id` that are neither finished nor waiting for a decision: only `wave
    resume` moves them on (oldest activity first)."""
    # An unreadable run cannot be resumed: `wave runs` names it, and it is left out here.
    found = [listing.run_id for listing in await list_runs(store)
             if listing.state is not None and listing.run_id != run_id
             and not listing.state.finished and listing.state.status != "awaiting_human"]
    return list(reversed(found))


def unfinished_line(others: Sequence[str]) -> str | None:
    if not others:
        return None
    runs = f"{len(others)} other run is" if len(others) == 1 else f"{len(others)} other runs are"
    return f"{runs} unfinished: " + " · ".join(f"wave resume {run_id}" for run_id in others)


async def follow_distributed(
    follower: RunFollower,
    *,
    timeout_s: float,
    stalled_after_s: float = 900.0,  # longer than a test run in QA's sandbox (600 s by default)
    watch: Callable[[], None] | None = None,
) -> Outcome:
    """Read the run's stream while services elsewhere work on it; `watch` may raise to give up early."""
    deadline = time.monotonic() + timeout_s
    last_change = time.monotonic()
    while True:
        if watch is not None:
            watch()
        if await follower.catch_up():
            last_change = time.monotonic()
        reason = _settled(follower.state)
        if reason:
            return Outcome(follower.state, reason)
        now = time.monotonic()
        if now >= deadline:
            return Outcome(follower.state, "timeout")
        if now - last_change >= stalled_after_s and not follower.state.pending_timers:
            return Outcome(follower.state, "stalled")
        await follower.store.wait_for_append(await follower.store.last_position(), 0.5)

"""Following a run from a command: embedded, this process drives it with services from the
composition root; distributed, it reads the store while the services elsewhere move it."""

from __future__ import annotations

from collections.abc import Sequence

from wave_events.projections import RunState
from wave_runtime import Service
from wave_store import EventStore

from . import render
from .bootstrap import Composition
from .follow import (
    Outcome,
    RunFollower,
    drive_embedded,
    follow_distributed,
    other_unfinished_runs,
    unfinished_line,
)
from .snapshots import Snapshots


def follower_of(parts: Composition, store: EventStore, run_id: str) -> RunFollower:
    return RunFollower(store, run_id, render.show, Snapshots(parts.settings.projections_dir))


async def follow(parts: Composition, store: EventStore, run_id: str, timeout_s: float,
                 services: Sequence[Service] | None, model_source: str = "") -> Outcome:
    """Follow a run just submitted: `services` are this process's (embedded), None when distributed."""
    follower = follower_of(parts, store, run_id)
    if services is None:
        return await follow_distributed(follower, timeout_s=timeout_s)
    return await drive(parts, store, follower, services, model_source, timeout_s)


async def drive(parts: Composition, store: EventStore, follower: RunFollower, services: Sequence[Service],
                model_source: str, timeout_s: float) -> Outcome:
    """Embedded: this process runs the services on this run alone; other unfinished runs are named,
    not touched."""
    if line := unfinished_line(await other_unfinished_runs(store, follower.run_id)):
        render.console.print(line, style="yellow")
    render.offline_banner(parts.offline_banner(model_source))
    return await drive_embedded(store, services, parts.dead_letters(), follower, timeout_s=timeout_s)


async def follow_on(parts: Composition, store: EventStore, follower: RunFollower, model_source: str,
                    timeout_s: float) -> Outcome:
    """Follow a run that was already going (resumed, or just answered), with the models it was
    submitted with."""
    if parts.settings.distributed:
        return await follow_distributed(follower, timeout_s=timeout_s)
    return await drive(parts, store, follower, parts.services(model_source), model_source, timeout_s)


async def follow_from_now(parts: Composition, store: EventStore, run_id: str, decided_on: RunState,
                          timeout_s: float) -> Outcome:
    """Follow from the event just recorded (the state it was decided on is where printing starts)."""
    follower = follower_of(parts, store, run_id)
    follower.state, follower.seen = decided_on, decided_on.version
    return await follow_on(parts, store, follower, decided_on.model_source, timeout_s)

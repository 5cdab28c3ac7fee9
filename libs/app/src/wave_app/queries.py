"""What can be asked about runs: one run's events and state, every run, the stored records of a run,
and the replay check. Reads only; every refusal is an `AppError`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wave_events import Envelope, UndecodableEventError
from wave_events.envelope import run_stream_id, validate_run_id
from wave_events.projections import RunState, fold
from wave_store import EventStore
from wave_store.port import StoredEvent

from .errors import InvalidRequest, NotFound, Remedy, Unreadable


def check_run_id(run_id: str) -> str:
    try:
        return validate_run_id(run_id)
    except ValueError as exc:
        raise InvalidRequest(f"{run_id!r} is not a run id: {exc}") from None


def unreadable(run_id: str, error: UndecodableEventError) -> Unreadable:
    return Unreadable(
        f"run {run_id} is unreadable: event {error.event_id} ({error.event_type} v{error.event_version}, "
        f"#{error.stream_version}) cannot be decoded: {error.reason}",
        remedy=Remedy("raw_events", run_id),
    )


def no_such_run(run_id: str) -> NotFound:
    return NotFound(f"no run {run_id}", remedy=Remedy("list_runs", run_id))


async def load_run(store: EventStore, run_id: str) -> tuple[list[Envelope], RunState]:
    """A run's events in stream order and the state they fold to."""
    check_run_id(run_id)
    try:
        events = await store.read_stream(run_stream_id(run_id))
    except UndecodableEventError as exc:
        raise unreadable(run_id, exc) from None
    if not events:
        raise no_such_run(run_id)
    return events, fold(events)


async def read_raw(store: EventStore, run_id: str) -> list[StoredEvent]:
    """A run's records as stored, undecoded: what is left to look at when an event cannot be decoded."""
    stored = await store.read_stream_raw(run_stream_id(check_run_id(run_id)))
    if not stored:
        raise no_such_run(run_id)
    return stored


@dataclass(frozen=True)
class RunListing:
    """One run in a listing: the folded state, or the error that keeps the run from being read."""

    run_id: str
    last_event_at: datetime
    state: RunState | None = None
    error: UndecodableEventError | None = None

    @property
    def status(self) -> str:
        return "unreadable" if self.state is None else self.state.status


async def list_runs(store: EventStore) -> list[RunListing]:
    """Every run, newest activity first. A run with an event that cannot be decoded is listed as
    unreadable (naming the event and why): it never hides the other runs."""
    found = []
    for stream_id in await store.stream_ids("run-"):
        run_id = stream_id.removeprefix("run-")
        try:
            events = await store.read_stream(stream_id)
        except UndecodableEventError as exc:
            stored = await store.read_stream_raw(stream_id)
            found.append(RunListing(run_id, _parsed_time(stored[-1].occurred_at), error=exc))
            continue
        if events:
            found.append(RunListing(run_id, events[-1].occurred_at, state=fold(events)))
    return sorted(found, key=lambda listing: listing.last_event_at, reverse=True)


def _parsed_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = datetime.min
    return moment if moment.tzinfo else moment.astimezone()


# --- replay ------------------------------------------------------------------------------------


def state_document(state: RunState) -> dict[str, Any]:
    """The JSON form of a run's state (what `wave status --json` prints and what snapshots hold)."""
    return json.loads(json.dumps(state.to_dict(), default=str))


def differences(live: dict[str, Any], replayed: dict[str, Any], path: str = "") -> list[str]:
    """Every field where the two documents disagree, as `path: live != replayed`."""
    if isinstance(live, dict) and isinstance(replayed, dict):
        found: list[str] = []
        for key in sorted(set(live) | set(replayed), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in live:
                found.append(f"{where}: missing live, replay has {replayed[key]!r}")
            elif key not in replayed:
                found.append(f"{where}: live has {live[key]!r}, missing in replay")
            else:
                found.extend(differences(live[key], replayed[key], where))
        return found
    if isinstance(live, list) and isinstance(replayed, list) and len(live) == len(replayed):
        return [d for i, (a, b) in enumerate(zip(live, replayed, strict=True)) for d in differences(a, b, f"{path}[{i}]")]
    return [] if live == replayed else [f"{path}: live {live!r} != replay {replayed!r}"]


@dataclass(frozen=True)
class ReplayCheck:
    against: str  # what the replay was compared with
    differences: list[str]


def replay_checks(
    events: Sequence[Envelope], global_order: Sequence[Envelope], live: dict[str, Any] | None
) -> list[ReplayCheck]:
    """Compare the replay of a run's stream with the fold of the same events in the store's global
    order (the way a subscribed service saw them) over the whole stream, and with the live projection
    over the events it covers (it stops where this machine stopped following the run)."""
    checks = [
        ReplayCheck(
            f"global-order fold (all {len(events)} events)",
            differences(state_document(fold(global_order)), state_document(fold(events))),
        )
    ]
    if live is not None:
        covered = min(int(live.get("version") or 0), len(events))
        checks.append(
            ReplayCheck(
                f"live projection (its first {covered} events)",
                differences(live, state_document(fold(events[:covered]))),
            )
        )
    return checks


@dataclass(frozen=True)
class Replay:
    events: list[Envelope]
    checks: list[ReplayCheck]

    @property
    def state(self) -> RunState:
        return fold(self.events)


async def replay_run(store: EventStore, run_id: str, live: dict[str, Any] | None) -> Replay:
    """Rebuild a run from its stored events and check it against the global-order fold and `live`
    (the projection kept while the run was followed, or None)."""
    events, _ = await load_run(store, run_id)
    in_global_order = [e for e in await _read_everything(store) if e.stream_id == events[0].stream_id]
    return Replay(events, replay_checks(events, in_global_order, live))


async def _read_everything(store: EventStore) -> list[Envelope]:
    everything: list[Envelope] = []
    position = 0
    while batch := await store.read_all(position, 1000):
        everything.extend(batch)
        position = batch[-1].global_position or position
    return everything

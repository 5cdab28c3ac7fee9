"""The contract between a service and the runtime that drives it.

A service declares the event types it handles and turns (run state, event)
into outputs. It never appends, publishes or commits offsets itself: the
runtime wraps each output event in an envelope whose id is derived from
(cause event id, service name, index), appends it to the run's stream at the
version the decision was made on, records the service's progress in the same
transaction, and re-runs the decision on fresh state after a concurrency
conflict. The same handler runs embedded (one process, the store's global
order) and distributed (a Kafka consumer group per service).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from wave_events import DomainEvent, Envelope
from wave_events.projections import RunState


@dataclass(frozen=True)
class ScheduleTimer:
    """Emit `event` into the run's stream at `due_at` — once, even across restarts."""

    timer_id: str
    due_at: datetime
    event: DomainEvent


@dataclass(frozen=True)
class CancelTimer:
    """Drop a timer that has not fired yet; cancelling a fired or unknown timer does nothing."""

    timer_id: str


Output = DomainEvent | ScheduleTimer | CancelTimer


@runtime_checkable
class Service(Protocol):
    """One agent role. `handle` must be safe to call again for the same event:
    effects carry idempotency keys (a commit trailer, a notification key).

    Unlike the ports, which are abstract classes their adapters subclass, this is a Protocol: any object
    with `name`, `handles` and `handle` is a service, so a service needs no base class and `isinstance`
    checks its shape.

    Optionally, a service that splits its work (the developer) declares `work_types`, the event
    types of its work requests, and has a writable `hands_off` and a `concurrency`: the Kafka runner
    sets `hands_off` and takes those events from the work topic, `concurrency` at a time
    (`wave_runtime.kafka.runner`); embedded, `hands_off` stays False and the work is done in place."""

    name: str
    handles: frozenset[str]

    async def handle(self, state: RunState, event: Envelope) -> Sequence[Output]: ...


class TransientError(Exception):
    """A failure worth retrying with backoff (a timeout, a 5xx, a lost connection).
    Any other exception is retried a few times too, then dead-lettered."""


class Unrecoverable(Exception):
    """A failure no retry can fix: a person must change something first (a model source, the target
    branch's checkout, the sandbox). The runtime does not retry it: it stores `events` (the work
    already done and paid for, e.g. model call records) with a `HandlingAbandoned` and an
    `environment` escalation whose reason is `reason` and `action`. Approving the escalation hands
    the event to the service again; rejecting it stops the run."""

    def __init__(self, reason: str, action: str, events: Sequence[DomainEvent] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.action = action
        self.events = tuple(events)

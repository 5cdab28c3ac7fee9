"""Re-execution replay: every service decides again over a run's recorded history, and each output
that differs from what was stored is reported — the check that a change to a service's decisions
does not break the runs already recorded.

For each stored event a service handled (its outputs carry causation = that event and the service's
name as producer), the run is folded up to the version the decision was made on and the service's
decision function is called again. Where a decision asks for an effect (a model's answer, a test run,
a commit, a merge), the decision function returns a `Claim`: it stands for the outputs that effect
recorded, which are taken from the history, so nothing is called, run or paid for. The regenerated
outputs are compared with the stored ones by type and payload; ids, times and producer instances
are not compared.

The decision functions come from the composition root (the services are not imported here): this
layer knows runs and histories, not roles.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from wave_events import DomainEvent, Envelope
from wave_events.projections import RunState, evolve
from wave_store import EventStore

from .queries import load_run

RETRY_REQUEST = "HandlingRetryRequested"
BUDGET_CLAIM = "BudgetReserved"


@dataclass(frozen=True)
class Claim:
    """The outputs an effect recorded: the stored outputs of this decision that `accepts` takes, in
    their stored order. `what` names the effect in a report when nothing recorded answers it."""

    what: str
    accepts: Callable[[DomainEvent], bool]


Regenerated = DomainEvent | Claim
# (the state decided on, the event, the outputs stored for it: the record an effect is replayed from)
Decide = Callable[[RunState, Envelope, Sequence[DomainEvent]], Awaitable[Sequence[Regenerated]]]


@dataclass(frozen=True)
class ServiceDecisions:
    """One service as the replay sees it: its name (the producer of its outputs), the event types it
    handles, and its decision over (state, event)."""

    name: str
    handles: frozenset[str]
    decide: Decide


@dataclass(frozen=True)
class Divergence:
    """A decision that no longer gives what was stored."""

    service: str
    cause_id: str
    cause_type: str
    cause_version: int
    decided_at_version: int
    expected: list[str]  # the stored outputs, one line each
    got: list[str]  # the regenerated outputs


@dataclass(frozen=True)
class ReexecutionReport:
    run_id: str
    decisions: int  # (service, event) pairs decided again
    divergences: list[Divergence] = field(default_factory=list)


def output_line(event: DomainEvent) -> str:
    """An output as compared: its type and payload, keys sorted."""
    payload = event.model_dump(mode="json")
    return f"{event.event_type} {json.dumps(payload, sort_keys=True, separators=(',', ':'))}"


def _service_of(envelope: Envelope) -> str:
    return envelope.producer.split("@", 1)[0]


async def reexecute(run_id: str, events: Sequence[Envelope], services: Sequence[ServiceDecisions]) -> ReexecutionReport:
    """Decide again, service by service, about every event of `events` (one run's stream, in order)."""
    states = _states_by_version(events)
    by_id = {str(e.event_id): e for e in events}
    outputs: dict[tuple[str, str], list[Envelope]] = {}
    for e in events:
        # A budget claim is the bookkeeping of a call in progress, appended beside the handling, not
        # one of its outputs (the call's own records are).
        if e.causation_id is not None and e.stored_type != BUDGET_CLAIM:
            outputs.setdefault((_service_of(e), str(e.causation_id)), []).append(e)
    # A fork's copied history was decided in its parent (under the parent's run id and settings):
    # only what the fork decided itself is decided again here.
    copied_up_to = states[-1].forked_at or 0
    report = ReexecutionReport(run_id, 0)
    for service in services:
        # The version of each handling's first output: a service handles a run's events in order, so
        # its state for one event lies between its outputs for the events around it.
        firsts = sorted(
            (by_id[cause].stream_version or 0, group[0].stream_version or 0)
            for (name, cause), group in outputs.items() if name == service.name and cause in by_id
        )
        for cause in events:
            subject = _subject(service, cause, by_id)
            if subject is None:
                continue
            stored = outputs.get((service.name, str(cause.event_id)), [])
            if (cause.stream_version or 0) <= copied_up_to and all((e.stream_version or 0) <= copied_up_to for e in stored):
                continue
            versions = _decision_versions(cause.stream_version or 0, stored, firsts, len(events))
            divergence = await _decide_again(service, cause, subject, stored, versions, states)
            report = ReexecutionReport(run_id, report.decisions + 1, report.divergences)
            if divergence is not None:
                report.divergences.append(divergence)
    return report


async def reexecute_run(store: EventStore, run_id: str, services: Sequence[ServiceDecisions]) -> ReexecutionReport:
    events, _ = await load_run(store, run_id)
    return await reexecute(run_id, events, services)


def _subject(service: ServiceDecisions, cause: Envelope, by_id: Mapping[str, Envelope]) -> Envelope | None:
    if cause.type == RETRY_REQUEST:
        # An approved `environment` escalation handed the named service its event again.
        return by_id.get(str(cause.payload.event_id)) if cause.payload.service == service.name else None
    return cause if cause.type in service.handles else None


def _decision_versions(cause_version: int, stored: Sequence[Envelope], firsts: Sequence[tuple[int, int]], end: int) -> range:
    """The stream versions the decision may have been made on: exactly the one before its first
    output; with no output, anything from the event to just before the service's next output."""
    if stored:
        version = (stored[0].stream_version or 1) - 1
        return range(version, version + 1)
    before = [first for cause, first in firsts if cause <= cause_version]
    after = [first for cause, first in firsts if cause > cause_version]
    low = max([cause_version, *(v - 1 for v in before)])
    high = min([end, *(v - 1 for v in after)])
    return range(low, max(low, high) + 1)


async def _decide_again(
    service: ServiceDecisions, cause: Envelope, subject: Envelope, stored: Sequence[Envelope],
    versions: range, states: Sequence[RunState],
) -> Divergence | None:
    expected = [output_line(e.payload) for e in stored]
    first_got: list[str] | None = None
    for version in versions:
        recorded = [e.payload for e in stored]
        try:
            regenerated = await service.decide(states[min(version, len(states) - 1)], subject, recorded)
        except Exception as exc:  # noqa: BLE001 - a decision that now fails is a difference to report
            got = [f"(the decision raised {type(exc).__name__}: {exc})"]
        else:
            got = _resolve(regenerated, recorded)
        if got == expected:
            return None
        first_got = got if first_got is None else first_got
    return Divergence(
        service.name, str(cause.event_id), cause.type, cause.stream_version or 0, versions.start, expected,
        first_got or [],
    )


def _resolve(regenerated: Sequence[Regenerated], stored: Sequence[DomainEvent]) -> list[str]:
    """The regenerated outputs with each claim replaced by the stored outputs it takes."""
    taken: set[int] = set()
    lines: list[str] = []
    for item in regenerated:
        if isinstance(item, Claim):
            claimed = [i for i, e in enumerate(stored) if i not in taken and item.accepts(e)]
            if not claimed:
                lines.append(f"({item.what}: nothing recorded answers it)")
            taken.update(claimed)
            lines.extend(output_line(stored[i]) for i in claimed)
        else:
            lines.append(output_line(item))
    return lines


def _states_by_version(events: Sequence[Envelope]) -> list[RunState]:
    """The run folded up to each version: index v holds the state after the event at version v."""
    states = [RunState()]
    for envelope in events:
        states.append(evolve(states[-1], envelope))
    return states

"""Forking a run: a new run that starts as a copy of another's history up to one stream version and
goes on live from there with its own settings — "what if the reviewer had been another model", "what
if the merge policy had been stricter".

The child's stream is the parent's events 1…`at`, its first one a new `RunRequested` (v5: the new
settings, `parent_run_id`, `forked_at`) and the rest copies: new ids derived from the originals,
causations pointing at the copies, the parent's times, and producers marked `<service>@copied-from-
<parent>`. What the copies record (model answers included) is the parent's, so no model is asked
again for them. The parent gets a `RunForked`.

The services then meet the copies as new events. Each copy a service had finished with in the parent
(handled, and none of its outputs for it lies after `at`) is recorded as handled by that service
before the copies are appended, so it decides only what the parent decided after `at`: the marks
first, then the copies in one append — a crash between them leaves marks for events that never
came, which nothing reads.

A fork is a new run, so a new trace: its root span (stamped on the copies) is linked to the parent's
trace, and the fork command's span, stamped on the parent's `RunForked`, is in the parent's trace.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from wave_events import DomainEvent, Envelope, derived_event_id
from wave_events import catalogue as ev
from wave_events.domains import DomainTable
from wave_events.envelope import new_envelope, new_run_id, run_stream_id
from wave_events.projections import fold
from wave_runtime.tracing import command_span, current_traceparent
from wave_store import ConcurrencyError, EventStore
from wave_store.port import Handling

from .commands import MAX_DECISION_ATTEMPTS, PRODUCER, cassette_sha256
from .errors import Conflict, InvalidRequest
from .queries import load_run

FORK_CONSUMER = "fork"  # the consumer whose handling appends a fork's copied history


def copied_producer(producer: str, parent_run_id: str) -> str:
    return f"{producer.split('@', 1)[0]}@copied-from-{parent_run_id}"


async def fork_run(
    store: EventStore,
    *,
    actor: str,
    run_id: str,
    at: int,
    services: Sequence[str],
    merge_policy: str | None = None,
    model_source: str | None = None,
    cassette: str | None = None,
    domain_table: DomainTable | None = None,
) -> str:
    """Store a fork of `run_id` at stream version `at` and return its id. `services`: the names of
    the services that will drive it (their handled marks are copied). `model_source` and `cassette`
    (the content the fork plays, "" for none) and `domain_table` (the domain policies it applies)
    replace the parent's when given."""
    events, state = await load_run(store, run_id)
    if not 1 <= at <= len(events):
        raise InvalidRequest(f"at {at}: run {run_id} has events 1 to {len(events)}", field="at")
    prefix = events[:at]
    then = fold(prefix)
    if then.finished:
        raise InvalidRequest(f"at {at}: run {run_id} was already {then.status} there; fork it before it ended", field="at")
    if then.pending_timers:
        timers = ", ".join(sorted(then.pending_timers))
        raise InvalidRequest(
            f"at {at}: a retry of run {run_id} was waiting there ({timers}); fork it before the retry was "
            "scheduled or after it was requested",
            field="at",
        )
    parent_request = prefix[0].payload
    assert isinstance(parent_request, ev.RunRequested)
    try:
        request = ev.RunRequested(**{
            **parent_request.model_dump(),
            "merge_policy": merge_policy or parent_request.merge_policy,
            "model_source": parent_request.model_source if model_source is None else model_source,
            **({} if cassette is None else {"cassette": cassette, "cassette_sha256": cassette_sha256(cassette)}),
            **({} if domain_table is None else {"domain_table": domain_table}),
            "requested_by": actor,
            "parent_run_id": run_id,
            "forked_at": at,
        })
    except ValueError as exc:
        raise InvalidRequest(f"the fork's request is not valid: {exc}") from None
    child = new_run_id()
    stream = run_stream_id(child)
    with command_span("wave fork", run_id, run_traceparent=events[0].traceparent, attributes={"wave.actor": actor}):
        fork_span = current_traceparent()
        with command_span("wave run", child, linked_traceparent=fork_span, attributes={"wave.actor": actor}):
            copies = _copies(prefix, child, request, current_traceparent())
            await _mark_handled(store, events, prefix, copies, at, services)
            await store.record_handling(Handling(FORK_CONSUMER, copies[0].event_id, stream, tuple(copies), 0))
        await _announce(store, run_id, ev.RunForked(
            child_run_id=child, at=at, merge_policy=request.merge_policy, model_source=request.model_source,
            forked_by=actor,
        ), fork_span)
    return child


def _copies(prefix: Sequence[Envelope], child: str, request: ev.RunRequested, traceparent: str | None) -> list[Envelope]:
    """The child's first events; all carry `traceparent`, the child's root span."""
    stream = run_stream_id(child)
    parent = prefix[0].run_id
    ids = {e.event_id: derived_event_id(e.event_id, f"fork/{child}", 0) for e in prefix}
    first = new_envelope(stream, request, producer=PRODUCER, event_id=ids[prefix[0].event_id], traceparent=traceparent)
    copies = [first]
    for e in prefix[1:]:
        copies.append(Envelope(
            event_id=ids[e.event_id],
            stream_id=stream,
            payload=_pointing_at_copies(e.payload, ids),
            occurred_at=e.occurred_at,
            correlation_id=child,
            causation_id=ids.get(e.causation_id, e.causation_id) if e.causation_id else None,
            producer=copied_producer(e.producer, parent),
            traceparent=traceparent,
        ))
    return copies


def _pointing_at_copies(payload: DomainEvent, ids: Mapping[uuid.UUID, uuid.UUID]) -> DomainEvent:
    """The payload with every event id it names (the change a score is about, the call a charge
    pays for, an escalation's subject) replaced by the id of that event's copy."""

    def remap(value: Any) -> Any:
        if isinstance(value, uuid.UUID):
            return ids.get(value, value)
        if isinstance(value, dict):
            return {k: remap(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(remap(v) for v in value)
        return value

    document = payload.model_dump()
    remapped = remap(document)
    return payload if remapped == document else type(payload).model_validate(remapped)


async def _mark_handled(
    store: EventStore, events: Sequence[Envelope], prefix: Sequence[Envelope], copies: Sequence[Envelope],
    at: int, services: Sequence[str],
) -> None:
    decided_after = {
        (e.producer.split("@", 1)[0], e.causation_id) for e in events[at:] if e.causation_id is not None
    }
    for original, copy in zip(prefix, copies, strict=True):
        for service in services:
            if (service, original.event_id) in decided_after:
                continue  # the parent decided about it after the fork point: the fork decides again
            if await store.was_handled(service, original.event_id):
                await store.record_handling(Handling(service, copy.event_id, copy.stream_id))


async def _announce(store: EventStore, run_id: str, forked: ev.RunForked, traceparent: str | None) -> None:
    stream = run_stream_id(run_id)
    for _ in range(MAX_DECISION_ATTEMPTS):
        try:
            announcement = new_envelope(stream, forked, producer=PRODUCER, traceparent=traceparent)
            await store.append(stream, [announcement], await store.stream_version(stream))
            return
        except ConcurrencyError:
            continue
    raise Conflict(f"run {run_id} keeps changing; its fork {forked.child_run_id} is stored but the parent does not name it")

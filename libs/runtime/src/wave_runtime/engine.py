"""Handling one event for one service: the part every transport shares.

For each event the dispatcher takes the run's state (kept from its last handling of the run and
extended by the event itself when that is the next one, else read from the store), asks the service
to decide, wraps the outputs in envelopes with ids derived from (cause, service, index), and stores
them together with the service's progress in one transaction. A concurrency conflict means another
writer moved the run first: the state is reloaded and the decision made again. A redelivered event
whose handling was stored is recognised and skipped.

A handler that raises `Unrecoverable` is not retried: its events, a `HandlingAbandoned` and an
`environment` escalation are stored as its outputs, so the run waits for a person with the reason.
A `HandlingRetryRequested` naming this service (the escalation approved) hands the abandoned event to
the service again, its outputs caused by the request. An event dead-lettered after its retries
leaves a `HandlingAbandoned` on its run (`record_dead_letter`): the run shows as stalled.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, TypeVar

from wave_events import DomainEvent, Envelope, derived_event_id, escalations, new_envelope
from wave_events import catalogue as ev
from wave_events.projections import RunState, fold
from wave_store import ConcurrencyError, EventStore, snapshots
from wave_store.paid import PaidResults, paying_for
from wave_store.port import Handling, HandlingResult, TimerRecord

from .handler import CancelTimer, Output, ScheduleTimer, Service, TransientError, Unrecoverable
from .metrics import EVENTS_HANDLED, HANDLER_FAILURES, HANDLER_LATENCY
from .outages import OutageWatch, is_outage
from .tracing import current_traceparent, handling_span

log = logging.getLogger("wave.runtime")

_STATE_CACHE_SIZE = 1024

Outcome = Literal["handled", "duplicate", "ignored", "dead"]
A = TypeVar("A")
B = TypeVar("B")
RETRY_REQUEST = "HandlingRetryRequested"  # handled by the dispatcher of the service it names


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before an event is dead-lettered."""

    max_attempts: int = 5  # handler attempts per event (transient and other failures alike)
    max_conflicts: int = 20  # reload-and-decide rounds after concurrency conflicts
    base_delay_s: float = 0.05
    max_delay_s: float = 5.0

    def delay(self, attempt: int) -> float:
        # Full jitter: concurrent retries of many events do not synchronise.
        return random.uniform(0, min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1)))


@dataclass(frozen=True)
class Failure:
    """Why an event was dead-lettered."""

    error_type: str
    message: str
    attempts: int


class Stopping(Exception):
    """The process is stopping while an outage kept an event from being handled: it is left unhandled
    (its offset uncommitted), so it is handled after the restart."""


class HandlingFailed(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(f"{failure.error_type}: {failure.message} (after {failure.attempts} attempts)")
        self.failure = failure


async def _both(first: Awaitable[A], second: Awaitable[B]) -> tuple[A, B]:
    """Await two reads at once; the first failure is raised once both have ended (none is left running)."""
    results = await asyncio.gather(first, second, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results[0], results[1]


class Dispatcher:
    def __init__(
        self, service: Service, store: EventStore, *, instance: str | None = None, retry: RetryPolicy | None = None
    ) -> None:
        if not service.name or not service.name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"service name must be alphanumeric (with - or _), got {service.name!r}")
        self.service = service
        self.store = store
        self.producer = f"{service.name}@{instance or uuid.uuid4().hex[:8]}"
        self.retry = retry or RetryPolicy()
        # Folded states by stream: the log is append-only, so a cached state only needs the events after it.
        self._states: OrderedDict[str, RunState] = OrderedDict()
        self.outage = OutageWatch(service.name, log)
        self.stop: asyncio.Event | None = None  # set by the transport: ends the wait for a store outage
        # The version of each cached stream's newest snapshot known here (0: none).
        self._snapshotted: dict[str, int] = {}
        self.timers_scheduled = 0  # handlings stored with a timer: a poller in this process looks then
        self._new: set[uuid.UUID] = set()  # events of the batch in hand known not handled by this service

    def wants(self, envelope: Envelope) -> bool:
        if not self.wants_type(envelope.stored_type):
            return False  # decided without decoding the payload
        if envelope.type == RETRY_REQUEST:
            return envelope.payload.service == self.service.name
        return envelope.type in self.service.handles

    def wants_type(self, event_type: str) -> bool:
        """Whether an event of this type may be for this service (before it is decoded)."""
        return event_type in self.service.handles or event_type == RETRY_REQUEST

    async def dispatch(self, envelope: Envelope) -> Outcome:
        """Handle one event to completion. Raises HandlingFailed when it must be dead-lettered."""
        if not self.wants(envelope):
            return "ignored"
        name = self.service.name
        started = time.perf_counter()
        failures = 0
        conflicts = 0
        checked = False
        while True:
            in_handler = False
            try:
                state = None
                if not checked:
                    # The run's state without a read when the event follows the state kept of it;
                    # otherwise the check and the read side by side (independent round trips).
                    state = self._state_with(envelope)
                    if envelope.event_id in self._new:
                        handled = False  # asked for its batch already (`check_handled_ahead`)
                    elif state is None:
                        handled, state = await _both(
                            self.store.was_handled(name, envelope.event_id), self._state(envelope.stream_id)
                        )
                    else:
                        handled = await self.store.was_handled(name, envelope.event_id)
                    self._new.discard(envelope.event_id)
                    if handled:
                        self.outage.recovered()
                        EVENTS_HANDLED.labels(name, envelope.type, "duplicate").inc()
                        return "duplicate"
                    checked = True
                with handling_span(name, envelope):
                    if state is None:
                        state = await self._state(envelope.stream_id, moved=conflicts > 0)
                    subject = await self._subject(envelope)
                    try:
                        in_handler = True
                        with paying_for(PaidResults(
                            self.store, name, envelope.event_id, self.producer, current_traceparent() or envelope.traceparent
                        )):
                            outputs = await self.service.handle(state, subject) if subject is not None else []
                        in_handler = False
                    except Unrecoverable as stop:
                        in_handler = False
                        log.warning("%s: %s %s cannot be handled: %s", name, subject.type, subject.event_id, stop)
                        outputs = self._abandon(state, envelope, subject, stop)
                    handling = self._handling(envelope, state.version, outputs)
                    result = await self.store.record_handling(handling)
                    if handling.schedule and not result.duplicate:
                        self.timers_scheduled += 1
                    if not result.duplicate:
                        self._remember_outputs(envelope.stream_id, state, result)
            except ConcurrencyError:
                conflicts += 1
                if conflicts > self.retry.max_conflicts:
                    raise HandlingFailed(
                        Failure("ConcurrencyError", "the run kept moving under the handler", conflicts)
                    ) from None
                continue
            except Exception as exc:  # noqa: BLE001 - every failure is retried, then dead-lettered
                # A socket error inside the handler counts as the store's while another handling
                # already found the store away (handlings run side by side; the handler's paid
                # results are read from the store).
                if is_outage(exc, sockets=not in_handler or self.outage.active):
                    # The database or broker is away, not the event's fault: wait for as long as it
                    # lasts; only the handler's own failures count towards a dead letter.
                    if self.stop is not None and self.stop.is_set():
                        raise Stopping(f"{name} stopped while waiting for the store") from exc
                    await self.outage.wait(exc, self.stop)
                    continue
                failures += 1
                HANDLER_FAILURES.labels(name, envelope.type).inc()
                if failures >= self.retry.max_attempts:
                    raise HandlingFailed(Failure(type(exc).__name__, str(exc), failures)) from exc
                level = logging.INFO if isinstance(exc, TransientError) else logging.WARNING
                log.log(level, "%s: handling %s %s failed (%s), retrying", name, envelope.type, envelope.event_id, exc)
                await asyncio.sleep(self.retry.delay(failures))
                continue
            self.outage.recovered()
            if await snapshots.snapshot_if_due(
                self.store, envelope.stream_id, state, self._snapshotted.get(envelope.stream_id, 0)
            ):
                self._snapshotted[envelope.stream_id] = state.version
            outcome: Outcome = "duplicate" if result.duplicate else "handled"
            EVENTS_HANDLED.labels(name, envelope.type, outcome).inc()
            HANDLER_LATENCY.labels(name).observe(time.perf_counter() - started)
            return outcome

    async def check_handled_ahead(self, event_ids: Sequence[uuid.UUID]) -> None:
        """Ask the store once, for a batch of events about to be dispatched, which of them this service
        handled: `dispatch` then skips its own check (a round trip) for the events found new. As racy
        as that check, and no more: a handling stored meanwhile by another instance is still refused
        by the handled mark. A failure here only leaves the per-event checks. Batches overlap (the
        Kafka runner fetches while earlier records are handled), so what is known adds up; records
        never dispatched (their partition moved) would be kept forever, hence the bound."""
        if len(self._new) > 100_000:
            self._new = set()
        if not event_ids:
            return
        try:
            handled = await self.store.handled_among(self.service.name, event_ids)
        except Exception as exc:  # noqa: BLE001 - each dispatch asks (and waits out an outage) itself
            log.debug("%s: asking which of %d events were handled failed: %s", self.service.name, len(event_ids), exc)
            return
        self._new |= set(event_ids) - handled

    async def _subject(self, envelope: Envelope) -> Envelope | None:
        """The event to hand the service: the envelope itself, or the one a retry request names."""
        if envelope.type != RETRY_REQUEST:
            return envelope
        wanted = envelope.payload.event_id
        return next((e for e in await self.store.read_stream(envelope.stream_id) if e.event_id == wanted), None)

    def _abandon(self, state: RunState, cause: Envelope, subject: Envelope, stop: Unrecoverable) -> list[Output]:
        if state.finished:
            return list(stop.events)
        name = self.service.name
        question = escalations.environment_id(state.run_id or cause.run_id, name, cause.event_id)
        return [
            *stop.events,
            ev.HandlingAbandoned(
                service=name, event_id=subject.event_id, subject_type=subject.type, reason=stop.reason,
                action=stop.action, attempts=1, dead_lettered=False, escalation_id=question,
            ),
            ev.EscalationRequested(
                escalation_id=question,
                kind="environment",
                reason=(
                    f"{name} cannot handle {subject.type}: {stop.reason}. To fix: {stop.action}. "
                    f"Then approve to try again, or reject to stop the run"
                ),
                subject_event_id=subject.event_id,
            ),
        ]

    async def record_dead_letter(self, envelope: Envelope, failure: Failure) -> None:
        """Say on the run's stream that this service dead-lettered `envelope`, so the run shows as
        stalled with the reason and the fix. Recorded once per dead-lettering: a second call before a
        re-drive finds it recorded; a dead-lettering after a re-drive gets a new event."""
        if not envelope.stream_id.startswith("run-"):
            return
        name = self.service.name
        for _ in range(self.retry.max_conflicts):
            state = await self._state(envelope.stream_id)
            known = state.abandoned.get(f"{name}/{envelope.event_id}")
            if known is not None and known.dead_lettered:
                return
            abandoned = ev.HandlingAbandoned(
                service=name, event_id=envelope.event_id, subject_type=envelope.type,
                reason=f"{failure.error_type}: {failure.message}"[:4000],
                action=f"fix the cause, then re-drive it: wave dlq redrive --event {envelope.event_id}",
                attempts=max(1, failure.attempts), dead_lettered=True,
            )
            event_id = derived_event_id(envelope.event_id, f"{name}/dead-letter", state.version)
            record = self._envelope(envelope, abandoned, event_id, envelope.traceparent)
            try:
                await self.store.append(envelope.stream_id, [record], state.version)
                return
            except ConcurrencyError:
                continue
        log.error("%s: could not record the dead letter of %s on its run: the run kept moving", name, envelope.event_id)

    async def _state(self, stream_id: str, *, moved: bool = False) -> RunState:
        """The run's state now. `moved`: the store refused an append expecting the cached version, so
        the stream is past it; when the read brings nothing new, the cache is not trusted (a state
        folded without a read, `_state_with`) and the run is read from its snapshot."""
        cached = self._states.pop(stream_id, None)
        state, from_snapshot = await snapshots.rebuild(self.store, stream_id, cached)
        if moved and cached is not None and state is cached:
            cached = None
            state, from_snapshot = await snapshots.rebuild(self.store, stream_id)
        if cached is None:
            self._snapshotted[stream_id] = from_snapshot
        self._cache(stream_id, state)
        return state

    def _state_with(self, envelope: Envelope) -> RunState | None:
        """The run's state up to and including `envelope`, without reading the store, when the cache
        holds every event before it: the envelope is the next on the cached state's stream, or the
        stream's first. None when in any doubt: the caller reads. A state folded this way may be
        behind the stream (others appended after the envelope): the handling's append, expecting this
        version, is then refused, and the retry reads what was missed."""
        version = envelope.stream_version
        if version is None:
            return None
        cached = self._states.get(envelope.stream_id)
        if cached is None:
            if version != 1:
                return None
            cached = RunState()  # nothing comes before a stream's first event
            self._snapshotted[envelope.stream_id] = 0
        elif version != cached.version + 1:
            return None
        state = fold([envelope], cached)
        self._cache(envelope.stream_id, state)
        return state

    def _remember_outputs(self, stream_id: str, state: RunState, result: HandlingResult) -> None:
        """Fold this handling's own appended events into the cached state: they follow `state`
        directly (the append expected its version), so the next event on the run can be folded
        without a read. A duplicate append (stored before) is not folded: its versions may not follow."""
        appended = result.appended
        if appended is None or appended.duplicate or self._states.get(stream_id) is not state:
            return
        if [e.stream_version for e in appended.events] != list(range(state.version + 1, state.version + 1 + len(appended.events))):
            return
        self._cache(stream_id, fold(appended.events, state))

    def _cache(self, stream_id: str, state: RunState) -> None:
        self._states.pop(stream_id, None)
        self._states[stream_id] = state
        if len(self._states) > _STATE_CACHE_SIZE:
            evicted, _ = self._states.popitem(last=False)
            self._snapshotted.pop(evicted, None)

    def _handling(self, cause: Envelope, version: int, outputs: Sequence[Output]) -> Handling:
        events: list[Envelope] = []
        schedule: list[TimerRecord] = []
        cancel: list[str] = []
        traceparent = current_traceparent() or cause.traceparent
        for index, output in enumerate(outputs):
            if isinstance(output, DomainEvent):
                events.append(self._envelope(cause, output, derived_event_id(cause.event_id, self.service.name, index), traceparent))
            elif isinstance(output, ScheduleTimer):
                event_id = derived_event_id(cause.event_id, f"{self.service.name}/timer/{output.timer_id}", index)
                envelope = self._envelope(cause, output.event, event_id, traceparent)
                schedule.append(TimerRecord(output.timer_id, cause.stream_id, output.due_at, envelope))
            elif isinstance(output, CancelTimer):
                cancel.append(output.timer_id)
            else:
                raise TypeError(f"{self.service.name} returned {type(output).__name__}; expected an event or a timer")
        return Handling(
            self.service.name, cause.event_id, cause.stream_id, tuple(events), version, tuple(schedule), tuple(cancel)
        )

    def _envelope(self, cause: Envelope, payload: DomainEvent, event_id: uuid.UUID, traceparent: str | None) -> Envelope:
        return new_envelope(
            cause.stream_id, payload, producer=self.producer, causation=cause, event_id=event_id, traceparent=traceparent
        )


class TimerPoller:
    """Fires due timers. Any number of pollers may run (one per process): the store fires each once.

    Between looks it sleeps until the earliest pending timer is due, but never longer than
    `interval_s` (a timer another process stores is found within it); `nudge()` makes it look at once
    (this process may just have scheduled a timer)."""

    def __init__(self, store: EventStore, interval_s: float = 0.2) -> None:
        self.store = store
        self.interval_s = interval_s
        self.fired = 0
        self.outage = OutageWatch("timers", log)
        self._nudged = asyncio.Event()

    def nudge(self) -> None:
        self._nudged.set()

    async def run_once(self) -> int:
        fired = 0
        for timer in await self.store.due_timers(datetime.now(UTC)):
            if await self.store.fire_timer(timer) is not None:
                fired += 1
        self.fired += fired
        return fired

    async def run(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            self._nudged.clear()  # a nudge from here on (while looking) makes the next look immediate
            try:
                await self.run_once()
                sleep_s = self._sleep_until(await self.store.next_timer_due())
                self.outage.recovered()
                failures = 0
            except Exception as exc:  # noqa: BLE001 - a store hiccup must not end timer delivery
                if is_outage(exc):
                    sleep_s = self.outage.failed(exc)  # logged once, when it starts, and once when it ends
                else:
                    failures += 1
                    if failures == 1:
                        log.exception("firing timers failed; retrying")
                    sleep_s = min(5.0, self.interval_s * 2 ** min(failures, 5))
            await _first_of(stop, self._nudged, timeout=sleep_s)

    def _sleep_until(self, due: datetime | None) -> float:
        if due is None:
            return self.interval_s
        # A floor, so a timer that stays due (fired elsewhere a moment ago) cannot spin the loop.
        return min(self.interval_s, max(MIN_TIMER_SLEEP_S, (due - datetime.now(UTC)).total_seconds()))


MIN_TIMER_SLEEP_S = 0.02


async def _first_of(*events: asyncio.Event, timeout: float) -> None:  # noqa: ASYNC109 - a bounded sleep
    """Return when any of `events` is set, or after `timeout` seconds."""
    waits = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()

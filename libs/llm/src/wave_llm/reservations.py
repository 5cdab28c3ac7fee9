"""Budget reservations for the model calls of one run made side by side (tasks developed at once).

Each caller carries the run's budget as its own history shows it (`RunBudget`: the run's spending
when the work started plus its own calls since). Calls made concurrently for other tasks do not show
there until their events are stored, so two tasks could each see room for a call that together pass
the limit. Inside `sharing_budget()`, a call first reserves its worst case (`estimate_call`: the
prompt's tokens and every output token it may produce) under one lock: it is made only when the
run's spending, plus every other task's reservations and answered calls, plus its own worst case fit
the limit. An answered call replaces its reservation by what it cost; a failed one drops it. A task
may also be held to a share of the budget (its domain's `budget_share`): its own spending, from the
run's history and this work, must fit its `TaskCap`.

Distributed, a run's tasks are written by several instances, each in a handling of its own, so the
reservations are kept where every instance sees them: `StoredBudget` appends each handling's claim
to the run's stream (`BudgetReserved`), checked under the stream's optimistic concurrency.
"""

from __future__ import annotations

import asyncio
import contextvars
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from wave_events import catalogue as ev
from wave_events.envelope import Envelope
from wave_store import ConcurrencyError, snapshots
from wave_store.paid import PaidResults, current_paid_results

from .budget import CallEstimate, Refusal, RunBudget, check_call, newly_crossed


@dataclass(frozen=True)
class TaskCap:
    """What one task may spend: its share of the run's limits, and what it had spent before."""

    limit_usd: float
    limit_tokens: int
    used_usd: float = 0.0
    used_tokens: int = 0


@dataclass
class _Lane:
    reserved_tokens: int = 0
    reserved_usd: float = 0.0
    spent_tokens: int = 0
    spent_usd: float = 0.0


@dataclass
class SharedBudget:
    """The reservations of one run's concurrent work (one per handling that works on several tasks)."""

    caps: dict[str, TaskCap] = field(default_factory=dict)
    lanes: dict[str, _Lane] = field(default_factory=dict)
    announced: set[int] = field(default_factory=set)  # thresholds one lane already announced
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    peak_reserved_usd: float = 0.0  # the most ever reserved at once (a test reads it)

    def _others(self, lane: str) -> tuple[int, float]:
        tokens = sum(x.reserved_tokens + x.spent_tokens for k, x in self.lanes.items() if k != lane)
        usd = sum(x.reserved_usd + x.spent_usd for k, x in self.lanes.items() if k != lane)
        return tokens, usd

    async def reserve(self, lane: str, budget: RunBudget, estimate: CallEstimate) -> tuple[RunBudget, Refusal | None]:
        """Reserve `estimate` for a call of `lane`; the run's budget as every lane sees it, and the
        refusal when the call must not be made (nothing is reserved then)."""
        async with self.lock:
            tokens, usd = self._others(lane)
            seen = budget.charged(tokens, usd)
            refusal = check_call(seen, estimate)
            cap = self.caps.get(lane)
            if refusal is None and cap is not None:
                own = self.lanes.get(lane, _Lane())
                share = RunBudget(cap.limit_usd, cap.limit_tokens, cap.used_usd + own.spent_usd, cap.used_tokens + own.spent_tokens)
                refusal = check_call(share, estimate)
            if refusal is None:
                entry = self.lanes.setdefault(lane, _Lane())
                entry.reserved_tokens += estimate.tokens
                entry.reserved_usd += estimate.usd
                self.peak_reserved_usd = max(self.peak_reserved_usd, sum(x.reserved_usd for x in self.lanes.values()))
            return seen, refusal

    def settle(self, lane: str, estimate: CallEstimate, tokens: int, usd: float) -> None:
        entry = self.lanes.setdefault(lane, _Lane())
        entry.reserved_tokens -= estimate.tokens
        entry.reserved_usd -= estimate.usd
        entry.spent_tokens += tokens
        entry.spent_usd += usd

    def release(self, lane: str, estimate: CallEstimate) -> None:
        entry = self.lanes.setdefault(lane, _Lane())
        entry.reserved_tokens -= estimate.tokens
        entry.reserved_usd -= estimate.usd

    def announce(self, lane: str, budget: RunBudget) -> RunBudget:
        """The budget to take threshold warnings from after a call of `lane`: every lane's spending
        counted, and the thresholds another lane announced already marked, so each is announced once."""
        tokens, usd = self._others(lane)
        seen = budget.charged(tokens, usd)
        seen = RunBudget(seen.limit_usd, seen.limit_tokens, seen.used_usd, seen.used_tokens,
                         tuple(sorted({*seen.warnings, *self.announced})))
        self.announced.update(newly_crossed(seen))
        return seen


class StoredBudget:
    """Distributed: the reservations of one handling, kept on the run's stream, so calls made by
    different instances for the same run are checked against each other (`SharedBudget` only sees
    one process).

    Before a call it folds the run as stored and checks the call against the run's spending, every
    other handling's claim still open (`RunState.budget_claims`) and this handling's own calls so
    far; then it appends a `BudgetReserved` with this handling's new claim at the version it
    checked. A claim appended by another instance meanwhile makes that append fail (the stream's
    optimistic concurrency), and the check is made again on the run as it is then: every claim is
    checked against every claim stored before it. The claim ends when the handling's outputs are
    stored (their `BudgetCharged` then count instead); a handling that died leaves its claim until
    the event is handled again, which errs on the side of spending less."""

    ATTEMPTS = 100

    def __init__(self, paid: PaidResults, stream_id: str, caps: dict[str, TaskCap] | None = None) -> None:
        self._paid, self._stream = paid, stream_id
        self._cause = str(paid.cause_event_id)
        self.caps = caps or {}
        self._spent: dict[str, tuple[int, float]] = {}  # by lane: the handling's answered calls, not stored yet
        self._state = None  # the run as last folded here (only the events after it are read again)
        self.claims = 0  # claims appended (a test reads it)

    @classmethod
    def for_handling(cls, stream_id: str, caps: dict[str, TaskCap] | None = None) -> StoredBudget | None:
        """The reservations of the handling in progress (the runtime opened it: `paying_for`), else None."""
        paid = current_paid_results()
        return cls(paid, stream_id, caps) if paid is not None else None

    def _own(self) -> tuple[int, float]:
        return sum(t for t, _ in self._spent.values()), sum(u for _, u in self._spent.values())

    async def reserve(self, lane: str, budget: RunBudget, estimate: CallEstimate) -> tuple[RunBudget, Refusal | None]:
        for _ in range(self.ATTEMPTS):
            state, _ = await snapshots.rebuild(self._paid.store, self._stream, self._state)
            self._state = state
            others = [claim for cause, claim in state.budget_claims.items() if cause != self._cause]
            own_tokens, own_usd = self._own()
            seen = RunBudget(
                state.budget_limit_usd, state.budget_limit_tokens, state.budget_used_usd, state.budget_used_tokens,
                state.budget_warnings,
            ).charged(sum(t for t, _ in others) + own_tokens, sum(u for _, u in others) + own_usd)
            refusal = check_call(seen, estimate)
            cap = self.caps.get(lane)
            if refusal is None and cap is not None:
                tokens, usd = self._spent.get(lane, (0, 0.0))
                refusal = check_call(RunBudget(cap.limit_usd, cap.limit_tokens, cap.used_usd + usd, cap.used_tokens + tokens), estimate)
            if refusal is not None:
                return seen, refusal
            claim = ev.BudgetReserved(
                role="developer", task_id=lane or None, claim_tokens=own_tokens + estimate.tokens,
                claim_usd=round(own_usd + estimate.usd, 10),
            )
            envelope = Envelope(
                event_id=uuid.uuid4(), stream_id=self._stream, payload=claim, occurred_at=datetime.now(UTC),
                correlation_id=state.run_id, causation_id=self._paid.cause_event_id, producer=self._paid.producer,
                traceparent=self._paid.traceparent,
            )
            try:
                await self._paid.store.append(self._stream, [envelope], state.version)
            except ConcurrencyError:
                continue  # another claim (or any event) came first: check again on the run as it is now
            self.claims += 1
            return seen, None
        raise ConcurrencyError(f"{self._stream}: could not reserve the budget for a call: the run kept moving")

    def settle(self, lane: str, estimate: CallEstimate, tokens: int, usd: float) -> None:
        spent_tokens, spent_usd = self._spent.get(lane, (0, 0.0))
        self._spent[lane] = (spent_tokens + tokens, spent_usd + usd)

    def release(self, lane: str, estimate: CallEstimate) -> None:
        """A failed call: its worst case stays claimed until the next claim or the handling's outputs."""

    def announce(self, lane: str, budget: RunBudget) -> RunBudget:
        return budget


Reservations = SharedBudget | StoredBudget

_SHARED: contextvars.ContextVar[Reservations | None] = contextvars.ContextVar("wave_shared_budget", default=None)
_TASK: contextvars.ContextVar[str | None] = contextvars.ContextVar("wave_task", default=None)


@contextmanager
def sharing_budget(shared: Reservations) -> Iterator[Reservations]:
    """Model calls made inside (in this task and the tasks it starts) reserve from `shared`."""
    token = _SHARED.set(shared)
    try:
        yield shared
    finally:
        _SHARED.reset(token)


@contextmanager
def working_on(task_id: str) -> Iterator[None]:
    """Model calls made inside are made for this task: recorded with its id, played from its answers."""
    token = _TASK.set(task_id)
    try:
        yield
    finally:
        _TASK.reset(token)


def current_shared_budget() -> Reservations | None:
    return _SHARED.get()


def current_task() -> str | None:
    return _TASK.get()

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
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

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


_SHARED: contextvars.ContextVar[SharedBudget | None] = contextvars.ContextVar("wave_shared_budget", default=None)
_TASK: contextvars.ContextVar[str | None] = contextvars.ContextVar("wave_task", default=None)


@contextmanager
def sharing_budget(shared: SharedBudget) -> Iterator[SharedBudget]:
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


def current_shared_budget() -> SharedBudget | None:
    return _SHARED.get()


def current_task() -> str | None:
    return _TASK.get()

"""The budget guard: pure decisions about whether a call may be made and which warnings it triggers."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

from wave_events.catalogue import BudgetExceeded, BudgetThresholdCrossed
from wave_events.projections.run_state import RunState

from .model import ModelRequest
from .pricing import Price

THRESHOLDS: tuple[Literal[75, 90, 100], ...] = (75, 90, 100)

# Prompts are measured in characters; three characters per token errs on the high side for code and English,
# so an estimate rarely falls short of what the provider will bill.
CHARS_PER_TOKEN = 3


@dataclass(frozen=True)
class RunBudget:
    """A run's limits and what it has spent, as the run's projection shows them."""

    limit_usd: float
    limit_tokens: int
    used_usd: float = 0.0
    used_tokens: int = 0
    warnings: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if min(self.limit_usd, self.limit_tokens, self.used_usd, self.used_tokens) < 0:
            raise ValueError(f"budget figures must not be negative: {self}")

    @classmethod
    def from_state(cls, state: RunState) -> RunBudget:
        return cls(
            limit_usd=state.budget_limit_usd,
            limit_tokens=state.budget_limit_tokens,
            used_usd=state.budget_used_usd,
            used_tokens=state.budget_used_tokens,
            warnings=state.budget_warnings,
        )

    def charged(self, tokens: int, usd: float) -> RunBudget:
        return replace(self, used_tokens=self.used_tokens + tokens, used_usd=round(self.used_usd + usd, 10))

    def percent_used(self) -> float:
        """The higher of the two shares of a limit already spent, in percent."""
        return max(_percent(self.used_usd, self.limit_usd), _percent(self.used_tokens, self.limit_tokens))


def _percent(used: float, limit: float) -> float:
    if limit == 0:
        return math.inf if used > 0 else 0.0
    return used / limit * 100


@dataclass(frozen=True)
class CallEstimate:
    """The most a call can cost: its prompt's estimated tokens plus every output token it may produce."""

    tokens: int
    usd: float


def estimate_call(request: ModelRequest, price: Price) -> CallEstimate:
    prompt_chars = len(request.prompt_text())
    input_tokens = -(-prompt_chars // CHARS_PER_TOKEN)
    return CallEstimate(
        tokens=input_tokens + request.max_tokens, usd=price.cost(input_tokens, request.max_tokens)
    )


@dataclass(frozen=True)
class Refusal:
    """A call was refused: on `dimension`, `used + needed` would pass `limit`."""

    dimension: Literal["usd", "tokens"]
    needed: float
    used: float
    limit: float
    estimate: CallEstimate
    budget: RunBudget

    def exceeded_event(self, role: str) -> BudgetExceeded:
        return BudgetExceeded(
            role=role,
            needed_usd=self.estimate.usd,
            needed_tokens=self.estimate.tokens,
            used_usd=self.budget.used_usd,
            limit_usd=self.budget.limit_usd,
            used_tokens=self.budget.used_tokens,
            limit_tokens=self.budget.limit_tokens,
        )


def check_call(budget: RunBudget, estimate: CallEstimate) -> Refusal | None:
    """None when the call fits within both limits; otherwise the refusal, naming the limit it would pass."""
    if budget.used_usd + estimate.usd > budget.limit_usd + 1e-12:
        return Refusal("usd", estimate.usd, budget.used_usd, budget.limit_usd, estimate, budget)
    if budget.used_tokens + estimate.tokens > budget.limit_tokens:
        return Refusal("tokens", estimate.tokens, budget.used_tokens, budget.limit_tokens, estimate, budget)
    return None


def newly_crossed(budget: RunBudget) -> tuple[int, ...]:
    """The thresholds this budget's spending has reached that were not announced yet."""
    spent = budget.percent_used()
    return tuple(t for t in THRESHOLDS if spent >= t and t not in budget.warnings)


def threshold_events(budget_after: RunBudget) -> list[BudgetThresholdCrossed]:
    return [
        BudgetThresholdCrossed(
            percent=percent,
            used_usd=budget_after.used_usd,
            limit_usd=budget_after.limit_usd,
            used_tokens=budget_after.used_tokens,
            limit_tokens=budget_after.limit_tokens,
        )
        for percent in newly_crossed(budget_after)
    ]

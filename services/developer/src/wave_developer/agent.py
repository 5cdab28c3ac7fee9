"""The bounded conversation in which the model writes one change.

The model may call tools for up to `max_tool_rounds` turns; after that it is asked without tools.
Each final answer is validated; an unusable one is sent back with the reason, up to
`max_answer_attempts` answers in all. So a task costs at most max_tool_rounds + max_answer_attempts
model calls. Every call's events (LLMCallRecorded, BudgetCharged, BudgetThresholdCrossed) are kept,
whatever the outcome, and the budget is carried from call to call.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from wave_diffs import DiffError
from wave_events import DomainEvent
from wave_events import catalogue as ev
from wave_llm import (
    BudgetExhausted,
    Message,
    ModelCallFailed,
    ModelClient,
    ModelSourceUnavailable,
    RunBudget,
    answer_refused,
)

from .prompts import LAST_TOOLS_MESSAGE, SYSTEM, retry_message
from .repository_view import RepositoryView
from .tools import TOOLS, tool_results
from .validate import ValidChange, validate_answer


@dataclass(frozen=True)
class LoopLimits:
    max_tool_rounds: int = 8
    max_answer_attempts: int = 3
    max_tokens: int | None = None  # per call; None uses the client's default


@dataclass(frozen=True)
class Proposed:
    change: ValidChange
    model: str


@dataclass(frozen=True)
class GaveUp:
    reason: str


@dataclass(frozen=True)
class NoModel:
    """No model can answer (no model source, a cassette without the answer); `action` fixes it."""

    reason: str
    action: str


@dataclass(frozen=True)
class OutOfBudget:
    refusal: BudgetExhausted


@dataclass
class Outcome:
    result: Proposed | GaveUp | OutOfBudget | NoModel
    events: list[DomainEvent] = field(default_factory=list)
    budget: RunBudget | None = None
    calls: int = 0


async def write_change(
    client: ModelClient,
    role: str,
    prompt: str,
    checkout: Path,
    budget: RunBudget,
    limits: LoopLimits,
    *,
    view: RepositoryView | None = None,
) -> Outcome:
    view = view or RepositoryView(checkout)
    messages = [Message(role="user", content=prompt)]
    outcome = Outcome(result=GaveUp("not started"), budget=budget)
    rounds = answers = 0
    while True:
        tools_allowed = rounds < limits.max_tool_rounds
        try:
            result = await client.complete(
                role, SYSTEM, messages, tools=TOOLS if tools_allowed else (),
                budget=outcome.budget, max_tokens=limits.max_tokens,
            )
        except BudgetExhausted as exc:
            outcome.events.extend(exc.events)
            outcome.result = OutOfBudget(exc)
            return outcome
        except ModelCallFailed as exc:
            outcome.events.extend(exc.events)
            outcome.result = GaveUp(f"no model answered: {exc}")
            return outcome
        except ModelSourceUnavailable as exc:
            outcome.result = NoModel(str(exc), exc.action)
            return outcome
        outcome.calls += 1
        outcome.events.extend(result.events)
        outcome.budget = _spent(outcome.budget, result.events)
        response = result.response
        messages.append(Message(role="assistant", content=response.response_text() or "(empty answer)"))
        if response.tool_calls and tools_allowed:
            rounds += 1
            answered = await asyncio.to_thread(tool_results, view, response.tool_calls)
            if rounds >= limits.max_tool_rounds:
                answered += "\n\n" + LAST_TOOLS_MESSAGE
            messages.append(Message(role="user", content=answered))
            continue
        if response.tool_calls:
            error = "tools are no longer available; give your final answer"
        else:
            try:
                change = await asyncio.to_thread(validate_answer, response.text, checkout)
            except DiffError as exc:
                error = str(exc)
            else:
                outcome.result = Proposed(change, response.model)
                return outcome
        # The answer is paid for and kept; its record says why it was not used.
        outcome.events[-len(result.events):] = answer_refused(result.events, f"the {role}'s answer was refused: {error}")
        answers += 1
        if answers >= limits.max_answer_attempts:
            outcome.result = GaveUp(f"no usable diff after {answers} answer(s); the last one: {error}")
            return outcome
        messages.append(Message(role="user", content=retry_message(error, limits.max_answer_attempts - answers)))


def _spent(budget: RunBudget | None, events: list[DomainEvent]) -> RunBudget | None:
    """The budget after this call's charge and warnings, as the run's projection will fold them."""
    if budget is None:
        return None
    for event in events:
        if isinstance(event, ev.BudgetCharged):
            budget = budget.charged(event.tokens, event.cost_usd)
        elif isinstance(event, ev.BudgetThresholdCrossed):
            budget = RunBudget(
                budget.limit_usd, budget.limit_tokens, budget.used_usd, budget.used_tokens,
                tuple(sorted({*budget.warnings, event.percent})),
            )
    return budget

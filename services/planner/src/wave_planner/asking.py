"""Asking a model a question whose answer must follow a JSON format: ask, check, ask again with the
problem, up to a number of answers — within the run's budget, with every call's events kept."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

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
from wave_runtime import TransientError, Unrecoverable

from .answers import InvalidAnswer
from .prompts import RETRY_INSTRUCTION

T = TypeVar("T")


@dataclass(frozen=True)
class Answered(Generic[T]):
    value: T
    model: str
    events: tuple[DomainEvent, ...]


@dataclass(frozen=True)
class Invalid:
    """Every answer broke the format; `problems` lists why, one per answer."""

    problems: tuple[str, ...]
    events: tuple[DomainEvent, ...]


@dataclass(frozen=True)
class Refused:
    """The budget refused a call. `events` ends with the BudgetExceeded to record."""

    message: str
    events: tuple[DomainEvent, ...]


async def ask(
    models: ModelClient,
    role: str,
    system: str,
    prompt: str,
    read: Callable[[str], T],
    *,
    budget: RunBudget,
    answers: int,
) -> Answered[T] | Invalid | Refused:
    """Every call is kept in the events, a refused answer's record with the reason it was refused.

    Raises TransientError when every model of the role's route failed (the runtime retries the event
    with backoff, then dead-letters it), and Unrecoverable, with the calls made so far, when no model
    can answer (no model source, a cassette without the answer): a person must fix that first."""
    events: list[DomainEvent] = []
    messages = [Message(role="user", content=prompt)]
    problems: list[str] = []
    for _ in range(answers):
        try:
            result = await models.complete(role, system, messages, budget=budget)
        except BudgetExhausted as exc:
            return Refused(str(exc), (*events, *exc.events, exc.exceeded_event))
        except ModelCallFailed as exc:
            raise TransientError(str(exc)) from exc
        except ModelSourceUnavailable as exc:
            before = f"the {role} model's answer was refused: {problems[-1]}; asking again failed: " if problems else ""
            raise Unrecoverable(f"{before}{exc}", exc.action, events) from exc
        budget = spent(budget, result.events)
        try:
            answer = read(result.response.text)
        except InvalidAnswer as exc:
            events.extend(answer_refused(result.events, f"the {role} model's answer was refused: {exc}"))
            problems.append(str(exc))
            messages += [
                Message(role="assistant", content=result.response.text or "(an empty answer)"),
                Message(role="user", content=RETRY_INSTRUCTION.format(problem=exc)),
            ]
            continue
        events.extend(result.events)
        return Answered(answer, result.response.model, tuple(events))
    return Invalid(tuple(problems), tuple(events))


def spent(budget: RunBudget, events: list[DomainEvent] | tuple[DomainEvent, ...]) -> RunBudget:
    """The budget after a call's events, as the run's projection will fold them."""
    for event in events:
        if isinstance(event, ev.BudgetCharged):
            budget = budget.charged(event.tokens, event.cost_usd)
        elif isinstance(event, ev.BudgetThresholdCrossed):
            budget = replace(budget, warnings=tuple(sorted({*budget.warnings, event.percent})))
    return budget

"""The safety service: every proposed change gets one ActionScored naming its score, verdict,
violations and the policy version that produced them. In the grey zone it asks the `safety_judge`
model (when it has a model source), whose calls are recorded and budgeted before the verdict."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

from wave_constitution import (
    JUDGE_SYSTEM,
    Action,
    InvalidRuling,
    Judge,
    JudgeRuling,
    NoJudgeAvailable,
    SafetyPolicy,
    SafetyVerdict,
    assess,
    judge_prompt,
    read_ruling,
)
from wave_events import DomainEvent, Envelope
from wave_events.domains import DomainPolicy
from wave_events.projections import RunState, task_policy
from wave_llm import (
    BudgetExhausted,
    Message,
    ModelCallFailed,
    ModelClient,
    ModelSourceUnavailable,
    RunBudget,
    answer_refused,
    playing_run,
)
from wave_runtime import Output
from wave_runtime.memo import EffectResults

from .decide import HANDLED_EVENT_TYPES, action_scored, decide

log = logging.getLogger("wave.safety")


class ModelJudge(Judge):
    """The `safety_judge` role through wave_llm, for one handling (or one re-scoring, with no run
    budget): the calls it made (and paid for) are kept in `events`, to be recorded before the verdict."""

    def __init__(self, models: ModelClient, budget: RunBudget | None) -> None:
        self.models = models
        self.budget = budget
        self.events: list[DomainEvent] = []

    async def review(self, action: Action, preliminary: SafetyVerdict) -> JudgeRuling:
        messages = [Message(role="user", content=judge_prompt(action, preliminary))]
        try:
            result = await self.models.complete("safety_judge", JUDGE_SYSTEM, messages, budget=self.budget)
        except BudgetExhausted as exc:
            # Recorded as every role's refused call is (the planner asks for a top-up); the rules decide alone.
            self.events.extend([*exc.events, exc.exceeded_event])
            raise NoJudgeAvailable(f"the budget refused the call: {exc}") from exc
        except ModelCallFailed as exc:
            self.events.extend(exc.events)  # attempts made before the failure
            raise
        except ModelSourceUnavailable as exc:
            raise NoJudgeAvailable(str(exc)) from exc
        try:
            ruling = read_ruling(result.response.text)
        except InvalidRuling as exc:
            self.events.extend(answer_refused(result.events, f"the safety_judge model's answer was refused: {exc}"))
            raise
        self.events.extend(result.events)
        return ruling


class SafetyService:
    name = "safety"
    handles: frozenset[str] = HANDLED_EVENT_TYPES

    def __init__(
        self, policy: SafetyPolicy | None = None, judge: Judge | None = None, *, models: ModelClient | None = None
    ) -> None:
        """`judge`: a judge of its own; else, with `models`, the `safety_judge` role is asked; with
        neither, the rules decide alone."""
        self.policy = policy or SafetyPolicy()
        self.judge = judge
        self.models = models
        # The verdict and the judge's calls by cause event: a decision made again after a concurrency
        # conflict does not ask, and pay, the judge a second time.
        self._scored: EffectResults[str, tuple[Output, ...]] = EffectResults()

    async def handle(self, state: RunState, event: Envelope) -> Sequence[Output]:
        change = decide(state, event)
        if change is None:
            return ()
        return await self._scored.once(str(event.event_id), lambda: self._score(state, event, change))

    async def _score(self, state: RunState, event: Envelope, change) -> tuple[Output, ...]:  # noqa: ANN001
        # A proposal is scored whatever its run's state; a task's domain may make the thresholds stricter.
        policy = self.policy_for(task_policy(state, change.proposal.task_id) if state is not None else None)
        judge = self.judge
        if judge is None and self.models is not None:
            judge = ModelJudge(self.models, RunBudget.from_state(state))
        if isinstance(judge, ModelJudge):
            with playing_run(state):  # a scripted judge answers by the run's own history
                verdict = await assess(change.action, policy, judge)
            calls = tuple(judge.events)
        else:
            verdict, calls = await assess(change.action, policy, judge), ()
        log.info(
            "scored %s task %s attempt %d: %s (%.3f) %s",
            event.event_id,
            change.proposal.task_id,
            change.proposal.attempt,
            verdict.verdict,
            verdict.score,
            ",".join(v.rule for v in verdict.violations) or "no violations",
        )
        return (*calls, action_scored(event, change, verdict))

    def policy_for(self, domain: DomainPolicy | None) -> SafetyPolicy:
        """The service's policy with the task's domain thresholds, where the domain is stricter: a
        domain tightens what this deployment allows, never loosens it."""
        if domain is None:
            return self.policy
        allow = max(self.policy.allow_threshold, domain.allow_threshold)
        block = max(self.policy.block_threshold, domain.block_threshold)
        if (allow, block) == (self.policy.allow_threshold, self.policy.block_threshold):
            return self.policy
        return dataclasses.replace(self.policy, allow_threshold=allow, block_threshold=min(block, allow), version="")

"""The safety service: every proposed change gets one ActionScored naming its score, verdict,
violations and the policy version that produced them."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

from wave_events import Envelope
from wave_events.domains import DomainPolicy
from wave_events.projections import RunState, task_policy
from wave_runtime import Output

from .decide import HANDLED_EVENT_TYPES, action_scored, decide
from .judge import Judge
from .policy import SafetyPolicy
from .scorer import assess

log = logging.getLogger("wave.safety")


class SafetyService:
    name = "safety"
    handles: frozenset[str] = HANDLED_EVENT_TYPES

    def __init__(self, policy: SafetyPolicy | None = None, judge: Judge | None = None) -> None:
        self.policy = policy or SafetyPolicy()
        self.judge = judge

    async def handle(self, state: RunState, event: Envelope) -> Sequence[Output]:
        change = decide(state, event)
        if change is None:
            return ()
        # A proposal is scored whatever its run's state; a task's domain may make the thresholds stricter.
        policy = self.policy_for(task_policy(state, change.proposal.task_id) if state is not None else None)
        verdict = await assess(change.action, policy, self.judge)
        log.info(
            "scored %s task %s attempt %d: %s (%.3f) %s",
            event.event_id,
            change.proposal.task_id,
            change.proposal.attempt,
            verdict.verdict,
            verdict.score,
            ",".join(v.rule for v in verdict.violations) or "no violations",
        )
        return (action_scored(event, change, verdict),)

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

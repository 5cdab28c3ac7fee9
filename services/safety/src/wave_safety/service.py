"""The safety service: every proposed change gets one ActionScored naming its score, verdict,
violations and the policy version that produced them."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from wave_constitution import Judge, SafetyPolicy, assess
from wave_events import Envelope
from wave_events.projections import RunState
from wave_runtime import Output

from .decide import HANDLED_EVENT_TYPES, action_scored, decide

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
        verdict = await assess(change.action, self.policy, self.judge)
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

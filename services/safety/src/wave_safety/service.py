"""The safety service: every proposed change gets one ActionScored naming its score, verdict,
violations and the policy version that produced them."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from wave_events import Envelope
from wave_events.catalogue import ActionScored, ChangeProposed, Violation
from wave_events.projections import RunState
from wave_runtime import Output

from .actions import Diff
from .judge import Judge
from .policy import SafetyPolicy
from .scorer import assess

log = logging.getLogger("wave.safety")


class SafetyService:
    name = "safety"
    handles: frozenset[str] = frozenset({"ChangeProposed"})

    def __init__(self, policy: SafetyPolicy | None = None, judge: Judge | None = None) -> None:
        self.policy = policy or SafetyPolicy()
        self.judge = judge

    async def handle(self, state: RunState, event: Envelope) -> Sequence[Output]:
        payload = event.payload
        if not isinstance(payload, ChangeProposed):
            return ()
        withheld = tuple((w.path, w.line, w.kind) for w in payload.withheld)
        verdict = await assess(Diff(payload.diff, withheld), self.policy, self.judge)
        log.info(
            "scored %s task %s attempt %d: %s (%.3f) %s",
            event.event_id,
            payload.task_id,
            payload.attempt,
            verdict.verdict,
            verdict.score,
            ",".join(v.rule for v in verdict.violations) or "no violations",
        )
        risks = (f"judge: {verdict.judge_reason}",) if verdict.judge_reason else ()
        return (
            ActionScored(
                target_event_id=event.event_id,
                action_kind="diff",
                task_id=payload.task_id,
                attempt=payload.attempt,
                score=verdict.score,
                verdict=verdict.verdict,
                violations=tuple(
                    Violation(principle=v.principle, rule=v.rule, detail=v.detail or "")
                    for v in verdict.violations
                ),
                risks=risks,
                policy_version=verdict.policy_version,
            ),
        )


def create_service() -> SafetyService:
    """The safety service with the policy of the environment (WAVE_SAFETY_* variables).

    python -m wave_runtime service --factory wave_safety:create_service
    """
    return SafetyService(SafetyPolicy.from_env())

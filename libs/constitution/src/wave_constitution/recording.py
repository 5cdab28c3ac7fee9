"""A verdict as the event history keeps it: the one ActionScored every scored action gets, whoever
scored it (the safety service, QA, gitops)."""

from __future__ import annotations

import uuid

from wave_events.catalogue import ActionKind, ActionScored
from wave_events.catalogue import Violation as RecordedViolation

from .actions import Action, Diff, action_as_mapping
from .scoring import SafetyVerdict


def action_scored(
    target_event_id: uuid.UUID,
    action_kind: ActionKind,
    action: Action,
    verdict: SafetyVerdict,
    *,
    task_id: str | None = None,
    attempt: int | None = None,
) -> ActionScored:
    """The ActionScored for `action` (asked for by the event `target_event_id`) under `verdict`. A
    diff is not copied: its ChangeProposed holds it. A judge's reason is kept as a risk."""
    return ActionScored(
        target_event_id=target_event_id,
        action_kind=action_kind,
        task_id=task_id,
        attempt=attempt,
        score=verdict.score,
        verdict=verdict.verdict,
        violations=tuple(
            RecordedViolation(principle=v.principle, rule=v.rule, detail=v.detail or "") for v in verdict.violations
        ),
        risks=(f"judge: {verdict.judge_reason}",) if verdict.judge_reason else (),
        policy_version=verdict.policy_version,
        action={} if isinstance(action, Diff) else action_as_mapping(action),
    )

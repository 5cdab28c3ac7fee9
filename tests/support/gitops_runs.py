"""Run streams for gitops tests: each added event comes back with the run folded up to and including
it, which is what the runtime hands a service."""

from __future__ import annotations

from run_streams import RunStream, Step
from run_streams import plan as plan  # re-exported: the tests of this service take it from here
from wave_events import catalogue as c


def requested(
    run_id: str, repo: str, target_branch: str = "main", merge_strategy: str = "squash", delivery: str = "local",
    base_commit: str | None = None,
) -> RunStream:
    stream = RunStream(run_id)
    stream.add(
        c.RunRequested(
            story="make prices include tax", repo=repo, target_branch=target_branch, budget_usd=1.0,
            merge_strategy=merge_strategy, delivery=delivery, base_commit=base_commit,
        )
    )
    return stream


def propose(stream: RunStream, task_id: str, diff: str, base_commit: str, attempt: int = 1) -> Step:
    return stream.add(c.ChangeProposed(task_id=task_id, attempt=attempt, diff=diff, base_commit=base_commit))


def score(stream: RunStream, proposal: Step, verdict: str = "allow", action_kind: str = "diff") -> Step:
    p = proposal.event.payload
    return stream.add(
        c.ActionScored(
            target_event_id=proposal.event.event_id,
            action_kind=action_kind,
            task_id=p.task_id,
            attempt=p.attempt,
            score={"allow": 0.95, "escalate": 0.5, "block": 0.1}[verdict],
            verdict=verdict,
            policy_version="policy-1",
        )
    )


def escalate_unsafe(stream: RunStream, proposal: Step, escalation_id: str = "esc-1") -> Step:
    return stream.add(
        c.EscalationRequested(
            escalation_id=escalation_id, kind="unsafe_action", reason="touches CI", subject_event_id=proposal.event.event_id
        )
    )


def decide_escalation(stream: RunStream, escalation_id: str = "esc-1", decision: str = "approve") -> Step:
    return stream.add(c.HumanDecisionRecorded(escalation_id=escalation_id, decision=decision, decided_by="ana"))


def approve_merge(stream: RunStream) -> Step:
    return stream.add(c.MergeApproved(approver="policy", reviewer="auto"))

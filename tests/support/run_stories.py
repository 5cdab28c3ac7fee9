"""Realistic whole runs for projection tests (not collected: no test_ prefix)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from run_streams import RunStream, sha
from wave_events import catalogue as c

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def happy_run(tasks: int = 2, fail_first: bool = True) -> RunStream:
    s = RunStream(occurred_at=T0)
    s.add(c.RunRequested(story="add /health", repo="/srv/app", budget_usd=2.0, budget_tokens=10_000))
    s.add(
        c.PlanCreated(
            tasks=tuple(
                c.PlanTask(task_id=f"t{i}", domain="backend", description=f"task {i}", acceptance_criteria=("works",))
                for i in range(1, tasks + 1)
            )
        )
    )
    s.add(c.WorkspaceReady(branch="wave/r1", base_commit=sha(1), location="/srv/app"))
    head = 1
    for i in range(1, tasks + 1):
        proposal = s.add(c.ChangeProposed(task_id=f"t{i}", attempt=1, diff="--- a\n+++ b\n", base_commit=sha(head)))
        s.add(c.ActionScored(target_event_id=proposal.event.event_id, action_kind="diff", task_id=f"t{i}", attempt=1,
                             score=0.95, verdict="allow", policy_version="p1"))
        head += 1
        s.add(c.ChangeCommitted(task_id=f"t{i}", attempt=1, commit=sha(head), parent=sha(head - 1), branch="wave/r1"))
    s.add(c.BudgetCharged(tokens=1200, cost_usd=0.25))
    if fail_first:
        s.add(c.TestsFailed(commit=sha(head), counts=c.TestCounts(passed=3, failed=1), duration_s=1, sandbox="bwrap"))
        s.add(c.RetryScheduled(retry=1, due_at=T0 + timedelta(minutes=1), delay_s=2, timer_id="retry-1"))
        s.add(c.FixRequested(retry=1, task_id="t1", attempt=2, failure_excerpt="assert 1 == 2", timer_id="retry-1"))
        proposal = s.add(c.ChangeProposed(task_id="t1", attempt=2, diff="--- a\n+++ b\n", base_commit=sha(head)))
        s.add(c.ActionScored(target_event_id=proposal.event.event_id, action_kind="diff", task_id="t1", attempt=2,
                             score=0.9, verdict="allow", policy_version="p1"))
        head += 1
        s.add(c.ChangeCommitted(task_id="t1", attempt=2, commit=sha(head), parent=sha(head - 1), branch="wave/r1"))
    s.add(c.TestsPassed(commit=sha(head), counts=c.TestCounts(passed=4), duration_s=1, sandbox="bwrap"))
    s.add(c.MergeApproved(approver="policy", reviewer="auto"))
    s.add(c.Merged(target_branch="main", merge_commit=sha(head), fast_forward=True))
    s.add(c.RunCompleted(merge_commit=sha(head)))
    return s

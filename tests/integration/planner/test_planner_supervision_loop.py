"""The planner supervising a run inside the embedded runtime on a SQLite store: a failing test run is
retried after a backoff through a durable timer, the fix is requested, and the run ends merged — or
blocked when a human says no. The test plays the other services by appending their events."""

from __future__ import annotations

import pytest
from planner_flow import StoredRun
from planner_models import PLAN, answer, scripted_client
from wave_events import catalogue as c
from wave_planner import PlannerConfig, PlannerService
from wave_runtime import EmbeddedRuntime, FileDeadLetters, RetryPolicy
from wave_store.sqlite import SqliteEventStore

BASE, FIRST, SECOND = "a" * 40, "b" * 40, "d" * 40
DIFF = "--- a/app.py\n+++ b/app.py\n@@ -1 +1 @@\n-x\n+y\n"


@pytest.fixture
async def runtime(tmp_path):
    store = SqliteEventStore(tmp_path / "wave.db")
    models = scripted_client(tmp_path, answer("planner", PLAN, match="make prices include tax"))
    planner = PlannerService(models, config=PlannerConfig(retry_base_s=0.05, retry_cap_s=0.2))
    runtime = EmbeddedRuntime(
        store, [planner], FileDeadLetters(tmp_path / "dead-letters.jsonl"),
        retry=RetryPolicy(max_attempts=2, base_delay_s=0.01), timer_interval_s=0.05,
    )
    async with runtime:
        yield runtime
    await store.close()


async def implemented(run: StoredRun, runtime: EmbeddedRuntime, commit: str, parent: str, attempt: int) -> None:
    """Developer, safety and gitops do their part for task t1's `attempt`."""
    (proposal,) = await run.append(c.ChangeProposed(task_id="t1", attempt=attempt, diff=DIFF, base_commit=parent))
    await run.append(
        c.ActionScored(
            target_event_id=proposal.event_id, action_kind="diff", task_id="t1", attempt=attempt,
            score=0.95, verdict="allow", policy_version="p1",
        ),
        c.ChangeCommitted(task_id="t1", attempt=attempt, commit=commit, parent=parent, branch=f"wave/{run.run_id}"),
    )
    await runtime.drain()


async def test_a_failing_run_is_retried_through_a_timer_and_completes(runtime: EmbeddedRuntime) -> None:
    run = StoredRun(runtime.store)
    await run.append(c.RunRequested(story="make prices include tax", repo="/nowhere", budget_usd=1.0))
    await run.first("PlanCreated")
    await runtime.drain()
    await run.append(c.WorkspaceReady(branch=f"wave/{run.run_id}", base_commit=BASE, location="/nowhere"))
    await implemented(run, runtime, FIRST, BASE, attempt=1)

    (failure,) = await run.append(
        c.TestsFailed(commit=FIRST, counts=c.TestCounts(passed=2, failed=1), failure_excerpt="E assert 100 == 120",
                      duration_s=0.5, sandbox="process")
    )
    scheduled = await run.first("RetryScheduled")
    fix = await run.first("FixRequested")
    assert scheduled.causation_id == failure.event_id and scheduled.payload.retry == 1
    assert scheduled.payload.delay_s <= 0.1  # min(cap, 0.05 × 2) with jitter
    assert fix.payload == c.FixRequested(
        retry=1, task_id="t1", attempt=2, failure_excerpt="E assert 100 == 120", failing_commit=FIRST,
        timer_id=f"{run.run_id}-retry-1",
    )
    assert await runtime.store.timer_status(f"{run.run_id}-retry-1") == "fired"
    assert (await run.state()).tasks["t1"].attempt == 2
    planner = runtime.dispatchers[0].service
    assert await planner.handle(await run.state(), failure) == []  # deciding again adds nothing

    await runtime.drain()
    await implemented(run, runtime, SECOND, FIRST, attempt=2)
    await run.append(c.TestsPassed(commit=SECOND, counts=c.TestCounts(passed=3), duration_s=0.5, sandbox="process"))
    approval = await run.first("MergeApproved")
    assert (approval.payload.approver, approval.payload.reviewer) == ("policy", "policy:auto")
    await runtime.drain()
    await run.append(c.Merged(target_branch="main", merge_commit="e" * 40, fast_forward=True))
    completed = await run.first("RunCompleted")
    await runtime.drain()

    assert completed.payload.merge_commit == "e" * 40
    state = await run.state()
    assert (state.status, state.retries, state.pending_timers) == ("completed", 1, {})
    assert all(state.gates.values())
    assert (await run.types()).count("RetryScheduled") == 1
    assert await runtime.dead_letters.list("planner") == []


async def test_exhausted_retries_wait_for_a_human_who_can_stop_the_run(runtime: EmbeddedRuntime) -> None:
    run = StoredRun(runtime.store)
    await run.append(c.RunRequested(story="make prices include tax", repo="/nowhere", budget_usd=1.0, max_retries=0))
    await run.first("PlanCreated")
    await runtime.drain()
    await run.append(c.WorkspaceReady(branch=f"wave/{run.run_id}", base_commit=BASE, location="/nowhere"))
    await implemented(run, runtime, FIRST, BASE, attempt=1)
    await run.append(c.TestsFailed(commit=FIRST, counts=c.TestCounts(failed=1), duration_s=0.5, sandbox="process"))

    escalation = await run.first("EscalationRequested")
    assert escalation.payload.kind == "retries_exhausted"
    await runtime.drain()
    assert (await run.state()).status == "awaiting_human"

    await run.append(
        c.HumanDecisionRecorded(escalation_id=escalation.payload.escalation_id, decision="reject", decided_by="ana", comment="enough")
    )
    blocked = await run.first("RunBlocked")
    await runtime.drain()
    assert blocked.payload.escalation_id == escalation.payload.escalation_id and "enough" in blocked.payload.reason
    assert (await run.state()).status == "blocked"
    assert "RetryScheduled" not in await run.types()

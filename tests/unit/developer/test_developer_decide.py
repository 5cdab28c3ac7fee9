"""The developer's decisions, as a table: (the run so far, the event) -> the work it starts."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from developer_runs import plan_created, requested, workspace_ready
from run_streams import RunStream, Step
from wave_developer import Cleanup, Work, decide
from wave_developer.decide import work_request
from wave_events import catalogue as c

BASE = "a" * 40
HEAD = "b" * 40


def _plan_then_workspace(stream: RunStream) -> Step:
    stream.add(plan_created("t1", "t2"))
    return stream.add(workspace_ready(BASE))


def _workspace_then_plan(stream: RunStream) -> Step:
    stream.add(workspace_ready(BASE))
    return stream.add(plan_created("t1", "t2"))


def _plan_without_workspace(stream: RunStream) -> Step:
    return stream.add(plan_created("t1", "t2"))


def _one_task_proposed(stream: RunStream) -> Step:
    step = _plan_then_workspace(stream)
    stream.add(c.ChangeProposed(task_id="t1", attempt=1, diff="d", base_commit=BASE))
    return Step(stream.state, step.event)


def _all_proposed(stream: RunStream) -> Step:
    step = _plan_then_workspace(stream)
    for t in ("t1", "t2"):
        stream.add(c.ChangeProposed(task_id=t, attempt=1, diff="d", base_commit=BASE))
    return Step(stream.state, step.event)  # the workspace event redelivered after the proposals


def _one_rejected(stream: RunStream) -> Step:
    step = _plan_then_workspace(stream)
    stream.add(c.ChangeRejected(task_id="t2", attempt=1, reason="no usable diff"))
    return Step(stream.state, step.event)


def _finished_before(stream: RunStream) -> Step:
    stream.add(plan_created("t1"))
    stream.add(c.RunCancelled(cancelled_by="ana"))
    return stream.add(workspace_ready(BASE))


def _fix(stream: RunStream, attempt: int = 2) -> Step:
    stream.add(plan_created("t1", "t2"))
    stream.add(workspace_ready(BASE))
    stream.add(c.ChangeProposed(task_id="t1", attempt=1, diff="d", base_commit=BASE))
    stream.add(c.ChangeCommitted(task_id="t1", attempt=1, commit=HEAD, parent=BASE, branch="wave/r1"))
    stream.add(c.TestsFailed(commit=HEAD, counts=c.TestCounts(failed=1), failure_excerpt="E assert 10 == 12",
                             duration_s=1.0, sandbox="process"))
    return stream.add(c.FixRequested(retry=1, task_id="t1", attempt=attempt, failure_excerpt="E assert 10 == 12",
                                     failing_commit=HEAD))


def _fix_redelivered(stream: RunStream) -> Step:
    step = _fix(stream)
    stream.add(c.ChangeProposed(task_id="t1", attempt=2, diff="d2", base_commit=HEAD))
    return Step(stream.state, step.event)


def _fix_superseded(stream: RunStream) -> Step:
    step = _fix(stream)
    stream.add(c.FixRequested(retry=2, task_id="t1", attempt=3, failure_excerpt="again", failing_commit=HEAD))
    return Step(stream.state, step.event)


def _fix_for_unknown_task(stream: RunStream) -> Step:
    _plan_then_workspace(stream)
    return stream.add(c.FixRequested(retry=1, task_id="t9", attempt=2, failure_excerpt="x"))


def _fix_after_run_failed(stream: RunStream) -> Step:
    step = _fix(stream)
    stream.add(c.RunFailed(reason="gave up"))
    return Step(stream.state, step.event)


def _budget_raised_after_refusal(stream: RunStream) -> Step:
    _one_task_proposed(stream)
    return stream.add(c.BudgetRaised(limit_usd=10, limit_tokens=3_000_000, raised_by="ana"))


def _budget_raised_with_fix_pending(stream: RunStream) -> Step:
    _fix(stream)
    stream.add(c.ChangeProposed(task_id="t2", attempt=1, diff="d", base_commit=BASE))
    return stream.add(c.BudgetRaised(limit_usd=10, limit_tokens=3_000_000, raised_by="ana"))


def _run_completed(stream: RunStream) -> Step:
    _all_proposed(stream)
    return stream.add(c.RunCompleted(merge_commit=HEAD))


def _unrelated(stream: RunStream) -> Step:
    _plan_then_workspace(stream)
    return stream.add(c.TestsPassed(commit=BASE, counts=c.TestCounts(passed=1), duration_s=1, sandbox="process"))


FIX_T1 = Work("t1", 2, "fix", HEAD, "E assert 10 == 12", HEAD)

TABLE: list[tuple[str, Callable[[RunStream], Step], tuple[object, ...]]] = [
    ("workspace after the plan starts every task", _plan_then_workspace,
     (Work("t1", 1, "develop", BASE), Work("t2", 1, "develop", BASE))),
    ("plan after the workspace starts every task", _workspace_then_plan,
     (Work("t1", 1, "develop", BASE), Work("t2", 1, "develop", BASE))),
    ("a plan without a workspace waits", _plan_without_workspace, ()),
    ("only tasks without a proposal are started", _one_task_proposed, (Work("t2", 1, "develop", BASE),)),
    ("a redelivered workspace event after the proposals does nothing", _all_proposed, ()),
    ("a task the developer rejected is not retried by itself", _one_rejected, (Work("t1", 1, "develop", BASE),)),
    ("a finished run starts nothing", _finished_before, ()),
    ("a fix request works the new attempt on the head", _fix, (FIX_T1,)),
    ("a redelivered fix request after its proposal does nothing", _fix_redelivered, ()),
    ("a fix request a newer attempt replaced does nothing", _fix_superseded, ()),
    ("a fix request for a task the plan lacks does nothing", _fix_for_unknown_task, ()),
    ("a fix request of a failed run does nothing", _fix_after_run_failed, ()),
    ("a budget top-up resumes the tasks left undone", _budget_raised_after_refusal, (Work("t2", 1, "develop", BASE),)),
    ("a budget top-up resumes a pending fix", _budget_raised_with_fix_pending, (FIX_T1,)),
    ("the end of the run drops its checkouts", _run_completed, (Cleanup(),)),
    ("other events mean nothing to the developer", _unrelated, ()),
]


@pytest.mark.parametrize(("case", "build", "expected"), TABLE, ids=[row[0] for row in TABLE])
def test_decides(case: str, build: Callable[[RunStream], Step], expected: tuple[object, ...]) -> None:
    step = build(requested())
    assert decide(step.state, step.event) == expected


def test_fix_work_is_done_by_the_fixer_and_first_attempts_by_the_developer() -> None:
    assert FIX_T1.role == "fixer"
    assert Work("t1", 1, "develop", BASE).role == "developer"


def _handed_off(stream: RunStream) -> tuple[Step, list[Step]]:
    """Distributed: the plan's handling (workspace already folded) handed both tasks off."""
    stream.add(workspace_ready(BASE))
    plan = stream.add(plan_created("t1", "t2"))
    requests = [
        stream.add(work_request(work, lane), producer="developer@one", causation=plan.event)
        for lane, work in enumerate(decide(plan.state, plan.event))
    ]
    return plan, requests


def test_a_handed_off_request_decides_exactly_its_work() -> None:
    _, requests = _handed_off(stream := requested())
    assert [r.event.payload.lane for r in requests] == [0, 1]
    assert decide(stream.state, requests[1].event) == (Work("t2", 1, "develop", BASE),)


def test_work_handed_off_is_not_started_again_while_it_is_being_written() -> None:
    stream = requested()
    _handed_off(stream)
    # The workspace event handled after the plan (or a redelivered plan) finds both tasks in flight.
    again = stream.add(workspace_ready(BASE))
    assert decide(again.state, again.event) == ()


def test_work_whose_request_stored_no_change_can_be_started_again() -> None:
    stream = requested()
    _, requests = _handed_off(stream)
    # t1's request was handled: the budget refused its call (an output caused by the request).
    stream.add(c.BudgetExceeded(role="developer", needed_usd=0.1, needed_tokens=9, used_usd=0, limit_usd=0,
                                used_tokens=0, limit_tokens=0), producer="developer@two", causation=requests[0].event)
    raised = stream.add(c.BudgetRaised(limit_usd=2.0, limit_tokens=10_000, raised_by="ana"))
    assert decide(raised.state, raised.event) == (Work("t1", 1, "develop", BASE),)
    assert stream.state.work_in_flight == {str(requests[1].event.event_id): ("t2", 1)}

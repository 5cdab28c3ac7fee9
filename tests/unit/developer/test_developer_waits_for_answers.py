"""A task the developer stopped on (a budget stop, a question to a person) waits for its answer: the
next event of the run does not work it again."""

from __future__ import annotations

from developer_runs import plan_created, requested, workspace_ready
from wave_developer import Work, decide
from wave_events import catalogue as c
from wave_events import registry
from wave_events.escalations import developer_budget_id, developer_no_diff_id

BASE = "a" * 40


def _planned_and_ready():
    """The developer lags: when it handles PlanCreated, WorkspaceReady is already folded."""
    s = requested()
    planned = s.add(plan_created("t1", "t2"))
    s.add(workspace_ready(BASE))
    return s, planned


def _stopped_on_t2_by_the_budget(s) -> None:
    s.add(c.ChangeProposed(task_id="t1", attempt=1, diff="--- a/x\n+++ b/x\n", base_commit=BASE), producer="developer@x")
    s.add(c.BudgetExceeded(role="developer", needed_usd=0.1, needed_tokens=10, used_usd=1, limit_usd=1,
                           used_tokens=5, limit_tokens=10), producer="developer@x")
    question = developer_budget_id("r1", "t2", 1, 3)
    s.add(c.EscalationRequested(escalation_id=question, kind="budget", reason="stopped", task_id="t2", attempt=1),
          producer="developer@x")


def test_a_task_the_budget_stopped_waits_for_the_budget_not_for_the_next_event() -> None:
    s, planned = _planned_and_ready()
    assert decide(s.state, planned.event) == (Work("t1", 1, "develop", BASE), Work("t2", 1, "develop", BASE))
    _stopped_on_t2_by_the_budget(s)
    ready = s.steps[2]  # WorkspaceReady, handled next, with the stop folded
    assert ready.event.type == "WorkspaceReady"
    assert decide(s.state, ready.event) == ()


def test_a_raised_budget_resumes_the_task_the_budget_stopped() -> None:
    s, _ = _planned_and_ready()
    _stopped_on_t2_by_the_budget(s)
    raised = s.add(c.BudgetRaised(limit_usd=9, limit_tokens=1000, raised_by="ana"))
    assert decide(s.state, raised.event) == (Work("t2", 1, "develop", BASE),)


def test_a_task_the_developer_asked_a_human_about_is_not_worked_again_unasked() -> None:
    s, _ = _planned_and_ready()
    s.add(c.ChangeProposed(task_id="t1", attempt=1, diff="--- a/x\n+++ b/x\n", base_commit=BASE), producer="developer@x")
    question = developer_no_diff_id("r1", "t2", 1)
    s.add(c.EscalationRequested(escalation_id=question, kind="change_rejected", reason="no diff", task_id="t2", attempt=1),
          producer="developer@x")
    ready = s.steps[2]
    assert decide(s.state, ready.event) == ()
    raised = s.add(c.BudgetRaised(limit_usd=9, limit_tokens=1000, raised_by="ana"))
    assert decide(s.state, raised.event) == ()  # the human's answer decides what happens to t2


def test_a_budget_stop_stored_as_v1_still_makes_its_task_wait() -> None:
    s, planned = _planned_and_ready()
    s.add(c.ChangeProposed(task_id="t1", attempt=1, diff="--- a/x\n+++ b/x\n", base_commit=BASE), producer="developer@x")
    question = developer_budget_id("r1", "t2", 1, 3)
    old = registry.decode("EscalationRequested", 1, {"escalation_id": question, "kind": "budget", "reason": "stopped"})
    s.add(old, producer="developer@x")
    assert decide(s.state, s.steps[2].event) == ()


def test_a_question_about_another_attempt_does_not_hold_the_task() -> None:
    s, planned = _planned_and_ready()
    s.add(c.EscalationRequested(escalation_id="r1-q", kind="change_rejected", reason="x", task_id="t2", attempt=2))
    assert decide(s.state, s.steps[2].event) == (Work("t1", 1, "develop", BASE), Work("t2", 1, "develop", BASE))

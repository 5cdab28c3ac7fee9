"""The planner matches an answer to what its escalation is about (task, attempt, head), never to the
shape of its id; an escalation an older version stored (v1, only an id) is still answered."""

from __future__ import annotations

from planner_runs import AT, committed, decided, failed, plan, ready, requested
from wave_events import catalogue as c
from wave_events import registry
from wave_events.escalations import developer_no_diff_id, retries_exhausted_id
from wave_planner import Backoff, decide

BACKOFF = Backoff(base_s=1.0, cap_s=60.0)


def _gave_up_on(s, escalation: c.EscalationRequested):
    plan(s, "t1", "t2")
    ready(s)
    s.add(escalation, producer="developer@x")
    return s


def test_a_new_attempt_goes_to_the_task_the_escalation_names_whatever_its_id() -> None:
    asked = c.EscalationRequested(
        escalation_id="r1-some-question", kind="change_rejected", reason="no diff", task_id="t2", attempt=1
    )
    s = _gave_up_on(requested(), asked)
    decided(s, "r1-some-question")
    scheduled, fix = decide(s.state, s.last.event, BACKOFF)
    assert (fix.task_id, fix.attempt) == ("t2", 2)
    assert scheduled.reason == "ana asked for a new attempt at task t2"


def test_an_escalation_about_no_task_asks_for_no_attempt() -> None:
    asked = c.EscalationRequested(escalation_id=developer_no_diff_id("r1", "t1", 1), kind="change_rejected", reason="x")
    s = _gave_up_on(requested(), asked)
    decided(s, asked.escalation_id)
    assert decide(s.state, s.last.event, BACKOFF) == ()


def test_a_no_diff_question_stored_as_v1_is_still_answered_with_a_new_attempt() -> None:
    question = developer_no_diff_id("r1", "t1", 1)
    old = registry.decode(
        "EscalationRequested", 1, {"escalation_id": question, "kind": "change_rejected", "reason": "no diff"}
    )
    s = _gave_up_on(requested(), old)
    decided(s, question)
    assert decide(s.state, s.last.event, BACKOFF) == (
        c.RetryScheduled(retry=1, due_at=AT, delay_s=0.0, reason="ana asked for a new attempt at task t1", timer_id="r1-retry-1"),
        c.FixRequested(
            retry=1, task_id="t1", attempt=2, failure_excerpt="the previous attempt gave no usable change: no diff",
            failing_commit=None, timer_id="r1-retry-1",
        ),
    )


def test_exhausted_retries_stored_as_v1_still_grant_a_fix_of_the_head() -> None:
    s = committed("t1", max_retries=0)
    failed(s)
    head = s.state.head_commit
    question = retries_exhausted_id("r1", head)
    s.add(registry.decode("EscalationRequested", 1, {"escalation_id": question, "kind": "retries_exhausted", "reason": "x"}))
    decided(s, question)
    _, fix = decide(s.state, s.last.event, BACKOFF)
    assert (fix.task_id, fix.attempt, fix.failing_commit) == ("t1", 2, head)


def test_exhausted_retries_about_another_head_grant_nothing() -> None:
    s = committed("t1", max_retries=0)
    failed(s)
    s.add(c.EscalationRequested(escalation_id="r1-q", kind="retries_exhausted", reason="x", head="f" * 40))
    decided(s, "r1-q")
    assert decide(s.state, s.last.event, BACKOFF) == ()

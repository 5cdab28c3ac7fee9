"""The answer to the developer's "no usable diff" question moves the run on: a new attempt, once, or a stop."""

from __future__ import annotations

from planner_runs import AT, decided, plan, ready, requested
from wave_events import catalogue as c
from wave_events.escalations import developer_no_diff_id
from wave_planner import Backoff, decide

BACKOFF = Backoff(base_s=1.0, cap_s=60.0)
NO_DIFF = "task t1 attempt 1: developer: no usable diff after 3 answer(s); the last one: the diff is empty"


def _developer_gave_up():
    """WAVE_DEVELOPER_ON_NO_DIFF=escalate: the developer asks a human instead of rejecting the change."""
    s = requested()
    plan(s, "t1", "t2")
    ready(s)
    question = developer_no_diff_id("r1", "t1", 1)
    s.add(
        c.EscalationRequested(escalation_id=question, kind="change_rejected", reason=NO_DIFF, task_id="t1", attempt=1),
        producer="developer@x",
    )
    return s, question


def test_approving_the_developers_no_diff_escalation_asks_for_a_new_attempt() -> None:
    s, question = _developer_gave_up()
    decided(s, question, "approve")
    assert decide(s.state, s.last.event, BACKOFF) == (
        c.RetryScheduled(retry=1, due_at=AT, delay_s=0.0, reason="ana asked for a new attempt at task t1", timer_id="r1-retry-1"),
        c.FixRequested(
            retry=1, task_id="t1", attempt=2, failure_excerpt=f"the previous attempt gave no usable change: {NO_DIFF}",
            failing_commit=None, timer_id="r1-retry-1",
        ),
    )


def test_the_new_attempt_is_asked_for_once() -> None:
    s, question = _developer_gave_up()
    approval = decided(s, question, "approve")
    s.add_all(decide(s.state, approval.event, BACKOFF))
    assert decide(s.state, approval.event, BACKOFF) == ()  # decided again on the state with its outputs


def test_rejecting_the_developers_no_diff_escalation_blocks_the_run() -> None:
    s, question = _developer_gave_up()
    decided(s, question, "reject")
    (blocked,) = decide(s.state, s.last.event, BACKOFF)
    assert isinstance(blocked, c.RunBlocked) and blocked.escalation_id == question

"""What the planner decides for each event, given the run folded with it: a table of runs and the
steps they must produce. The last event a story adds is the one decided on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from planner_runs import (
    AT,
    commit,
    committed,
    decided,
    failed,
    passed,
    plan,
    propose,
    ready,
    requested,
    score,
    sha,
)
from run_streams import RunStream
from wave_events import catalogue as c
from wave_events.escalations import escalation_id
from wave_events.projections import summary_of
from wave_planner import Backoff, MakePlan, ReviewMerge, decide, escalation_kind
from wave_runtime import CancelTimer, ScheduleTimer

BACKOFF = Backoff(base_s=1.0, cap_s=60.0)


def retry_of(s: RunStream, task: str, attempt: int, retry: int = 1, excerpt: str = "E assert 1 == 2"):
    """What a test failure on the head must schedule: the retry record and its timer."""
    cause = s.last.event
    delay = BACKOFF.delay(retry, str(cause.event_id))
    timer = f"r1-retry-{retry}"
    fix = c.FixRequested(
        retry=retry, task_id=task, attempt=attempt, failure_excerpt=excerpt,
        failing_commit=cause.payload.commit, timer_id=timer,
    )
    scheduled = c.RetryScheduled(
        retry=retry, due_at=AT + timedelta(seconds=delay), delay_s=delay,
        reason=f"tests failed on {cause.payload.commit[:12]} (1 failed, 0 errors, 3 passed); fixing task {task}",
        timer_id=timer,
    )
    return (scheduled, ScheduleTimer(timer, AT + timedelta(seconds=delay), fix))


def fired(s: RunStream, retry: int = 1, task: str = "t1", attempt: int = 2) -> None:
    """The retry's timer fired: the stored FixRequested is folded into the run."""
    s.add(c.FixRequested(retry=retry, task_id=task, attempt=attempt, failing_commit=s.state.head_commit, timer_id=f"r1-retry-{retry}"))


def schedule(s: RunStream) -> None:
    """The planner's answer to the last failure, as stored."""
    s.add_all(o for o in decide(s.state, s.last.event, BACKOFF))


def exhausted(retries: int = 1, **options) -> RunStream:
    """A run whose last failure is met with a retries-exhausted escalation (max_retries = retries)."""
    s = committed("t1", max_retries=retries, **options)
    for n in range(retries):
        failed(s)
        schedule(s)
        fired(s, n + 1, "t1", n + 2)
        score(s, propose(s, "t1", n + 2))
        commit(s, "t1", sha(100 + n), n + 2)
    failed(s)
    schedule(s)
    return s


def exhausted_id(s: RunStream) -> str:
    return escalation_id("r1", "retries_exhausted", s.state.head_commit[:12])


def escalated(kind: str, *, setup: Callable[[], RunStream] | None = None) -> RunStream:
    """A run with one pending escalation of `kind`, raised the way WAVE raises it."""
    if kind == "retries_exhausted":
        return exhausted()
    s = setup() if setup else committed("t1")
    s.add(c.EscalationRequested(escalation_id=escalation_id("r1", kind, "k"), kind=kind, reason="why"))
    return s


def pending_id(s: RunStream) -> str:
    return next(iter(s.state.pending_escalations))


def blocked(s: RunStream, kind: str, comment: str = "") -> tuple:
    eid = s.last.event.payload.escalation_id
    said = f": {comment}" if comment else ""
    return (c.RunBlocked(reason=f"ana rejected the {kind} {eid}{said}", escalation_id=eid),)


@dataclass(frozen=True)
class Case:
    story: Callable[[], RunStream]
    expected: Callable[[RunStream], tuple]


def _failure_redecided_after_escalation() -> RunStream:
    s = exhausted(1)
    failure = next(x for x in reversed(s.steps) if x.event.type == "TestsFailed")
    s.last = failure
    return s


def _twice_failed_while_pending() -> RunStream:
    s = committed("t1")
    failed(s)
    schedule(s)
    failed(s)  # QA reported the same head again before the fix was requested
    return s


def _failed_after_fix_requested() -> RunStream:
    s = committed("t1")
    failure = failed(s)
    schedule(s)
    fired(s)
    s.last = failure  # the runtime re-decides the failure on fresher state
    return s


def _failed_on_stale_commit() -> RunStream:
    s = committed("t1", "t2")
    failed(s, sha(1))
    return s


def _failed_half_committed() -> RunStream:
    s = requested()
    plan(s, "t1", "t2")
    ready(s)
    score(s, propose(s, "t1"))
    commit(s, "t1", sha(1))
    failed(s)
    return s


def _approved(kind: str, **kw) -> Callable[[], RunStream]:
    def story() -> RunStream:
        s = escalated(kind, **kw)
        decided(s, pending_id(s), "approve", comment="go on")
        return s

    return story


def _rejected(kind: str, comment: str = "", **kw) -> Callable[[], RunStream]:
    def story() -> RunStream:
        s = escalated(kind, **kw)
        decided(s, pending_id(s), "reject", comment=comment)
        return s

    return story


def _unplanned() -> RunStream:
    return requested()


def _requested_after_planning() -> RunStream:
    s = requested()
    request = s.last
    plan(s)
    s.last = request  # redelivered, decided on the state that already holds the plan
    return s


def _approved_twice() -> RunStream:
    s = escalated("merge_review", setup=lambda: _tested())
    eid = pending_id(s)
    decided(s, eid, "approve", by="ana")
    decided(s, eid, "reject", by="bob")  # lost the race: the projection ignores it
    return s


def _tested(policy: str = "auto") -> RunStream:
    s = committed("t1", merge_policy=policy)
    passed(s)
    return s


def _checked_on_the_host(checked: bool) -> Callable[[], RunStream]:
    def story() -> RunStream:
        s = committed("t1", delivery="pr")
        passed(s)
        if checked:
            s.add(c.HostChecksPassed(commit=s.state.head_commit, checks=("ci/test",)))
        return s

    return story


def _change_rejected() -> RunStream:
    s = requested()
    plan(s, "t1")
    ready(s)
    score(s, propose(s, "t1"))
    s.add(c.ChangeRejected(task_id="t1", attempt=1, reason="the diff does not apply to app.py"))
    return s


def _change_rejected_then(decision: str) -> Callable[[], RunStream]:
    def story() -> RunStream:
        s = _change_rejected()
        s.add_all(decide(s.state, s.last.event, BACKOFF))
        decided(s, pending_id(s), decision)
        return s

    return story


def _scored(verdict: str) -> Callable[[], RunStream]:
    def story() -> RunStream:
        s = requested()
        plan(s, "t1")
        ready(s)
        score(s, propose(s, "t1"), verdict)
        return s

    return story


def _scored_stale() -> RunStream:
    s = requested()
    plan(s, "t1")
    ready(s)
    old = propose(s, "t1")
    propose(s, "t1")  # the same attempt proposed again replaces the first proposal
    score(s, old, "escalate")
    return s


def _unsafe_escalated_twice() -> RunStream:
    s = _scored("escalate")()
    scored = s.last
    s.add_all(decide(s.state, scored.event, BACKOFF))
    s.last = scored
    return s


def _exceeded(producer: str, pending_budget: bool = False) -> Callable[[], RunStream]:
    def story() -> RunStream:
        s = requested()
        if pending_budget:
            s.add(c.EscalationRequested(escalation_id="r1-budget-x", kind="budget", reason="top up"))
        s.add(_EXCEEDED, producer=producer)
        return s

    return story


_EXCEEDED = c.BudgetExceeded(
    role="developer", needed_usd=0.5, needed_tokens=5000, used_usd=4.8, limit_usd=5.0, used_tokens=1000, limit_tokens=2000
)


def _raised(s: RunStream) -> RunStream:
    s.add(c.BudgetRaised(limit_usd=10.0, limit_tokens=4_000_000, raised_by="ana"))
    return s


def _finished_then(event: Callable[[RunStream], object]) -> Callable[[], RunStream]:
    def story() -> RunStream:
        s = committed("t1")
        s.add(c.RunCancelled(cancelled_by="ana"))
        event(s)
        return s

    return story


def _ended_with_retry_pending() -> RunStream:
    s = committed("t1")
    failed(s)
    schedule(s)
    s.add(c.RunCancelled(cancelled_by="ana"))
    return s


CASES: dict[str, Case] = {
    # planning
    "a requested run is planned": Case(_unplanned, lambda s: (MakePlan(),)),
    "a run planned already is not planned again": Case(_requested_after_planning, lambda s: ()),
    # tests failed
    "a failing head schedules a fix of its task after a backoff": Case(
        lambda: (lambda s: (failed(s), s)[-1])(committed("t1")), lambda s: retry_of(s, "t1", 2)
    ),
    "with several tasks the task whose commit is the head is fixed": Case(
        lambda: (lambda s: (failed(s), s)[-1])(committed("t1", "t2")), lambda s: retry_of(s, "t2", 2)
    ),
    "a failure of a commit that is no longer the head is ignored": Case(_failed_on_stale_commit, lambda s: ()),
    "a failure before every task is committed is ignored": Case(_failed_half_committed, lambda s: ()),
    "no second retry while one is pending": Case(_twice_failed_while_pending, lambda s: ()),
    "a failure decided again after its fix was requested adds nothing": Case(_failed_after_fix_requested, lambda s: ()),
    "exhausted retries are asked about once": Case(_failure_redecided_after_escalation, lambda s: ()),
    "zero retries allowed escalates the first failure": Case(
        lambda: (lambda s: (failed(s), s)[-1])(committed("t1", max_retries=0)),
        lambda s: (
            c.EscalationRequested(
                escalation_id=exhausted_id(s), kind="retries_exhausted",
                reason=(
                    f"tests still fail on {s.state.head_commit[:12]} after 0 of 0 retries (1 failed, 0 errors, "
                    f"3 passed); approve for one more fix attempt, reject to stop the run"
                ),
                subject_event_id=s.last.event.event_id,
                head=s.state.head_commit,
            ),
        ),
    ),
    # human decisions
    "approving exhausted retries requests one more fix now": Case(
        _approved("retries_exhausted"),
        lambda s: (
            c.RetryScheduled(
                retry=2, due_at=AT, delay_s=0.0, reason="ana granted one more fix attempt for task t1: go on", timer_id="r1-retry-2"
            ),
            c.FixRequested(
                retry=2, task_id="t1", attempt=3, failure_excerpt="E assert 1 == 2",
                failing_commit=s.state.head_commit, timer_id="r1-retry-2",
            ),
        ),
    ),
    "rejecting exhausted retries blocks the run": Case(_rejected("retries_exhausted"), lambda s: blocked(s, "retries_exhausted")),
    "approving a budget escalation waits for the raise": Case(_approved("budget"), lambda s: ()),
    "rejecting a budget escalation blocks the run": Case(_rejected("budget"), lambda s: blocked(s, "budget")),
    "a human approving the merge review approves the merge": Case(
        _approved("merge_review", setup=_tested),
        lambda s: (c.MergeApproved(approver="human", reviewer="ana", comment="go on"),),
    ),
    "a human rejecting the merge review rejects the merge and blocks the run": Case(
        _rejected("merge_review", comment="not like this", setup=_tested),
        lambda s: (
            c.MergeRejected(approver="human", reviewer="ana", reason="not like this"),
            *blocked(s, "merge_review", "not like this"),
        ),
    ),
    "approving an unsafe action is left to the projection and gitops": Case(_approved("unsafe_action"), lambda s: ()),
    "rejecting an unsafe action blocks the run": Case(_rejected("unsafe_action"), lambda s: blocked(s, "unsafe_action")),
    "approving after invalid plans asks for a plan again": Case(
        _approved("invalid_plan", setup=requested), lambda s: (MakePlan(),)
    ),
    "rejecting after invalid plans blocks the run": Case(
        _rejected("invalid_plan", setup=requested), lambda s: blocked(s, "invalid_plan")
    ),
    "approving a merge conflict asks for the merge again": Case(
        _approved("merge_conflict"), lambda s: (c.MergeApproved(approver="human", reviewer="ana", comment="go on"),)
    ),
    "rejecting a merge conflict blocks the run": Case(_rejected("merge_conflict"), lambda s: blocked(s, "merge_conflict")),
    "approving a rejected change asks for a new attempt now": Case(
        _change_rejected_then("approve"),
        lambda s: (
            c.RetryScheduled(retry=1, due_at=AT, delay_s=0.0, reason="ana asked for a new attempt at task t1", timer_id="r1-retry-1"),
            c.FixRequested(
                retry=1, task_id="t1", attempt=2,
                failure_excerpt="the previous change could not be applied: the diff does not apply to app.py",
                failing_commit=None, timer_id="r1-retry-1",
            ),
        ),
    ),
    "rejecting a rejected change blocks the run": Case(
        _change_rejected_then("reject"), lambda s: blocked(s, "change_rejected")
    ),
    "a second answer to a settled escalation changes nothing": Case(_approved_twice, lambda s: ()),
    # safety and changes
    "an allowed change needs no supervision": Case(_scored("allow"), lambda s: ()),
    "an unsure safety verdict asks a human about the change": Case(
        _scored("escalate"),
        lambda s: (
            c.EscalationRequested(
                escalation_id=f"r1-unsafe-action-{s.last.event.payload.target_event_id}",
                kind="unsafe_action",
                reason="safety is unsure about the diff of task t1 (score 0.50; secret-in-diff); approve to apply it anyway",
                subject_event_id=s.last.event.payload.target_event_id,
            ),
        ),
    ),
    "a blocked change blocks the run": Case(
        _scored("block"),
        lambda s: (c.RunBlocked(reason="safety blocked the diff of task t1 (score 0.10; secret-in-diff; policy p1)"),),
    ),
    "a verdict on a replaced proposal is ignored": Case(_scored_stale, lambda s: ()),
    "an unsafe action is asked about once": Case(_unsafe_escalated_twice, lambda s: ()),
    "a change that does not apply asks a human": Case(
        _change_rejected,
        lambda s: (
            c.EscalationRequested(
                escalation_id="r1-change-rejected-t1-1",
                kind="change_rejected",
                reason=(
                    "the change for task t1 (attempt 1) could not be applied: the diff does not apply to app.py; "
                    "approve to ask for a new attempt, reject to stop the run"
                ),
                subject_event_id=s.last.event.event_id,
                task_id="t1",
                attempt=1,
            ),
        ),
    ),
    # budget
    "another service's budget stop asks for a top-up": Case(
        _exceeded("developer@a1"),
        lambda s: (
            c.EscalationRequested(
                escalation_id=f"r1-budget-{s.last.event.event_id.hex[:12]}",
                kind="budget",
                reason=(
                    "the developer call was not made: it needs up to 5000 tokens / $0.5000, and the run has used "
                    "1000 of 2000 tokens / $4.8000 of $5.0000; raise the budget to go on"
                ),
                subject_event_id=s.last.event.event_id,
            ),
        ),
    ),
    "the planner's own budget stop is escalated already": Case(_exceeded("planner@a1"), lambda s: ()),
    "a budget stop while a top-up is asked for adds nothing": Case(_exceeded("developer@a1", True), lambda s: ()),
    "a raised budget re-plans a run without a plan": Case(lambda: _raised(requested()), lambda s: (MakePlan(),)),
    "a raised budget re-runs a refused model review": Case(
        lambda: _raised(_tested("model")), lambda s: (ReviewMerge(s.state.head_commit),)
    ),
    "a raised budget on a planned run with nothing refused adds nothing": Case(
        lambda: _raised(committed("t1")), lambda s: ()
    ),
    # merge review
    "tested changes merge by the auto policy": Case(
        _tested,
        lambda s: (
            c.MergeApproved(
                approver="policy", reviewer="policy:auto",
                comment=f"tests passed on {sha(1)[:12]} and every change was scored allow or approved by a human",
            ),
        ),
    ),
    "a pull request's sandbox pass waits for the host's required checks": Case(_checked_on_the_host(False), lambda s: ()),
    "a pull request whose required checks passed merges by the auto policy": Case(
        _checked_on_the_host(True),
        lambda s: (
            c.MergeApproved(
                approver="policy", reviewer="policy:auto",
                comment=f"tests passed on {sha(1)[:12]} and every change was scored allow or approved by a human",
            ),
        ),
    ),
    "tested changes go to the model reviewer by the model policy": Case(
        lambda: _tested("model"), lambda s: (ReviewMerge(sha(1)),)
    ),
    "tested changes go to a human by the human policy": Case(
        lambda: _tested("human"),
        lambda s: (
            c.EscalationRequested(
                escalation_id=f"r1-merge-review-{sha(1)[:12]}", kind="merge_review",
                reason=f"tests passed on {sha(1)[:12]}; may wave/r1 be merged into main?", head=sha(1),
            ),
        ),
    ),
    "a pass on a commit that is no longer the head is ignored": Case(
        lambda: (lambda s: (passed(s, sha(1)), s)[-1])(committed("t1", "t2")), lambda s: ()
    ),
    "a merge is approved once": Case(
        lambda: (lambda s: (s.add(c.MergeApproved(approver="policy", reviewer="policy:auto")), passed(s), s)[-1])(_tested()),
        lambda s: (),
    ),
    # outcome
    "a merge completes the run": Case(
        lambda: (lambda s: (s.add(c.Merged(target_branch="main", merge_commit=sha(9), fast_forward=True)), s)[-1])(_tested()),
        lambda s: (c.RunCompleted(merge_commit=sha(9)),),
    ),
    "a finished run gets no decisions": Case(_finished_then(lambda s: failed(s)), lambda s: ()),
    "a run that ends cancels its pending retry and is summarized": Case(
        _ended_with_retry_pending, lambda s: (CancelTimer("r1-retry-1"), summary_of(s.state))
    ),
    "a run that ends without retries cancels nothing and is summarized": Case(
        lambda: (lambda s: (s.add(c.RunCancelled(cancelled_by="ana")), s)[-1])(committed("t1")),
        lambda s: (summary_of(s.state),),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_planner_decides(name: str) -> None:
    case = CASES[name]
    stream = case.story()
    assert decide(stream.state, stream.last.event, BACKOFF) == case.expected(stream)


def test_exhausted_retries_ask_a_human_once_with_the_failure() -> None:
    s = committed("t1", max_retries=1)
    failed(s)
    schedule(s)
    fired(s)
    score(s, propose(s, "t1", 2))
    commit(s, "t1", sha(7), 2)
    failure = failed(s)
    question = decide(s.state, failure.event, BACKOFF)
    assert question == (
        c.EscalationRequested(
            escalation_id=f"r1-retries-exhausted-{sha(7)[:12]}", kind="retries_exhausted",
            reason=(
                f"tests still fail on {sha(7)[:12]} after 1 of 1 retries (1 failed, 0 errors, 3 passed); "
                "approve for one more fix attempt, reject to stop the run"
            ),
            subject_event_id=failure.event.event_id,
            head=sha(7),
        ),
    )
    s.add_all(question)
    assert decide(s.state, failure.event, BACKOFF) == ()


def test_a_fix_that_fails_again_is_retried_with_a_longer_wait() -> None:
    s = committed("t1", max_retries=3)
    failed(s)
    schedule(s)
    fired(s)
    score(s, propose(s, "t1", 2))
    commit(s, "t1", sha(7), 2)
    failed(s)
    retry, timer = decide(s.state, s.last.event, BACKOFF)
    assert (retry.retry, timer.event.retry, timer.event.attempt, timer.timer_id) == (2, 2, 3, "r1-retry-2")
    assert 2.0 <= retry.delay_s <= 4.0


def test_deciding_again_about_the_same_failure_gives_the_same_outputs() -> None:
    s = committed("t1")
    failure = failed(s)
    assert decide(s.state, failure.event, BACKOFF) == decide(s.state, failure.event, BACKOFF)


ENDINGS = {
    "RunCompleted": lambda: c.RunCompleted(merge_commit=sha(9)),
    "RunFailed": lambda: c.RunFailed(reason="the sandbox refused to start"),
    "RunBlocked": lambda: c.RunBlocked(reason="an unsafe change was rejected"),
    "RunCancelled": lambda: c.RunCancelled(cancelled_by="ana"),
    "PlanRejected": lambda: c.PlanRejected(reason="the story cannot be planned"),
}


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_however_a_run_ends_its_pending_retry_is_cancelled(ending: str) -> None:
    s = committed("t1")
    failed(s)
    schedule(s)
    s.add(ENDINGS[ending]())
    cancel, summary = decide(s.state, s.last.event, BACKOFF)
    assert cancel == CancelTimer("r1-retry-1")
    assert isinstance(summary, c.RunSummarized) and summary.outcome == s.state.status
    assert [t.commit for t in summary.tests] == [s.state.last_test_failed_commit]


def test_a_run_is_summarized_once_for_its_first_ending() -> None:
    s = committed("t1")
    first = s.add(c.RunCancelled(cancelled_by="ana"))
    (summary,) = decide(s.state, first.event, BACKOFF)
    assert (summary.outcome, summary.reason) == ("cancelled", "")
    second = s.add(c.RunFailed(reason="late"))
    assert decide(s.state, second.event, BACKOFF) == ()  # not the first ending
    s.add(summary)
    assert decide(s.state, first.event, BACKOFF) == ()  # already summarized


def test_the_planner_is_delivered_exactly_the_events_it_decides_on() -> None:
    from wave_planner import HANDLED_EVENT_TYPES

    cases = list(CASES.values())
    decided_on = {story.last.event.type for case in cases if case.expected(story := case.story())}
    # an event type missing here would never reach the planner; one too many is a subscription no rule uses
    assert HANDLED_EVENT_TYPES == decided_on | set(ENDINGS)


@pytest.mark.parametrize("kind", ["retries_exhausted", "merge_conflict", "budget", "unsafe_action"])
def test_the_kind_of_an_answered_escalation_is_still_known(kind: str) -> None:
    s = requested()
    s.add(c.EscalationRequested(escalation_id="any-id", kind=kind, reason="why"))
    assert escalation_kind(s.state, "any-id") == kind
    decided(s, "any-id")
    assert "any-id" not in s.state.pending_escalations
    assert escalation_kind(s.state, "any-id") == kind
    assert escalation_kind(s.state, "never-asked") is None

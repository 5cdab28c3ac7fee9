"""Which events are worth a message, and where: a table over realistic run streams."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from notifier_runs import plan, propose, requested, score
from run_streams import RunStream, Step, sha
from wave_events import catalogue as c
from wave_events.projections import GATES
from wave_notifier import HANDLED_EVENT_TYPES, decide


def _planned(tasks: int = 1) -> RunStream:
    stream = requested()
    plan(stream, tasks)
    stream.add(c.WorkspaceReady(branch="wave/r1", base_commit=sha(1), location="/srv/app.git"))
    return stream


def _committed(stream: RunStream, task: str, n: int) -> Step:
    return stream.add(
        c.ChangeCommitted(task_id=task, attempt=1, commit=sha(n), parent=sha(n - 1), branch="wave/r1")
    )


def _safe_single_task() -> RunStream:
    stream = _planned()
    score(stream, propose(stream, "t1"), "allow", 0.95)
    return stream


def _tested() -> RunStream:
    stream = _safe_single_task()
    _committed(stream, "t1", 2)
    stream.add(c.TestsPassed(commit=sha(2), counts=c.TestCounts(passed=4), duration_s=1.5, sandbox="bwrap"))
    return stream


def _second_of_two_proposals() -> Step:
    stream = _planned(2)
    propose(stream, "t1")
    return propose(stream, "t2")


def _first_of_two_proposals() -> Step:
    stream = _planned(2)
    return propose(stream, "t1")


def _allow_first_of_two() -> Step:
    stream = _planned(2)
    first = propose(stream, "t1")
    propose(stream, "t2")
    return score(stream, first, "allow", 0.9)


def _commit_first_of_two() -> Step:
    stream = _planned(2)
    p1, p2 = propose(stream, "t1"), propose(stream, "t2")
    score(stream, p1, "allow", 0.9)
    score(stream, p2, "allow", 0.9)
    return _committed(stream, "t1", 2)


def _tests_passed_on_stale_commit() -> Step:
    stream = _safe_single_task()
    _committed(stream, "t1", 2)
    return stream.add(
        c.TestsPassed(commit=sha(9), counts=c.TestCounts(passed=1), duration_s=1, sandbox="bwrap")
    )


def _merge_approved() -> Step:
    stream = _tested()
    return stream.add(c.MergeApproved(approver="policy", reviewer="auto"))


def _merged() -> Step:
    stream = _tested()
    stream.add(c.MergeApproved(approver="policy", reviewer="auto"))
    return stream.add(c.Merged(target_branch="main", merge_commit=sha(3), fast_forward=True))


def _last(stream: RunStream) -> Step:
    return stream.steps[-1]


def _then(payload: c.DomainEvent, base: Callable[[], RunStream] = requested) -> Callable[[], Step]:
    return lambda: base().add(payload)


def _budget(percent: int) -> c.BudgetThresholdCrossed:
    return c.BudgetThresholdCrossed(
        percent=percent, used_usd=2.0 * percent / 100, limit_usd=2.0, used_tokens=1000, limit_tokens=10_000
    )


UPDATE_GATE = (("updates", "gate_passed"),)
CASES: list[tuple[str, Callable[[], Step], tuple[tuple[str, str], ...], str | None]] = [
    ("run requested announces the start", lambda: _last(requested()), (("updates", "run_started"),), None),
    ("a plan passes G0", lambda: plan(requested()), UPDATE_GATE, GATES[0]),
    ("a workspace passes G1", lambda: _last(_planned()), UPDATE_GATE, GATES[1]),
    ("the first of two proposals passes nothing", _first_of_two_proposals, (), None),
    ("the last proposal passes G2", _second_of_two_proposals, UPDATE_GATE, GATES[2]),
    (
        "an allow verdict on the only change passes G3",
        lambda: _last(_safe_single_task()),
        UPDATE_GATE,
        GATES[3],
    ),
    ("an allow verdict with another change unscored passes nothing", _allow_first_of_two, (), None),
    (
        "a block verdict is a safety violation",
        lambda: score(s := _planned(), propose(s, "t1"), "block", 0.1, "secret-in-diff"),
        (("alerts", "safety_violation"),),
        None,
    ),
    (
        "an escalate verdict is a safety violation",
        lambda: score(s := _planned(), propose(s, "t1"), "escalate", 0.5, "ci-file-touched"),
        (("alerts", "safety_violation"),),
        None,
    ),
    (
        "committing the only change passes G4",
        lambda: _committed(_safe_single_task(), "t1", 2),
        UPDATE_GATE,
        GATES[4],
    ),
    ("committing one of two changes passes nothing", _commit_first_of_two, (), None),
    ("tests passing on the head pass G5", lambda: _last(_tested()), UPDATE_GATE, GATES[5]),
    ("tests passing on another commit pass nothing", _tests_passed_on_stale_commit, (), None),
    ("a merge approval passes G6", _merge_approved, UPDATE_GATE, GATES[6]),
    ("a merge passes G7", _merged, UPDATE_GATE, GATES[7]),
    (
        "an escalation asks for a decision",
        _then(
            c.EscalationRequested(escalation_id="esc-1", kind="unsafe_action", reason="writes to .github/")
        ),
        (("alerts", "escalation"),),
        None,
    ),
    ("75% of the budget warns", _then(_budget(75)), (("budget", "budget_warning"),), None),
    ("90% of the budget warns", _then(_budget(90)), (("budget", "budget_warning"),), None),
    ("100% of the budget warns", _then(_budget(100)), (("budget", "budget_warning"),), None),
    (
        "an exceeded budget warns",
        _then(
            c.BudgetExceeded(
                role="developer",
                needed_usd=0.4,
                needed_tokens=900,
                used_usd=1.9,
                limit_usd=2.0,
                used_tokens=9000,
                limit_tokens=10_000,
            )
        ),
        (("budget", "budget_warning"),),
        None,
    ),
    (
        "a completed run is announced",
        _then(c.RunCompleted(merge_commit=sha(3))),
        (("updates", "run_finished"),),
        None,
    ),
    (
        "a failed run is announced and alerted",
        _then(c.RunFailed(reason="retries exhausted")),
        (("updates", "run_finished"), ("alerts", "run_finished")),
        None,
    ),
    (
        "a blocked run is announced",
        _then(c.RunBlocked(reason="approver said no")),
        (("updates", "run_finished"),),
        None,
    ),
    (
        "a cancelled run is announced",
        _then(c.RunCancelled(cancelled_by="ana")),
        (("updates", "run_finished"),),
        None,
    ),
    (
        "a rejected plan is announced",
        _then(c.PlanRejected(reason="no tests in repo")),
        (("updates", "run_finished"),),
        None,
    ),
    ("a budget charge says nothing", _then(c.BudgetCharged(tokens=10, cost_usd=0.01)), (), None),
    (
        "failed tests say nothing (the retry or the failure will)",
        _then(c.TestsFailed(commit=sha(2), counts=c.TestCounts(failed=1), duration_s=1, sandbox="bwrap")),
        (),
        None,
    ),
    (
        "a merge rejection says nothing",
        _then(c.MergeRejected(approver="human", reviewer="bo", reason="style")),
        (),
        None,
    ),
]


@pytest.mark.parametrize(
    ("build", "expected", "gate"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_decides_what_to_post_and_where(build, expected, gate) -> None:
    step = build()
    notices = decide(step.state, step.event)
    assert [(n.route, n.kind) for n in notices] == list(expected)
    if gate is not None:
        assert f"gate {gate} passed" in notices[0].message.text


def test_a_gate_is_not_announced_again_once_the_run_has_finished() -> None:
    stream = _tested()
    stream.add(c.RunCancelled(cancelled_by="ana"))
    late = stream.add(
        c.TestsPassed(commit=sha(2), counts=c.TestCounts(passed=4), duration_s=1, sandbox="bwrap")
    )
    assert decide(late.state, late.event) == ()


def test_a_retried_task_passes_g2_again_with_its_new_attempt() -> None:
    stream = _safe_single_task()
    stream.add(c.FixRequested(retry=1, task_id="t1", attempt=2, failure_excerpt="assert 1 == 2"))
    step = propose(stream, "t1", attempt=2)
    (notice,) = decide(step.state, step.event)
    assert notice.kind == "gate_passed"
    assert "attempt 2" in " ".join(str(b) for b in notice.message.blocks)


def test_the_service_subscribes_to_exactly_the_events_it_can_decide_on() -> None:
    assert HANDLED_EVENT_TYPES == {
        "RunRequested",
        "PlanCreated",
        "WorkspaceReady",
        "ChangeProposed",
        "ActionScored",
        "ChangeCommitted",
        "TestsPassed",
        "MergeApproved",
        "Merged",
        "EscalationRequested",
        "BudgetThresholdCrossed",
        "BudgetExceeded",
        "RunCompleted",
        "RunFailed",
        "RunBlocked",
        "RunCancelled",
        "PlanRejected",
    }


def test_the_final_message_carries_the_run_summary():
    stream = _tested()
    stream.add(c.RetryScheduled(retry=1, due_at=stream.last.event.occurred_at, delay_s=1, reason="flaky", timer_id="x"))
    stream.add(c.LLMCallRecorded(role="developer", provider="openai", model="m", input_tokens=900, output_tokens=100,
                                 cost_usd=1.5, latency_ms=3))
    stream.add(c.RunCompleted(merge_commit=sha(3)))
    (notice,) = decide(stream.state, stream.last.event)
    text = "\n".join(str(block) for block in notice.message.blocks)
    assert "developer on openai: 1 call(s), 1,000 tokens, $1.50" in text
    assert "retry 1: flaky" in text and "G5 tested at" in text and "*Test runs*\\n1 (1 passed)" in text
    assert "$1.50" in notice.message.text and "1 retries" in notice.message.text


def test_an_exceeded_budget_says_how_to_top_up_not_to_approve():
    stream = requested()
    stream.add(c.BudgetExceeded(role="developer", needed_usd=1, needed_tokens=10, used_usd=2, limit_usd=2,
                                used_tokens=5, limit_tokens=100))
    (notice,) = decide(stream.state, stream.last.event)
    text = "\n".join(str(block) for block in notice.message.blocks)
    assert "wave budget r1 --usd NEW_LIMIT" in text and "wave approve" not in text

"""The run projection: gates, retries, escalations and budget as a pure fold, tested as tables."""

import uuid

from run_stories import happy_run
from run_streams import RunStream, sha
from wave_events import catalogue as c
from wave_events.projections import GATES, fold


def passed_gates(state) -> list[str]:
    return [name for name, ok in state.gates.items() if ok]


def test_a_finished_run_has_passed_every_gate():
    state = fold(happy_run().events)
    assert passed_gates(state) == list(GATES)
    assert state.status == "completed"
    assert state.retries == 1 and state.tasks["t1"].attempt == 2
    assert (state.budget_used_usd, state.budget_used_tokens, state.budget_limit_usd) == (0.25, 1200, 2.0)
    assert state.pending_timers == {}


def test_gates_pass_one_by_one_as_the_run_progresses():
    stream = happy_run(tasks=1, fail_first=False)
    seen = [passed_gates(fold(stream.events[:n])) for n in range(1, len(stream.events) + 1)]
    types = [e.type for e in stream.events]
    first_pass = {gate: types[next(i for i, g in enumerate(seen) if gate in g)] for gate in GATES}
    assert first_pass == {
        "G0 planned": "PlanCreated",
        "G1 workspace": "WorkspaceReady",
        "G2 implemented": "ChangeProposed",
        "G3 safe": "ActionScored",
        "G4 committed": "ChangeCommitted",
        "G5 tested": "TestsPassed",
        "G6 approved": "MergeApproved",
        "G7 merged": "Merged",
    }


def test_a_failed_test_run_reopens_implementation_for_the_fixed_task():
    stream = happy_run(tasks=2, fail_first=True)
    fix_index = next(i for i, e in enumerate(stream.events) if e.type == "FixRequested")
    after_fix = fold(stream.events[: fix_index + 1])
    assert not after_fix.gates["G2 implemented"] and after_fix.gates["G1 workspace"]
    assert after_fix.tasks["t1"].proposal_event_id is None and after_fix.tasks["t2"].commit is not None
    before_fix = fold(stream.events[:fix_index])
    assert list(before_fix.pending_timers) == ["retry-1"]


def test_an_escalated_change_passes_the_safety_gate_only_after_a_human_approves():
    s = RunStream()
    s.add(c.RunRequested(story="x", repo="/r", budget_usd=1))
    s.add(c.PlanCreated(tasks=(c.PlanTask(task_id="t1", domain="d", description="d", acceptance_criteria=("a",)),)))
    s.add(c.WorkspaceReady(branch="wave/r1", base_commit=sha(1), location="/r"))
    change = s.add(c.ChangeProposed(task_id="t1", attempt=1, diff="d", base_commit=sha(1)))
    s.add(c.ActionScored(target_event_id=change.event.event_id, action_kind="diff", task_id="t1", attempt=1, score=0.5,
                         verdict="escalate", policy_version="p1"))
    s.add(c.EscalationRequested(escalation_id="e1", kind="unsafe_action", reason="touches CI", subject_event_id=change.event.event_id))
    waiting = fold(s.events)
    assert (waiting.status, waiting.gates["G3 safe"], list(waiting.pending_escalations)) == ("awaiting_human", False, ["e1"])
    s.add(c.HumanDecisionRecorded(escalation_id="e1", decision="approve", decided_by="ana", comment="ok"))
    s.add(c.HumanDecisionRecorded(escalation_id="e1", decision="reject", decided_by="bob"))  # too late: ignored
    decided = fold(s.events)
    assert (decided.status, decided.gates["G3 safe"], decided.pending_escalations) == ("running", True, {})
    assert decided.decisions == (("e1", "approve", "ana"),)


def test_budget_raise_replaces_the_limits_and_clears_warnings():
    s = RunStream()
    s.add(c.RunRequested(story="x", repo="/r", budget_usd=1, budget_tokens=100))
    s.add(c.BudgetCharged(tokens=95, cost_usd=0.95))
    s.add(c.BudgetThresholdCrossed(percent=90, used_usd=0.95, limit_usd=1, used_tokens=95, limit_tokens=100))
    s.add(c.BudgetExceeded(role="developer", needed_usd=0.2, needed_tokens=20, used_usd=0.95, limit_usd=1,
                           used_tokens=95, limit_tokens=100))
    assert fold(s.events).budget_warnings == (90,)
    s.add(c.BudgetRaised(limit_usd=3, limit_tokens=1000, raised_by="ana"))
    state = fold(s.events)
    assert (state.budget_limit_usd, state.budget_limit_tokens, state.budget_warnings) == (3, 1000, ())


def test_a_budget_raise_answers_the_pending_budget_question_and_only_that():
    s = RunStream()
    s.add(c.RunRequested(story="x", repo="/r", budget_usd=1, budget_tokens=100))
    s.add(c.EscalationRequested(escalation_id="b1", kind="budget", reason="top up"))
    s.add(c.EscalationRequested(escalation_id="m1", kind="merge_review", reason="review"))
    s.add(c.BudgetRaised(limit_usd=3, limit_tokens=1000, raised_by="ana"))
    state = fold(s.events)
    assert (state.status, list(state.pending_escalations), list(state.settled_escalations)) == ("awaiting_human", ["m1"], ["b1"])
    s.add(c.HumanDecisionRecorded(escalation_id="m1", decision="approve", decided_by="ana"))
    assert fold(s.events).status == "running"


def test_outcomes_set_the_status_and_reason():
    for payload, status in [
        (c.RunFailed(reason="retries exhausted"), "failed"),
        (c.RunBlocked(reason="human rejected"), "blocked"),
        (c.RunCancelled(cancelled_by="ana", reason="obsolete"), "cancelled"),
        (c.PlanRejected(reason="not a code change"), "rejected"),
    ]:
        s = RunStream()
        s.add(c.RunRequested(story="x", repo="/r", budget_usd=1))
        s.add(payload)
        state = fold(s.events)
        assert state.status == status and state.finished and state.outcome_reason


def test_a_stale_attempt_does_not_move_the_current_one():
    stream = happy_run(tasks=1, fail_first=True)
    s = RunStream()
    for e in stream.events[:-4]:
        s.add(e.payload)
    late = s.add(c.ChangeProposed(task_id="t1", attempt=1, diff="late duplicate", base_commit=sha(1)))
    state = fold(s.events)
    assert state.tasks["t1"].attempt == 2 and state.tasks["t1"].proposal_event_id != str(late.event.event_id)
    assert uuid.UUID(state.tasks["t1"].proposal_event_id)

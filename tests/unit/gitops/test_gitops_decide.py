"""What gitops decides for each event, given the run folded with it: a table of runs and answers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from gitops_runs import approve_merge, decide_escalation, escalate_unsafe, plan, propose, requested, score
from run_streams import RunStream
from wave_events import catalogue as c
from wave_events.projections import RunState
from wave_gitops import HANDLED_EVENT_TYPES, ApplyChange, Cleanup, Decision, Merge, Prepare, decide
from wave_gitops.delivery import MergePullRequest

BASE = "a" * 40
DIFF = "--- a/app.py\n+++ b/app.py\n@@ -1 +1 @@\n-x\n+y\n"


def ready(stream: RunStream) -> None:
    stream.add(c.WorkspaceReady(branch=f"wave/{stream.run_id}", base_commit=BASE, location="/srv/shop"))


def new_run(target: str = "main", base_commit: str | None = None) -> RunStream:
    return requested("r1", "/srv/shop", target, base_commit=base_commit)


def planned(stream: RunStream) -> RunStream:
    plan(stream, "t1", "t2")
    ready(stream)
    return stream


def proposal_id(stream: RunStream, task: str) -> str:
    return stream.state.tasks[task].proposal_event_id or ""


@dataclass(frozen=True)
class Case:
    story: Callable[[RunStream], object]  # adds events; the last one is the event decided on
    expected: Callable[[RunStream], tuple[Decision, ...]]
    target: str = "main"
    base_commit: str | None = None  # the target's head the run was submitted at, when recorded


def _allowed(s: RunStream) -> None:
    planned(s)
    score(s, propose(s, "t1", DIFF, BASE))


def _allowed_twice(s: RunStream) -> None:
    planned(s)
    proposal = propose(s, "t1", DIFF, BASE)
    score(s, proposal)
    s.add(c.ChangeCommitted(task_id="t1", attempt=1, commit="b" * 40, parent=BASE, branch="wave/r1"))
    s.add(s.steps[-2].event.payload)  # the same verdict again, with the change already committed


def _stale_allow(s: RunStream) -> None:
    planned(s)
    old = propose(s, "t1", DIFF, BASE)
    s.add(c.FixRequested(retry=1, task_id="t1", attempt=2))
    score(s, old)


def _after_rejection(s: RunStream) -> None:
    planned(s)
    proposal = propose(s, "t1", DIFF, BASE)
    s.add(c.ChangeRejected(task_id="t1", attempt=1, reason="hunk 1 does not match"))
    score(s, proposal)


def _human_approves(s: RunStream) -> None:
    planned(s)
    proposal = propose(s, "t2", DIFF, BASE, attempt=1)
    score(s, proposal, "escalate")
    escalate_unsafe(s, proposal)
    decide_escalation(s)


def _human_rejects(s: RunStream) -> None:
    planned(s)
    proposal = propose(s, "t2", DIFF, BASE)
    score(s, proposal, "escalate")
    escalate_unsafe(s, proposal)
    decide_escalation(s, decision="reject")


def _human_approves_budget(s: RunStream) -> None:
    planned(s)
    score(s, propose(s, "t2", DIFF, BASE), "escalate")
    s.add(c.EscalationRequested(escalation_id="esc-b", kind="budget", reason="top up"))
    decide_escalation(s, "esc-b")


def _merge_twice(s: RunStream) -> None:
    planned(s)
    approve_merge(s)
    s.add(c.Merged(target_branch="main", merge_commit="c" * 40, fast_forward=True))
    approve_merge(s)


def _publication_escalated(s: RunStream, kind: str, cause: c.DomainEvent) -> None:
    """Safety escalated gitops' own push or merge (the verdict names the event that asked for it);
    the planner asked a person, who approves."""
    step = s.add(cause)
    s.add(c.ActionScored(target_event_id=step.event.event_id, action_kind=kind, score=0.5, verdict="escalate",
                         policy_version="p", action={"kind": kind}))
    escalate_unsafe(s, step)
    decide_escalation(s)


CASES: dict[str, Case] = {
    "a person approves publishing the run branch after safety escalated the push: prepare it": Case(
        lambda s: _publication_escalated(s, "push", c.PlanCreated(tasks=(c.PlanTask(
            task_id="t1", domain="d", description="d", acceptance_criteria=("x",)),))),
        lambda s: (Prepare("main", approved=True),),
    ),
    "a person approves the merge after safety escalated it: merge": Case(
        lambda s: (planned(s), _publication_escalated(s, "merge", c.MergeApproved(approver="policy", reviewer="auto"))),
        lambda s: (Merge("main", "squash", "make prices include tax", approved=True),),
    ),
    "plan created: prepare the workspace on the run's target branch": Case(
        lambda s: plan(s), lambda s: (Prepare("release/2.0"),), target="release/2.0"
    ),
    "plan created for a run submitted at a recorded commit: prepare the workspace there": Case(
        lambda s: plan(s), lambda s: (Prepare("main", BASE),), base_commit=BASE
    ),
    "plan created again once the workspace is ready: nothing": Case(
        lambda s: (plan(s), ready(s), plan(s)), lambda s: ()
    ),
    "allow on the current proposal: apply and commit it": Case(
        _allowed, lambda s: (ApplyChange("t1", 1, DIFF, proposal_id(s, "t1")),)
    ),
    "allow for a change already committed: nothing": Case(_allowed_twice, lambda s: ()),
    "allow for a proposal a newer attempt replaced: nothing": Case(_stale_allow, lambda s: ()),
    "allow for a proposal already rejected: nothing": Case(_after_rejection, lambda s: ()),
    "escalate verdict: nothing until a human answers": Case(
        lambda s: (planned(s), score(s, propose(s, "t1", DIFF, BASE), "escalate")), lambda s: ()
    ),
    "block verdict: nothing": Case(
        lambda s: (planned(s), score(s, propose(s, "t1", DIFF, BASE), "block")), lambda s: ()
    ),
    "allow for a shell command, not a diff: nothing": Case(
        lambda s: (planned(s), score(s, propose(s, "t1", DIFF, BASE), action_kind="command")), lambda s: ()
    ),
    "a human approves the unsafe proposal: apply and commit it": Case(
        _human_approves, lambda s: (ApplyChange("t2", 1, DIFF, proposal_id(s, "t2")),)
    ),
    "a human rejects it: nothing": Case(_human_rejects, lambda s: ()),
    "a human approves a budget top-up: nothing to commit": Case(_human_approves_budget, lambda s: ()),
    "merge approved: squash into the target branch, the story's first line as subject": Case(
        lambda s: (planned(s), approve_merge(s)), lambda s: (Merge("main", "squash", "make prices include tax"),)
    ),
    "merge approved again after the merge: nothing": Case(_merge_twice, lambda s: ()),
    "merge approved without a workspace: nothing": Case(lambda s: (plan(s), approve_merge(s)), lambda s: ()),
    "run completed: clean up": Case(
        lambda s: (planned(s), s.add(c.RunCompleted(merge_commit="c" * 40))), lambda s: (Cleanup(),)
    ),
    "run failed: clean up": Case(lambda s: (planned(s), s.add(c.RunFailed(reason="x"))), lambda s: (Cleanup(),)),
    "run blocked: clean up": Case(lambda s: (planned(s), s.add(c.RunBlocked(reason="no"))), lambda s: (Cleanup(),)),
    "run cancelled: clean up": Case(
        lambda s: (planned(s), s.add(c.RunCancelled(cancelled_by="ana"))), lambda s: (Cleanup(),)
    ),
    "plan rejected before any workspace: nothing to clean": Case(
        lambda s: s.add(c.PlanRejected(reason="infeasible")), lambda s: ()
    ),
    "a plan created after the run was cancelled: no workspace": Case(
        lambda s: (s.add(c.RunCancelled(cancelled_by="ana")), plan(s)), lambda s: ()
    ),
    "an allow after the run failed: nothing": Case(
        lambda s: (planned(s), p := propose(s, "t1", DIFF, BASE), s.add(c.RunFailed(reason="x")), score(s, p)),
        lambda s: (),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_decision(name: str) -> None:
    case = CASES[name]
    stream = new_run(case.target, case.base_commit)
    case.story(stream)
    last = stream.steps[-1]
    assert decide(last.state, last.event) == case.expected(stream)


def test_a_human_approval_read_before_it_is_folded_applies_the_escalation_subject() -> None:
    stream = planned(new_run())
    proposal = propose(stream, "t1", DIFF, BASE)
    score(stream, proposal, "escalate")
    escalate_unsafe(stream, proposal)
    before: RunState = stream.state
    decision = decide_escalation(stream)
    assert decide(before, decision.event) == (ApplyChange("t1", 1, DIFF, str(proposal.event.event_id)),)


def test_events_gitops_does_not_handle_decide_nothing() -> None:
    stream = planned(new_run())
    proposal = propose(stream, "t1", DIFF, BASE)
    assert proposal.event.type not in HANDLED_EVENT_TYPES
    assert decide(proposal.state, proposal.event) == ()


def test_gitops_handles_exactly_the_events_it_has_rules_for() -> None:
    assert HANDLED_EVENT_TYPES == {
        "PlanCreated", "ActionScored", "HumanDecisionRecorded", "MergeApproved", "ChangeCommitted",
        "RunCompleted", "RunFailed", "RunBlocked", "RunCancelled", "PlanRejected",
        # delivery `pr`: the pull request, commit statuses, required checks
        "TestsPassed", "TestsFailed", "HostChecksDue", "MergeRejected",
    }


@pytest.mark.parametrize("strategy", ["squash", "merge", "ff"])
def test_a_merge_lands_by_the_strategy_the_run_was_requested_with(strategy: str) -> None:
    stream = requested("r1", "/srv/shop", merge_strategy=strategy)
    planned(stream)
    step = approve_merge(stream)
    assert decide(step.state, step.event) == (Merge("main", strategy, "make prices include tax"),)



def _fork_of_r1(delivery: str = "local") -> RunStream:
    """Run r2, forked from r1 after r1's workspace was ready and t1 committed: its copied history names wave/r1."""
    stream = RunStream("r2")
    stream.add(c.RunRequested(story="make prices include tax", repo="/srv/shop", budget_usd=1.0,
                              parent_run_id="r1", forked_at=6, delivery=delivery))
    plan(stream, "t1")
    stream.add(c.WorkspaceReady(branch="wave/r1", base_commit=BASE, location="/srv/shop"))
    return stream


def test_a_fork_on_its_parents_branch_gets_a_branch_of_its_own_before_it_commits() -> None:
    from wave_gitops import BranchFork

    stream = _fork_of_r1()
    step = score(stream, propose(stream, "t1", DIFF, BASE))
    assert decide(step.state, step.event) == (
        BranchFork(parent_run_id="r1", head_commit=BASE, base_commit=BASE),
        ApplyChange("t1", 1, DIFF, proposal_id(stream, "t1")),
    )
    stream.add(c.WorkspaceReady(branch="wave/r2", base_commit=BASE, location="/srv/shop"))
    merge = approve_merge(stream)
    assert decide(merge.state, merge.event) == (Merge("main", "squash", "make prices include tax"),)


def test_a_fork_that_needs_no_git_work_gets_no_branch() -> None:
    stream = _fork_of_r1()
    step = score(stream, propose(stream, "t1", DIFF, BASE), verdict="escalate")
    assert decide(step.state, step.event) == ()


def _committed_run(delivery: str) -> RunStream:
    stream = requested("r1", "/srv/shop", delivery=delivery)
    plan(stream, "t1")
    ready(stream)
    score(stream, propose(stream, "t1", DIFF, BASE))
    stream.add(c.ChangeCommitted(task_id="t1", attempt=1, commit="c" * 40, parent=BASE, branch="wave/r1"))
    return stream


def test_a_local_run_asks_nothing_of_a_git_host() -> None:
    stream = _committed_run("local")
    assert decide(stream.state, stream.last.event) == ()
    passed = stream.add(c.TestsPassed(commit="c" * 40, counts=c.TestCounts(passed=1), duration_s=1, sandbox="bwrap"))
    assert decide(passed.state, passed.event) == ()


def test_a_pull_request_run_opens_once_looks_at_the_head_only_and_merges_on_the_host() -> None:
    from wave_gitops.delivery import CheckHost, MergePullRequest, OpenPullRequest, PostStatus

    stream = _committed_run("pr")
    first = decide(stream.state, stream.last.event)
    assert isinstance(first[0], OpenPullRequest) and first[0].head_branch == "wave/r1"
    assert all(isinstance(d, PostStatus) and d.commit == "c" * 40 for d in first[1:])
    stream.add(c.PullRequestOpened(host="github", repository="acme/shop", number=7, url="u", head_branch="wave/r1", base_branch="main"))
    stale = stream.add(c.TestsPassed(commit="d" * 40, counts=c.TestCounts(passed=1), duration_s=1, sandbox="bwrap"))
    assert decide(stale.state, stale.event) == ()
    passed = stream.add(c.TestsPassed(commit="c" * 40, counts=c.TestCounts(passed=1), duration_s=1, sandbox="bwrap"))
    assert decide(passed.state, passed.event)[-1] == CheckHost("c" * 40, "main", 1)
    stream.add(c.HostChecksPassed(commit="c" * 40))
    due = stream.add(c.HostChecksDue(commit="c" * 40, poll=2, timer_id="t"))
    assert decide(due.state, due.event) == ()  # answered already
    merge = approve_merge(stream)
    assert decide(merge.state, merge.event)[-1] == MergePullRequest("wave/r1", "main", "squash", "make prices include tax", "c" * 40)
    assert not any(isinstance(d, Merge) for d in decide(merge.state, merge.event))


def test_a_person_approving_the_escalated_merge_of_a_pull_request_merges_it_on_the_host() -> None:
    stream = planned(requested("r1", "/srv/shop", delivery="pr"))
    stream.add(c.ChangeCommitted(task_id="t1", attempt=1, commit="b" * 40, parent=BASE, branch="wave/r1"))
    _publication_escalated(stream, "merge", c.MergeApproved(approver="policy", reviewer="auto"))
    last = stream.steps[-1]
    assert decide(last.state, last.event) == (
        MergePullRequest("wave/r1", "main", "squash", "make prices include tax", "b" * 40, approved=True),
    )

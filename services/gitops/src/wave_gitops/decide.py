"""What gitops does about an event. Pure: (run state, event) -> decisions, no git.

`state` is the run as the runtime folds it when the event is handled: it includes the event and
may include later ones, so each rule also asks whether its work is still undone (no branch yet, no
commit for the current proposal, no merge) — a redelivered event then decides nothing new.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wave_events import Envelope
from wave_events import catalogue as ev
from wave_events.escalations import Outcome, on_approve
from wave_events.projections import RunState, TaskState, task_policy

from . import delivery
from .delivery import HostDecision
from .names import RUN_BRANCH_PREFIX
from .trailers import story_subject

CHANGE_AUTHOR = "developer"  # change commits are authored by the role that wrote the diff


@dataclass(frozen=True)
class Prepare:
    target_branch: str
    base_commit: str | None = None  # the target's head at submission (RunRequested v7); none before
    approved: bool = False  # a person approved publishing the run branch after safety escalated it


@dataclass(frozen=True)
class ApplyChange:
    task_id: str
    attempt: int
    diff: str
    proposal_event_id: str
    role: str = CHANGE_AUTHOR


@dataclass(frozen=True)
class Merge:
    target_branch: str
    strategy: str = "squash"  # squash | merge | ff, as the run was requested
    subject: str = ""  # the squash commit's subject: the story's first line
    approved: bool = False  # a person approved the merge after safety escalated it


@dataclass(frozen=True)
class Cleanup:
    pass


@dataclass(frozen=True)
class BranchFork:
    """A forked run's own branch, made from the commits it inherited: the parent's branch at the head
    the fork point had (`head_commit`), the same base."""

    parent_run_id: str
    head_commit: str
    base_commit: str


Decision = Prepare | ApplyChange | Merge | Cleanup | BranchFork | HostDecision

# Decisions that work on the run's own branch (a fork's copied WorkspaceReady names its parent's).
_ON_THE_BRANCH = (ApplyChange, Merge, *HostDecision.__args__)


def decide(state: RunState, event: Envelope) -> tuple[Decision, ...]:
    rule = _RULES.get(event.type)
    own = rule(state, event.payload) if rule is not None else ()
    decisions: tuple[Decision, ...] = (*own, *delivery.decide(state, event))
    if _on_parents_branch(state) and any(isinstance(d, _ON_THE_BRANCH) for d in decisions):
        assert state.parent_run_id is not None and state.base_commit is not None
        fork = BranchFork(state.parent_run_id, state.head_commit or state.base_commit, state.base_commit)
        return (fork, *decisions)
    return decisions


def _on_parents_branch(state: RunState) -> bool:
    """A fork whose history still names its parent's branch: gitops keeps one branch per run id, so
    the fork needs a branch of its own before it commits or merges."""
    return (
        state.parent_run_id is not None and state.branch is not None and state.base_commit is not None
        and state.branch != f"{RUN_BRANCH_PREFIX}{state.run_id}"
    )


def _plan_created(state: RunState, p: ev.PlanCreated) -> tuple[Decision, ...]:
    if state.finished or state.branch is not None:
        return ()
    return (Prepare(state.target_branch, state.requested_base_commit),)


def _action_scored(state: RunState, p: ev.ActionScored) -> tuple[Decision, ...]:
    if p.verdict != "allow" or p.action_kind != "diff" or state.finished:
        return ()
    task = state.tasks.get(p.task_id or "")
    if task is None or task.proposal_event_id != str(p.target_event_id):
        return ()  # a proposal a newer attempt replaced, or a task the plan does not have
    return _apply_if_undone(task) if _may_integrate(state, task) else ()


def _human_decision(state: RunState, p: ev.HumanDecisionRecorded) -> tuple[Decision, ...]:
    if p.decision != "approve" or state.finished:
        return ()
    # Folded with the decision, the escalation is settled and the approved proposal is marked on its
    # task; folded before it, the escalation is still pending and names its subject.
    pending = state.pending_escalations.get(p.escalation_id)
    applies = pending is not None and on_approve(pending.kind) is Outcome.APPLY_CHANGE
    subject = pending.subject_event_id if pending is not None and applies else None
    approved = [
        task
        for task in state.tasks.values()
        if (task.human_approved or task.reviewed_by or (subject is not None and task.proposal_event_id == subject))
        and _may_integrate(state, task, approved_now=subject is not None and task.proposal_event_id == subject)
    ]
    changes = tuple(decision for task in approved for decision in _apply_if_undone(task))
    answered = pending or state.settled_escalations.get(p.escalation_id)
    if answered is None or on_approve(answered.kind) is not Outcome.APPLY_CHANGE:
        return changes
    return changes + _approved_publication(state, answered.subject_event_id)


def _approved_publication(state: RunState, subject: str | None) -> tuple[Decision, ...]:
    """The push or merge a person approved after safety escalated it (its verdict names `subject`)."""
    kinds = {v.action_kind for v in state.safety_verdicts if subject is not None and v.target_event_id == subject}
    if "push" in kinds and state.branch is None:
        return (Prepare(state.target_branch, state.requested_base_commit, approved=True),)
    if "merge" in kinds and state.merge_commit is None and state.branch is not None:
        if state.delivery == "pr":
            return (delivery.merging(state, state.head_commit, approved=True),) if state.head_commit else ()
        return (Merge(state.target_branch, state.merge_strategy, story_subject(state.story), approved=True),)
    return ()


def _change_committed(state: RunState, p: ev.ChangeCommitted) -> tuple[Decision, ...]:
    """A task was integrated: the changes that waited for it (their dependencies) are integrated now,
    in plan order."""
    if state.finished:
        return ()
    waiting = [
        task for task in state.tasks.values()
        if p.task_id in task.depends_on and (task.verdict == "allow" or task.human_approved) and _may_integrate(state, task)
    ]
    return tuple(decision for task in waiting for decision in _apply_if_undone(task))


def _may_integrate(state: RunState, task: TaskState, *, approved_now: bool = False) -> bool:
    """Dependencies first: a task is integrated once every task it depends on is. A task of a domain
    whose merge policy is `human` also waits for a person's review (or a person's override of safety)."""
    if any(state.tasks.get(d) is not None and not state.tasks[d].commit for d in task.depends_on):
        return False
    policy = task_policy(state, task)
    if policy is not None and policy.merge_policy == "human":
        return approved_now or bool(task.reviewed_by) or task.human_approved
    return True


def _merge_approved(state: RunState, p: ev.MergeApproved) -> tuple[Decision, ...]:
    if state.finished or state.merge_commit is not None or state.branch is None or state.delivery == "pr":
        return ()  # a pull request is merged on the host (delivery.py)
    return (Merge(state.target_branch, state.merge_strategy, story_subject(state.story)),)


def _terminal(state: RunState, p: Any) -> tuple[Decision, ...]:
    return (Cleanup(),) if state.branch is not None else ()


def _apply_if_undone(task: TaskState) -> tuple[Decision, ...]:
    # A proposal that withheld its diff (it held a secret) is still decided on: gitops refuses it.
    if task.proposal_event_id is None or task.proposal_diff is None or task.commit or task.rejected_reason:
        return ()
    return (ApplyChange(task.task_id, task.attempt, task.proposal_diff, task.proposal_event_id),)


_RULES: dict[str, Callable[[RunState, Any], tuple[Decision, ...]]] = {
    "PlanCreated": _plan_created,
    "ActionScored": _action_scored,
    "HumanDecisionRecorded": _human_decision,
    "ChangeCommitted": _change_committed,
    "MergeApproved": _merge_approved,
    **{event.event_type: _terminal for event in ev.TERMINAL_EVENTS},
}

HANDLED_EVENT_TYPES: frozenset[str] = frozenset(_RULES) | delivery.HANDLED_EVENT_TYPES

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
from wave_events.projections import RunState, TaskState

from .trailers import story_subject

CHANGE_AUTHOR = "developer"  # change commits are authored by the role that wrote the diff


@dataclass(frozen=True)
class Prepare:
    target_branch: str
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


Decision = Prepare | ApplyChange | Merge | Cleanup


def decide(state: RunState, event: Envelope) -> tuple[Decision, ...]:
    rule = _RULES.get(event.type)
    return rule(state, event.payload) if rule is not None else ()


def _plan_created(state: RunState, p: ev.PlanCreated) -> tuple[Decision, ...]:
    if state.finished or state.branch is not None:
        return ()
    return (Prepare(state.target_branch),)


def _action_scored(state: RunState, p: ev.ActionScored) -> tuple[Decision, ...]:
    if p.verdict != "allow" or p.action_kind != "diff" or state.finished:
        return ()
    task = state.tasks.get(p.task_id or "")
    if task is None or task.proposal_event_id != str(p.target_event_id):
        return ()  # a proposal a newer attempt replaced, or a task the plan does not have
    return _apply_if_undone(task)


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
        if task.human_approved or (subject is not None and task.proposal_event_id == subject)
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
        return (Prepare(state.target_branch, approved=True),)
    if "merge" in kinds and state.merge_commit is None and state.branch is not None:
        return (Merge(state.target_branch, state.merge_strategy, story_subject(state.story), approved=True),)
    return ()


def _merge_approved(state: RunState, p: ev.MergeApproved) -> tuple[Decision, ...]:
    if state.finished or state.merge_commit is not None or state.branch is None:
        return ()
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
    "MergeApproved": _merge_approved,
    **{event.event_type: _terminal for event in ev.TERMINAL_EVENTS},
}

HANDLED_EVENT_TYPES: frozenset[str] = frozenset(_RULES)

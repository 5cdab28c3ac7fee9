"""What the developer works on after an event. Pure: (run state, event) -> work, no git, no model.

`state` is the run as the runtime folds it when the event is handled: it includes the event and may
include later ones. Every rule therefore asks whether the work is still undone — the task's current
attempt has no proposal and was not rejected — so a redelivered or stale event decides nothing.
First attempts start when both the plan and the workspace exist: whichever of PlanCreated and
WorkspaceReady is handled with the other already folded starts them, and the later one finds the
proposals made. BudgetRaised resumes work a budget refusal left undone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from wave_events import Envelope
from wave_events import catalogue as ev
from wave_events.escalations import about_task
from wave_events.projections import RunState, TaskState, ready_tasks

Mode = Literal["develop", "fix", "rewrite"]


@dataclass(frozen=True)
class Work:
    """Write the change for one task's attempt against `commit`."""

    task_id: str
    attempt: int
    mode: Mode
    commit: str  # the commit the diff is written against
    failure_excerpt: str = ""  # fix mode: what failed
    failing_commit: str | None = None  # fix mode: the commit whose tests failed

    @property
    def role(self) -> str:
        return "fixer" if self.mode == "fix" else "developer"


@dataclass(frozen=True)
class Cleanup:
    """The run is over: drop its scratch checkouts."""


Decision = Work | Cleanup


def decide(state: RunState, event: Envelope) -> tuple[Decision, ...]:
    rule = _RULES.get(event.type)
    return rule(state, event.payload) if rule is not None else ()


def _undone(task: TaskState, attempt: int) -> bool:
    return task.attempt == attempt and task.proposal_event_id is None and task.rejected_reason is None


def _to_start(state: RunState, task: TaskState, attempt: int) -> bool:
    """Undone, and not handed off already (distributed: its request is being written elsewhere)."""
    return _undone(task, attempt) and (task.task_id, attempt) not in state.work_in_flight.values()


def _waits(state: RunState, task: TaskState, *, for_budget: bool) -> bool:
    """The developer already stopped on this attempt and asked about it: the human's answer (or, for a
    budget stop, `BudgetRaised`) resumes it, not whichever event the developer handles next. Without
    this, an event handled with the stop already folded (WorkspaceReady after PlanCreated) would make
    the same model calls again and ask the same question twice."""
    kinds = ("change_rejected", "budget") if for_budget else ("change_rejected",)
    asked = (*state.pending_escalations.values(), *state.settled_escalations.values())
    return any(q.kind in kinds and about_task(q, task.task_id, task.attempt) for q in asked)


def _ready(state: RunState) -> bool:
    return (
        not state.finished
        and state.planned
        and state.branch is not None
        and state.base_commit is not None
        and state.workspace_location is not None
    )


def _first_attempts(state: RunState, p: Any, *, budget_raised: bool = False) -> tuple[Decision, ...]:
    """Every task whose dependencies are integrated and whose first attempt is undone: written side
    by side, from the base commit (or, for a task that waited for others, the head that holds them)."""
    if not _ready(state):
        return ()
    assert state.base_commit is not None
    return tuple(
        Work(t.task_id, 1, "develop", (state.head_commit or state.base_commit) if t.depends_on else state.base_commit)
        for t in ready_tasks(state)
        if _to_start(state, t, 1) and not _waits(state, t, for_budget=not budget_raised)
    )


def _change_committed(state: RunState, p: ev.ChangeCommitted) -> tuple[Decision, ...]:
    # The tasks that waited for this one can be written now.
    waiting = tuple(d for d in _first_attempts(state, p) if p.task_id in state.tasks[d.task_id].depends_on)
    return waiting


def _rewrite_requested(state: RunState, p: ev.RewriteRequested) -> tuple[Decision, ...]:
    task = state.tasks.get(p.task_id)
    if not _ready(state) or task is None or not _to_start(state, task, p.attempt) or _waits(state, task, for_budget=True):
        return ()
    return (Work(task.task_id, p.attempt, "rewrite", p.head, p.reason),)


def _fix_requested(state: RunState, p: ev.FixRequested) -> tuple[Decision, ...]:
    """Every task the fix names, written side by side against the run's head."""
    if not _ready(state):
        return ()
    commit = state.head_commit or state.base_commit
    assert commit is not None
    tasks = ((state.tasks.get(asked.task_id), asked.attempt) for asked in p.attempts)
    return tuple(
        Work(task.task_id, attempt, "fix", commit, p.failure_excerpt, p.failing_commit)
        for task, attempt in tasks
        if task is not None and _to_start(state, task, attempt) and not _waits(state, task, for_budget=True)
    )


def _budget_raised(state: RunState, p: ev.BudgetRaised) -> tuple[Decision, ...]:
    if not _ready(state):
        return ()
    work: list[Decision] = list(_first_attempts(state, p, budget_raised=True))
    head = state.head_commit or state.base_commit
    assert head is not None
    for task in state.tasks.values():
        if any(isinstance(w, Work) and w.task_id == task.task_id for w in work):
            continue
        if task.attempt > 1 and _to_start(state, task, task.attempt) and not _waits(state, task, for_budget=False):
            work.append(
                Work(
                    task.task_id, task.attempt, "fix", head,
                    state.last_failure_excerpt or "", state.last_test_failed_commit,
                )
            )
    return tuple(work)


def _work_requested(state: RunState, p: ev.TaskWorkRequested) -> tuple[Decision, ...]:
    """The work a fan-out handed to the work topic, as it was decided then, if it is still undone.
    Whether the task waited for a person was asked when it was handed off (a request made after a
    budget raise resumes a task that was asked about), so it is not asked again."""
    task = state.tasks.get(p.task_id)
    if not _ready(state) or task is None or not _undone(task, p.attempt):
        return ()
    return (Work(p.task_id, p.attempt, p.mode, p.commit, p.failure_excerpt, p.failing_commit),)


def work_request(work: Work, lane: int) -> ev.TaskWorkRequested:
    """The request that hands `work` to the work topic (distributed), the `lane`-th of its handling."""
    return ev.TaskWorkRequested(
        task_id=work.task_id, attempt=work.attempt, mode=work.mode, commit=work.commit,
        failure_excerpt=work.failure_excerpt, failing_commit=work.failing_commit, lane=lane,
    )


def _terminal(state: RunState, p: Any) -> tuple[Decision, ...]:
    return (Cleanup(),)


_RULES: dict[str, Callable[[RunState, Any], tuple[Decision, ...]]] = {
    "PlanCreated": _first_attempts,
    "WorkspaceReady": _first_attempts,
    "FixRequested": _fix_requested,
    "RewriteRequested": _rewrite_requested,
    "ChangeCommitted": _change_committed,
    "BudgetRaised": _budget_raised,
    "TaskWorkRequested": _work_requested,
    **{event.event_type: _terminal for event in ev.TERMINAL_EVENTS},
}

HANDLED_EVENT_TYPES: frozenset[str] = frozenset(_RULES)
WORK_EVENT_TYPES: frozenset[str] = frozenset({"TaskWorkRequested"})
"""What the developer takes from the work topic when it hands work off (distributed)."""

"""What the planner decides about an event. Pure: (run state, event) -> steps; no model, no clock.

`state` is the run as the runtime folds it when the event is handled: it includes the event and may
include later ones. The runtime already skips an event it has handled, but a decision is re-made
after a concurrency conflict, so every rule also asks whether its work is still undone (no retry
pending for this head, no escalation with this id, no plan yet) — deciding again adds nothing new.

Time comes from the cause's `occurred_at` and jitter from its id, so deciding again about the same
event gives the same events. Steps that need a model (`MakePlan`, `ReviewMerge`) are carried out by
the service shell; every other step is an output as it stands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from wave_events import Envelope, escalations
from wave_events import catalogue as ev
from wave_events.domains import MERGE_STRICTNESS, stricter_merge_policy
from wave_events.escalations import Outcome, about_head, about_task, rule_of
from wave_events.projections import Escalation, RunState, TaskState, summary_of, task_policy
from wave_events.projections.summary import changed_paths
from wave_runtime import CancelTimer, Output, ScheduleTimer

from .backoff import Backoff

SERVICE_NAME = "planner"
EXCERPT_LIMIT = 8_000  # characters of a failure excerpt passed on to the fixer (the end is kept)
MAX_REWRITES = 2  # automatic re-writes of one task after conflicts, before a person is asked


@dataclass(frozen=True)
class MakePlan:
    """Ask the planner model for a plan of the run's story."""


@dataclass(frozen=True)
class ReviewMerge:
    """Ask the merge-reviewer model whether the run's branch, tested at `head`, may be merged."""

    head: str


Step = Output | MakePlan | ReviewMerge


def escalation_kind(state: RunState, escalation: str) -> str | None:
    """The kind of an escalation of this run, pending or already answered."""
    known = _escalation(state, escalation)
    return known.kind if known is not None else None


def _escalation(state: RunState, escalation: str) -> Escalation | None:
    return state.pending_escalations.get(escalation) or state.settled_escalations.get(escalation)


def retry_timer_id(run_id: str, retry: int) -> str:
    return f"{run_id}-retry-{retry}"


def decide(state: RunState, event: Envelope, backoff: Backoff | None = None) -> tuple[Step, ...]:
    rule = _RULES.get(event.type)
    if rule is None:
        return ()
    if state.finished and rule is not _run_ended:
        return ()
    return rule(state, event, backoff or Backoff())


# --- planning ----------------------------------------------------------------------------------


def _run_requested(state: RunState, e: Envelope, backoff: Backoff) -> tuple[Step, ...]:
    return () if state.planned else (MakePlan(),)


def _budget_raised(state: RunState, e: Envelope, backoff: Backoff) -> tuple[Step, ...]:
    # Re-run what a budget stop may have refused: the plan, or a model's merge review. Other roles
    # (developer, safety judge) resume their own work on the same event.
    if not state.planned:
        return () if _pending_of_kind(state, "invalid_plan") else (MakePlan(),)
    if merge_policy_of(state) == "model" and state.head_commit and _review_due(state, state.head_commit):
        return (ReviewMerge(state.head_commit),)
    return ()


def _budget_exceeded(state: RunState, e: Envelope, backoff: Backoff) -> tuple[Step, ...]:
    p: ev.BudgetExceeded = e.payload
    if e.producer.split("@", 1)[0] == SERVICE_NAME or _pending_of_kind(state, "budget"):
        return ()  # the planner escalates its own stops; another service may have escalated already
    return (budget_escalation(state.run_id or e.run_id, p, e),)


def budget_escalation(run_id: str, exceeded: ev.BudgetExceeded, cause: Envelope) -> ev.EscalationRequested:
    return ev.EscalationRequested(
        escalation_id=escalations.budget_id(run_id, cause.event_id),
        kind="budget",
        reason=(
            f"the {exceeded.role} call was not made: it needs up to {exceeded.needed_tokens} tokens / "
            f"${exceeded.needed_usd:.4f}, and the run has used {exceeded.used_tokens} of {exceeded.limit_tokens} "
            f"tokens / ${exceeded.used_usd:.4f} of ${exceeded.limit_usd:.4f}; raise the budget to go on"
        ),
        subject_event_id=cause.event_id,
    )


# --- tests, retries and fixes ------------------------------------------------------------------


def _retries_exhausted(state: RunState, e: Envelope, why: str) -> tuple[Step, ...]:
    """Ask a person, once per failing head, whether the run gets one more fix attempt."""
    p: ev.TestsFailed = e.payload
    question = escalations.retries_exhausted_id(state.run_id, p.commit)
    if _asked(state, question):
        return ()
    traced = tuple(t.task_id for t in _tasks_to_fix(state, p.commit, p.failing_tests))
    return (
        ev.EscalationRequested(
            escalation_id=question,
            kind="retries_exhausted",
            reason=f"{why}; approve for one more fix attempt, reject to stop the run",
            subject_event_id=e.event_id,
            head=p.commit,
            # Recorded only where they are not the task that made the head, which is where such a fix
            # went before they were recorded: a history from then decides the same when replayed.
            tasks=() if traced == (_task_of_commit(state, p.commit).task_id,) else traced,
        ),
    )


def _tests_failed(state: RunState, e: Envelope, backoff: Backoff) -> tuple[Step, ...]:
    p: ev.TestsFailed = e.payload
    if not _awaits_fix(state, p.commit):
        return ()
    if state.retries >= state.max_retries:
        return _retries_exhausted(
            state, e, f"tests still fail on {p.commit[:12]} after {state.retries} of {state.max_retries} retries "
            f"({_counts(p.counts)})",
        )
    tasks = _tasks_to_fix(state, p.commit, p.failing_tests)
    for task in tasks:
        policy = task_policy(state, task)
        fixes = task.attempt - 1 - task.rewrites
        if policy is not None and fixes >= policy.retry_limit:
            return _retries_exhausted(
                state, e, f"tests still fail on {p.commit[:12]} ({_counts(p.counts)}) after {fixes} fix attempt(s) of "
                f"task {task.task_id}, the {policy.name} domain's limit",
            )
    retry = state.retries + 1
    delay = backoff.delay(retry, str(e.event_id))
    due = e.occurred_at + timedelta(seconds=delay)
    timer = retry_timer_id(state.run_id, retry)
    fix = _fix(tasks, retry, p.failure_excerpt, p.commit, timer)
    which = f"task {tasks[0].task_id}" if len(tasks) == 1 else f"tasks {', '.join(t.task_id for t in tasks)}"
    return (
        ev.RetryScheduled(
            retry=retry,
            due_at=due,
            delay_s=delay,
            reason=f"tests failed on {p.commit[:12]} ({_counts(p.counts)}); fixing {which}",
            timer_id=timer,
        ),
        ScheduleTimer(timer, due, fix),
    )


def _awaits_fix(state: RunState, commit: str) -> bool:
    """Tests failed on the current head of a fully committed run and no fix is pending or under way.

    A fix under way leaves its task without a commit, so the run is no longer fully committed; a
    fix that landed moved the head. Either way the failure was already answered."""
    return (
        state.gates["G4 committed"]
        and state.head_commit == commit
        and state.last_test_failed_commit == commit
        and state.tested_commit != commit
        and not any(t.purpose == "retry" for t in state.pending_timers.values())
    )


def _tasks_to_fix(state: RunState, commit: str, failing_tests: tuple[str, ...]) -> tuple[TaskState, ...]:
    """The tasks a failure on the integrated head goes to, in plan order: every task whose change wrote
    a file a failing test lives in, else every task whose files of interest name one, else the task
    whose change made the head. They are fixed together: one retry, side by side."""
    files = {test.split("::", 1)[0] for test in failing_tests}
    if files:
        tasks = list(state.tasks.values())
        for owns in (lambda t: files & set(changed_paths(t.proposal_diff or "")), lambda t: files & set(t.files_of_interest)):
            traced = tuple(t for t in tasks if owns(t))
            if traced:
                return traced
    return (_task_of_commit(state, commit),)


def _task_of_commit(state: RunState, commit: str) -> TaskState:
    # One fix per failing head: the task whose change made that head (the last one committed).
    tasks = list(state.tasks.values())
    return next((t for t in tasks if t.commit == commit), tasks[-1])


def _fix(tasks: tuple[TaskState, ...], retry: int, excerpt: str, commit: str | None, timer: str) -> ev.FixRequested:
    first, *others = tasks
    return ev.FixRequested(
        retry=retry,
        task_id=first.task_id,
        attempt=first.attempt + 1,
        failure_excerpt=excerpt[-EXCERPT_LIMIT:],
        failing_commit=commit,
        timer_id=timer,
        also=tuple(ev.TaskAttempt(task_id=t.task_id, attempt=t.attempt + 1) for t in others),
    )


def _fix_now(
    state: RunState, e: Envelope, tasks: tuple[TaskState, ...], excerpt: str, commit: str | None, reason: str
) -> tuple[Step, ...]:
    """A retry a human granted: recorded like any retry (so it counts), due at once, no timer."""
    retry = state.retries + 1
    timer = retry_timer_id(state.run_id, retry)
    return (
        ev.RetryScheduled(retry=retry, due_at=e.occurred_at, delay_s=0.0, reason=reason, timer_id=timer),
        _fix(tasks, retry, excerpt, commit, timer),
    )


def _counts(counts: ev.TestCounts) -> str:
    return f"{counts.failed} failed, {counts.errors} errors, {counts.passed} passed"


# --- safety and changes ------------------------------------------------------------------------


def _action_scored(state: RunState, e: Envelope, backoff: Backoff) -> tuple[Step, ...]:
    p: ev.ActionScored = e.payload
    if p.verdict == "allow":
        return _task_review(state, p) if p.action_kind == "diff" else ()
    if p.action_kind == "test_command":
        return ()  # QA asks about a test command it refused itself: change the command, then approve
    if p.task_id is not None:
        task = state.tasks.get(p.task_id)
        if task is None or task.proposal_event_id != str(p.target_event_id):
            return ()  # a proposal a newer attempt replaced, or a task the plan does not have
    what = f"the {p.action_kind} of task {p.task_id}" if p.task_id else f"a {p.action_kind} action"
    rules = ", ".join(v.rule for v in p.violations) or "no rule named"
    if p.verdict == "block":
        # A block is final: the constitution forbids the action outright, so no human overrides it.
        return (ev.RunBlocked(reason=f"safety blocked {what} (score {p.score:.2f}; {rules}; policy {p.policy_version})"),)
    question = escalations.unsafe_action_id(state.run_id, p.target_event_id)
    if _asked(state, question):
        return ()
    return (
        ev.EscalationRequested(
            escalation_id=question,
            kind="unsafe_action",
            reason=f"safety is unsure about {what} (score {p.score:.2f}; {rules}); approve to apply it anyway",
            subject_event_id=p.target_event_id,
        ),
    )


def _task_review(state: RunState, p: ev.ActionScored) -> tuple[Step, ...]:
    """A change of a domain whose merge policy is `human` waits for a person before it is integrated;
    the run's other tasks go on meanwhile."""
    task = state.tasks.get(p.task_id or "")
    policy = task_policy(state, task)
    if task is None or policy is None or policy.merge_policy != "human" or task.proposal_event_id != str(p.target_event_id):
        return ()
    question = escalations.task_review_id(state.run_id, task.task_id, task.attempt)
    if _asked(state, question) or task.commit is not None:
        return ()
    who = f"; approvers: {', '.join(policy.approvers)}" if policy.approvers else ""
    return (
        ev.EscalationRequested(
            escalation_id=question,
            kind="task_review",
            reason=(
                f"task {task.task_id} (attempt {task.attempt}) is in the {policy.name} domain, whose changes a person "
                f"reviews before they are integrated{who}; approve to integrate it, reject to stop the run"
            ),
            subject_event_id=p.target_event_id,
            task_id=task.task_id,
            attempt=task.attempt,
        ),
    )


def _change_rejected(state: RunState, e: Envelope, backoff: Backoff) -> tuple[Step, ...]:
    p: ev.ChangeRejected = e.payload
    task = state.tasks.get(p.task_id)
    if task is None or task.attempt != p.attempt or task.commit is not None or not task.rejected_reason:
        return ()
    head = state.head_commit
    stale = task.proposal_base_commit is not None and head is not None and task.proposal_base_commit != head
    if stale and task.rewrites < MAX_REWRITES and task.proposal_diff:
        # Another task was integrated after this change was written: the developer writes it again
        # against the new head before anyone is asked.
        assert head is not None
        return (
            ev.RewriteRequested(
                task_id=task.task_id,
                attempt=task.attempt + 1,
                head=head,
                reason=f"the change was written against {task.proposal_base_commit[:12]} and no longer applies on {head[:12]}: {p.reason}",
            ),
        )
    question = escalations.change_rejected_id(state.run_id, p.task_id, p.attempt)
    if _asked(state, question):
        return ()
    return (
        ev.EscalationRequested(
            escalation_id=question,
            kind="change_rejected",
            reason=(
                f"the change for task {p.task_id} (attempt {p.attempt}) could not be applied: {p.reason}; "
                f"approve to ask for a new attempt, reject to stop the run"
            ),
            subject_event_id=e.event_id,
            task_id=p.task_id,
            attempt=p.attempt,
        ),
    )


# --- merge review ------------------------------------------------------------------------------


def _tests_passed(state: RunState, e: Envelope, backoff: Backoff) -> tuple[Step, ...]:
    p: ev.TestsPassed | ev.HostChecksPassed = e.payload
    if not _review_due(state, p.commit):
        return ()
    head = p.commit
    policy = merge_policy_of(state)
    if policy == "model":
        return (ReviewMerge(head),)
    if policy == "auto" and state.gates["G3 safe"]:
        return (
            ev.MergeApproved(
                approver="policy",
                reviewer="policy:auto",
                comment=f"tests passed on {head[:12]} and every change was scored allow or approved by a human",
            ),
        )
    return merge_review_escalation(state, head, f"tests passed on {head[:12]}; may {state.branch} be merged into {state.target_branch}?")


def merge_policy_of(state: RunState) -> str:
    """How the run's branch is reviewed before it lands: the run's merge policy, made stricter by a
    task's domain asking for a model review. A domain's `human` policy is met by the review of its
    tasks before they were integrated (`task_review`)."""
    policy = state.merge_policy
    for task in state.tasks.values():
        domain = task_policy(state, task)
        if domain is not None and MERGE_STRICTNESS[domain.merge_policy] == MERGE_STRICTNESS["model"]:
            policy = stricter_merge_policy(policy, "model")
    return policy


def merge_review_escalation(state: RunState, head: str, reason: str) -> tuple[Step, ...]:
    question = escalations.merge_review_id(state.run_id, head)
    if _asked(state, question):
        return ()
    return (ev.EscalationRequested(escalation_id=question, kind="merge_review", reason=reason, head=head),)


def _review_due(state: RunState, commit: str) -> bool:
    return (
        commit == state.head_commit
        and state.gates["G5 tested"]
        and state.merge_review is None
        and state.merge_commit is None
    )


def _merged(state: RunState, e: Envelope, backoff: Backoff) -> tuple[Step, ...]:
    p: ev.Merged = e.payload
    return (ev.RunCompleted(merge_commit=p.merge_commit),)


# --- human decisions ---------------------------------------------------------------------------


def _human_decision(state: RunState, e: Envelope, backoff: Backoff) -> tuple[Step, ...]:
    """Carry out what `escalations.RULES` says an answer to the escalation's kind does, where the
    planner is the one to act."""
    p: ev.HumanDecisionRecorded = e.payload
    if (p.escalation_id, p.decision, p.decided_by) not in state.decisions:
        return ()  # an answer to an escalation already settled, which the projection ignored
    asked = _escalation(state, p.escalation_id)
    rule = rule_of(asked.kind if asked else None)
    said = f": {p.comment}" if p.comment else ""
    if p.decision == "reject":
        blocked = ev.RunBlocked(
            reason=f"{p.decided_by} rejected the {rule.kind if rule else 'escalation'} {p.escalation_id}{said}",
            escalation_id=p.escalation_id,
        )
        if rule is not None and rule.on_reject is Outcome.REJECT_MERGE and state.merge_commit is None:
            rejected = ev.MergeRejected(approver="human", reviewer=p.decided_by, reason=p.comment or "rejected by a human")
            return (rejected, blocked)
        return (blocked,)
    if asked is None or rule is None or SERVICE_NAME not in rule.acts:
        return ()
    match rule.on_approve:
        case Outcome.FIX_AGAIN:
            head = state.head_commit
            if head and about_head(asked, head) and _awaits_fix(state, head):
                # The tasks the failure was traced to when the question was asked (none recorded
                # before EscalationRequested v3: then, as those runs did, the task that made the head).
                tasks = tuple(state.tasks[t] for t in asked.tasks if t in state.tasks) or (_task_of_commit(state, head),)
                names = ", ".join(t.task_id for t in tasks)
                reason = f"{p.decided_by} granted one more fix attempt for task{'s' if len(tasks) > 1 else ''} {names}{said}"
                return _fix_now(state, e, tasks, state.last_failure_excerpt or "", head, reason)
        case Outcome.NEW_ATTEMPT:
            for task in state.tasks.values():
                if task.commit is not None or not about_task(asked, task.task_id, task.attempt):
                    continue
                if task.rejected_reason:
                    excerpt = f"the previous change could not be applied: {task.rejected_reason}"
                elif task.proposal_event_id is None:
                    # The developer gave no change at all; the attempt is still open until a new one is asked.
                    excerpt = f"the previous attempt gave no usable change: {asked.reason}"
                else:
                    continue
                reason = f"{p.decided_by} asked for a new attempt at task {task.task_id}{said}"
                return _fix_now(state, e, (task,), excerpt, None, reason)
        case Outcome.MERGE:
            if state.merge_review != "approved" and state.merge_commit is None:
                return (ev.MergeApproved(approver="human", reviewer=p.decided_by, comment=p.comment),)
        case Outcome.MERGE_AGAIN:
            # The human resolved the conflict on the target branch: approving asks gitops to merge again.
            if state.merge_commit is None:
                return (ev.MergeApproved(approver="human", reviewer=p.decided_by, comment=p.comment or "merge again"),)
        case Outcome.PLAN_AGAIN:
            if not state.planned:
                return (MakePlan(),)
        case Outcome.HAND_BACK:
            # The person fixed what a service could not get past: hand that service its event again.
            for stopped in state.abandoned.values():
                if stopped.escalation_id == p.escalation_id:
                    return (
                        ev.HandlingRetryRequested(
                            service=stopped.service, event_id=stopped.event_id, escalation_id=p.escalation_id
                        ),
                    )
        # RAISE_BUDGET: the approver raises the budget with BudgetRaised, which resumes the run.
        # APPLY_CHANGE: the projection marks the change human-approved and gitops applies it.
    return ()


# --- run end -----------------------------------------------------------------------------------


def _run_ended(state: RunState, e: Envelope, backoff: Backoff) -> tuple[Step, ...]:
    # A retry still waiting would send a FixRequested into a finished run. The projection forgets pending
    # timers when a run ends, but retry timer ids are numbered, so the last one can be named.
    steps: tuple[Step, ...] = (CancelTimer(retry_timer_id(state.run_id, state.retries)),) if state.retries else ()
    # One summary per run, caused by its first terminal event (a second one, from a racing writer, adds none).
    summary = summary_of(state) if state.facts.ended_by == str(e.event_id) and not state.facts.summarized else None
    return (*steps, summary) if summary is not None else steps


# --- shared ------------------------------------------------------------------------------------


def _asked(state: RunState, question: str) -> bool:
    return question in state.pending_escalations or any(d[0] == question for d in state.decisions)


def _pending_of_kind(state: RunState, kind: str) -> bool:
    return any(x.kind == kind for x in state.pending_escalations.values())


_RULES: dict[str, Callable[[RunState, Envelope, Backoff], tuple[Step, ...]]] = {
    "RunRequested": _run_requested,
    "TestsFailed": _tests_failed,
    "TestsPassed": _tests_passed,
    "HostChecksPassed": _tests_passed,  # delivery pr: the host's required checks complete the test gate
    "ActionScored": _action_scored,
    "ChangeRejected": _change_rejected,
    "HumanDecisionRecorded": _human_decision,
    "BudgetExceeded": _budget_exceeded,
    "BudgetRaised": _budget_raised,
    "Merged": _merged,
    **{event.event_type: _run_ended for event in ev.TERMINAL_EVENTS},
}

HANDLED_EVENT_TYPES: frozenset[str] = frozenset(_RULES)



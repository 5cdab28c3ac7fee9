"""The state of one run, folded from its stream. Gates are derived from it, never stored."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .. import catalogue as ev
from ..domains import DomainPolicy, DomainTable, strictest
from ..envelope import Envelope
from ..escalations import Outcome, on_approve
from .summary import NOTED, SummaryFacts, facts_document, note

# The fold's code version: bump it with every change to how events fold (a field added, an event
# folded differently), so state snapshots taken by the old fold are ignored. `snapshots.PROJECTION`
# adds a hash of this module's source as well, which catches a change nobody bumped this for.
PROJECTION_VERSION = 4

GATES = ("G0 planned", "G1 workspace", "G2 implemented", "G3 safe", "G4 committed", "G5 tested", "G6 approved", "G7 merged")


@dataclass(frozen=True)
class TaskState:
    task_id: str
    domain: str
    description: str
    acceptance_criteria: tuple[str, ...] = ()
    files_of_interest: tuple[str, ...] = ()
    attempt: int = 1
    proposal_event_id: str | None = None  # the change proposed for the current attempt
    proposal_diff: str | None = None  # its unified diff, which gitops applies once it is safe
    proposal_base_commit: str | None = None  # the commit that diff was written against
    verdict: str | None = None  # the safety verdict on that change
    human_approved: bool = False  # a human overrode an `escalate` verdict on that change
    commit: str | None = None  # the commit of that change on the run branch
    rejected_reason: str | None = None
    domains: tuple[str, ...] = ()  # every domain its files touch, the governing one first
    depends_on: tuple[str, ...] = ()  # tasks integrated before this one is written
    reviewed_by: str | None = None  # who approved the current attempt's change (a domain's task review)
    rewrites: int = 0  # new attempts asked because the change no longer applied on the run branch
    spent_usd: float = 0.0  # what the model calls made for this task cost (its domain's budget share)
    spent_tokens: int = 0


@dataclass(frozen=True)
class Escalation:
    escalation_id: str
    kind: str
    reason: str
    options: tuple[str, ...]
    subject_event_id: str | None
    requested_at: str
    task_id: str | None = None  # what it is about, where its kind has it (EscalationRequested v2)
    attempt: int | None = None
    head: str | None = None
    tasks: tuple[str, ...] = ()  # a failure's traced tasks, fixed when a person grants one more attempt (v3)


@dataclass(frozen=True)
class Abandoned:
    """An event a service gave up on: dead-lettered (the run is stalled) or stopped by an error no retry fixes."""

    service: str
    event_id: str
    event_type: str
    reason: str
    action: str
    attempts: int
    dead_lettered: bool
    escalation_id: str | None


@dataclass(frozen=True)
class Timer:
    timer_id: str
    due_at: str
    purpose: str


@dataclass(frozen=True)
class SafetyVerdict:
    target_event_id: str
    task_id: str | None
    attempt: int | None
    verdict: str
    score: float
    policy_version: str
    rules: tuple[str, ...]
    action_kind: str = "diff"


@dataclass(frozen=True)
class PullRequest:
    host: str
    repository: str
    number: int
    url: str


@dataclass(frozen=True)
class RunState:
    run_id: str = ""
    status: str = "unknown"  # unknown, running, awaiting_human, stalled, completed, failed, blocked, cancelled, rejected
    story: str = ""
    repo: str = ""
    target_branch: str = "main"
    merge_policy: str = "auto"
    merge_strategy: str = "squash"
    model_source: str = ""  # the models file the run was submitted with ("" = the driving process's own)
    parent_run_id: str | None = None  # a fork's parent run, whose events up to `forked_at` it copied
    forked_at: int | None = None
    delivery: str = "local"  # local: gitops merges in the repository; pr: through a pull request on a git host
    requested_delivery: str | None = None  # as submitted; None: the plan's domains decide `delivery`
    pull_request: PullRequest | None = None  # delivery pr: the run's pull request, once opened
    checks_passed_commit: str | None = None  # delivery pr: the last commit whose required host checks passed
    max_retries: int = 3
    plan_summary: str | None = None
    planned: bool = False
    tasks: dict[str, TaskState] = field(default_factory=dict)
    branch: str | None = None
    workspace_location: str | None = None  # where the run branch lives (a remote URL or a local path)
    base_commit: str | None = None  # where gitops made the run branch (WorkspaceReady)
    # The target branch's head when the run was submitted: its trusted configuration is read there.
    requested_base_commit: str | None = None
    head_commit: str | None = None
    tested_commit: str | None = None  # the last commit whose tests passed
    last_test_failed_commit: str | None = None
    last_failure_excerpt: str | None = None
    last_failing_tests: tuple[str, ...] = ()
    retries: int = 0
    merge_review: str | None = None  # approved / rejected
    merge_commit: str | None = None
    budget_limit_usd: float = 0.0
    budget_limit_tokens: int = 0
    budget_used_usd: float = 0.0
    budget_used_tokens: int = 0
    budget_warnings: tuple[int, ...] = ()
    safety_verdicts: tuple[SafetyVerdict, ...] = ()
    pending_escalations: dict[str, Escalation] = field(default_factory=dict)
    settled_escalations: dict[str, Escalation] = field(default_factory=dict)  # answered: their kind still matters
    decisions: tuple[tuple[str, str, str], ...] = ()  # (escalation id, decision, decided by)
    pending_timers: dict[str, Timer] = field(default_factory=dict)
    abandoned: dict[str, Abandoned] = field(default_factory=dict)  # by "<service>/<event id>", until re-driven
    outcome_reason: str | None = None
    version: int = 0  # the last stream version folded
    llm_calls: int = 0
    llm_calls_by_role: dict[str, int] = field(default_factory=dict)  # a run's cassette is played by these counts
    cassette: str = ""  # the cassette the run plays (JSON, as stored: redacted), "" when it asks its models
    cassette_sha256: str = ""  # of the cassette before redaction
    notifications: int = 0
    facts: SummaryFacts = field(default_factory=SummaryFacts)  # what the run's summary is made of
    requested_domain_table: DomainTable | None = None  # the operator's (`--domain-policy`), if any
    plan_domain_table: DomainTable | None = None  # the one the plan was made under
    # Distributed only (both stay empty embedded), by the event id of the handling's cause:
    # the work handed off and not written yet (task, attempt), and the budget claimed by handlings
    # in progress (tokens, USD). Both end when an output caused by that event is stored.
    work_in_flight: dict[str, tuple[str, int]] = field(default_factory=dict)
    budget_claims: dict[str, tuple[int, float]] = field(default_factory=dict)

    @property
    def domain_table(self) -> DomainTable | None:
        """The domain table in effect: the operator's (a fork's `--domain-policy`), else the plan's."""
        return self.requested_domain_table or self.plan_domain_table

    @property
    def finished(self) -> bool:
        return self.status in ("completed", "failed", "blocked", "cancelled", "rejected")

    @property
    def dead_letters(self) -> list[Abandoned]:
        """The events a service dead-lettered and nobody re-drove yet: why the run is stalled."""
        return [a for a in self.abandoned.values() if a.dead_lettered]

    @property
    def gates(self) -> dict[str, bool]:
        return gates_of(self)

    def to_dict(self) -> dict[str, Any]:
        document = asdict(replace(self, facts=SummaryFacts()))
        document["facts"] = facts_document(self.facts)
        document["gates"] = self.gates
        for name in ("requested_domain_table", "plan_domain_table"):
            table = getattr(self, name)
            document[name] = table.model_dump(mode="json") if table is not None else None
        table = self.domain_table
        document["domain_table"] = table.model_dump(mode="json") if table is not None else None
        # Each task's policy as it applies (its domains' strictest), for readers grouping tasks by domain.
        for task_id, task in document["tasks"].items():
            policy = task_policy(self, task_id)
            task["policy"] = policy.model_dump(mode="json", exclude={"paths"}) if policy is not None else None
        return document


_FIELDS: dict[type, frozenset[str]] = {}


def replace(obj: Any, **changes: Any) -> Any:
    """`dataclasses.replace` for the frozen state classes here, without re-running `__init__`: a copy
    of the instance's fields with `changes` applied. The fold calls it for almost every event, and
    `dataclasses.replace` on the 35-field RunState costs about 14 us. None of these classes has a
    `__post_init__` or `init=False` fields, which is what makes copying equivalent."""
    cls = type(obj)
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = frozenset(f.name for f in fields(cls))
    if not names.issuperset(changes):
        unknown = ", ".join(sorted(set(changes) - names))
        raise TypeError(f"{cls.__name__} has no field(s) {unknown}")
    new = object.__new__(cls)
    state = new.__dict__
    state.update(obj.__dict__)
    state.update(changes)
    return new


def gates_of(state: RunState) -> dict[str, bool]:
    tasks = list(state.tasks.values())
    implemented = state.planned and bool(tasks) and all(t.proposal_event_id for t in tasks)
    safe = implemented and all(t.verdict == "allow" or t.human_approved for t in tasks)
    committed = safe and all(t.commit for t in tasks)
    tested = committed and state.head_commit is not None and state.tested_commit == state.head_commit
    if state.delivery == "pr":  # the host's required checks are part of the test gate
        tested = tested and state.checks_passed_commit == state.head_commit
    return dict(
        zip(
            GATES,
            (
                state.planned,
                state.branch is not None,
                implemented,
                safe,
                committed,
                tested,
                state.merge_review == "approved",
                state.merge_commit is not None,
            ),
            strict=True,
        )
    )


def task_policy(state: RunState, task: TaskState | str | None) -> DomainPolicy | None:
    """The policy a task is handled under: the strictest of the domains it touches (None: no table,
    or a domain the table does not know, so the run's own settings apply)."""
    table = state.domain_table
    if isinstance(task, str) or task is None:
        task = state.tasks.get(task or "")
    if table is None or task is None:
        return None
    names = task.domains or (task.domain,)
    return strictest([p for p in (table.get(n) for n in names) if p is not None])


def ready_tasks(state: RunState) -> list[TaskState]:
    """The tasks whose dependencies are all integrated (committed on the run branch), in plan order."""
    return [t for t in state.tasks.values() if all(state.tasks.get(d) is None or state.tasks[d].commit for d in t.depends_on)]


def _with_task(state: RunState, task_id: str, **changes: Any) -> RunState:
    task = state.tasks.get(task_id)
    if task is None:
        return state
    return replace(state, tasks={**state.tasks, task_id: replace(task, **changes)})


def _is_current(state: RunState, task_id: str | None, attempt: int | None) -> bool:
    task = state.tasks.get(task_id or "")
    return task is not None and task.attempt == attempt


def _open_status(state: RunState, pending: dict[str, Escalation], abandoned: dict[str, Abandoned]) -> str:
    """The status of a run that has not finished: a dead-lettered event stalls it whatever else it
    waits for (no decision moves an event a service cannot handle), then a pending question."""
    if state.finished:
        return state.status
    if any(a.dead_lettered for a in abandoned.values()):
        return "stalled"
    return "awaiting_human" if pending else "running"


def _run_requested(state: RunState, e: Envelope, p: ev.RunRequested) -> RunState:
    return replace(
        state,
        run_id=e.run_id,
        status="running",
        story=p.story,
        repo=p.repo,
        target_branch=p.target_branch,
        merge_policy=p.merge_policy,
        merge_strategy=p.merge_strategy,
        model_source=p.model_source,
        cassette=p.cassette,
        cassette_sha256=p.cassette_sha256,
        parent_run_id=p.parent_run_id,
        forked_at=p.forked_at,
        delivery=p.delivery or "local",
        requested_delivery=p.delivery,
        requested_domain_table=p.domain_table,
        requested_base_commit=p.base_commit,
        max_retries=p.max_retries,
        budget_limit_usd=p.budget_usd,
        budget_limit_tokens=p.budget_tokens,
    )


def _plan_created(state: RunState, e: Envelope, p: ev.PlanCreated) -> RunState:
    tasks = {
        t.task_id: TaskState(
            t.task_id, t.domain, t.description, t.acceptance_criteria, t.files_of_interest,
            domains=t.domains, depends_on=t.depends_on,
        )
        for t in p.tasks
    }
    return replace(
        state, planned=True, plan_summary=p.summary, tasks=tasks, plan_domain_table=p.domain_table,
        delivery=p.delivery or state.delivery,
    )


def _plan_rejected(state: RunState, e: Envelope, p: ev.PlanRejected) -> RunState:
    return replace(state, status="rejected", outcome_reason=p.reason)


def _workspace_ready(state: RunState, e: Envelope, p: ev.WorkspaceReady) -> RunState:
    return replace(
        state, branch=p.branch, workspace_location=p.location, base_commit=p.base_commit,
        head_commit=state.head_commit or p.base_commit,
    )


def _change_proposed(state: RunState, e: Envelope, p: ev.ChangeProposed) -> RunState:
    if not _is_current(state, p.task_id, p.attempt):
        return state
    return _with_task(
        state, p.task_id, proposal_event_id=str(e.event_id), proposal_diff=p.diff, proposal_base_commit=p.base_commit,
        verdict=None, human_approved=False, commit=None, rejected_reason=None, reviewed_by=None,
    )


def _action_scored(state: RunState, e: Envelope, p: ev.ActionScored) -> RunState:
    verdict = SafetyVerdict(
        str(p.target_event_id), p.task_id, p.attempt, p.verdict, p.score, p.policy_version,
        tuple(v.rule for v in p.violations), p.action_kind,
    )
    state = replace(state, safety_verdicts=(*state.safety_verdicts, verdict))
    task = state.tasks.get(p.task_id or "")
    if task is None or task.proposal_event_id != str(p.target_event_id):
        return state
    return _with_task(state, task.task_id, verdict=p.verdict)


def _change_committed(state: RunState, e: Envelope, p: ev.ChangeCommitted) -> RunState:
    if not _is_current(state, p.task_id, p.attempt):
        return state
    return replace(_with_task(state, p.task_id, commit=p.commit), head_commit=p.commit)


def _change_rejected(state: RunState, e: Envelope, p: ev.ChangeRejected) -> RunState:
    if not _is_current(state, p.task_id, p.attempt):
        return state
    return _with_task(state, p.task_id, rejected_reason=p.reason)


def _tests_passed(state: RunState, e: Envelope, p: ev.TestsPassed) -> RunState:
    return replace(state, tested_commit=p.commit)


def _tests_failed(state: RunState, e: Envelope, p: ev.TestsFailed) -> RunState:
    # A failure after a pass on the same commit (a required check on the git host) undoes the pass.
    tested = None if state.tested_commit == p.commit else state.tested_commit
    return replace(
        state, tested_commit=tested, last_test_failed_commit=p.commit, last_failure_excerpt=p.failure_excerpt,
        last_failing_tests=p.failing_tests,
    )


def _pull_request_opened(state: RunState, e: Envelope, p: ev.PullRequestOpened) -> RunState:
    return replace(state, pull_request=PullRequest(p.host, p.repository, p.number, p.url))


def _host_checks_passed(state: RunState, e: Envelope, p: ev.HostChecksPassed) -> RunState:
    return replace(state, checks_passed_commit=p.commit)


def _retry_scheduled(state: RunState, e: Envelope, p: ev.RetryScheduled) -> RunState:
    timer = Timer(p.timer_id, p.due_at.isoformat(), "retry")
    return replace(state, retries=max(state.retries, p.retry), pending_timers={**state.pending_timers, p.timer_id: timer})


def _fix_requested(state: RunState, e: Envelope, p: ev.FixRequested) -> RunState:
    timers = {k: v for k, v in state.pending_timers.items() if k != p.timer_id}
    state = replace(state, pending_timers=timers)
    for asked in p.attempts:
        task = state.tasks.get(asked.task_id)
        if task is None or asked.attempt <= task.attempt:
            continue
        state = _with_task(
            state, asked.task_id, attempt=asked.attempt, proposal_event_id=None, proposal_diff=None,
            proposal_base_commit=None, verdict=None, human_approved=False, commit=None, rejected_reason=None,
            reviewed_by=None,
        )
    return state


def _rewrite_requested(state: RunState, e: Envelope, p: ev.RewriteRequested) -> RunState:
    task = state.tasks.get(p.task_id)
    if task is None or p.attempt <= task.attempt:
        return state
    return _with_task(
        state, p.task_id, attempt=p.attempt, proposal_event_id=None, proposal_diff=None, proposal_base_commit=None,
        verdict=None, human_approved=False, commit=None, rejected_reason=None, reviewed_by=None,
        rewrites=task.rewrites + 1,
    )


def _escalation_requested(state: RunState, e: Envelope, p: ev.EscalationRequested) -> RunState:
    escalation = Escalation(
        p.escalation_id, p.kind, p.reason, p.options,
        str(p.subject_event_id) if p.subject_event_id else None, e.occurred_at.isoformat(),
        p.task_id, p.attempt, p.head, p.tasks,
    )
    pending = {**state.pending_escalations, p.escalation_id: escalation}
    return replace(state, status=_open_status(state, pending, state.abandoned), pending_escalations=pending)


def _human_decision(state: RunState, e: Envelope, p: ev.HumanDecisionRecorded) -> RunState:
    escalation = state.pending_escalations.get(p.escalation_id)
    if escalation is None:
        return state  # a second answer to a settled escalation changes nothing
    pending = {k: v for k, v in state.pending_escalations.items() if k != p.escalation_id}
    state = replace(
        state,
        pending_escalations=pending,
        settled_escalations={**state.settled_escalations, p.escalation_id: escalation},
        decisions=(*state.decisions, (p.escalation_id, p.decision, p.decided_by)),
        status=_open_status(state, pending, state.abandoned),
    )
    if escalation.kind == "task_review":
        # A person reviewed the task's attempt for its domain: gitops may integrate it.
        if p.decision == "approve" and _is_current(state, escalation.task_id, escalation.attempt):
            state = _with_task(state, escalation.task_id or "", reviewed_by=p.decided_by)
        return state
    applies = on_approve(escalation.kind) is Outcome.APPLY_CHANGE
    if applies and p.decision == "approve" and escalation.subject_event_id:
        for task in state.tasks.values():
            if task.proposal_event_id == escalation.subject_event_id:
                state = _with_task(state, task.task_id, human_approved=True)
    return state


def _budget_charged(state: RunState, e: Envelope, p: ev.BudgetCharged) -> RunState:
    return replace(
        state,
        budget_used_usd=round(state.budget_used_usd + p.cost_usd, 10),
        budget_used_tokens=state.budget_used_tokens + p.tokens,
    )


def _budget_threshold(state: RunState, e: Envelope, p: ev.BudgetThresholdCrossed) -> RunState:
    return replace(state, budget_warnings=tuple(sorted({*state.budget_warnings, p.percent})))


def _budget_raised(state: RunState, e: Envelope, p: ev.BudgetRaised) -> RunState:
    # A top-up answers every pending budget question: the run no longer waits for one.
    answered = {k: v for k, v in state.pending_escalations.items() if v.kind == "budget"}
    pending = {k: v for k, v in state.pending_escalations.items() if k not in answered}
    return replace(
        state,
        budget_limit_usd=p.limit_usd,
        budget_limit_tokens=p.limit_tokens,
        budget_warnings=(),
        pending_escalations=pending,
        settled_escalations={**state.settled_escalations, **answered},
        status=_open_status(state, pending, state.abandoned),
    )


def _handling_abandoned(state: RunState, e: Envelope, p: ev.HandlingAbandoned) -> RunState:
    note = Abandoned(
        p.service, str(p.event_id), p.subject_type, p.reason, p.action, p.attempts, p.dead_lettered, p.escalation_id
    )
    abandoned = {**state.abandoned, f"{p.service}/{p.event_id}": note}
    return replace(state, abandoned=abandoned, status=_open_status(state, state.pending_escalations, abandoned))


def _handed_back(
    state: RunState, e: Envelope, p: ev.HandlingRetryRequested | ev.DeadLetterRedriven | ev.DeadLetterFoundHandled
) -> RunState:
    key = f"{p.service}/{p.event_id}"
    if key not in state.abandoned:
        return state
    abandoned = {k: v for k, v in state.abandoned.items() if k != key}
    return replace(state, abandoned=abandoned, status=_open_status(state, state.pending_escalations, abandoned))


def _merge_approved(state: RunState, e: Envelope, p: ev.MergeApproved) -> RunState:
    return replace(state, merge_review="approved")


def _merge_rejected(state: RunState, e: Envelope, p: ev.MergeRejected) -> RunState:
    return replace(state, merge_review="rejected")


def _merged(state: RunState, e: Envelope, p: ev.Merged) -> RunState:
    return replace(state, merge_commit=p.merge_commit)


def _ending(status: str) -> Callable[[RunState, Envelope, Any], RunState]:
    def end(state: RunState, e: Envelope, p: Any) -> RunState:
        reason = getattr(p, "reason", None) or None
        return replace(state, status=status, outcome_reason=reason, pending_timers={})

    return end


def _llm_call(state: RunState, e: Envelope, p: ev.LLMCallRecorded) -> RunState:
    by_role = {**state.llm_calls_by_role, p.role: state.llm_calls_by_role.get(p.role, 0) + 1}
    if p.task_id is not None:
        # A task's own count too: a run's cassette plays each task's answers in that task's order.
        lane = f"{p.role}@{p.task_id}"
        by_role[lane] = by_role.get(lane, 0) + 1
    state = replace(state, llm_calls=state.llm_calls + 1, llm_calls_by_role=by_role)
    task = state.tasks.get(p.task_id or "")
    if task is not None:
        tokens = p.input_tokens + p.output_tokens
        state = _with_task(
            state, task.task_id, spent_usd=round(task.spent_usd + p.cost_usd, 10), spent_tokens=task.spent_tokens + tokens
        )
    return state


def _notification(state: RunState, e: Envelope, p: ev.NotificationSent) -> RunState:
    return replace(state, notifications=state.notifications + 1)


def _handling_recorded(state: RunState, cause: str) -> RunState:
    """An output of the handling of `cause` is stored: its work is written, its claim settled."""
    if cause not in state.work_in_flight and cause not in state.budget_claims:
        return state
    return replace(
        state,
        work_in_flight={k: v for k, v in state.work_in_flight.items() if k != cause},
        budget_claims={k: v for k, v in state.budget_claims.items() if k != cause},
    )


def _task_work_requested(state: RunState, e: Envelope, p: ev.TaskWorkRequested) -> RunState:
    return replace(state, work_in_flight={**state.work_in_flight, str(e.event_id): (p.task_id, p.attempt)})


def _budget_reserved(state: RunState, e: Envelope, p: ev.BudgetReserved) -> RunState:
    if e.causation_id is None:
        return state
    return replace(state, budget_claims={**state.budget_claims, str(e.causation_id): (p.claim_tokens, p.claim_usd)})


_HANDLERS: dict[type, Callable[[RunState, Envelope, Any], RunState]] = {
    ev.TaskWorkRequested: _task_work_requested,
    ev.BudgetReserved: _budget_reserved,
    ev.RunRequested: _run_requested,
    ev.PlanCreated: _plan_created,
    ev.PlanRejected: _plan_rejected,
    ev.WorkspaceReady: _workspace_ready,
    ev.ChangeProposed: _change_proposed,
    ev.ActionScored: _action_scored,
    ev.ChangeCommitted: _change_committed,
    ev.ChangeRejected: _change_rejected,
    ev.TestsPassed: _tests_passed,
    ev.TestsFailed: _tests_failed,
    ev.RetryScheduled: _retry_scheduled,
    ev.PullRequestOpened: _pull_request_opened,
    ev.HostChecksPassed: _host_checks_passed,
    ev.FixRequested: _fix_requested,
    ev.RewriteRequested: _rewrite_requested,
    ev.EscalationRequested: _escalation_requested,
    ev.HumanDecisionRecorded: _human_decision,
    ev.HandlingAbandoned: _handling_abandoned,
    ev.HandlingRetryRequested: _handed_back,
    ev.DeadLetterRedriven: _handed_back,
    ev.DeadLetterFoundHandled: _handed_back,
    ev.BudgetCharged: _budget_charged,
    ev.BudgetThresholdCrossed: _budget_threshold,
    ev.BudgetRaised: _budget_raised,
    ev.MergeApproved: _merge_approved,
    ev.MergeRejected: _merge_rejected,
    ev.Merged: _merged,
    ev.RunCompleted: _ending("completed"),
    ev.RunFailed: _ending("failed"),
    ev.RunBlocked: _ending("blocked"),
    ev.RunCancelled: _ending("cancelled"),
    ev.LLMCallRecorded: _llm_call,
    ev.NotificationSent: _notification,
}


def evolve(state: RunState, envelope: Envelope) -> RunState:
    """Apply one event. Events that do not change the run's view (BudgetExceeded) only advance the version."""
    version = envelope.stream_version or state.version + 1
    kind = type(envelope.payload)
    if (state.work_in_flight or state.budget_claims) and envelope.causation_id is not None and kind is not ev.BudgetReserved:
        state = _handling_recorded(state, str(envelope.causation_id))
    handler = _HANDLERS.get(kind)
    if handler is not None or kind in NOTED:
        changed = handler(state, envelope, envelope.payload) if handler is not None else state
        if kind in NOTED:
            facts = note(state.facts, state, changed, envelope)
            if facts is not state.facts:
                changed = replace(changed, facts=facts)
        if changed is not state:
            # A copy the handler has just made and nobody else holds: set the version in it rather
            # than copying the whole state a second time.
            changed.__dict__["version"] = version
            return changed
    return replace(state, version=version)


def fold(envelopes: Iterable[Envelope], state: RunState | None = None) -> RunState:
    state = state or RunState()
    for envelope in envelopes:
        state = evolve(state, envelope)
    return state

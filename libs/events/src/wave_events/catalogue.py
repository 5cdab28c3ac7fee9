"""Every domain event of a run. Past-tense names; one model per (type, version).

The catalogue is documented in docs/events.md and exported as JSON Schema to libs/events/schemas/.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from .base import DomainEvent, registry
from .domains import DomainTable
from .escalations import fields_of_v1_id

Verdict = Literal["allow", "escalate", "block"]
Decision = Literal["approve", "reject"]
MergePolicy = Literal["auto", "model", "human"]
MergeStrategy = Literal["squash", "merge", "ff"]
Delivery = Literal["local", "pr"]
EscalationKind = Literal[
    "unsafe_action", "retries_exhausted", "budget", "merge_review", "merge_conflict", "invalid_plan", "change_rejected",
    "environment", "task_review",
]
# EscalationRequested v1's kinds, frozen: the first seven, and `environment`, which runs stored as v1
# before v2 existed. A new kind goes into `EscalationKind` (v2) only.
EscalationKindV1 = Literal[
    "unsafe_action", "retries_exhausted", "budget", "merge_review", "merge_conflict", "invalid_plan", "change_rejected",
    "environment",
]
ApproverKind = Literal["policy", "model", "human"]

NonEmpty = Field(min_length=1)
TaskId = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
CommitId = Field(min_length=7, max_length=64, pattern=r"^[0-9a-f]+$")


class Value(BaseModel):
    """A value object inside a payload: frozen, strict about unknown fields, finite floats only."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


# --- run lifecycle -----------------------------------------------------------------------------


@registry.register("RunRequested", version=1)
class RunRequestedV1(DomainEvent):
    """First shape of a run request: one task text and a single USD budget."""

    task: str = NonEmpty
    repo: str = NonEmpty
    budget: float = Field(ge=0)
    max_retries: int = Field(default=3, ge=0, le=20)


@registry.register("RunRequested", version=2)
class RunRequestedV2(DomainEvent):
    """Second shape: story, token budget, target branch and merge policy."""

    story: str = NonEmpty
    repo: str = NonEmpty
    target_branch: str = Field(default="main", min_length=1)
    budget_usd: float = Field(ge=0)
    budget_tokens: int = Field(default=2_000_000, ge=0)
    max_retries: int = Field(default=3, ge=0, le=20)
    merge_policy: MergePolicy = "auto"
    requested_by: str = "unknown"


@registry.register("RunRequested", version=3)
class RunRequestedV3(DomainEvent):
    """Third shape: the models came from a file the submitting machine named, and no cassette travelled
    with the run."""

    story: str = NonEmpty
    repo: str = NonEmpty
    target_branch: str = Field(default="main", min_length=1)
    budget_usd: float = Field(ge=0)
    budget_tokens: int = Field(default=2_000_000, ge=0)
    max_retries: int = Field(default=3, ge=0, le=20)
    merge_policy: MergePolicy = "auto"
    merge_strategy: MergeStrategy = "squash"
    model_source: str = ""
    requested_by: str = "unknown"


@registry.register("RunRequested", version=4)
class RunRequestedV4(DomainEvent):
    """Fourth shape: no word of a parent run."""

    story: str = NonEmpty
    repo: str = NonEmpty
    target_branch: str = Field(default="main", min_length=1)
    budget_usd: float = Field(ge=0)
    budget_tokens: int = Field(default=2_000_000, ge=0)
    max_retries: int = Field(default=3, ge=0, le=20)
    merge_policy: MergePolicy = "auto"
    merge_strategy: MergeStrategy = "squash"
    model_source: str = ""
    cassette: str = ""
    cassette_sha256: str = ""
    requested_by: str = "unknown"


@registry.register("RunRequested", version=5)
class RunRequestedV5(DomainEvent):
    """Fifth shape: every run landed on the target branch by gitops itself (no pull request), and the
    domain table always came from the repository (or the defaults)."""

    story: str = NonEmpty
    repo: str = NonEmpty
    target_branch: str = Field(default="main", min_length=1)
    budget_usd: float = Field(ge=0)
    budget_tokens: int = Field(default=2_000_000, ge=0)
    max_retries: int = Field(default=3, ge=0, le=20)
    merge_policy: MergePolicy = "auto"
    merge_strategy: MergeStrategy = "squash"
    model_source: str = ""
    cassette: str = ""
    cassette_sha256: str = ""
    requested_by: str = "unknown"
    parent_run_id: str | None = Field(default=None, min_length=1)
    forked_at: int | None = Field(default=None, ge=1)


@registry.register("RunRequested", version=6)
class RunRequestedV6(DomainEvent):
    """Sixth shape: how the change is delivered and the operator's domain table; no base commit."""

    story: str = NonEmpty
    repo: str = NonEmpty
    target_branch: str = Field(default="main", min_length=1)
    budget_usd: float = Field(ge=0)
    budget_tokens: int = Field(default=2_000_000, ge=0)
    max_retries: int = Field(default=3, ge=0, le=20)
    merge_policy: MergePolicy = "auto"
    merge_strategy: MergeStrategy = "squash"
    model_source: str = ""
    cassette: str = ""
    cassette_sha256: str = ""
    requested_by: str = "unknown"
    parent_run_id: str | None = Field(default=None, min_length=1)
    forked_at: int | None = Field(default=None, ge=1)
    delivery: Delivery = "local"
    domain_table: DomainTable | None = None


@registry.register("RunRequested", version=7)
class RunRequested(DomainEvent):
    """A user asked WAVE to deliver a story against a repository.

    `merge_strategy` says how the run branch lands on the target branch (`squash`: one commit;
    `merge`: a merge commit; `ff`: fast-forward, every attempt included). `model_source` is the
    models file (routes, or a cassette wrapped in one) the run was submitted with, so whoever
    drives the run later uses the same models; empty means the driving process's own setup.
    `cassette` is the content of the cassette the run plays (`wave run --cassette`, as JSON), empty
    for a run that asks real models: it travels with the run, so every service instance, after any
    restart, plays the run's own answers from the run's own position (its recorded calls). It is
    stored redacted like every payload; `cassette_sha256` (of the content before redaction) lets a
    process that holds the same cassette file play that one, secrets and all.
    A fork (`wave fork`) names its `parent_run_id` and the parent's stream version it was forked at
    (`forked_at`): the events after this one, up to that version, are copies of the parent's.
    `delivery` says how the change reaches the target branch: `local` (gitops merges in the
    repository) or `pr` (gitops pushes the run branch to a git host, opens a pull request, waits for
    the host's required checks and merges it through the host's API); None: the submitter named none,
    and the plan's domains decide (`PlanCreated.delivery`: `pr` when one of them says so, else `local`).
    `domain_table` is a domain table the operator gave (`--domain-policy`): it replaces the one the
    repository's target branch holds (`wave_events.domains`); None: the repository's, or the defaults.
    `base_commit` is the target branch's head when the run was submitted: the run's trusted
    configuration (`.wave/domains.toml`) is read there, so nothing committed on the branch after the
    run started (another run's change included) changes the policy it is judged by. None: a repository
    that could not be read at submission (and v6 runs): the branch head when the run is planned.
    """

    story: str = NonEmpty
    repo: str = NonEmpty
    target_branch: str = Field(default="main", min_length=1)
    budget_usd: float = Field(ge=0)
    budget_tokens: int = Field(default=2_000_000, ge=0)
    max_retries: int = Field(default=3, ge=0, le=20)
    merge_policy: MergePolicy = "auto"
    merge_strategy: MergeStrategy = "squash"
    model_source: str = ""
    cassette: str = ""
    cassette_sha256: str = ""
    requested_by: str = "unknown"
    parent_run_id: str | None = Field(default=None, min_length=1)
    forked_at: int | None = Field(default=None, ge=1)
    delivery: Delivery | None = None
    domain_table: DomainTable | None = None
    base_commit: str | None = Field(default=None, min_length=7, max_length=64, pattern=r"^[0-9a-f]+$")


@registry.upcaster("RunRequested", from_version=1)
def _run_requested_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    # v1 had no token budget, branch or policy: runs then always targeted main and merged automatically.
    return {
        "story": payload["task"],
        "repo": payload["repo"],
        "target_branch": "main",
        "budget_usd": payload["budget"],
        "max_retries": payload.get("max_retries", 3),
        "merge_policy": "auto",
        "requested_by": "unknown",
    }


@registry.upcaster("RunRequested", from_version=2)
def _run_requested_v2_to_v3(payload: dict[str, Any]) -> dict[str, Any]:
    # v2 runs landed by fast-forward and used whatever models the driving process had.
    return {**payload, "merge_strategy": "ff", "model_source": ""}


@registry.upcaster("RunRequested", from_version=3)
def _run_requested_v3_to_v4(payload: dict[str, Any]) -> dict[str, Any]:
    # v3 runs carried no cassette: they play whatever their models file (or the services) name.
    return {**payload, "cassette": "", "cassette_sha256": ""}


@registry.upcaster("RunRequested", from_version=4)
def _run_requested_v4_to_v5(payload: dict[str, Any]) -> dict[str, Any]:
    # Runs before forks existed had no parent.
    return {**payload, "parent_run_id": None, "forked_at": None}


@registry.upcaster("RunRequested", from_version=5)
def _run_requested_v5_to_v6(payload: dict[str, Any]) -> dict[str, Any]:
    # Runs before pull requests existed were merged by gitops in the repository; runs before
    # operators could give a domain table used the repository's.
    return {**payload, "delivery": "local", "domain_table": None}


@registry.upcaster("RunRequested", from_version=6)
def _run_requested_v6_to_v7(payload: dict[str, Any]) -> dict[str, Any]:
    # Runs before the base commit was recorded read their configuration at the branch head when planned;
    # their delivery was always the submitter's (v6 had no "not said").
    return {**payload, "base_commit": None}


class PlanTaskV1(Value):
    task_id: str = TaskId
    domain: str = NonEmpty
    description: str = NonEmpty
    acceptance_criteria: tuple[str, ...] = Field(min_length=1)
    files_of_interest: tuple[str, ...] = ()


@registry.register("PlanCreated", version=1)
class PlanCreatedV1(DomainEvent):
    """First shape: tasks had no dependencies (all were developed from the base commit) and their
    domain was the model's word, with no policy."""

    tasks: tuple[PlanTaskV1, ...] = Field(min_length=1)
    summary: str = ""
    model: str | None = None


class PlanTask(Value):
    """One task of a plan. `domain` governs it (its policy applies); `domains` are all the domains its
    files touch (the governing one first); `depends_on` names tasks that must be integrated first."""

    task_id: str = TaskId
    domain: str = NonEmpty
    description: str = NonEmpty
    acceptance_criteria: tuple[str, ...] = Field(min_length=1)
    files_of_interest: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()


@registry.register("PlanCreated", version=2)
class PlanCreatedV2(DomainEvent):
    """The plan: a DAG of tasks (`depends_on`), each in a domain of `domain_table`, the table in effect
    for the run (None: no table, every task under the run's own settings)."""

    tasks: tuple[PlanTask, ...] = Field(min_length=1)
    summary: str = ""
    model: str | None = None
    domain_table: DomainTable | None = None

    @model_validator(mode="after")
    def _a_dag(self) -> PlanCreatedV2:
        check_dag(self.tasks)
        return self


@registry.register("PlanCreated", version=3)
class PlanCreated(DomainEvent):
    """The plan: a DAG of tasks (`depends_on`), each in a domain of `domain_table`, the table in effect
    for the run (None: no table, every task under the run's own settings). `delivery`: how the run is
    delivered when its request named no delivery, decided by the plan's domains (`pr` when one of
    them says so, else `local`); None: the request's delivery stands."""

    tasks: tuple[PlanTask, ...] = Field(min_length=1)
    summary: str = ""
    model: str | None = None
    domain_table: DomainTable | None = None
    delivery: Delivery | None = None

    @model_validator(mode="after")
    def _a_dag(self) -> PlanCreated:
        check_dag(self.tasks)
        return self


def check_dag(tasks: tuple[PlanTask, ...]) -> None:
    """Refuse a plan whose tasks depend on unknown tasks, on themselves, or on each other in a cycle."""
    ids = [t.task_id for t in tasks]
    for task in tasks:
        unknown = [d for d in task.depends_on if d not in ids or d == task.task_id]
        if unknown:
            raise ValueError(f"task {task.task_id} depends on {unknown[0]!r}, which is not another task of the plan")
    cycle = dependency_cycle({t.task_id: t.depends_on for t in tasks})
    if cycle:
        raise ValueError(f"the tasks depend on each other in a cycle: {' -> '.join(cycle)}")


def dependency_cycle(depends_on: dict[str, tuple[str, ...]]) -> list[str]:
    """A cycle of task ids (its first id repeated at the end), or [] when the graph is a DAG."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in depends_on.get(node, ()):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if state.get(nxt) is None and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return []

    for node in depends_on:
        if state.get(node) is None and (found := visit(node)):
            return found
    return []


@registry.upcaster("PlanCreated", from_version=1)
def _plan_created_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    # v1 tasks were all written from the base commit, none waiting for another, under no domain policy.
    tasks = [{**t, "domains": [], "depends_on": []} for t in payload["tasks"]]
    return {**payload, "tasks": tasks, "domain_table": None}


@registry.upcaster("PlanCreated", from_version=2)
def _plan_created_v2_to_v3(payload: dict[str, Any]) -> dict[str, Any]:
    # Runs before domains could choose the delivery were delivered as their request said.
    return {**payload, "delivery": None}


@registry.register("PlanRejected")
class PlanRejected(DomainEvent):
    """The planner judged the story infeasible (or could not get a valid plan)."""

    reason: str = NonEmpty


@registry.register("WorkspaceReady")
class WorkspaceReady(DomainEvent):
    branch: str = NonEmpty
    base_commit: str = CommitId
    location: str = NonEmpty  # where the run branch lives: a remote URL or a local path


# --- changes -----------------------------------------------------------------------------------


@registry.register("ChangeProposed", version=1)
class ChangeProposedV1(DomainEvent):
    """First shape of a proposal: always a diff."""

    task_id: str = TaskId
    attempt: int = Field(ge=1)
    diff: str = NonEmpty
    base_commit: str = CommitId  # the commit the diff was written against
    rationale: str = ""
    model: str | None = None


class WithheldSecret(Value):
    """Where a proposed change held a real-looking secret: never the value itself."""

    path: str = NonEmpty
    line: int = Field(ge=1)  # the line in the new file
    kind: str = NonEmpty  # the detector's kind, e.g. "anthropic-key"


@registry.register("ChangeProposed", version=2)
class ChangeProposed(DomainEvent):
    """The developer's change for one task attempt.

    `diff` is applied and scored exactly as written, so redaction never rewrites it (see
    `acted_on_fields`). A diff holding a real-looking secret is not put in the event at all: `diff` is
    empty and `withheld` says where the secrets were and of what kind; safety blocks such a change.
    """

    acted_on_fields: ClassVar[tuple[str, ...]] = ("diff",)

    task_id: str = TaskId
    attempt: int = Field(ge=1)
    diff: str = ""
    withheld: tuple[WithheldSecret, ...] = ()
    base_commit: str = CommitId  # the commit the diff was written against
    rationale: str = ""
    model: str | None = None

    @model_validator(mode="after")
    def _diff_or_withheld(self) -> ChangeProposed:
        if bool(self.diff) == bool(self.withheld):
            raise ValueError("a proposal carries either a diff or the secrets it withheld, not both or neither")
        return self


@registry.upcaster("ChangeProposed", from_version=1)
def _change_proposed_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    # v1 proposals always carried their diff.
    return {**payload, "withheld": []}


class ContentRef(Value):
    """A pointer to a body kept outside the event, addressed by its content hash."""

    ref: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    size: int = Field(ge=0)


@registry.register("LLMCallRecorded", version=1)
class LLMCallRecordedV1(DomainEvent):
    """First shape of a call record: no word on whether the caller accepted the answer."""

    role: str = NonEmpty
    provider: str = NonEmpty
    model: str = NonEmpty
    prompt: str | None = None
    prompt_ref: ContentRef | None = None
    response: str | None = None
    response_ref: ContentRef | None = None
    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    cost_usd: float = Field(ge=0)
    latency_ms: float = Field(ge=0)
    outcome: Literal["ok", "error"] = "ok"
    error: str | None = None


@registry.register("LLMCallRecorded", version=2)
class LLMCallRecordedV2(DomainEvent):
    """Second shape: no word of the task a call was made for."""

    role: str = NonEmpty
    provider: str = NonEmpty
    model: str = NonEmpty
    prompt: str | None = None
    prompt_ref: ContentRef | None = None
    response: str | None = None
    response_ref: ContentRef | None = None
    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    cost_usd: float = Field(ge=0)
    latency_ms: float = Field(ge=0)
    outcome: Literal["ok", "error"] = "ok"
    error: str | None = None
    rejected_reason: str | None = None


@registry.register("LLMCallRecorded", version=3)
class LLMCallRecorded(DomainEvent):
    """One model call, paid for whatever came of it. `rejected_reason` says why the caller refused an
    answer the model did give (not JSON, not a usable diff); the call is charged all the same.
    `task_id` names the task the call worked on, where it worked on one (tasks are developed side by
    side: a run's cassette plays each task's answers in that task's own order)."""

    role: str = NonEmpty
    provider: str = NonEmpty
    model: str = NonEmpty
    prompt: str | None = None
    prompt_ref: ContentRef | None = None
    response: str | None = None
    response_ref: ContentRef | None = None
    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    cost_usd: float = Field(ge=0)
    latency_ms: float = Field(ge=0)
    outcome: Literal["ok", "error"] = "ok"
    error: str | None = None
    rejected_reason: str | None = None
    task_id: str | None = None


@registry.upcaster("LLMCallRecorded", from_version=1)
def _llm_call_recorded_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    # v1 records did not say whether an answer was refused; those refusals went unrecorded.
    return {**payload, "rejected_reason": None}


@registry.upcaster("LLMCallRecorded", from_version=2)
def _llm_call_recorded_v2_to_v3(payload: dict[str, Any]) -> dict[str, Any]:
    # Before tasks were developed side by side, calls were not told apart by task.
    return {**payload, "task_id": None}


class Violation(Value):
    principle: str = NonEmpty
    rule: str = NonEmpty
    detail: str = ""


@registry.register("ActionScored", version=1)
class ActionScoredV1(DomainEvent):
    """First shape: only proposed changes were scored, so the target event held the action."""

    target_event_id: uuid.UUID
    action_kind: Literal["diff", "command", "sql", "file_write", "git"]
    task_id: str | None = None
    attempt: int | None = Field(default=None, ge=1)
    score: float = Field(ge=0, le=1)
    verdict: Verdict
    violations: tuple[Violation, ...] = ()
    risks: tuple[str, ...] = ()
    policy_version: str = NonEmpty


ActionKind = Literal["diff", "command", "sql", "file_write", "git", "push", "merge", "test_command"]


@registry.register("ActionScored", version=2)
class ActionScored(DomainEvent):
    """The verdict on one action, recorded before the action is carried out (docs/safety.md lists the
    actions and who scores them). `target_event_id` is the event that asked for the action (the
    ChangeProposed of a diff, the PlanCreated whose workspace a push publishes, the MergeApproved of
    a merge, the ChangeCommitted whose tests run). `action` is the action as it was scored, in the form
    `wave safety score` reads (`{"kind": "git", "command": …}`), so it can be scored again; it is empty
    for a diff, which its ChangeProposed holds."""

    target_event_id: uuid.UUID
    action_kind: ActionKind
    task_id: str | None = None
    attempt: int | None = Field(default=None, ge=1)
    score: float = Field(ge=0, le=1)
    verdict: Verdict
    violations: tuple[Violation, ...] = ()
    risks: tuple[str, ...] = ()
    policy_version: str = NonEmpty
    action: dict[str, str] = Field(default_factory=dict)


@registry.upcaster("ActionScored", from_version=1)
def _action_scored_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "action": {}}


@registry.register("ChangeCommitted")
class ChangeCommitted(DomainEvent):
    task_id: str = TaskId
    attempt: int = Field(ge=1)
    commit: str = CommitId
    parent: str = CommitId
    branch: str = NonEmpty


@registry.register("ChangeRejected")
class ChangeRejected(DomainEvent):
    """The change could not be applied (or was refused); the reason says why."""

    task_id: str = TaskId
    attempt: int = Field(ge=1)
    reason: str = NonEmpty


# --- tests and retries -------------------------------------------------------------------------


class TestCounts(Value):
    passed: int = Field(default=0, ge=0)
    failed: int = Field(default=0, ge=0)
    errors: int = Field(default=0, ge=0)
    skipped: int = Field(default=0, ge=0)


@registry.register("TestsPassed", version=1)
class TestsPassedV1(DomainEvent):
    """First shape: nothing said how the test environment was prepared."""

    commit: str = CommitId
    counts: TestCounts
    duration_s: float = Field(ge=0)
    sandbox: str = NonEmpty
    command: str = ""


@registry.register("TestsPassed", version=2)
class TestsPassed(DomainEvent):
    """The tests of `commit` passed. `environment` says what was installed before they ran (and from
    which settings), or, when nothing is configured, the setup QA would propose."""

    commit: str = CommitId
    counts: TestCounts
    duration_s: float = Field(ge=0)
    sandbox: str = NonEmpty
    command: str = ""
    environment: str = ""


@registry.upcaster("TestsPassed", from_version=1)
def _tests_passed_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "environment": ""}


@registry.register("TestsFailed", version=1)
class TestsFailedV1(DomainEvent):
    """First shape: the failing tests were named only inside the excerpt."""

    commit: str = CommitId
    counts: TestCounts
    failure_excerpt: str = ""
    duration_s: float = Field(ge=0)
    sandbox: str = NonEmpty
    command: str = ""
    timed_out: bool = False


@registry.register("TestsFailed", version=2)
class TestsFailedV2(DomainEvent):
    """Second shape: nothing said how the test environment was prepared."""

    commit: str = CommitId
    counts: TestCounts
    failing_tests: tuple[str, ...] = ()
    failure_excerpt: str = ""
    duration_s: float = Field(ge=0)
    sandbox: str = NonEmpty
    command: str = ""
    timed_out: bool = False


@registry.register("TestsFailed", version=3)
class TestsFailed(DomainEvent):
    """The tests of `commit` failed. `failing_tests` names them (ids such as
    `tests/test_calc.py::test_big`, at most the first 40) when the report or output said which;
    `environment` as in TestsPassed."""

    commit: str = CommitId
    counts: TestCounts
    failing_tests: tuple[str, ...] = ()
    failure_excerpt: str = ""
    duration_s: float = Field(ge=0)
    sandbox: str = NonEmpty
    command: str = ""
    timed_out: bool = False
    environment: str = ""


_EXCERPT_FAILED_LINE = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.MULTILINE)


@registry.upcaster("TestsFailed", from_version=1)
def _tests_failed_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    # v1 excerpts list each failing test on a "FAILED <id>" line before any output.
    head = str(payload.get("failure_excerpt") or "").split("\n\n", 1)[0]
    return {**payload, "failing_tests": list(dict.fromkeys(_EXCERPT_FAILED_LINE.findall(head)))}


@registry.upcaster("TestsFailed", from_version=2)
def _tests_failed_v2_to_v3(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "environment": ""}


@registry.register("RetryScheduled")
class RetryScheduled(DomainEvent):
    """A fix attempt is due at `due_at`; the durable timer emits FixRequested then."""

    retry: int = Field(ge=1)  # 1 for the first retry of the run
    due_at: AwareDatetime
    delay_s: float = Field(ge=0)
    reason: str = ""
    timer_id: str = NonEmpty


@registry.register("FixRequested", version=1)
class FixRequestedV1(DomainEvent):
    """Ask the developer for a new attempt at one task, with the failure it must fix."""

    retry: int = Field(ge=1)
    task_id: str = TaskId
    attempt: int = Field(ge=2)
    failure_excerpt: str = ""
    failing_commit: str | None = None
    timer_id: str | None = None


class TaskAttempt(Value):
    task_id: str = TaskId
    attempt: int = Field(ge=2)  # the task's new attempt number


@registry.register("FixRequested", version=2)
class FixRequested(DomainEvent):
    """Ask the developer for new attempts at the tasks a failure traced to, with the failure they must
    fix: `task_id` first, then `also` (the other tasks whose files the failing tests touch). One event
    for them all, so every named task's attempt opens at once and the run's head is tested again only
    when all of them are integrated; the developer writes them side by side."""

    retry: int = Field(ge=1)
    task_id: str = TaskId
    attempt: int = Field(ge=2)  # the task's new attempt number
    failure_excerpt: str = ""
    failing_commit: str | None = None
    timer_id: str | None = None
    also: tuple[TaskAttempt, ...] = ()

    @property
    def attempts(self) -> tuple[TaskAttempt, ...]:
        """Every task this fix asks for, in plan order, with its new attempt number."""
        return (TaskAttempt(task_id=self.task_id, attempt=self.attempt), *self.also)


@registry.upcaster("FixRequested", from_version=1)
def _fix_requested_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    # v1 fixes went to one task.
    return {**payload, "also": []}


@registry.register("RewriteRequested")
class RewriteRequested(DomainEvent):
    """Another task was integrated first and this task's change no longer applies on the run branch:
    the developer writes a new attempt against `head`, before any person is asked."""

    task_id: str = TaskId
    attempt: int = Field(ge=2)  # the task's new attempt number
    head: str = CommitId  # the run branch's head the new attempt is written against
    reason: str = NonEmpty


@registry.register("TaskWorkRequested")
class TaskWorkRequested(DomainEvent):
    """Distributed: the developer handed one task's attempt to the work topic instead of writing it
    while handling the run's event, so a run's tasks are written by several instances at once. The
    instance that takes it from `<prefix>.work.v1` writes exactly this work (if still undone).
    `lane` is the item's place among the work one event started: the relay spreads a run's lanes
    over consecutive partitions of the work topic."""

    task_id: str = TaskId
    attempt: int = Field(ge=1)
    mode: Literal["develop", "fix", "rewrite"]
    commit: str = CommitId  # the commit the diff is written against
    failure_excerpt: str = ""  # fix: what failed; rewrite: why the change no longer applied
    failing_commit: str | None = None  # fix: the commit whose tests failed
    lane: int = Field(0, ge=0)


@registry.register("BudgetReserved")
class BudgetReserved(DomainEvent):
    """Distributed: a handling in progress (its cause is this event's causation) is about to make a
    model call. Its claim on the run's budget — what its calls answered so far cost plus the worst
    case of the next one — replaces its earlier claims; appended at the run's version the check was
    made on, so two instances' claims are checked one after the other. The claim ends when the
    handling's outputs (with their `BudgetCharged`) are stored."""

    role: str = NonEmpty
    task_id: str | None = None
    claim_tokens: int = Field(ge=0)
    claim_usd: float = Field(ge=0)


# --- escalations and decisions -----------------------------------------------------------------


@registry.register("EscalationRequested", version=1)
class EscalationRequestedV1(DomainEvent):
    """First shape: what the question is about was spelled only in its id."""

    escalation_id: str = NonEmpty
    kind: EscalationKindV1
    reason: str = NonEmpty
    options: tuple[Decision, ...] = ("approve", "reject")
    subject_event_id: uuid.UUID | None = None


@registry.register("EscalationRequested", version=2)
class EscalationRequestedV2(DomainEvent):
    """Second shape: what the question is about in fields, a failing head's fix going to the task
    that made the head."""

    escalation_id: str = NonEmpty
    kind: EscalationKind
    reason: str = NonEmpty
    options: tuple[Decision, ...] = ("approve", "reject")
    subject_event_id: uuid.UUID | None = None
    task_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    attempt: int | None = Field(default=None, ge=1)
    head: str | None = Field(default=None, min_length=7, max_length=64, pattern=r"^[0-9a-f]+$")


@registry.upcaster("EscalationRequested", from_version=1)
def _escalation_requested_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    # v1 ids spelled the task attempt or the head for the kinds that have one; other ids give nothing.
    return {**payload, **fields_of_v1_id(str(payload["escalation_id"]), str(payload["kind"]))}


@registry.register("EscalationRequested", version=3)
class EscalationRequested(DomainEvent):
    """A question to a person; the run waits for the answer. `wave_events.escalations.RULES` says what
    approving and rejecting each kind does.

    What it is about, where its kind has it (None otherwise): `task_id` and `attempt` (a rejected or
    missing change, a developer's budget stop), `head` (the run head whose tests failed, to be reviewed,
    or that conflicts). `escalation_id` only names the question; services match on these fields.
    `tasks` (v3): the tasks the failure was traced to, which an approved `retries_exhausted` fixes;
    empty when that is the task that made the head (and before v3, when such a fix always went there).
    """

    escalation_id: str = NonEmpty
    kind: EscalationKind
    reason: str = NonEmpty
    options: tuple[Decision, ...] = ("approve", "reject")
    subject_event_id: uuid.UUID | None = None
    task_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    attempt: int | None = Field(default=None, ge=1)
    head: str | None = Field(default=None, min_length=7, max_length=64, pattern=r"^[0-9a-f]+$")
    tasks: tuple[str, ...] = Field(default=(), max_length=64)


@registry.upcaster("EscalationRequested", from_version=2)
def _escalation_requested_v2_to_v3(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "tasks": []}


@registry.register("HumanDecisionRecorded")
class HumanDecisionRecorded(DomainEvent):
    escalation_id: str = NonEmpty
    decision: Decision
    decided_by: str = NonEmpty
    comment: str = ""


# --- handling failures ---------------------------------------------------------------------------


@registry.register("HandlingAbandoned")
class HandlingAbandoned(DomainEvent):
    """A service gave up on one of the run's events.

    `dead_lettered`: its retries ran out and the event waits in the dead-letter store; the run is
    stalled until `wave dlq redrive --event <event_id>` (after fixing `reason`). Otherwise the failure
    was one no retry can fix (no model source, a cassette without the answer, a dirty target branch,
    an unusable sandbox): an `environment` escalation with `escalation_id` asks a person to fix it.
    """

    service: str = NonEmpty
    event_id: uuid.UUID  # the event given up on
    subject_type: str = NonEmpty  # its type
    reason: str = NonEmpty
    action: str = ""  # what a person does about it
    attempts: int = Field(ge=1)
    dead_lettered: bool
    escalation_id: str | None = None


@registry.register("HandlingRetryRequested")
class HandlingRetryRequested(DomainEvent):
    """Hand `event_id` to `service` once more: a person fixed the cause of an `environment`
    escalation and approved it. The service decides about that event again, on the run as it is now."""

    service: str = NonEmpty
    event_id: uuid.UUID
    escalation_id: str = NonEmpty


@registry.register("DeadLetterRedriven")
class DeadLetterRedriven(DomainEvent):
    """`wave dlq redrive` sent a dead-lettered event back to its service."""

    service: str = NonEmpty
    event_id: uuid.UUID
    redriven_by: str = NonEmpty


@registry.register("DeadLetterFoundHandled")
class DeadLetterFoundHandled(DomainEvent):
    """`wave dlq redrive` found that the service had handled a dead-lettered event after all (it was
    delivered again after the letter was written): nothing was sent back, and the run is no longer
    stalled on it."""

    service: str = NonEmpty
    event_id: uuid.UUID
    checked_by: str = NonEmpty


# --- budget ------------------------------------------------------------------------------------


@registry.register("BudgetCharged")
class BudgetCharged(DomainEvent):
    tokens: int = Field(ge=0)
    cost_usd: float = Field(ge=0)
    call_event_id: uuid.UUID | None = None


@registry.register("BudgetThresholdCrossed")
class BudgetThresholdCrossed(DomainEvent):
    """Spending crossed 75, 90 or 100 percent of a limit."""

    percent: Literal[75, 90, 100]
    used_usd: float = Field(ge=0)
    limit_usd: float = Field(ge=0)
    used_tokens: int = Field(ge=0)
    limit_tokens: int = Field(ge=0)


@registry.register("BudgetExceeded")
class BudgetExceeded(DomainEvent):
    """A model call was not made because it would have exceeded the budget."""

    role: str = NonEmpty
    needed_usd: float = Field(ge=0)
    needed_tokens: int = Field(ge=0)
    used_usd: float = Field(ge=0)
    limit_usd: float = Field(ge=0)
    used_tokens: int = Field(ge=0)
    limit_tokens: int = Field(ge=0)


@registry.register("BudgetRaised")
class BudgetRaised(DomainEvent):
    limit_usd: float = Field(ge=0)
    limit_tokens: int = Field(ge=0)
    raised_by: str = NonEmpty


# --- review, merge, outcome --------------------------------------------------------------------


@registry.register("MergeApproved", version=1)
class MergeApprovedV1(DomainEvent):
    """First shape: a review said nothing of the acceptance criteria."""

    approver: ApproverKind
    reviewer: str = NonEmpty
    comment: str = ""


class CriterionVerdict(Value):
    """What a model reviewer said of one acceptance criterion of the plan."""

    task_id: str = TaskId
    criterion: str = NonEmpty
    met: bool
    note: str = ""


@registry.register("MergeApproved", version=2)
class MergeApproved(DomainEvent):
    """The run may be merged. A model reviewer's approval names, in `criteria`, which acceptance
    criteria of the plan the whole branch meets (empty for policy and human approvals, and for a
    reviewer answer that did not say)."""

    approver: ApproverKind
    reviewer: str = NonEmpty
    comment: str = ""
    criteria: tuple[CriterionVerdict, ...] = ()


@registry.upcaster("MergeApproved", from_version=1)
def _merge_approved_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "criteria": []}


@registry.register("MergeRejected", version=1)
class MergeRejectedV1(DomainEvent):
    """First shape: a review said nothing of the acceptance criteria."""

    approver: ApproverKind
    reviewer: str = NonEmpty
    reason: str = NonEmpty


@registry.register("MergeRejected", version=2)
class MergeRejected(DomainEvent):
    """The run may not be merged (`reason`); a model reviewer's `criteria` as in MergeApproved."""

    approver: ApproverKind
    reviewer: str = NonEmpty
    reason: str = NonEmpty
    criteria: tuple[CriterionVerdict, ...] = ()


@registry.upcaster("MergeRejected", from_version=1)
def _merge_rejected_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "criteria": []}


# --- pull requests on a git host (delivery `pr`) ---------------------------------------------------

HostName = Literal["github", "gitea"]


@registry.register("PullRequestOpened")
class PullRequestOpened(DomainEvent):
    """gitops pushed the run branch to the git host and opened a pull request into the target branch
    (or found the one it had opened). Never holds a credential: `url` is the page people open."""

    host: HostName
    repository: str = NonEmpty  # owner/name on the host
    number: int = Field(ge=1)
    url: str = NonEmpty
    head_branch: str = NonEmpty
    base_branch: str = NonEmpty


@registry.register("HostChecksDue")
class HostChecksDue(DomainEvent):
    """A timer's event: time to look again at the host's required checks on `commit` (`poll` counts
    the looks since the tests passed in the sandbox)."""

    commit: str = CommitId
    poll: int = Field(ge=1)
    timer_id: str = NonEmpty


@registry.register("HostChecksPassed")
class HostChecksPassed(DomainEvent):
    """Every required check of the target branch on the host passed on `commit` (`checks` names them;
    empty when the branch requires none). With delivery `pr`, G5 needs this as well as the sandbox's
    TestsPassed; a failing required check is recorded as a `TestsFailed` (sandbox `host-checks`)."""

    commit: str = CommitId
    checks: tuple[str, ...] = ()


@registry.register("Merged")
class Merged(DomainEvent):
    target_branch: str = NonEmpty
    merge_commit: str = CommitId
    fast_forward: bool


@registry.register("RunCompleted")
class RunCompleted(DomainEvent):
    merge_commit: str = CommitId


@registry.register("RunFailed")
class RunFailed(DomainEvent):
    reason: str = NonEmpty


@registry.register("RunBlocked")
class RunBlocked(DomainEvent):
    """A human said no: the run stops without merging."""

    reason: str = NonEmpty
    escalation_id: str | None = None


@registry.register("RunCancelled")
class RunCancelled(DomainEvent):
    cancelled_by: str = NonEmpty
    reason: str = ""


class GatePassed(Value):
    """When a gate passed (for the last time: a retry reopens the gates after G1) and how long it took
    since the gate before it passed (G0: since the run was requested). None: it never held at the end."""

    gate: str = NonEmpty
    passed_at: AwareDatetime | None = None
    took_s: float | None = Field(default=None, ge=0)


class RetryTaken(Value):
    retry: int = Field(ge=1)
    reason: str = ""
    scheduled_at: AwareDatetime


class TestsRun(Value):
    """One test run of the sandbox: the commit, whether it passed, the counts and the tests that failed."""

    commit: str = CommitId
    passed: bool
    counts: TestCounts
    failing_tests: tuple[str, ...] = ()
    duration_s: float = Field(ge=0)
    finished_at: AwareDatetime


class ModelSpend(Value):
    """What the model calls of one role on one provider cost."""

    role: str = NonEmpty
    provider: str = NonEmpty
    calls: int = Field(ge=0)
    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    cost_usd: float = Field(ge=0)


class DecisionMade(Value):
    escalation_id: str = NonEmpty
    kind: str = NonEmpty  # the escalation's kind ("unknown" when the question is not in the run)
    decision: Decision
    decided_by: str = NonEmpty
    decided_at: AwareDatetime
    comment: str = ""


RunOutcome = Literal["completed", "failed", "blocked", "cancelled", "rejected"]


@registry.register("RunSummarized")
class RunSummarized(DomainEvent):
    """What a finished run came to, in one event: written once by the planner after the run's first
    terminal event, folded from the run's events by `wave_events.projections.summary_of`."""

    story: str = NonEmpty
    outcome: RunOutcome
    reason: str = ""
    merge_commit: str | None = None
    started_at: AwareDatetime
    ended_at: AwareDatetime
    duration_s: float = Field(ge=0)
    gates: tuple[GatePassed, ...] = ()
    retries: tuple[RetryTaken, ...] = ()
    files_changed: tuple[str, ...] = ()
    tests: tuple[TestsRun, ...] = ()
    spend: tuple[ModelSpend, ...] = ()
    cost_usd: float = Field(ge=0)
    tokens: int = Field(ge=0)
    decisions: tuple[DecisionMade, ...] = ()


@registry.register("RunForked")
class RunForked(DomainEvent):
    """A new run was forked from this one (`wave fork`): it starts with this run's events up to
    stream version `at` and goes on with its own settings."""

    child_run_id: str = NonEmpty
    at: int = Field(ge=1)
    merge_policy: MergePolicy
    model_source: str = ""
    forked_by: str = NonEmpty


@registry.register("NotificationSent")
class NotificationSent(DomainEvent):
    channel: str = NonEmpty
    idempotency_key: str = NonEmpty
    source_event_id: uuid.UUID
    message_ts: str | None = None


TERMINAL_EVENTS = (RunCompleted, RunFailed, RunBlocked, RunCancelled, PlanRejected)

"""Each service's decisions, as `wave replay --execute` calls them again: the pure `decide()` of each
service, with its effects (a model's answer, a test run, a commit, a merge) standing for the outputs
they recorded (`wave_app.replaying.Claim`). Safety's rules are pure, so it scores each change again;
a grey-zone judge's answers are read back from the record.

The notifier is not replayed: what it stores (`NotificationSent`) says only that Slack took a message,
and whether it posts at all depends on the process's Slack settings, not on the run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib import import_module
from typing import Any

from wave_app.replaying import Claim, Regenerated, ServiceDecisions
from wave_events import DomainEvent, Envelope
from wave_events import catalogue as ev
from wave_events.projections import RunState
from wave_runtime import CancelTimer, ScheduleTimer

# What a model call records, whoever makes it.
MODEL_CALL = (ev.LLMCallRecorded, ev.BudgetCharged, ev.BudgetThresholdCrossed, ev.BudgetExceeded)


def _about(event: DomainEvent, **wanted: Any) -> bool:
    return all(getattr(event, name, None) == value for name, value in wanted.items())


def _scored(event: DomainEvent, kind: str) -> bool:
    """A verdict a service recorded on its own action before carrying it out: what was scored is the
    effect's (the remote, the test command), so it is taken from the record like the effect."""
    return isinstance(event, ev.ActionScored) and event.action_kind == kind


def _escalation(event: DomainEvent, *kinds: str, **wanted: Any) -> bool:
    return isinstance(event, ev.EscalationRequested) and event.kind in kinds and _about(event, **wanted)


class RecordedAnswers:
    """A model client that answers from the record: each call gets the next recorded call of the
    handling (its `LLMCallRecorded` and the budget events after it), so the service reads the very
    answers it read then and nothing is asked or paid for."""

    def __init__(self, recorded: Sequence[DomainEvent]) -> None:
        self._calls: list[list[DomainEvent]] = []
        for event in recorded:
            if isinstance(event, ev.LLMCallRecorded):
                # The service marks an answer it refuses itself: hand the record back unmarked.
                self._calls.append([event.model_copy(update={"rejected_reason": None})])
            elif isinstance(event, MODEL_CALL) and self._calls:
                self._calls[-1].append(event)
        self.offline, self.banner = True, None

    @staticmethod
    def replayable(recorded: Sequence[DomainEvent]) -> bool:
        """Every call answered, with its answer stored in the event (a refusal by the budget, a failed call or
        an answer kept as a content reference is taken from the record as it stands)."""
        calls = [e for e in recorded if isinstance(e, ev.LLMCallRecorded)]
        return bool(calls) and not any(isinstance(e, ev.BudgetExceeded) for e in recorded) and all(
            c.outcome == "ok" and c.response is not None for c in calls
        )

    async def complete(self, role: str, system: str, messages: Any, **_: Any) -> Any:
        from wave_llm import CallResult, ModelResponse, ModelSourceUnavailable

        if not self._calls:
            raise ModelSourceUnavailable(f"the record holds no further {role} answer", action="none: this is a replay")
        events = self._calls.pop(0)
        call = events[0]
        assert isinstance(call, ev.LLMCallRecorded)
        response = ModelResponse(text=call.response or "", input_tokens=call.input_tokens, output_tokens=call.output_tokens,
                                 model=call.model, provider=call.provider, latency_ms=call.latency_ms)
        return CallResult(response, events)


def planner(env: Mapping[str, str]) -> ServiceDecisions:
    """The planner's handle itself where the record holds its model answers (the plan and the review
    are read again from them), its `decide` with a claim where it does not."""
    planning = import_module("wave_planner.decide")  # the package's `decide` attribute is the function
    from wave_planner import PlannerService
    from wave_planner.config import PlannerConfig

    config = PlannerConfig.from_env(env)
    backoff = config.backoff

    async def decide(state: RunState, event: Envelope, recorded: Sequence[DomainEvent]) -> Sequence[Regenerated]:
        steps = planning.decide(state, event, backoff)
        asks_model = any(isinstance(step, (planning.MakePlan, planning.ReviewMerge)) for step in steps)
        if asks_model and RecordedAnswers.replayable(recorded):
            # The domain table is read as it was then: the one the recorded plan names.
            table = next((e.domain_table for e in recorded if isinstance(e, ev.PlanCreated)), None)
            service = PlannerService(
                RecordedAnswers(recorded), config=config, read_listing=lambda *_: None,  # type: ignore[arg-type]
                read_diff=lambda *_: None, read_domains=lambda *_: table,
            )
            steps = await service.handle(state, event)
        out: list[Regenerated] = []
        for step in planning.decide(state, event, backoff):
            if isinstance(step, planning.MakePlan):
                out.append(Claim("the planner model's plan", lambda e: isinstance(e, (*MODEL_CALL, ev.PlanCreated, ev.PlanRejected))
                                 or _escalation(e, "invalid_plan", "budget")))
            elif isinstance(step, planning.ReviewMerge):
                head = step.head
                out.append(Claim(f"the merge reviewer model's review of {head[:12]}", lambda e: isinstance(e, MODEL_CALL)
                                 or (isinstance(e, (ev.MergeApproved, ev.MergeRejected)) and e.approver == "model")
                                 or _escalation(e, "merge_review", "budget")))
            elif isinstance(step, ScheduleTimer):
                out.append(step.event)  # the event the timer appends when it fires
            elif not isinstance(step, CancelTimer):
                out.append(step)
        return out

    return ServiceDecisions(planning.SERVICE_NAME, planning.HANDLED_EVENT_TYPES, decide)


def _call_lanes(recorded: Sequence[DomainEvent]) -> dict[int, str | None]:
    """The task each recorded model-call event was made for: a call names it (tasks written side by
    side), the budget events after a call are that call's. None: a call that named no task (runs from
    before tasks were written side by side, one after another)."""
    lanes: dict[int, str | None] = {}
    lane: str | None = None
    for event in recorded:
        if isinstance(event, ev.LLMCallRecorded):
            lane = event.task_id
        if isinstance(event, MODEL_CALL):
            lanes[id(event)] = lane
        elif isinstance(event, (ev.ChangeProposed, ev.ChangeRejected, ev.EscalationRequested)):
            lane = None  # a task's outputs end here; a refusal before the next task's first call is that task's
    return lanes


def developer() -> ServiceDecisions:
    developing = import_module("wave_developer.decide")  # the package's `decide` attribute is the function

    async def decide(state: RunState, event: Envelope, recorded: Sequence[DomainEvent]) -> Sequence[Regenerated]:
        out: list[Regenerated] = []
        lanes = _call_lanes(recorded)
        # Distributed, the developer handed the work off, one request per task, and the request's
        # handling wrote it; the record says which it did, so a run decides again as it was run.
        handed_off = any(isinstance(e, ev.TaskWorkRequested) for e in recorded)
        work = [step for step in developing.decide(state, event) if isinstance(step, developing.Work)]
        for lane, step in enumerate(work):
            if handed_off:
                out.append(developing.work_request(step, lane))
            else:
                task, attempt = step.task_id, step.attempt
                out.append(Claim(
                    f"the {step.role}'s change for task {task} attempt {attempt}",
                    lambda e, task=task, attempt=attempt: (isinstance(e, MODEL_CALL) and lanes.get(id(e)) in (None, task))
                    or (isinstance(e, (ev.ChangeProposed, ev.ChangeRejected, ev.EscalationRequested))
                        and _about(e, task_id=task, attempt=attempt)),
                ))
        return out

    return ServiceDecisions("developer", developing.HANDLED_EVENT_TYPES, decide)


def gitops() -> ServiceDecisions:
    git = import_module("wave_gitops.decide")  # the package's `decide` attribute is the function
    delivery = import_module("wave_gitops.delivery")

    async def decide(state: RunState, event: Envelope, recorded: Sequence[DomainEvent]) -> Sequence[Regenerated]:
        out: list[Regenerated] = []
        for step in git.decide(state, event):
            if isinstance(step, git.Prepare | git.BranchFork):
                out.append(Claim("the run's workspace", lambda e: isinstance(e, (ev.WorkspaceReady, ev.RunFailed))
                                 or _scored(e, "push")))
            elif isinstance(step, git.ApplyChange):
                task, attempt = step.task_id, step.attempt
                out.append(Claim(
                    f"the commit of task {task} attempt {attempt}",
                    lambda e, task=task, attempt=attempt: isinstance(e, (ev.ChangeCommitted, ev.ChangeRejected))
                    and _about(e, task_id=task, attempt=attempt),
                ))
            elif isinstance(step, git.Merge | delivery.MergePullRequest):
                out.append(Claim(f"the merge into {step.base_branch if isinstance(step, delivery.MergePullRequest) else step.target_branch}",
                                 lambda e: isinstance(e, ev.Merged) or _escalation(e, "merge_conflict")
                                 or _scored(e, "merge")))
            elif isinstance(step, delivery.OpenPullRequest):
                out.append(Claim(f"the pull request from {step.head_branch}", lambda e: isinstance(e, ev.PullRequestOpened)))
            elif isinstance(step, delivery.CheckHost):
                commit = step.commit
                out.append(Claim(
                    f"the required checks on {commit[:12]}",
                    lambda e, commit=commit: (isinstance(e, ev.HostChecksPassed | ev.HostChecksDue) and e.commit == commit)
                    or (isinstance(e, ev.TestsFailed) and e.sandbox == delivery.HOST_CHECKS_SANDBOX and e.commit == commit),
                ))
            # A commit status (PostStatus) records no event.
        return out

    return ServiceDecisions("gitops", git.HANDLED_EVENT_TYPES, decide)


def qa() -> ServiceDecisions:
    testing = import_module("wave_qa.decide")  # the package's `decide` attribute is the function

    async def decide(state: RunState, event: Envelope, recorded: Sequence[DomainEvent]) -> Sequence[Regenerated]:
        step = testing.decide(state, event)
        if step is None:
            return ()
        commit = step.commit
        return (Claim(f"the test run of {commit[:12]}", lambda e: isinstance(e, (ev.TestsPassed, ev.TestsFailed))
                      and e.commit == commit or _scored(e, "test_command")),)

    return ServiceDecisions("qa", testing.HANDLED_EVENT_TYPES, decide)


def safety() -> ServiceDecisions:
    """Safety's handle itself: the rules score each change again, and where the record holds the
    judge's answers, they are read again from it."""
    from wave_constitution import SafetyPolicy
    from wave_safety import SafetyService

    policy = SafetyPolicy.from_env()

    async def decide(state: RunState, event: Envelope, recorded: Sequence[DomainEvent]) -> Sequence[Regenerated]:
        judged = any(isinstance(e, ev.LLMCallRecorded) for e in recorded)
        service = SafetyService(policy, models=RecordedAnswers(recorded) if judged else None)  # type: ignore[arg-type]
        return [o for o in await service.handle(state, event) if isinstance(o, DomainEvent)]

    return ServiceDecisions(SafetyService.name, SafetyService.handles, decide)


def every_service(env: Mapping[str, str]) -> list[ServiceDecisions]:
    return [planner(env), gitops(), developer(), safety(), qa()]

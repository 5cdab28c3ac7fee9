"""The developer service: carries out `decide`'s work — a scratch checkout, a bounded model conversation,
a validated diff — and says what came of it.

Per task: the model call events, then `ChangeProposed`; or, when no usable diff came after every
attempt, `ChangeRejected` (or `EscalationRequested(kind="change_rejected")`, see `on_no_diff`); or,
when the budget refuses a call, `BudgetExceeded` and `EscalationRequested(kind="budget")`, and the
remaining tasks wait for `BudgetRaised`. The tasks an event starts are worked side by side (up to
`concurrency` at once): each task's model calls are made for that task (`wave_llm.working_on`), so a
run's cassette plays each task's answers in that task's own order, and every call reserves its worst
case from the run's budget first (`wave_llm.sharing_budget`), so together they never pass it. A task
of a domain with a `budget_share` is held to that share. The outputs come in plan order, whatever
order the tasks finish in.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

from wave_events import DomainEvent, Envelope, escalations
from wave_events import catalogue as ev
from wave_events.projections import RunState, task_policy
from wave_llm import (
    ModelClient,
    RunBudget,
    SharedBudget,
    StoredBudget,
    TaskCap,
    playing_run,
    sharing_budget,
    working_on,
)
from wave_runtime import Output, TransientError, Unrecoverable
from wave_runtime.memo import EffectResults

from .agent import GaveUp, LoopLimits, NoModel, OutOfBudget, Proposed, write_change
from .checkouts import CheckoutError, Checkouts
from .config import OnNoDiff
from .decide import HANDLED_EVENT_TYPES, WORK_EVENT_TYPES, Cleanup, Work, decide, work_request
from .prompts import Context, TaskBrief, build_prompt
from .proposal import build_proposal
from .repository_view import RepositoryView

log = logging.getLogger("wave.developer")



class DeveloperService:
    name = "developer"
    handles: frozenset[str] = HANDLED_EVENT_TYPES
    # Distributed, the runtime takes these from the work topic and sets `hands_off`: the work an
    # event starts is handed off as one `TaskWorkRequested` per task, and each is written by the
    # instance that takes it from the work topic (docs/architecture.md, "Domains and fan-out").
    work_types: frozenset[str] = WORK_EVENT_TYPES

    def __init__(
        self,
        client: ModelClient,
        checkouts: Checkouts,
        *,
        limits: LoopLimits | None = None,
        on_no_diff: OnNoDiff = "reject",
        concurrency: int = 4,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self._client = client
        self.concurrency = concurrency  # tasks written at once; distributed, also work requests handled at once
        self._checkouts = checkouts
        self._limits = limits or LoopLimits()
        self._on_no_diff = on_no_diff
        self.hands_off = False
        # What came of each piece of work, by (cause event, work): the events and whether it stopped.
        # The runtime decides again after a concurrency conflict (another service appended to the run
        # while the model wrote the change, e.g. the notifier for the same WorkspaceReady); the change
        # already paid for is given again instead of asking the model, and charging the run, twice.
        self._done: EffectResults[tuple[str, Work], tuple[list[DomainEvent], bool]] = EffectResults()

    async def handle(self, state: RunState, event: Envelope) -> Sequence[Output]:
        run_id = state.run_id or event.run_id
        decisions = decide(state, event)
        work = [d for d in decisions if isinstance(d, Work)]
        if any(isinstance(d, Cleanup) for d in decisions):
            await asyncio.to_thread(self._checkouts.release, run_id)
        if not work:
            return ()
        if self.hands_off and event.type not in WORK_EVENT_TYPES:
            return [work_request(item, lane) for lane, item in enumerate(work)]
        checkouts = await self._checkout_all(run_id, state, work)
        budget = RunBudget.from_state(state)
        caps = _task_caps(state, work)
        stored = StoredBudget.for_handling(event.stream_id, caps) if self.hands_off and event.type in WORK_EVENT_TYPES else None
        # Distributed, other instances write the run's other tasks: the reservations are kept on the run's stream.
        shared: SharedBudget | StoredBudget = stored or SharedBudget(caps=caps)
        gate = asyncio.Semaphore(self.concurrency)
        with playing_run(state) as play, sharing_budget(shared):  # a scripted model answers by the run's own history
            done_before = {item: self._done.get((str(event.event_id), item)) for item in work}
            for done in done_before.values():
                if done is not None:
                    play.account(done[0])  # the calls given again count, so the others' come after them

            async def one(item: Work) -> tuple[list[DomainEvent], bool]:
                key = (str(event.event_id), item)
                if done_before[item] is not None:
                    return done_before[item]  # type: ignore[return-value]
                async with gate:
                    with working_on(item.task_id):
                        events, _, stop = await self._work(state, run_id, event, item, checkouts[item.commit], budget)
                self._done.put(key, (events, stop))
                return events, stop

            results = await asyncio.gather(*(one(item) for item in work), return_exceptions=True)
        outputs: list[Output] = []
        stopped = False
        for result in results:
            if isinstance(result, tuple) and result[1]:
                if stopped:
                    # One budget question per refusal: a task refused after another keeps its paid calls
                    # and waits for the same `BudgetRaised`.
                    result = ([e for e in result[0] if not isinstance(e, ev.BudgetExceeded | ev.EscalationRequested)], True)
                stopped = True
            if isinstance(result, Unrecoverable):
                # The tasks already worked on are kept (and paid for) with the reason.
                finished = [e for r in results if not isinstance(r, BaseException) for e in r[0]]
                raise Unrecoverable(result.reason, result.action, [*finished, *result.events]) from result
            if isinstance(result, BaseException):
                raise result
            outputs.extend(result[0])
        if event.type in WORK_EVENT_TYPES:
            outputs = _beside_other_tasks(state, outputs)
        return outputs

    async def _checkout_all(self, run_id: str, state: RunState, work: list[Work]) -> dict[str, Path]:
        assert state.workspace_location is not None
        paths: dict[str, Path] = {}
        for commit in dict.fromkeys(w.commit for w in work):
            try:
                paths[commit] = await asyncio.to_thread(
                    self._checkouts.checkout, run_id, state.workspace_location, commit
                )
            except CheckoutError as exc:
                # The commit may not have reached the remote yet; the runtime retries, then dead-letters.
                raise TransientError(f"run {run_id}: {exc}") from exc
        return paths

    async def _work(
        self, state: RunState, run_id: str, event: Envelope, work: Work, checkout: Path, budget: RunBudget
    ) -> tuple[list[DomainEvent], RunBudget, bool]:
        view = RepositoryView(checkout)
        context = Context(
            story=state.story,
            task=self._brief(state, work.task_id),
            attempt=work.attempt,
            commit=work.commit,
            branch=state.branch,
            failure_excerpt=work.failure_excerpt,
            failing_commit=work.failing_commit,
            rewrite=work.mode == "rewrite",
        )
        prompt = await asyncio.to_thread(build_prompt, context, view)
        outcome = await write_change(self._client, work.role, prompt, checkout, budget, self._limits, view=view)
        events = list(outcome.events)
        budget = outcome.budget or budget
        result = outcome.result
        if isinstance(result, Proposed):
            log.info("run %s: %s attempt %s proposed (%s)", run_id, work.task_id, work.attempt, ", ".join(result.change.paths))
            events.append(build_proposal(work.task_id, work.attempt, work.commit, result.change, result.model))
            return events, budget, False
        if isinstance(result, OutOfBudget):
            log.info("run %s: %s attempt %s stopped by the budget: %s", run_id, work.task_id, work.attempt, result.refusal)
            events.append(result.refusal.exceeded_event)
            events.append(
                ev.EscalationRequested(
                    escalation_id=escalations.developer_budget_id(run_id, work.task_id, work.attempt, state.version),
                    kind="budget",
                    reason=f"the {work.role} for task {work.task_id} (attempt {work.attempt}) was stopped: {result.refusal}",
                    subject_event_id=event.event_id,
                    task_id=work.task_id,
                    attempt=work.attempt,
                )
            )
            return events, budget, True
        if isinstance(result, NoModel):
            raise Unrecoverable(f"the {work.role} for task {work.task_id}: {result.reason}", result.action, events)
        assert isinstance(result, GaveUp)
        reason = f"developer: {result.reason}"
        log.info("run %s: %s attempt %s gave no change: %s", run_id, work.task_id, work.attempt, reason)
        if self._on_no_diff == "escalate":
            events.append(
                ev.EscalationRequested(
                    escalation_id=escalations.developer_no_diff_id(run_id, work.task_id, work.attempt),
                    kind="change_rejected",
                    reason=f"task {work.task_id} attempt {work.attempt}: {reason}", subject_event_id=event.event_id,
                    task_id=work.task_id, attempt=work.attempt,
                )
            )
        else:
            events.append(ev.ChangeRejected(task_id=work.task_id, attempt=work.attempt, reason=reason))
        return events, budget, False

    def _brief(self, state: RunState, task_id: str) -> TaskBrief:
        task = state.tasks[task_id]
        return TaskBrief(
            task_id=task_id,
            domain=task.domain,
            description=task.description,
            acceptance_criteria=task.acceptance_criteria,
            files_of_interest=task.files_of_interest,
        )


def _beside_other_tasks(state: RunState, outputs: list[Output]) -> list[Output]:
    """One task's outputs, written in its own handling while other instances write the run's other
    tasks: a budget stop when the run already waits for a budget question asks none of its own and
    waits for the same `BudgetRaised` (one question per refusal, as for tasks written side by side
    in one process; its `BudgetExceeded` stays, so the handling always records something), and a
    threshold the run already announced is not announced again."""
    asked = any(q.kind == "budget" for q in state.pending_escalations.values())
    kept: list[Output] = []
    for output in outputs:
        if asked and isinstance(output, ev.EscalationRequested) and output.kind == "budget":
            continue
        if isinstance(output, ev.BudgetThresholdCrossed) and output.percent in state.budget_warnings:
            continue
        kept.append(output)
    return kept


def _task_caps(state: RunState, work: list[Work]) -> dict[str, TaskCap]:
    """The share of the run's budget each task's domain allows it (none for a full share)."""
    caps: dict[str, TaskCap] = {}
    for item in work:
        policy = task_policy(state, item.task_id)
        task = state.tasks.get(item.task_id)
        if policy is None or task is None or policy.budget_share >= 1:
            continue
        caps[item.task_id] = TaskCap(
            limit_usd=state.budget_limit_usd * policy.budget_share,
            limit_tokens=int(state.budget_limit_tokens * policy.budget_share),
            used_usd=task.spent_usd,
            used_tokens=task.spent_tokens,
        )
    return caps

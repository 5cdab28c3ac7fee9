"""The planner service: carries out `decide`'s steps — model calls for plans and merge reviews, the
rest as they stand — and returns every call's records with the decision."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from wave_events import DomainEvent, Envelope, escalations
from wave_events import catalogue as ev
from wave_events.domains import DOMAINS_FILE, GENERAL, DomainPolicyError, DomainTable, assign, delivery_of
from wave_events.projections import RunState
from wave_llm import ModelClient, RunBudget, playing_run
from wave_runtime import Output, Unrecoverable
from wave_runtime.memo import EffectResults

from .answers import FeasiblePlan, MergeReview, read_merge_review, read_plan
from .asking import Answered, Invalid, Refused, ask
from .branch_diff import ReadBranchDiff, read_branch_diff
from .config import PlannerConfig
from .decide import (
    HANDLED_EVENT_TYPES,
    SERVICE_NAME,
    MakePlan,
    ReviewMerge,
    budget_escalation,
    decide,
    merge_review_escalation,
)
from .domain_table import ReadDomains, read_domain_table
from .listing import FileListing, ReadListing, read_file_listing
from .prompts import MERGE_REVIEWER_SYSTEM, PLANNER_SYSTEM, criteria_ids, merge_review_prompt, plan_prompt

log = logging.getLogger("wave.planner")

Asked = Answered | Invalid | Refused


class PlannerService:
    name = SERVICE_NAME
    handles: frozenset[str] = HANDLED_EVENT_TYPES

    def __init__(
        self,
        models: ModelClient,
        *,
        config: PlannerConfig | None = None,
        read_listing: ReadListing = read_file_listing,
        read_diff: ReadBranchDiff = read_branch_diff,
        read_domains: ReadDomains = read_domain_table,
    ) -> None:
        self.models = models
        self.config = config or PlannerConfig()
        self._read_listing = read_listing
        self._read_diff = read_diff
        self._read_domains = read_domains
        # The model's answers by (cause event, step). The runtime decides again after a concurrency
        # conflict (another service appended to the run while the model was asked, e.g. the notifier's
        # NotificationSent for the same event): the answer already paid for is used again rather than
        # asking, and charging, a second time — or playing a cassette's next answer.
        self._answers: EffectResults[tuple[str, MakePlan | ReviewMerge], Asked] = EffectResults()

    async def handle(self, state: RunState, event: Envelope) -> Sequence[Output]:
        outputs: list[Output] = []
        with playing_run(state):  # a scripted model answers by the run's own history
            for step in decide(state, event, self.config.backoff):
                if isinstance(step, MakePlan):
                    outputs.extend(await self._plan(state, event))
                elif isinstance(step, ReviewMerge):
                    outputs.extend(await self._review(state, event, step.head))
                else:
                    outputs.append(step)
        return outputs

    async def _plan(self, state: RunState, event: Envelope) -> list[Output]:
        run_id = state.run_id or event.run_id
        table = await self._domains(state)
        listing = None if self._answers.get((str(event.event_id), MakePlan())) is not None else await self._listing(state)
        asked = await self._answers.once((str(event.event_id), MakePlan()), lambda: ask(
            self.models, "planner", PLANNER_SYSTEM, plan_prompt(state.story, state.target_branch, listing, table),
            read_plan, budget=RunBudget.from_state(state), answers=self.config.max_answers,
        ))
        match asked:
            case Answered(value=FeasiblePlan() as plan, model=model):
                log.info("run %s: planned %d task(s)", run_id, len(plan.tasks))
                return [*asked.events, _plan_created(plan, model, table, state.requested_delivery)]
            case Answered(value=answer):
                log.info("run %s: the story is infeasible: %s", run_id, answer.reason)
                return [*asked.events, ev.PlanRejected(reason=answer.reason)]
            case Invalid(problems=problems):
                return [
                    *asked.events,
                    ev.EscalationRequested(
                        escalation_id=escalations.invalid_plan_id(run_id, event.event_id),
                        kind="invalid_plan",
                        reason=(
                            f"the planner model gave {len(problems)} invalid plan(s); the last: {problems[-1]}. "
                            f"Approve to ask it again, reject to stop the run"
                        ),
                        subject_event_id=event.event_id,
                    ),
                ]
            case Refused():
                return _budget_stop(run_id, asked, event)
        raise AssertionError(f"unexpected answer {asked!r}")

    async def _review(self, state: RunState, event: Envelope, head: str) -> list[Output]:
        run_id = state.run_id or event.run_id
        key = (str(event.event_id), ReviewMerge(head))
        branch_diff = None if self._answers.get(key) is not None else await self._branch_diff(state, head)
        criteria = criteria_ids(state)
        asked = await self._answers.once(key, lambda: ask(
            self.models, "merge_reviewer", MERGE_REVIEWER_SYSTEM, merge_review_prompt(state, head, branch_diff),
            lambda text: read_merge_review(text, tuple(criteria)), budget=RunBudget.from_state(state),
            answers=self.config.max_answers,
        ))
        match asked:
            case Answered(value=MergeReview(approve=True, reason=reason) as review, model=model):
                return [
                    *asked.events,
                    ev.MergeApproved(
                        approver="model", reviewer=f"model:{model}", comment=reason, criteria=_verdicts(review, criteria)
                    ),
                ]
            case Answered(value=MergeReview(reason=reason) as review, model=model):
                # The model's no is recorded; a human has the last word on abandoning a tested change.
                return [
                    *asked.events,
                    ev.MergeRejected(
                        approver="model", reviewer=f"model:{model}", reason=reason, criteria=_verdicts(review, criteria)
                    ),
                    *merge_review_escalation(
                        state, head, f"the model reviewer rejected the merge of {head[:12]}: {reason}; approve to merge anyway"
                    ),
                ]
            case Invalid(problems=problems):
                reason = (
                    f"the merge reviewer model gave {len(problems)} invalid answer(s) (the last: {problems[-1]}); "
                    f"may {state.branch} at {head[:12]} be merged into {state.target_branch}?"
                )
                return [*asked.events, *merge_review_escalation(state, head, reason)]
            case Refused():
                return _budget_stop(run_id, asked, event)
        raise AssertionError(f"unexpected answer {asked!r}")

    async def _branch_diff(self, state: RunState, head: str) -> str | None:
        """The run branch from its base to `head`, from where the branch lives (the workspace's location
        when it is a path here, else the run's repository)."""
        if not state.base_commit:
            return None
        for place in dict.fromkeys(p for p in (state.workspace_location, state.repo) if p):
            try:
                found = await asyncio.to_thread(self._read_diff, place, state.base_commit, head)
            except Exception:  # noqa: BLE001 - the whole change only helps; each task's change is the fallback
                log.warning("planner: reading the branch diff in %s failed", place, exc_info=True)
                continue
            if found is not None:
                return found
        return None
    async def _domains(self, state: RunState) -> DomainTable | None:
        """The operator's table (`--domain-policy`), else the target branch's `.wave/domains.toml` at the
        run's base commit, else the defaults. A table file that cannot be used stops the planning until a person fixes it."""
        if state.requested_domain_table is not None:
            return state.requested_domain_table
        if not state.repo:
            return None
        try:
            return await asyncio.to_thread(self._read_domains, state.repo, state.target_branch, state.requested_base_commit)
        except DomainPolicyError as exc:
            raise Unrecoverable(
                f"the domain table cannot be used: {exc}",
                f"fix {DOMAINS_FILE} on {state.target_branch} in {state.repo} (see docs/domains.md)",
            ) from exc

    async def _listing(self, state: RunState) -> FileListing | None:
        if not state.repo or self.config.listing_limit == 0:
            return None
        try:
            return await asyncio.to_thread(self._read_listing, state.repo, state.target_branch, self.config.listing_limit)
        except Exception:  # noqa: BLE001 - a listing only helps; planning goes on without it
            log.warning("planner: reading the file listing of %s failed", state.repo, exc_info=True)
            return None


def _budget_stop(run_id: str, refused: Refused, cause: Envelope) -> list[Output]:
    log.info("run %s: budget stop: %s", run_id, refused.message)
    exceeded = refused.events[-1]
    assert isinstance(exceeded, ev.BudgetExceeded)
    return [*refused.events, budget_escalation(run_id, exceeded, cause)]


def _verdicts(review: MergeReview, criteria: dict[str, tuple[str, str]]) -> tuple[ev.CriterionVerdict, ...]:
    return tuple(
        ev.CriterionVerdict(task_id=criteria[c.id][0], criterion=criteria[c.id][1], met=c.met, note=c.note)
        for c in review.criteria or ()
        if c.id in criteria
    )


def _plan_created(plan: FeasiblePlan, model: str, table: DomainTable | None, requested_delivery: str | None) -> DomainEvent:
    tasks = []
    for t in plan.tasks:
        # The model proposes a domain; the files the task touches decide when it is unknown or wrong.
        domain, touched = (
            assign(table, t.domain, t.files_of_interest) if table is not None else (t.domain or GENERAL, ())
        )
        tasks.append(
            ev.PlanTask(
                task_id=t.task_id,
                domain=domain,
                description=t.description,
                acceptance_criteria=t.acceptance_criteria,
                files_of_interest=t.files_of_interest,
                domains=touched,
                depends_on=t.depends_on,
            )
        )
    return ev.PlanCreated(
        tasks=tuple(tasks), summary=plan.summary, model=model, domain_table=table,
        delivery=None if requested_delivery is not None else _delivery(table, tasks),
    )


def _delivery(table: DomainTable | None, tasks: list[ev.PlanTask]) -> str:
    """How a run submitted without a delivery is delivered: through a pull request when a domain of
    one of its tasks says so (the stricter wins), else in the repository."""
    if table is None:
        return "local"
    return delivery_of(table.get(name) for t in tasks for name in (t.domain, *t.domains)) or "local"

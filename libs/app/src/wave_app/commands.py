"""The commands people give about runs: submit a story, answer an escalation, raise a budget, cancel,
re-drive dead letters. Each checks the request, decides on the run's current state and appends one
event in the name of `actor` (the person: the CLI's OS user, the API's token holder); a refusal is an
`AppError` naming the problem, and nothing is stored then.

One run is one trace: submitting opens its root span, and every later command opens a span in that
trace (`wave_runtime.tracing.command_span`) whose context is stamped on the event it appends."""

from __future__ import annotations

import hashlib
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from wave_events import DomainEvent, Envelope
from wave_events import catalogue as ev
from wave_events.domains import DomainTable, may_approve
from wave_events.envelope import new_envelope, new_run_id, run_stream_id
from wave_events.escalations import Outcome, on_approve
from wave_events.projections import RunState, task_policy
from wave_runtime import DeadLetter, DeadLetters
from wave_runtime.tracing import command_span, current_traceparent
from wave_store import ConcurrencyError, EventStore

from .errors import AppError, Conflict, InvalidRequest, NotFound, Remedy
from .queries import load_run

PRODUCER = "cli"  # the producer of what people record through the command line
API_PRODUCER = "api"  # ... and through the HTTP API (and its Slack buttons)
MAX_DECISION_ATTEMPTS = 5


def _is_remote(repo: str) -> bool:
    return "://" in repo or repo.startswith("git@")


def check_repo(repo: str) -> str:
    """A local repository must exist and be a git repository; a URL is passed on as it is."""
    if _is_remote(repo):
        return repo
    try:
        path = Path(repo).expanduser().resolve()
        if not path.is_dir():
            raise InvalidRequest(f"repo {repo}: no such directory", field="repo")
        if not (path / ".git").exists() and not (path / "HEAD").is_file():
            raise InvalidRequest(f"repo {repo}: not a git repository (no .git)", field="repo")
    except (OSError, ValueError, RuntimeError) as exc:  # too long, a NUL byte, an unknown ~user
        raise InvalidRequest(f"repo {repo[:200]}: cannot be looked at: {exc}"[:400], field="repo") from None
    return str(path)


def target_branch_of(repo: str, branch: str | None) -> str:
    """The branch a run merges into: `branch`, which must exist in a local repository, or the
    repository's current branch. A remote repository is not looked at (default `main`)."""
    if _is_remote(repo):
        return branch or "main"
    import pygit2

    try:
        repository = pygit2.Repository(repo)
    except pygit2.GitError as exc:
        raise InvalidRequest(f"repo {repo}: cannot open the repository: {exc}", field="repo") from None
    if branch is None:
        if repository.head_is_detached:
            raise InvalidRequest(f"repo {repo}: HEAD is detached, so there is no current branch", field="repo",
                                 remedy=Remedy("name_target_branch"))
        branch = repository.references["HEAD"].target.removeprefix("refs/heads/")
    if repository.lookup_branch(branch) is None:
        have = ", ".join(sorted(repository.branches.local)) or "none: the repository has no commits"
        raise InvalidRequest(f"target_branch {branch}: no such branch in {repo} (branches: {have})", field="target_branch")
    return branch


def branch_head_of(repo: str, branch: str) -> str | None:
    """The commit `branch` of a local repository points at: the run's base, where its trusted
    configuration is read. None for a remote repository, which is not looked at."""
    if _is_remote(repo):
        return None
    import pygit2

    reference = pygit2.Repository(repo).lookup_branch(branch)
    return str(reference.peel(pygit2.Commit).id) if reference is not None else None


def check_amount(field: str, value: float | None) -> float | None:
    """A money amount a person typed: a finite number >= 0 (JSON cannot store NaN or infinity)."""
    if value is not None and (not math.isfinite(value) or value < 0):
        raise InvalidRequest(f"{field} {value}: give a finite amount of 0 or more", field=field)
    return value


def check_story(story: str) -> str:
    if not story.strip():
        raise InvalidRequest("the story is empty: say what the run should change")
    return story


def _payload(factory: type[DomainEvent], **fields: object) -> DomainEvent:
    try:
        return factory(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidRequest(f"{where}: {first['msg']}") from None


def cassette_sha256(cassette: str) -> str:
    """The fingerprint a run keeps of the cassette it carries, as `wave_llm.runplay.document_sha256`."""
    return hashlib.sha256(cassette.encode()).hexdigest() if cassette else ""


async def submit_run(
    store: EventStore,
    *,
    actor: str,
    story: str,
    repo: str,
    target_branch: str | None = None,
    budget_usd: float = 5.0,
    budget_tokens: int = 2_000_000,
    max_retries: int = 3,
    merge_policy: str = "auto",
    model_source: str = "",
    merge_strategy: str = "squash",
    cassette: str = "",
    delivery: str | None = None,
    domain_table: DomainTable | None = None,
    producer: str = PRODUCER,
) -> str:
    """Store a run's RunRequested and return its id; `target_branch` None means the repository's
    current branch; `cassette` is the content of the cassette the run plays (JSON,
    `wave_llm.cassette_document`)."""
    check_amount("budget_usd", budget_usd)
    check_story(story)
    repo = check_repo(repo)
    branch = target_branch_of(repo, target_branch)
    request = _payload(
        ev.RunRequested,
        story=story,
        repo=repo,
        target_branch=branch,
        base_commit=branch_head_of(repo, branch),
        budget_usd=budget_usd,
        budget_tokens=budget_tokens,
        max_retries=max_retries,
        merge_policy=merge_policy,
        model_source=model_source,
        merge_strategy=merge_strategy,
        delivery=delivery,
        cassette=cassette,
        cassette_sha256=cassette_sha256(cassette),
        requested_by=actor,
        domain_table=domain_table,
    )
    run_id = new_run_id()
    stream = run_stream_id(run_id)
    with command_span("wave run", run_id, attributes={"wave.actor": actor}):
        await store.append(stream, [new_envelope(stream, request, producer=producer, traceparent=current_traceparent())], 0)
    return run_id


async def _append_chosen(
    store: EventStore, run_id: str, command: str, actor: str, choose: Callable[[RunState], DomainEvent], producer: str
) -> tuple[RunState, Envelope]:
    """Append what `choose(state)` returns at the version it saw; on a conflict, choose again on
    fresh state — so two people racing on one escalation record exactly one decision. The command's
    span (named `command`) is in the run's trace, and so is the event it appends."""
    events, state = await load_run(store, run_id)
    with command_span(command, run_id, run_traceparent=events[0].traceparent, attributes={"wave.actor": actor}):
        for _ in range(MAX_DECISION_ATTEMPTS):
            payload = choose(state)
            envelope = new_envelope(run_stream_id(run_id), payload, producer=producer, traceparent=current_traceparent())
            try:
                await store.append(run_stream_id(run_id), [envelope], state.version)
            except ConcurrencyError:
                _, state = await load_run(store, run_id)
                continue
            return state, envelope
    raise Conflict(f"run {run_id} keeps changing under this command; try again")


async def record_decision(
    store: EventStore, run_id: str, *, actor: str, decision: str, escalation_id: str | None, comment: str = "",
    producer: str = PRODUCER,
) -> tuple[RunState, Envelope]:
    """Answer one pending escalation (the only one, or `escalation_id`): exactly one answer is
    recorded per escalation. Returns the state it was decided on and the recorded event."""

    def choose(state: RunState) -> DomainEvent:
        pending = state.pending_escalations
        if state.finished:
            raise Conflict(f"run {run_id} is {state.status}; there is nothing to decide")
        if escalation_id is not None:
            if escalation_id not in pending:
                settled = [d for d in state.decisions if d[0] == escalation_id]
                if settled:
                    _, was, by = settled[-1]
                    raise Conflict(f"escalation {escalation_id} was already answered: {was} by {by}")
                raise NotFound(f"run {run_id} has no pending escalation {escalation_id}",
                               remedy=Remedy("list_escalations", run_id))
            chosen = pending[escalation_id]
        elif len(pending) == 1:
            chosen = next(iter(pending.values()))
        elif not pending:
            raise Conflict(f"run {run_id} is not waiting for a decision")
        else:
            raise InvalidRequest(f"run {run_id} waits for {len(pending)} decisions",
                                 remedy=Remedy("name_escalation", run_id, tuple(pending)))
        if decision == "approve" and on_approve(chosen.kind) is Outcome.RAISE_BUDGET:
            raise InvalidRequest(f"escalation {chosen.escalation_id} asks for more budget",
                                 remedy=Remedy("raise_budget", run_id))
        if decision not in chosen.options:
            raise InvalidRequest(f"escalation {chosen.escalation_id} accepts {' or '.join(chosen.options)}, not {decision}")
        domain = task_policy(state, chosen.task_id) if chosen.task_id else None
        if decision == "approve" and domain is not None and not may_approve(domain, actor):
            raise InvalidRequest(
                f"escalation {chosen.escalation_id} is about a task of the {domain.name} domain, which only "
                f"{', '.join(domain.approvers)} may approve (you are {actor})"
            )
        return _payload(
            ev.HumanDecisionRecorded,
            escalation_id=chosen.escalation_id,
            decision=decision,
            decided_by=actor,
            comment=comment,
        )

    return await _append_chosen(store, run_id, "wave approve", actor, choose, producer)


async def raise_budget(
    store: EventStore, run_id: str, *, actor: str, usd: float | None, tokens: int | None, force: bool = False,
    producer: str = PRODUCER,
) -> tuple[RunState, Envelope]:
    """Set new budget limits. Only for a run stopped for budget unless `force`; never below what the
    run has already spent (that would stop it again at once)."""
    if usd is None and tokens is None:
        raise InvalidRequest("give usd and/or tokens: the new limit", field="usd")
    check_amount("usd", usd)

    def choose(state: RunState) -> DomainEvent:
        if state.finished:
            raise Conflict(f"run {run_id} is {state.status}; its budget cannot change")
        stopped = any(e.kind == "budget" for e in state.pending_escalations.values())
        if not stopped and not force:
            raise Conflict(f"run {run_id} is {state.status}, not stopped for budget", remedy=Remedy("force", run_id))
        if usd is not None and usd < state.budget_used_usd:
            raise InvalidRequest(f"usd {usd:g} is below the ${state.budget_used_usd:.4f} run {run_id} has already spent",
                                 field="usd")
        if tokens is not None and tokens < state.budget_used_tokens:
            raise InvalidRequest(
                f"tokens {tokens} is below the {state.budget_used_tokens} tokens run {run_id} has already used",
                field="tokens",
            )
        return _payload(
            ev.BudgetRaised,
            limit_usd=state.budget_limit_usd if usd is None else usd,
            limit_tokens=state.budget_limit_tokens if tokens is None else tokens,
            raised_by=actor,
        )

    return await _append_chosen(store, run_id, "wave budget", actor, choose, producer)


async def cancel_run(
    store: EventStore, run_id: str, *, actor: str, reason: str, producer: str = PRODUCER
) -> tuple[RunState, Envelope]:
    def choose(state: RunState) -> DomainEvent:
        if state.finished:
            raise Conflict(f"run {run_id} is already {state.status}")
        return _payload(ev.RunCancelled, cancelled_by=actor, reason=reason)

    return await _append_chosen(store, run_id, "wave cancel", actor, choose, producer)


async def record_redrive(store: EventStore, stream_id: str, *, actor: str, service: str, event_id: str) -> None:
    """Say on the run that a dead-lettered event goes back to its service (clearing its stall); a
    letter of no known run (undecodable bytes) has nowhere to say it."""
    if not event_id:
        return
    await _record_on_run(store, stream_id, actor, lambda state: _payload(
        ev.DeadLetterRedriven, service=service, event_id=event_id, redriven_by=actor))


async def _record_on_run(store: EventStore, stream_id: str, actor: str, choose: Callable[[RunState], DomainEvent]) -> None:
    if not stream_id.startswith("run-"):
        return
    try:
        await _append_chosen(store, stream_id.removeprefix("run-"), "wave dlq redrive", actor, choose, PRODUCER)
    except AppError:
        return


@dataclass(frozen=True)
class Redrive:
    """What `redrive_dead_letters` did: how many letters went back to their services (`sent`, of the
    letters in `redriven`), and the letters whose event the service had handled after all (settled,
    not sent back)."""

    sent: int
    redriven: list[DeadLetter]
    already_handled: list[DeadLetter]


async def redrive_dead_letters(
    store: EventStore, dead_letters: DeadLetters, *, actor: str, service: str | None = None, event_id: str | None = None
) -> Redrive:
    """Send the pending dead letters (of `service`, of `event_id`) back to their services, each recorded
    on its run (clearing its stall). A letter whose event the service handled after all — it was
    delivered again after the letter was written — is not sent: it is marked handled, and its run says
    so (`DeadLetterFoundHandled`), which clears the stall as well."""
    chosen = [d for d in await dead_letters.list(service) if d.pending and d.event_id and event_id in (None, d.event_id)]
    redriven, already_handled = [], []
    for letter in chosen:
        if await _was_handled(store, letter.consumer, letter.event_id):
            await dead_letters.mark_handled(letter.consumer, letter.event_id)
            await _record_on_run(store, letter.stream_id, actor, lambda state, d=letter: _payload(
                ev.DeadLetterFoundHandled, service=d.consumer, event_id=d.event_id, checked_by=actor))
            already_handled.append(letter)
        else:
            await record_redrive(store, letter.stream_id, actor=actor, service=letter.consumer, event_id=letter.event_id)
            redriven.append(letter)
    sent = await dead_letters.redrive(service, event_id) if redriven else 0
    return Redrive(sent, redriven, already_handled)


async def _was_handled(store: EventStore, consumer: str, event_id: str) -> bool:
    try:
        return await store.was_handled(consumer, uuid.UUID(event_id))
    except ValueError:  # not an event id: nothing can have handled it
        return False

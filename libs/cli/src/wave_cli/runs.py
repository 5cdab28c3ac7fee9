"""Operations on runs through the event store: submit, load, decide, raise a budget, cancel."""

from __future__ import annotations

import getpass
from pathlib import Path

from pydantic import ValidationError
from wave_events import DomainEvent, Envelope
from wave_events import catalogue as ev
from wave_events.envelope import new_envelope, new_run_id, run_stream_id, validate_run_id
from wave_events.projections import RunState, fold
from wave_store import ConcurrencyError, EventStore

from .errors import NotFound, UserError

PRODUCER = "cli"
MAX_DECISION_ATTEMPTS = 5


def who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def check_repo(repo: str) -> str:
    """A local repository must exist and be a git repository; a URL is passed on as it is."""
    if "://" in repo or repo.startswith("git@"):
        return repo
    path = Path(repo).expanduser().resolve()
    if not path.is_dir():
        raise UserError(f"--repo {repo}: no such directory")
    if not (path / ".git").exists() and not (path / "HEAD").is_file():
        raise UserError(f"--repo {repo}: not a git repository (no .git)")
    return str(path)


def target_branch_of(repo: str, branch: str | None) -> str:
    """The branch a run merges into: `branch`, which must exist in a local repository, or the
    repository's current branch. A remote repository is not looked at (default `main`)."""
    if "://" in repo or repo.startswith("git@"):
        return branch or "main"
    import pygit2

    try:
        repository = pygit2.Repository(repo)
    except pygit2.GitError as exc:
        raise UserError(f"--repo {repo}: cannot open the repository: {exc}") from None
    if branch is None:
        if repository.head_is_detached:
            raise UserError(f"--repo {repo}: HEAD is detached, so there is no current branch; name one with --target-branch")
        branch = repository.references["HEAD"].target.removeprefix("refs/heads/")
    if repository.lookup_branch(branch) is None:
        have = ", ".join(sorted(repository.branches.local)) or "none: the repository has no commits"
        raise UserError(f"--target-branch {branch}: no such branch in {repo} (branches: {have})")
    return branch


def _payload(factory: type[DomainEvent], **fields: object) -> DomainEvent:
    try:
        return factory(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UserError(f"{where}: {first['msg']}") from None


async def submit(
    store: EventStore,
    *,
    story: str,
    repo: str,
    target_branch: str | None = None,
    budget_usd: float = 5.0,
    budget_tokens: int = 2_000_000,
    max_retries: int = 3,
    merge_policy: str = "auto",
) -> str:
    """Store a run's RunRequested; `target_branch` None means the repository's current branch."""
    repo = check_repo(repo)
    request = _payload(
        ev.RunRequested,
        story=story,
        repo=repo,
        target_branch=target_branch_of(repo, target_branch),
        budget_usd=budget_usd,
        budget_tokens=budget_tokens,
        max_retries=max_retries,
        merge_policy=merge_policy,
        requested_by=who(),
    )
    run_id = new_run_id()
    await store.append(run_stream_id(run_id), [new_envelope(run_stream_id(run_id), request, producer=PRODUCER)], 0)
    return run_id


async def load(store: EventStore, run_id: str) -> tuple[list[Envelope], RunState]:
    try:
        validate_run_id(run_id)
    except ValueError as exc:
        raise UserError(f"{run_id!r} is not a run id: {exc}") from None
    events = await store.read_stream(run_stream_id(run_id))
    if not events:
        raise NotFound(f"no run {run_id}; `wave runs` lists the runs")
    return events, fold(events)


async def list_runs(store: EventStore) -> list[tuple[RunState, Envelope]]:
    """Every run with its last event, newest activity first."""
    found = []
    for stream_id in await store.stream_ids("run-"):
        events = await store.read_stream(stream_id)
        if events:
            found.append((fold(events), events[-1]))
    return sorted(found, key=lambda pair: pair[1].occurred_at, reverse=True)


async def _append_decided(store: EventStore, run_id: str, decide) -> tuple[RunState, Envelope]:
    """Append what `decide(state)` returns at the version it saw; on a conflict, decide again on
    fresh state — so two people racing on one escalation record exactly one decision."""
    for _ in range(MAX_DECISION_ATTEMPTS):
        _, state = await load(store, run_id)
        payload = decide(state)
        envelope = new_envelope(run_stream_id(run_id), payload, producer=PRODUCER)
        try:
            await store.append(run_stream_id(run_id), [envelope], state.version)
        except ConcurrencyError:
            continue
        return state, envelope
    raise UserError(f"run {run_id} keeps changing under this command; try again")


async def decide(
    store: EventStore, run_id: str, *, decision: str, escalation_id: str | None, comment: str = ""
) -> tuple[RunState, Envelope]:
    def choose(state: RunState) -> DomainEvent:
        pending = state.pending_escalations
        if state.finished:
            raise UserError(f"run {run_id} is {state.status}; there is nothing to decide")
        if escalation_id is not None:
            if escalation_id not in pending:
                settled = [d for d in state.decisions if d[0] == escalation_id]
                if settled:
                    _, was, by = settled[-1]
                    raise UserError(f"escalation {escalation_id} was already answered: {was} by {by}")
                raise UserError(f"run {run_id} has no pending escalation {escalation_id}; `wave status {run_id}` lists them")
            chosen = pending[escalation_id]
        elif len(pending) == 1:
            chosen = next(iter(pending.values()))
        elif not pending:
            raise UserError(f"run {run_id} is not waiting for a decision")
        else:
            raise UserError(
                f"run {run_id} waits for {len(pending)} decisions; name one with --escalation "
                f"({', '.join(pending)})"
            )
        if chosen.kind == "budget" and decision == "approve":
            raise UserError(
                f"escalation {chosen.escalation_id} asks for more budget: raise it with "
                f"`wave budget {run_id} --usd NEW_LIMIT`, or reject it to stop the run"
            )
        if decision not in chosen.options:
            raise UserError(f"escalation {chosen.escalation_id} accepts {' or '.join(chosen.options)}, not {decision}")
        return _payload(
            ev.HumanDecisionRecorded,
            escalation_id=chosen.escalation_id,
            decision=decision,
            decided_by=who(),
            comment=comment,
        )

    return await _append_decided(store, run_id, choose)


async def raise_budget(store: EventStore, run_id: str, *, usd: float | None, tokens: int | None) -> tuple[RunState, Envelope]:
    if usd is None and tokens is None:
        raise UserError("give --usd and/or --tokens: the new limit")

    def choose(state: RunState) -> DomainEvent:
        if state.finished:
            raise UserError(f"run {run_id} is {state.status}; its budget cannot change")
        return _payload(
            ev.BudgetRaised,
            limit_usd=state.budget_limit_usd if usd is None else usd,
            limit_tokens=state.budget_limit_tokens if tokens is None else tokens,
            raised_by=who(),
        )

    return await _append_decided(store, run_id, choose)


async def cancel(store: EventStore, run_id: str, *, reason: str) -> tuple[RunState, Envelope]:
    def choose(state: RunState) -> DomainEvent:
        if state.finished:
            raise UserError(f"run {run_id} is already {state.status}")
        return _payload(ev.RunCancelled, cancelled_by=who(), reason=reason)

    return await _append_decided(store, run_id, choose)


async def record_redrive(store: EventStore, stream_id: str, service: str, event_id: str) -> None:
    """Say on the run that a dead-lettered event goes back to its service (clearing its stall); a
    letter of no known run (undecodable bytes) has nowhere to say it."""
    if not stream_id.startswith("run-") or not event_id:
        return
    try:
        await _append_decided(
            store, stream_id.removeprefix("run-"),
            lambda state: _payload(ev.DeadLetterRedriven, service=service, event_id=event_id, redriven_by=who()),
        )
    except UserError:
        return

"""`wave`: deliver a story through WAVE's gates and look at what happened.

Embedded by default (one process, the SQLite store under WAVE_HOME, default ~/.local/state/wave); distributed when
WAVE_DATABASE_URL (postgresql://…) and WAVE_KAFKA_BOOTSTRAP are set.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from wave_events import encode_envelope, run_stream_id
from wave_events.projections import GATES, RunState, fold
from wave_store import StoreError, open_store

from . import runs
from .errors import NotFound, UserError
from .follow import (
    Outcome,
    RunFollower,
    drive_embedded,
    follow_distributed,
    other_unfinished_runs,
    unfinished_line,
)
from .output import ClosableStdout
from .progress import Line, approve_command, cost_line, failing_tests_text, gates_line, summarize
from .replay import Snapshots, replay_checks, state_document
from .settings import Settings

T = TypeVar("T")
console = Console(file=ClosableStdout(), highlight=False, soft_wrap=True)
errors = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_WAITING = 3  # `wave run` stopped because the run waits for a human decision


def _run(coroutine: Awaitable[T]) -> T:
    return asyncio.run(coroutine)  # type: ignore[arg-type]


@asynccontextmanager
async def _store(settings: Settings):
    if not settings.database_url:
        try:
            settings.home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create WAVE_HOME {settings.home}: {exc.strerror}; set WAVE_HOME to a directory you can write") from None
    try:
        store = await open_store(settings.store_url)
    except StoreError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"cannot open the event store {settings.store_url}: {exc}") from None
    try:
        yield store
    finally:
        await store.close()


def _show(line: Line) -> None:
    console.print(escape(line.text), style=line.style or None)


def _print_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2, default=str, ensure_ascii=False))


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Deliver stories through WAVE's gates, follow runs, answer escalations, audit and replay.

    \b
    Embedded by default: one process, events in $XDG_STATE_HOME/wave/wave.db, i.e.
    ~/.local/state/wave/wave.db (WAVE_HOME moves it).
    Distributed when WAVE_DATABASE_URL=postgresql://… and WAVE_KAFKA_BOOTSTRAP=host:port are set.
    """
    ctx.obj = Settings.from_env()


# --- run ---------------------------------------------------------------------------------------


@cli.command("run")
@click.argument("story")
@click.option("--repo", required=True, help="the git repository to change (a local path)")
@click.option("--target-branch", help="the branch the run merges into  [default: the repository's current branch]")
@click.option("--cassette", type=click.Path(dir_okay=False), help="play model answers from this cassette")
@click.option("--budget-usd", type=click.FloatRange(min=0), default=5.0, show_default=True)
@click.option("--budget-tokens", type=click.IntRange(min=0), default=2_000_000, show_default=True)
@click.option("--max-retries", type=click.IntRange(0, 20), default=3, show_default=True)
@click.option(
    "--merge-policy", type=click.Choice(["auto", "model", "human"]), default="auto", show_default=True,
    help="who approves the merge: policy (safe + tested), a model review, or a human",
)
@click.option(
    "--merge-strategy", type=click.Choice(["squash", "merge", "ff"]), default="squash", show_default=True,
    help="how the run lands on the target branch: one squashed commit, a merge commit, or a fast-forward "
         "(every attempt); the run branch keeps every attempt",
)
@click.option("--wait/--no-wait", default=None, help="follow the run until it stops (always, when embedded)")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=1), default=1800, show_default=True, help="seconds")
@click.option("--json", "as_json", is_flag=True,
              help="print one JSON object (run id, final status) on stdout; the live output goes to stderr")
@click.pass_obj
def run_command(settings: Settings, story: str, repo: str, target_branch: str | None, cassette: str | None,
                budget_usd: float, budget_tokens: int, max_retries: int, merge_policy: str, merge_strategy: str,
                wait: bool | None, timeout_s: float, as_json: bool) -> None:
    """Submit STORY (a coding task) against a repository and follow it through the gates.

    Exit status: 0 merged, 3 waiting for a decision (`wave approve`), 1 failed, blocked,
    rejected or cancelled.
    """
    runs.check_amount("--budget-usd", budget_usd)  # what was typed is checked before anything is looked up
    if story.startswith("@"):
        story = _read_story(story[1:])
    runs.check_story(story)
    model_source = _use_cassette(cassette, settings) if cassette else _models_in_use()

    services = _embedded_services(settings, model_source)  # a service that cannot start refuses before the run is stored
    repo = runs.check_repo(repo)
    target_branch = runs.target_branch_of(repo, target_branch)
    if services is not None:
        _check_model_source(cassette, model_source)  # distributed, the services' own environment decides

    async def go() -> Outcome | str:
        async with _store(settings) as store:
            run_id = await runs.submit(
                store, story=story, repo=repo, target_branch=target_branch, budget_usd=budget_usd,
                budget_tokens=budget_tokens, max_retries=max_retries, merge_policy=merge_policy,
                model_source=model_source,
                merge_strategy=merge_strategy,
                cassette=_cassette_document(cassette) if cassette else "",
            )
            console.print(f"run [bold]{run_id}[/] submitted ({settings.mode})")
            if settings.distributed and not wait:
                return run_id
            return await _follow(settings, store, run_id, timeout_s, services, model_source)

    if as_json:
        with _live_output_on_stderr():
            outcome = _run(go())
            code = 0 if isinstance(outcome, str) else _report(outcome)
        _print_json(_run_document(outcome))
        sys.exit(code)
    outcome = _run(go())
    if isinstance(outcome, str):
        console.print(f"follow it with: wave status {outcome}")
        return
    sys.exit(_report(outcome))


@contextmanager
def _live_output_on_stderr():
    """With --json, stdout holds only the JSON document."""
    stdout, console.file = console.file, sys.stderr
    try:
        yield
    finally:
        console.file = stdout


def _run_document(outcome: Outcome | str) -> dict[str, Any]:
    if isinstance(outcome, str):  # submitted to the distributed services, not followed
        return {"run_id": outcome, "status": "requested", "stopped": "submitted", "merge_commit": None,
                "pending_escalations": []}
    state = outcome.state
    return {
        "run_id": state.run_id, "status": state.status, "stopped": outcome.reason,
        "reason": state.outcome_reason or None, "merge_commit": state.merge_commit,
        "pending_escalations": sorted(state.pending_escalations),
    }


def _read_story(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except OSError as exc:
        raise UserError(f"cannot read the story file {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"the story file {path} is not UTF-8 text (byte {exc.start}: {exc.reason})") from None


def _use_cassette(path: str, settings: Settings) -> str:
    """Every role plays its answers from the cassette: no model is called, nothing is metered. Returns
    the models file that says so, for the run to remember."""
    from wave_llm import load_cassette
    from wave_llm.errors import CassetteError

    from .demo import scripted_models_file

    try:
        load_cassette(path)
    except CassetteError as exc:
        raise UserError(f"--cassette: {exc}") from None
    return str(scripted_models_file(Path(path), settings.home))


def _cassette_document(path: str) -> str:
    """The cassette's content, for the run to carry: every service plays it, distributed too."""
    from wave_llm import cassette_document, load_cassette

    return cassette_document(load_cassette(path))  # _use_cassette checked it already


def _models_in_use() -> str:
    """The models file this process would read (WAVE_MODELS_CONFIG, `.wave/models.yml`), absolute, for
    the run to remember; "" for the built-in defaults (then whoever drives the run uses its own)."""
    from wave_llm.errors import ConfigError
    from wave_llm.setup import find_config_file

    try:
        found = find_config_file(os.environ, Path.cwd())
    except ConfigError as exc:
        raise UserError(str(exc)) from None
    return str(found.resolve()) if found is not None else ""


def _models_setup(model_source: str):
    """The models a run was submitted with; None when it names none (the services read their own)."""
    if not model_source:
        return None
    from wave_llm import load_models_setup
    from wave_llm.errors import ConfigError

    try:
        return load_models_setup(model_source)
    except (ConfigError, OSError) as exc:
        raise UserError(f"the run's models file cannot be read: {exc}") from None


def _check_model_source(cassette: str | None, model_source: str) -> None:
    """Refuse a run no model could plan before anything is stored: every role needs a key or a cassette."""
    from wave_llm import load_models_setup, missing_model_sources
    from wave_llm.errors import ConfigError

    try:
        missing = missing_model_sources(load_models_setup(model_source or None))
    except ConfigError as exc:
        raise UserError(str(exc)) from None
    if missing:
        why = "; ".join(dict.fromkeys(missing.values()))
        hint = "fix the cassette path" if cassette else "set ANTHROPIC_API_KEY, OPENAI_API_KEY or XAI_API_KEY, or pass --cassette FILE"
        raise UserError(f"no model source for {', '.join(missing)}: {why}; {hint}")


def _embedded_services(settings: Settings, model_source: str = "") -> list | None:
    """Every service with the run's models, built now when this process will run them (embedded);
    None when distributed."""
    if settings.distributed:
        return None
    from .services import create_all

    return create_all(_models_setup(model_source))


async def _follow(settings: Settings, store, run_id: str, timeout_s: float, services: list | None,
                  model_source: str = "") -> Outcome:
    follower = RunFollower(store, run_id, _show, Snapshots(settings.projections_dir))
    if services is None:
        return await follow_distributed(follower, timeout_s=timeout_s)
    return await _drive(settings, store, follower, services, model_source, timeout_s)


async def _drive(settings: Settings, store, follower: RunFollower, services: list, model_source: str,
                 timeout_s: float) -> Outcome:
    """Embedded: this process runs the services on this run alone; other unfinished runs are named,
    not touched."""
    from wave_runtime import FileDeadLetters

    if line := unfinished_line(await other_unfinished_runs(store, follower.run_id)):
        console.print(line, style="yellow")
    _offline_banner(model_source)
    return await drive_embedded(store, services, FileDeadLetters(settings.dead_letters_path), follower, timeout_s=timeout_s)


def _offline_banner(model_source: str = "") -> None:
    from wave_llm import load_models_setup, offline_banner

    try:
        banner = offline_banner(load_models_setup(model_source or None))
    except Exception:  # noqa: BLE001 - the services already refused a bad configuration
        return
    if banner:
        console.print(f"[yellow]{escape(banner)}[/]")


def _report(outcome: Outcome) -> int:
    state = outcome.state
    console.print()
    console.print(gates_line(state))
    console.print(f"cost: {cost_line(state)}; retries {state.retries} of {state.max_retries}")
    run_id = state.run_id
    if outcome.reason == "finished":
        style = "bold green" if state.status == "completed" else "bold red"
        detail = f" — {state.outcome_reason}" if state.outcome_reason else ""
        console.print(f"run {run_id} {state.status}{escape(detail)}", style=style)
    elif outcome.reason == "awaiting_human":
        console.print(f"run {run_id} waits for a decision:", style="bold yellow")
        for escalation in state.pending_escalations.values():
            console.print(f"  {escalation.kind}: {escape(escalation.reason)}")
            console.print(f"  {approve_command(run_id, escalation.escalation_id, state)}")
    elif outcome.reason == "stalled" and state.dead_letters:
        console.print(f"run {run_id} stalled: a service gave up on an event after its retries", style="bold red")
        _print_dead_letters(state)
    elif outcome.reason == "stalled":
        console.print(
            f"run {run_id} stalled: it is {state.status}, not waiting for a decision, and no service is "
            "moving it; `wave dlq list` shows events a service could not handle",
            style="bold red",
        )
    else:
        console.print(f"stopped following run {run_id} after the timeout; it is {state.status}", style="yellow")
    console.print(f"inspect it: wave status {run_id} · wave events {run_id} · wave replay {run_id}")
    if outcome.reason == "finished":
        return 0 if state.status == "completed" else 1
    return EXIT_WAITING if outcome.reason == "awaiting_human" else 1


# --- inspect -----------------------------------------------------------------------------------


@cli.command("runs")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.pass_obj
def runs_command(settings: Settings, as_json: bool) -> None:
    """List runs, the most recently active first."""

    async def go():
        async with _store(settings) as store:
            return await runs.list_runs(store)

    found = _run(go())
    if as_json:
        _print_json([_listing_document(listing) for listing in found])
        return
    if not found:
        console.print("no runs yet; start one with `wave run STORY --repo PATH` or `make demo`")
        return
    table = Table("run", "status", "gates", "cost", "last event", "story")
    for listing in found:
        state, last = listing.state, listing.last_event_at.strftime("%Y-%m-%d %H:%M:%S")
        if state is None:
            error = listing.error
            table.add_row(listing.run_id, "[bold red]unreadable[/]", "-", "-", last,
                          escape(f"event {error.event_id}: {error.reason}" if error else ""))
            continue
        table.add_row(state.run_id, state.status, f"{sum(state.gates.values())}/{len(GATES)}",
                      f"${state.budget_used_usd:.4f}", last,
                      escape(state.story.splitlines()[0][:60] if state.story else ""))
    console.print(table)


def _listing_document(listing: runs.RunListing) -> dict[str, Any]:
    document: dict[str, Any] = {"run_id": listing.run_id, "status": listing.status,
                                "last_event_at": listing.last_event_at.isoformat()}
    if listing.state is None:
        error = listing.error
        return {**document, "event_id": error.event_id if error else None, "error": str(error)}
    s = listing.state
    return {**document, "story": s.story, "repo": s.repo, "gates_passed": sum(s.gates.values()),
            "cost_usd": s.budget_used_usd}


@cli.command("status")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="the whole projection as JSON")
@click.pass_obj
def status_command(settings: Settings, run_id: str, as_json: bool) -> None:
    """Show a run: status, gates, tasks, retries, budget, pending escalations."""

    async def go():
        async with _store(settings) as store:
            return await runs.load(store, run_id)

    _, state = _run(go())
    if as_json:
        _print_json(state_document(state))
        return
    _print_status(state)


def _print_status(state: RunState) -> None:
    console.print(f"run [bold]{state.run_id}[/]: {state.status}" + (f" — {escape(state.outcome_reason)}" if state.outcome_reason else ""))
    console.print(f"story:  {escape(state.story.strip().splitlines()[0] if state.story.strip() else '')}")
    console.print(f"repo:   {escape(state.repo)} → {state.target_branch}" + (f" (branch {state.branch})" if state.branch else ""))
    for gate, passed in state.gates.items():
        console.print(f"  {'✓' if passed else '·'} {gate}", style="green" if passed else "dim")
    if state.tasks:
        table = Table("task", "domain", "attempt", "safety", "commit", "description")
        for t in state.tasks.values():
            table.add_row(t.task_id, t.domain, str(t.attempt), t.verdict or ("approved" if t.human_approved else "-"),
                          (t.commit or "-")[:12], escape(t.description[:60]))
        console.print(table)
    console.print(f"retries {state.retries} of {state.max_retries} · budget {cost_line(state)} · "
                  f"{state.llm_calls} model call(s) · merge policy {state.merge_policy}")
    if state.last_test_failed_commit:
        failing = failing_tests_text(state.last_failing_tests) if state.last_failing_tests else "(not named by the report)"
        console.print(f"last failing tests (on {state.last_test_failed_commit[:12]}): {escape(failing)}",
                      style="green" if state.status == "completed" else "red")
    if state.merge_commit:
        console.print(f"merged at {state.merge_commit[:12]}")
    for timer in state.pending_timers.values():
        console.print(f"timer {timer.timer_id} ({timer.purpose}) due {timer.due_at}", style="yellow")
    for escalation in state.pending_escalations.values():
        console.print(f"waiting: {escalation.kind} — {escape(escalation.reason)}", style="yellow")
        console.print(f"  {approve_command(state.run_id, escalation.escalation_id, state)}")
    _print_dead_letters(state)


def _print_dead_letters(state: RunState) -> None:
    for letter in state.dead_letters:
        console.print(
            f"stalled: {letter.service} gave up on {letter.event_type} {letter.event_id} after {letter.attempts} "
            f"attempt(s): {escape(letter.reason)}",
            style="bold red",
        )
        console.print(f"  fix the cause, then: wave dlq redrive --event {letter.event_id}")


@cli.command("events")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="every envelope in full: payloads, prompts, responses")
@click.option("--raw", is_flag=True, help="the records as stored, undecoded (for a run shown as unreadable)")
@click.pass_obj
def events_command(settings: Settings, run_id: str, as_json: bool, raw: bool) -> None:
    """The full audit history of a run, in stream order."""

    async def go():
        async with _store(settings) as store:
            if raw:
                stored = await store.read_stream_raw(run_stream_id(runs.check_run_id(run_id)))
                if not stored:
                    raise NotFound(f"no run {run_id}; `wave runs` lists the runs")
                return stored
            return (await runs.load(store, run_id))[0]

    events = _run(go())
    if raw:
        _print_json([record.document() for record in events])
        return
    if as_json:
        _print_json([json.loads(encode_envelope(e)) for e in events])
        return
    table = Table("#", "at", "event", "by", "what")
    for e in events:
        table.add_row(str(e.stream_version), e.occurred_at.strftime("%H:%M:%S.%f")[:-3], e.type,
                      e.producer.split("/")[0], escape(summarize(e)))
    console.print(table)


@cli.command("replay")
@click.argument("run_id")
@click.pass_obj
def replay_command(settings: Settings, run_id: str) -> None:
    """Rebuild a run's state from its stored events and compare it with what was seen live.

    The whole stream is compared with the run folded in the store's global order, the way a
    subscribed service sees it. The live projection, kept event by event while the run was followed
    here (`wave run`, `wave approve`, `wave demo`), is compared with the replay of the events it
    covers. Exit status 1 on any difference.
    """

    async def go():
        async with _store(settings) as store:
            events, _ = await runs.load(store, run_id)
            ordered = [e for e in await _read_everything(store) if e.stream_id == events[0].stream_id]
            return events, replay_checks(events, ordered, Snapshots(settings.projections_dir).load(run_id))

    events, checks = _run(go())
    whole = fold(events)
    console.print(f"replayed {len(events)} events of run {run_id}: {whole.status}, "
                  f"{sum(whole.gates.values())}/{len(GATES)} gates")
    for check in checks:
        if check.differences:
            console.print(f"[bold red]replay differs from the {check.against} in {len(check.differences)} field(s):[/]")
            for line in check.differences:
                console.print(f"  {escape(line)}")
        else:
            console.print(f"[green]replay matches the {check.against}[/]")
    if any(check.differences for check in checks):
        sys.exit(1)


async def _read_everything(store) -> list:
    everything, position = [], 0
    while batch := await store.read_all(position, 1000):
        everything.extend(batch)
        position = batch[-1].global_position or position
    return everything


# --- decide ------------------------------------------------------------------------------------


@cli.command("approve")
@click.argument("run_id")
@click.option("--decision", type=click.Choice(["approve", "reject"]), required=True)
@click.option("--escalation", "escalation_id", help="which escalation, when the run waits for several")
@click.option("--comment", default="", help="why, for the record")
@click.option("--wait/--no-wait", default=None, help="follow the run to its next stop (always, when embedded)")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=1), default=1800, show_default=True)
@click.pass_obj
def approve_command_(settings: Settings, run_id: str, decision: str, escalation_id: str | None, comment: str,
                     wait: bool | None, timeout_s: float) -> None:
    """Answer a pending escalation of RUN_ID; exactly one answer is recorded per escalation."""
    _decide_and_continue(settings, run_id, timeout_s, wait,
                         lambda store: runs.decide(store, run_id, decision=decision, escalation_id=escalation_id, comment=comment))


@cli.command("budget")
@click.argument("run_id")
@click.option("--usd", type=click.FloatRange(min=0), help="the new USD limit (at least what was spent)")
@click.option("--tokens", type=click.IntRange(min=0), help="the new token limit (at least what was used)")
@click.option("--force", is_flag=True, help="change the budget of a run that is not stopped for budget")
@click.option("--wait/--no-wait", default=None, help="follow the run to its next stop (always, when embedded)")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=1), default=1800, show_default=True)
@click.pass_obj
def budget_command(settings: Settings, run_id: str, usd: float | None, tokens: int | None, force: bool,
                   wait: bool | None, timeout_s: float) -> None:
    """Raise RUN_ID's budget (a top-up after a budget stop; --force for a run that is not stopped)."""
    runs.check_amount("--usd", usd)
    _decide_and_continue(settings, run_id, timeout_s, wait,
                         lambda store: runs.raise_budget(store, run_id, usd=usd, tokens=tokens, force=force))


@cli.command("cancel")
@click.argument("run_id")
@click.option("--reason", default="", help="why, for the record")
@click.pass_obj
def cancel_command(settings: Settings, run_id: str, reason: str) -> None:
    """Stop RUN_ID without merging."""
    _decide_and_continue(settings, run_id, 60, False, lambda store: runs.cancel(store, run_id, reason=reason))


def _decide_and_continue(settings: Settings, run_id: str, timeout_s: float, wait: bool | None,
                         record: Callable[[Any], Awaitable[tuple[RunState, Any]]]) -> None:
    async def go() -> Outcome | None:
        async with _store(settings) as store:
            decided_on, envelope = await record(store)
            console.print(f"recorded {envelope.type}: {escape(summarize(envelope))}")
            if wait is False or (settings.distributed and not wait):
                return None
            return await _follow_from_now(settings, store, run_id, decided_on, timeout_s)

    outcome = _run(go())
    if outcome is not None:
        sys.exit(_report(outcome))


async def _follow_from_now(settings: Settings, store, run_id: str, decided_on: RunState, timeout_s: float) -> Outcome:
    """Follow from the event just recorded (the state it was decided on is where printing starts)."""
    follower = RunFollower(store, run_id, _show, Snapshots(settings.projections_dir))
    follower.state, follower.seen = decided_on, decided_on.version
    if settings.distributed:
        return await follow_distributed(follower, timeout_s=timeout_s)
    services = _embedded_services(settings, decided_on.model_source)
    return await _drive(settings, store, follower, services, decided_on.model_source, timeout_s)


@cli.command("resume")
@click.argument("run_id")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=1), default=1800, show_default=True, help="seconds")
@click.pass_obj
def resume_command(settings: Settings, run_id: str, timeout_s: float) -> None:
    """Drive RUN_ID on from where it stopped (after Ctrl-C, a crash, a closed terminal), with the
    models it was submitted with, until it stops again.

    Exit status as for `wave run`: 0 merged, 3 waiting for a decision, 1 failed, blocked, rejected
    or cancelled. Distributed, the services elsewhere move it; this follows it.
    """

    async def go() -> Outcome:
        async with _store(settings) as store:
            _, state = await runs.load(store, run_id)
            if state.finished:
                raise UserError(f"run {run_id} is already {state.status}; there is nothing to resume")
            follower = RunFollower(store, run_id, _show, Snapshots(settings.projections_dir))
            await follower.catch_up(quiet=True)
            console.print(f"run [bold]{run_id}[/] resumed ({settings.mode}): {state.status}")
            if settings.distributed:
                return await follow_distributed(follower, timeout_s=timeout_s)
            services = _embedded_services(settings, state.model_source)
            return await _drive(settings, store, follower, services, state.model_source, timeout_s)

    sys.exit(_report(_run(go())))


# --- operate -----------------------------------------------------------------------------------


@cli.group("dlq")
def dlq_group() -> None:
    """Dead letters: events a service could not handle after its retries."""


def _dead_letters(settings: Settings):
    if settings.distributed:
        from wave_runtime.kafka import KafkaDeadLetters, Topics

        return KafkaDeadLetters(settings.kafka_bootstrap, Topics.from_env())
    from wave_runtime import FileDeadLetters

    return FileDeadLetters(settings.dead_letters_path)


@dlq_group.command("list")
@click.option("--service", help="only this service's dead letters")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def dlq_list(settings: Settings, service: str | None, as_json: bool) -> None:
    """List dead letters with their errors."""
    letters = _run(_dead_letters(settings).list(service))
    if as_json:
        _print_json([letter.__dict__ for letter in letters])
        return
    if not letters:
        console.print("no dead letters")
        return
    table = Table("service", "event", "type", "run", "attempts", "error", "re-driven")
    for d in letters:
        table.add_row(d.consumer, d.event_id, d.event_type, d.stream_id.removeprefix("run-"), str(d.attempts),
                      escape(f"{d.error_type}: {d.error}"[:80]), "yes" if d.redriven else "")
    console.print(table)


@dlq_group.command("redrive")
@click.option("--service", help="only this service's dead letters")
@click.option("--event", "event_id", help="only this event id")
@click.pass_obj
def dlq_redrive(settings: Settings, service: str | None, event_id: str | None) -> None:
    """Send dead letters back to their service (after the cause is fixed). Handling is idempotent:
    an event handled meanwhile is a no-op. Each re-drive is recorded on its run (clearing its stall);
    embedded, the events are handled now, and an event that fails again is dead-lettered again and
    reported (exit status 1)."""

    async def go() -> tuple[int, list]:
        letters = _dead_letters(settings)
        chosen = [d for d in await letters.list(service) if not d.redriven and event_id in (None, d.event_id)]
        if chosen:
            async with _store(settings) as store:
                for letter in chosen:
                    await runs.record_redrive(store, letter.stream_id, letter.consumer, letter.event_id)
        count = await letters.redrive(service, event_id)
        if not count or settings.distributed:
            return count, []
        await _handle_redrives(settings, letters)
        again = {(d.consumer, d.event_id): d for d in await letters.list(service) if not d.redriven}
        return count, [again[key] for d in chosen if (key := (d.consumer, d.event_id)) in again]

    count, failed = _run(go())
    if not count:
        console.print("nothing to re-drive")
        return
    if not failed:
        console.print(f"re-drove {count} dead letter(s)" + ("" if settings.distributed else "; handled"))
        return
    console.print(f"re-drove {count} dead letter(s); {len(failed)} failed again and were dead-lettered again:", style="bold red")
    for d in failed:
        console.print(f"  {d.consumer}: {d.event_type} {d.event_id}: {escape(f'{d.error_type}: {d.error}'[:300])}")
    sys.exit(1)


async def _handle_redrives(settings: Settings, letters) -> None:
    """Embedded: nothing else runs, so this process hands the re-driven events to their services, run
    by run, each with the models its run was submitted with."""
    from wave_events.envelope import run_stream_id
    from wave_runtime import EmbeddedRuntime

    async with _store(settings) as store:
        for run_id in dict.fromkeys(d.stream_id.removeprefix("run-") for d in await letters.list()):
            stream = run_stream_id(run_id)
            if not any(letters.pending_redrives(name, stream) for name in _service_names()):
                continue
            _, state = await runs.load(store, run_id)
            services = _embedded_services(settings, state.model_source)
            async with EmbeddedRuntime(store, services, letters, only_run=run_id) as runtime:
                while any(letters.pending_redrives(s.service.name, stream) for s in runtime.dispatchers):  # noqa: ASYNC110
                    await asyncio.sleep(0.05)  # the followers take re-drives between batches; a file has no event to wait on
                await runtime.drain(timeout=600)


def _service_names() -> list[str]:
    from .services import FACTORIES

    return list(FACTORIES)


@cli.command("config")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def config_command(settings: Settings, as_json: bool) -> None:
    """Show the effective configuration: mode, store, broker, model routes (secrets masked)."""
    from wave_llm import describe_setup, load_models_setup
    from wave_llm.errors import ConfigError

    try:
        models = describe_setup(load_models_setup())
    except ConfigError as exc:
        raise UserError(str(exc)) from None
    document = {
        "mode": settings.mode,
        "home": str(settings.home),
        "store": _mask_url(settings.store_url),
        "kafka_bootstrap": settings.kafka_bootstrap or None,
        "models": models,
    }
    if as_json:
        _print_json(document)
        return
    console.print(f"mode:   {document['mode']}")
    console.print(f"store:  {document['store']}")
    console.print(f"kafka:  {document['kafka_bootstrap'] or '(none: embedded transport)'}")
    console.print(f"models: {escape(str(models['source']))}")
    if models["banner"]:
        console.print(f"[yellow]{escape(models['banner'])}[/]")
    table = Table("role", "#", "provider", "model", "after failures", "api key", "available")
    for r in models["routes"]:
        table.add_row(r["role"], str(r["order"]), r["provider"], r["model"], str(r["max_failures"]),
                      r["api_key"], "yes" if r["available"] else "no")
    console.print(table)


def _mask_url(url: str) -> str:
    """postgresql://user:secret@host/db → postgresql://user:****@host/db"""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user}:****@{host}"


@cli.command("service")
@click.argument("name")
@click.option("--health-port", type=click.IntRange(1, 65535), help="serve /healthz, /readyz and /metrics here")
def service_command(name: str, health_port: int | None) -> None:
    """Run one service (planner, gitops, developer, safety, qa, notifier) in its Kafka consumer group.

    Needs WAVE_DATABASE_URL and WAVE_KAFKA_BOOTSTRAP; stops gracefully on SIGTERM.
    """
    from wave_runtime.process import serve_service

    from .services import create

    _logging()
    _run(serve_service(create(name), health_port=health_port))


@cli.command("relay")
@click.option("--health-port", type=click.IntRange(1, 65535), help="serve /healthz, /readyz and /metrics here")
def relay_command(health_port: int | None) -> None:
    """Run the outbox relay: every stored event onto the Kafka events topic, in order."""
    from wave_runtime.process import serve_relay

    _logging()
    _run(serve_relay(health_port=health_port))


def _logging() -> None:
    import logging

    from wave_runtime.outages import quiet_broker_client_logs

    logging.basicConfig(level=os.environ.get("WAVE_LOG_LEVEL", "INFO"), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    quiet_broker_client_logs()


@cli.group("safety")
def safety_group() -> None:
    """The safety scorer on its own."""


def _mount_safety() -> None:
    from wave_safety.cli import score

    safety_group.add_command(score)


_mount_safety()


@cli.command("demo")
@click.option("--examples", "examples_dir", type=click.Path(file_okay=False), help="the examples/ directory")
@click.option("--stack", is_flag=True, help="every service its own process over PostgreSQL and Kafka")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=1), default=600, show_default=True)
@click.pass_obj
def demo_command(settings: Settings, examples_dir: str | None, stack: bool, timeout_s: float) -> None:
    """Deliver the sample story end to end on this machine, offline.

    A copy of examples/sample-repo becomes a git repository under WAVE_HOME/demo; the story in
    examples/stories/slugify runs with its cassette of model answers: the first change fails
    the tests, the fix passes, and the branch is merged into main. Embedded by default; with
    --stack (needs WAVE_DATABASE_URL and WAVE_KAFKA_BOOTSTRAP, see `make demo-stack`) the relay
    and each service run as their own processes in a fresh database `wave_demo`.
    """
    from .demo import demo_files, find_examples, fresh_repository

    if stack and not settings.distributed:
        raise UserError("--stack needs WAVE_DATABASE_URL (postgresql://…) and WAVE_KAFKA_BOOTSTRAP; `make demo-stack` sets them")
    if settings.distributed and not stack:
        raise UserError("WAVE_KAFKA_BOOTSTRAP is set: use `wave demo --stack` (or unset it for the embedded demo)")
    files = demo_files(find_examples(examples_dir))
    repo = fresh_repository(files.repo, settings.home / "demo" / "sample-repo")
    console.print(f"sample repository: {repo} (main at its first commit)")
    model_source = _use_cassette(str(files.cassette), settings)
    story = files.story.read_text(encoding="utf-8").strip()
    outcome = _run(
        _demo_stack(settings, story, repo, timeout_s, model_source) if stack
        else _demo_embedded(settings, story, repo, timeout_s, model_source)
    )
    code = _report(outcome)
    if code == 0:
        console.print(f"the merged change: git -C {repo} log --oneline main")
    sys.exit(code)


async def _demo_embedded(settings: Settings, story: str, repo: Path, timeout_s: float, model_source: str) -> Outcome:
    services = _embedded_services(settings, model_source)
    async with _store(settings) as store:
        run_id = await runs.submit(store, story=story, repo=str(repo), budget_usd=1.0, max_retries=3,
                                   model_source=model_source)
        console.print(f"run [bold]{run_id}[/] submitted ({settings.mode})")
        return await _follow(settings, store, run_id, timeout_s, services, model_source)


async def _demo_stack(settings: Settings, story: str, repo: Path, timeout_s: float, model_source: str) -> Outcome:
    import uuid

    from .demo import Stack, fresh_database
    from .services import FACTORIES

    database_url = await fresh_database(settings.database_url, "wave_demo")
    prefix = f"wave-demo-{uuid.uuid4().hex[:8]}"
    # the stack's processes read their settings, the models file included, from their environment
    env = {**os.environ, "WAVE_DATABASE_URL": database_url, "WAVE_TOPIC_PREFIX": prefix, "WAVE_MODELS_CONFIG": model_source}
    settings = Settings.from_env(env)
    logs = settings.home / "demo" / "logs"
    processes = Stack(list(FACTORIES), env, logs)
    console.print(f"starting the relay and {len(FACTORIES)} services (logs in {logs}; topics {prefix}.*)")
    processes.start()
    _offline_banner(model_source)
    try:
        async with _store(settings) as store:
            run_id = await runs.submit(store, story=story, repo=str(repo), budget_usd=1.0, max_retries=3,
                                       model_source=model_source)
            console.print(f"run [bold]{run_id}[/] submitted ({settings.mode})")
            follower = RunFollower(store, run_id, _show, Snapshots(settings.projections_dir))
            return await follow_distributed(follower, timeout_s=timeout_s, watch=processes.check)
    finally:
        processes.stop()


# --- entry point -------------------------------------------------------------------------------


def _usage_problem(exc: click.UsageError) -> str:
    command = exc.ctx.command_path if exc.ctx is not None else "wave"
    message = " ".join(exc.format_message().split())
    return f"{message} (see `{command} --help`)"


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; a user's mistake is one line on stderr and a non-zero exit, never a traceback."""
    try:
        cli.main(args=argv, prog_name="wave", standalone_mode=False)
    except click.exceptions.Abort:
        errors.print("wave: aborted")
        sys.exit(130)
    except click.UsageError as exc:
        # One line, like every other mistake; `--help` shows the usage.
        errors.print(f"wave: error: {escape(_usage_problem(exc))}")
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        errors.print(f"wave: error: {escape(exc.format_message())}")
        sys.exit(exc.exit_code)
    except UserError as exc:
        errors.print(f"wave: error: {escape(str(exc))}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        errors.print("wave: interrupted")
        sys.exit(130)
    except (ValueError, OSError, StoreError) as exc:
        if os.environ.get("WAVE_DEBUG"):
            raise
        errors.print(f"wave: error: {escape(str(exc))} (WAVE_DEBUG=1 shows the traceback)")
        sys.exit(1)
    except Exception as exc:
        from wave_runtime.outages import is_outage

        if not is_outage(exc) or os.environ.get("WAVE_DEBUG"):
            raise
        errors.print(f"wave: error: the database or the broker went away ({type(exc).__name__}: {escape(str(exc))}); "
                     "try again once it is back (WAVE_DEBUG=1 shows the traceback)")
        sys.exit(1)

"""Operating WAVE: `wave dlq`, `wave config`, `wave service`, `wave relay`, `wave safety`."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import click
from wave_app import commands, queries
from wave_events.envelope import run_stream_id

from .. import render
from ..bootstrap import FACTORIES, Composition, local_user
from ..errors import UserError

HEALTH_PORT = click.option("--health-port", type=click.IntRange(1, 65535), help="serve /healthz, /readyz and /metrics here")
HEALTH_HOST = click.option(
    "--health-host", help="the address to serve them on  [default: WAVE_HEALTH_HOST, else 127.0.0.1]"
)


@click.group("dlq")
def dlq_group() -> None:
    """Dead letters: events a service could not handle after its retries."""


@dlq_group.command("list")
@click.option("--service", help="only this service's dead letters")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def dlq_list(parts: Composition, service: str | None, as_json: bool) -> None:
    """List dead letters with their errors."""
    letters = asyncio.run(parts.dead_letters().list(service))
    if as_json:
        render.print_json([letter.__dict__ for letter in letters])
        return
    render.print_dead_letter_table(letters)


@dlq_group.command("redrive")
@click.option("--service", help="only this service's dead letters")
@click.option("--event", "event_id", help="only this event id")
@click.pass_obj
def dlq_redrive(parts: Composition, service: str | None, event_id: str | None) -> None:
    """Send dead letters back to their service (after the cause is fixed). Each re-drive is recorded
    on its run (clearing its stall); embedded, the events are handled now, and an event that fails
    again is dead-lettered again and reported (exit status 1). A letter whose event the service had
    handled after all (delivered again after the letter was written) is not sent back: it is reported
    as already handled and no longer listed as pending."""

    async def go() -> tuple[commands.Redrive, list]:
        letters = parts.dead_letters()
        async with parts.store() as store:
            done = await commands.redrive_dead_letters(store, letters, actor=local_user(), service=service,
                                                       event_id=event_id)
        if not done.sent or parts.settings.distributed:
            return done, []
        await _handle_redrives(parts, letters)
        again = {(d.consumer, d.event_id): d for d in await letters.list(service) if d.pending}
        return done, [again[key] for d in done.redriven if (key := (d.consumer, d.event_id)) in again]

    done, failed = asyncio.run(go())
    if render.print_redrive(done.sent, failed, done.already_handled, handled=not parts.settings.distributed):
        sys.exit(1)


async def _handle_redrives(parts: Composition, letters: Any) -> None:
    """Embedded: nothing else runs, so this process hands the re-driven events to their services, run
    by run, each with the models its run was submitted with."""
    from wave_runtime import EmbeddedRuntime

    async with parts.store() as store:
        for run_id in dict.fromkeys(d.stream_id.removeprefix("run-") for d in await letters.list()):
            stream = run_stream_id(run_id)
            if not any(letters.pending_redrives(name, stream) for name in FACTORIES):
                continue
            _, state = await queries.load_run(store, run_id)
            services = parts.services(state.model_source)
            async with EmbeddedRuntime(store, services, letters, only_run=run_id) as runtime:
                while any(letters.pending_redrives(s.service.name, stream) for s in runtime.dispatchers):  # noqa: ASYNC110
                    await asyncio.sleep(0.05)  # the followers take re-drives between batches; a file has no event to wait on
                await runtime.drain(timeout=600)


@click.command("config")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def config_command(parts: Composition, as_json: bool) -> None:
    """Show the effective configuration: mode, store, broker, model routes (secrets masked)."""
    settings = parts.settings
    document = {
        "mode": settings.mode,
        "home": str(settings.home),
        "store": render.masked_url(settings.store_url),
        "kafka_bootstrap": settings.kafka_bootstrap or None,
        "models": parts.describe_models(),
    }
    if as_json:
        render.print_json(document)
        return
    render.print_config(document)


@click.command("service")
@click.argument("name")
@HEALTH_PORT
@HEALTH_HOST
@click.option("--host", help="api: the address the HTTP API listens on  [default: 127.0.0.1]")
@click.option("--port", type=click.IntRange(0, 65535), help="api: the HTTP API's port  [default: 8080]")
@click.pass_obj
def service_command(parts: Composition, name: str, health_port: int | None, health_host: str | None,
                    host: str | None, port: int | None) -> None:
    """Run one service (planner, gitops, developer, safety, qa, notifier) in its Kafka consumer group,
    or the HTTP API on its own (api: `wave serve` of a distributed deployment, with --host and --port).

    Needs WAVE_DATABASE_URL and WAVE_KAFKA_BOOTSTRAP; stops gracefully on SIGTERM.
    """
    if name == "api":
        from .serve import run_api

        if not parts.settings.distributed:
            raise UserError("`wave service api` is the API of a distributed deployment: set WAVE_DATABASE_URL and "
                            "WAVE_KAFKA_BOOTSTRAP; on one machine, `wave serve` runs the API with every service")
        run_api(parts, host or "127.0.0.1", 8080 if port is None else port,
                health_port=health_port, health_host=health_host)
        return
    if host is not None or port is not None:
        raise UserError(f"--host and --port are the API's (`wave service api`); service {name} serves only its health port")
    from wave_runtime.process import serve_service

    parts.configure_logging()
    service = parts.service(name)
    asyncio.run(serve_service(service, health_port=health_port, health_host=health_host))


@click.command("relay")
@HEALTH_PORT
@HEALTH_HOST
@click.pass_obj
def relay_command(parts: Composition, health_port: int | None, health_host: str | None) -> None:
    """Run the outbox relay: every stored event onto the Kafka events topic, in order."""
    from wave_runtime.process import serve_relay

    parts.configure_logging()
    asyncio.run(serve_relay(health_port=health_port, health_host=health_host))


@click.group("safety")
def safety_group() -> None:
    """The safety scorer on its own."""


@safety_group.command("rescore")
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False), help="a TOML policy file  [default: WAVE_SAFETY_*]")
@click.option("--since", type=click.DateTime(), help="only verdicts recorded on or after this date (UTC unless it says)")
@click.option("--run", "run_id", help="only this run")
@click.option("--judge", is_flag=True, help="ask the safety_judge model about what the rules escalate")
@click.option("--models", "models_file", type=click.Path(dir_okay=False),
              help="the judge's models file or cassette (with --judge)  [default: the models settings]")
@click.pass_obj
def safety_rescore(
    parts: Composition, policy_file: str | None, since: Any, run_id: str | None, judge: bool, models_file: str | None
) -> None:
    """Score every stored action again under a policy and list each verdict that would change: run,
    action, from -> to, score and the rules it rests on. The rules decide alone unless --judge is
    given: then the safety_judge model (of the models settings, or --models) is asked about every
    action the rules escalate, and its answer counts as in a run. Nothing is written. The policy file
    may set allow_threshold, block_threshold, egress_allowlist, shared_branches, max_binary_bytes,
    max_diff_bytes, push_remotes and judge_weight."""
    from datetime import UTC

    from wave_constitution import PolicyError, SafetyPolicy
    from wave_constitution.rescore import rescore, rescore_judged

    if models_file is not None and not judge:
        raise click.UsageError("--models names the judge's models: give --judge too")
    try:
        policy = SafetyPolicy.from_file(policy_file) if policy_file else SafetyPolicy.from_env()
    except PolicyError as exc:
        raise click.UsageError(str(exc)) from None
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    model_judge = _rescoring_judge(parts, models_file) if judge else None

    async def go() -> tuple[int, list]:
        async with parts.store() as store:
            if run_id is not None:
                events, _ = await queries.load_run(store, run_id)
            else:
                events = []
                for stream_id in await store.stream_ids("run-"):
                    events.extend(await store.read_stream(stream_id))
        if model_judge is None:
            return rescore(events, policy, since=since)
        return await rescore_judged(events, policy, model_judge, since=since)

    count, changed = asyncio.run(go())
    for c in changed:
        what = f"{c.action_kind} of task {c.task_id}" if c.task_id else c.action_kind
        judged = f"; judge: {c.after.judge_reason}" if c.after.judge_reason else ""
        click.echo(f"run {c.run_id} {what} ({c.target_event_id}): {c.before} -> {c.after.verdict} "
                   f"(score {c.after.score:.2f}; {c.rules}{judged})")
    how = ""
    if model_judge is not None:
        calls = sum(1 for e in model_judge.events if type(e).__name__ == "LLMCallRecorded")
        how = f" with the safety_judge ({calls} model call{'' if calls == 1 else 's'})"
    click.echo(f"{count} verdicts re-scored under policy {policy.version}{how}: {len(changed)} would change")


def _rescoring_judge(parts: Composition, models_file: str | None) -> Any:
    """The safety_judge of the models settings (or `models_file`) for re-scoring; no run budget applies
    and nothing is recorded, since re-scoring writes nothing."""
    from wave_llm import ModelClient, load_models_setup, missing_model_sources
    from wave_llm.errors import ConfigError
    from wave_safety.service import ModelJudge

    from .run import _models_source

    if models_file is not None:
        source, _ = _models_source(parts, models_file)  # a models file, or a cassette to play
        setup = parts.models_setup(source)
    else:
        try:
            setup = load_models_setup(env=parts.env)
        except ConfigError as exc:
            raise UserError(str(exc)) from None
    missing = missing_model_sources(setup).get("safety_judge")
    if missing is not None:
        raise UserError(f"--judge needs a model for the safety_judge role: {missing} (or give --models FILE)")
    return ModelJudge(ModelClient.from_setup(setup), None)


@safety_group.command("score")
def safety_score() -> None:
    """Score actions read from stdin, one JSON object per line.

    \b
    Input lines, one of:
      {"kind": "command", "command": "rm -rf build"}
      {"kind": "git", "command": "git push --force origin main"}
      {"kind": "diff", "diff": "diff --git a/x b/x ..."}
      {"kind": "sql", "sql": "DELETE FROM users"}
      {"kind": "file_write", "path": "src/app.py", "content": "..."}
      {"kind": "push", "remote": "git@github.com:org/repo.git", "branch": "wave/r1"}
      {"kind": "merge", "branch": "wave/r1", "target": "main", "remote": "..."}
    Output: one line per input, {"score", "verdict", "violations", "policy_version"},
    or {"error", "line"} for an input that cannot be read. The policy comes from
    WAVE_SAFETY_ALLOW_THRESHOLD, WAVE_SAFETY_BLOCK_THRESHOLD, WAVE_SAFETY_EGRESS_ALLOWLIST and
    WAVE_SAFETY_PUSH_REMOTES.
    """
    from wave_constitution import PolicyError, SafetyPolicy, score_lines

    try:
        policy = SafetyPolicy.from_env()
    except PolicyError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        for out in score_lines(sys.stdin, policy):
            click.echo(out)
    except (OSError, UnicodeDecodeError) as exc:
        click.echo(f"error: cannot read stdin: {exc}", err=True)
        sys.exit(1)

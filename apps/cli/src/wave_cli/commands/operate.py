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
    """Send dead letters back to their service (after the cause is fixed). Handling is idempotent:
    an event handled meanwhile is a no-op. Each re-drive is recorded on its run (clearing its stall);
    embedded, the events are handled now, and an event that fails again is dead-lettered again and
    reported (exit status 1)."""

    async def go() -> tuple[int, list]:
        letters = parts.dead_letters()
        chosen = [d for d in await letters.list(service) if not d.redriven and event_id in (None, d.event_id)]
        if chosen:
            async with parts.store() as store:
                for letter in chosen:
                    await commands.record_redrive(store, letter.stream_id, actor=local_user(),
                                                  service=letter.consumer, event_id=letter.event_id)
        count = await letters.redrive(service, event_id)
        if not count or parts.settings.distributed:
            return count, []
        await _handle_redrives(parts, letters)
        again = {(d.consumer, d.event_id): d for d in await letters.list(service) if not d.redriven}
        return count, [again[key] for d in chosen if (key := (d.consumer, d.event_id)) in again]

    count, failed = asyncio.run(go())
    if render.print_redrive(count, failed, handled=not parts.settings.distributed):
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
@click.pass_obj
def safety_rescore(parts: Composition, policy_file: str | None, since: Any, run_id: str | None) -> None:
    """Score every stored action again under a policy, with the rules alone (no model), and list each
    verdict that would change: run, action, from -> to, score and the rules it rests on. Nothing is
    written. The policy file may set allow_threshold, block_threshold, egress_allowlist,
    shared_branches, max_binary_bytes and max_diff_bytes."""
    from datetime import UTC

    from wave_safety import PolicyError, SafetyPolicy
    from wave_safety.rescore import rescore

    try:
        policy = SafetyPolicy.from_file(policy_file) if policy_file else SafetyPolicy.from_env()
    except PolicyError as exc:
        raise click.UsageError(str(exc)) from None
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)

    async def go() -> tuple[int, list]:
        async with parts.store() as store:
            if run_id is not None:
                events, _ = await queries.load_run(store, run_id)
            else:
                events = []
                for stream_id in await store.stream_ids("run-"):
                    events.extend(await store.read_stream(stream_id))
        return rescore(events, policy, since=since)

    count, changed = asyncio.run(go())
    for c in changed:
        what = f"{c.action_kind} of task {c.task_id}" if c.task_id else c.action_kind
        click.echo(f"run {c.run_id} {what} ({c.target_event_id}): {c.before} -> {c.after.verdict} "
                   f"(score {c.after.score:.2f}; {c.rules})")
    click.echo(f"{count} verdicts re-scored under policy {policy.version}: {len(changed)} would change")


def _mount_safety() -> None:
    from wave_safety.cli import score

    safety_group.add_command(score)


_mount_safety()

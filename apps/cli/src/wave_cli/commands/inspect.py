"""Looking at runs: `wave runs`, `wave status`, `wave events`, `wave replay`."""

from __future__ import annotations

import asyncio
import sys

import click
from wave_app import queries, replaying

from .. import render
from ..bootstrap import Composition
from ..snapshots import Snapshots


@click.command("runs")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.pass_obj
def runs_command(parts: Composition, as_json: bool) -> None:
    """List runs, the most recently active first."""

    async def go():
        async with parts.store() as store:
            return await queries.list_runs(store)

    found = asyncio.run(go())
    if as_json:
        render.print_json([render.listing_document(listing) for listing in found])
        return
    render.print_runs(found)


@click.command("status")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="the whole projection as JSON")
@click.pass_obj
def status_command(parts: Composition, run_id: str, as_json: bool) -> None:
    """Show a run: status, gates, tasks, retries, budget, pending escalations."""

    async def go():
        async with parts.store() as store:
            return await queries.load_run(store, run_id)

    _, state = asyncio.run(go())
    if as_json:
        render.print_json(queries.state_document(state))
        return
    render.print_status(state)


@click.command("events")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="every envelope in full: payloads, prompts, responses")
@click.option("--raw", is_flag=True, help="the records as stored, undecoded (for a run shown as unreadable)")
@click.pass_obj
def events_command(parts: Composition, run_id: str, as_json: bool, raw: bool) -> None:
    """The full audit history of a run, in stream order."""

    async def go():
        async with parts.store() as store:
            if raw:
                return await queries.read_raw(store, run_id)
            return (await queries.load_run(store, run_id))[0]

    events = asyncio.run(go())
    if raw:
        render.print_raw(events)
        return
    render.print_events(events, as_json=as_json)


@click.command("replay")
@click.argument("run_id")
@click.option("--execute", is_flag=True,
              help="decide again: every service's decisions over the recorded history, with the recorded model "
                   "answers, test runs and git results; report each output that differs from the stored one")
@click.pass_obj
def replay_command(parts: Composition, run_id: str, execute: bool) -> None:
    """Rebuild a run's state from its stored events and compare it with what was seen live.

    The whole stream is compared with the run folded in the store's global order, the way a
    subscribed service sees it. The live projection, kept event by event while the run was followed
    here (`wave run`, `wave approve`, `wave demo`), is compared with the replay of the events it
    covers. With --execute, each service decides again about every event it handled, on the state it
    decided on, with its effects (model answers, tests, commits, merges) taken from the record; every
    output that differs from the stored one is reported (service, cause event, expected and got).
    Exit status 1 on any difference.
    """
    if execute:
        services = parts.service_decisions()

        async def again():
            async with parts.store() as store:
                return await replaying.reexecute_run(store, run_id, services)

        report = asyncio.run(again())
        render.print_reexecution(report)
        if report.divergences:
            sys.exit(1)
        return

    async def go():
        async with parts.store() as store:
            return await queries.replay_run(store, run_id, Snapshots(parts.settings.projections_dir).load(run_id))

    replay = asyncio.run(go())
    render.print_replay(run_id, replay)
    if any(check.differences for check in replay.checks):
        sys.exit(1)

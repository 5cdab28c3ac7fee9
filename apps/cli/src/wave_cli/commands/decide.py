"""Answering for a run: `wave approve`, `wave budget`, `wave cancel`. Each records one event through
the application layer in the name of the person at the terminal, then (embedded) drives the run on."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable

import click
from wave_app import commands
from wave_events import Envelope
from wave_events.projections import RunState
from wave_store import EventStore

from .. import render
from ..bootstrap import Composition, local_user
from ..driving import follow_from_now
from ..follow import Outcome

Record = Callable[[EventStore], Awaitable[tuple[RunState, Envelope]]]


@click.command("approve")
@click.argument("run_id")
@click.option("--decision", type=click.Choice(["approve", "reject"]), required=True)
@click.option("--escalation", "escalation_id", help="which escalation, when the run waits for several")
@click.option("--comment", default="", help="why, for the record")
@click.option("--wait/--no-wait", default=None, help="follow the run to its next stop (always, when embedded)")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=1), default=1800, show_default=True)
@click.pass_obj
def approve_command(parts: Composition, run_id: str, decision: str, escalation_id: str | None, comment: str,
                    wait: bool | None, timeout_s: float) -> None:
    """Answer a pending escalation of RUN_ID; exactly one answer is recorded per escalation."""
    _record_and_continue(parts, run_id, timeout_s, wait, lambda store: commands.record_decision(
        store, run_id, actor=local_user(), decision=decision, escalation_id=escalation_id, comment=comment))


@click.command("budget")
@click.argument("run_id")
@click.option("--usd", type=click.FloatRange(min=0), help="the new USD limit (at least what was spent)")
@click.option("--tokens", type=click.IntRange(min=0), help="the new token limit (at least what was used)")
@click.option("--force", is_flag=True, help="change the budget of a run that is not stopped for budget")
@click.option("--wait/--no-wait", default=None, help="follow the run to its next stop (always, when embedded)")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=1), default=1800, show_default=True)
@click.pass_obj
def budget_command(parts: Composition, run_id: str, usd: float | None, tokens: int | None, force: bool,
                   wait: bool | None, timeout_s: float) -> None:
    """Raise RUN_ID's budget (a top-up after a budget stop; --force for a run that is not stopped)."""
    commands.check_amount("--usd", usd)
    _record_and_continue(parts, run_id, timeout_s, wait, lambda store: commands.raise_budget(
        store, run_id, actor=local_user(), usd=usd, tokens=tokens, force=force))


@click.command("cancel")
@click.argument("run_id")
@click.option("--reason", default="", help="why, for the record")
@click.pass_obj
def cancel_command(parts: Composition, run_id: str, reason: str) -> None:
    """Stop RUN_ID without merging."""
    _record_and_continue(parts, run_id, 60, False,
                         lambda store: commands.cancel_run(store, run_id, actor=local_user(), reason=reason))


def _record_and_continue(parts: Composition, run_id: str, timeout_s: float, wait: bool | None, record: Record) -> None:
    async def go() -> Outcome | None:
        async with parts.store() as store:
            decided_on, envelope = await record(store)
            render.recorded(envelope)
            if wait is False or (parts.settings.distributed and not wait):
                return None
            return await follow_from_now(parts, store, run_id, decided_on, timeout_s)

    outcome = asyncio.run(go())
    if outcome is not None:
        sys.exit(render.report(outcome))

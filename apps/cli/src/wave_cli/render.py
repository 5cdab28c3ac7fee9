"""What the `wave` command prints: the consoles, and each document and table a command shows. Pure
presentation: the commands get their data from the application layer and hand it here."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from wave_app.queries import Replay, RunListing
from wave_app.replaying import ReexecutionReport
from wave_events import Envelope, encode_envelope
from wave_events import catalogue as ev
from wave_events.projections import GATES, RunState, TaskState, summary_of, task_policy
from wave_store.port import StoredEvent

from .follow import Outcome
from .output import ClosableStdout
from .progress import Line, approve_command, cost_line, failing_tests_text, gates_line, summarize

console = Console(file=ClosableStdout(), highlight=False, soft_wrap=True)
errors = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_WAITING = 3  # `wave run` stopped because the run waits for a human decision


def show(line: Line) -> None:
    console.print(escape(line.text), style=line.style or None)


def print_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2, default=str, ensure_ascii=False))


def error_line(text: str) -> None:
    errors.print(f"wave: error: {escape(text)}")


@contextmanager
def live_output_on_stderr() -> Iterator[None]:
    """With --json, stdout holds only the JSON document."""
    stdout, console.file = console.file, sys.stderr
    try:
        yield
    finally:
        console.file = stdout


def submitted(run_id: str, mode: str) -> None:
    console.print(f"run [bold]{run_id}[/] submitted ({mode})")


def offline_banner(banner: str | None) -> None:
    if banner:
        console.print(f"[yellow]{escape(banner)}[/]")


def recorded(envelope: Envelope) -> None:
    console.print(f"recorded {envelope.type}: {escape(summarize(envelope))}")


# --- a followed run ----------------------------------------------------------------------------


def run_document(outcome: Outcome | str) -> dict[str, Any]:
    if isinstance(outcome, str):  # submitted to the distributed services, not followed
        return {"run_id": outcome, "status": "requested", "stopped": "submitted", "merge_commit": None,
                "pending_escalations": []}
    state = outcome.state
    return {
        "run_id": state.run_id, "status": state.status, "stopped": outcome.reason,
        "reason": state.outcome_reason or None, "merge_commit": state.merge_commit,
        "pending_escalations": sorted(state.pending_escalations),
    }


def report(outcome: Outcome) -> int:
    """Say where a followed run stopped; returns the exit status that says it too."""
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
        print_dead_letters(state)
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


def listing_document(listing: RunListing) -> dict[str, Any]:
    document: dict[str, Any] = {"run_id": listing.run_id, "status": listing.status,
                                "last_event_at": listing.last_event_at.isoformat()}
    if listing.state is None:
        error = listing.error
        return {**document, "event_id": error.event_id if error else None, "error": str(error)}
    s = listing.state
    return {**document, "story": s.story, "repo": s.repo, "gates_passed": sum(s.gates.values()),
            "cost_usd": s.budget_used_usd}


def print_runs(found: Sequence[RunListing]) -> None:
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


def print_tasks_by_domain(state: RunState) -> None:
    """The plan's tasks, domain by domain, each domain with the policy its tasks are handled under."""
    table = Table("domain", "task", "attempt", "safety", "state", "description")
    domains: dict[str, list[TaskState]] = {}
    for task in state.tasks.values():
        domains.setdefault(task.domain, []).append(task)
    for domain, tasks in domains.items():
        policy = task_policy(state, tasks[0])
        rules = (
            f"merge {policy.merge_policy}, allow ≥ {policy.allow_threshold}, {policy.retry_limit} fix(es)"
            + (f", {policy.budget_share:.0%} of the budget" if policy.budget_share < 1 else "")
            if policy is not None else "the run's settings"
        )
        for n, t in enumerate(tasks):
            table.add_row(
                f"{domain} ({rules})" if n == 0 else "", t.task_id, str(t.attempt),
                t.verdict or ("approved" if t.human_approved else "-"), escape(_task_state(state, t)), escape(t.description[:50]),
            )
    source = state.domain_table.source if state.domain_table is not None else None
    if source:
        console.print(f"domain table: {escape(source)}")
    console.print(table)


def _task_state(state: RunState, task: TaskState) -> str:
    if task.commit:
        return f"integrated {task.commit[:12]}"
    if any(e.kind == "task_review" and e.task_id == task.task_id for e in state.pending_escalations.values()):
        return "waiting for review"
    if task.rejected_reason:
        return "rejected"
    if task.proposal_event_id:
        return "proposed"
    waiting = [d for d in task.depends_on if d in state.tasks and not state.tasks[d].commit]
    return f"after {', '.join(waiting)}" if waiting else "being written"


def print_status(state: RunState) -> None:
    console.print(f"run [bold]{state.run_id}[/]: {state.status}" + (f" — {escape(state.outcome_reason)}" if state.outcome_reason else ""))
    console.print(f"story:  {escape(state.story.strip().splitlines()[0] if state.story.strip() else '')}")
    console.print(f"repo:   {escape(state.repo)} → {state.target_branch}" + (f" (branch {state.branch})" if state.branch else ""))
    if state.pull_request is not None:
        pull = state.pull_request
        console.print(f"pull request #{pull.number} on {pull.host} {escape(pull.repository)}: {escape(pull.url)}")
    elif state.delivery == "pr":
        console.print("delivery: a pull request on the git host (not opened yet)")
    if state.parent_run_id:
        console.print(f"forked from run {state.parent_run_id} at #{state.forked_at} (events 2 to {state.forked_at} are its copies)")
    for gate, passed in state.gates.items():
        console.print(f"  {'✓' if passed else '·'} {gate}", style="green" if passed else "dim")
    if state.tasks:
        print_tasks_by_domain(state)
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
    print_dead_letters(state)
    summary = summary_of(state)
    if summary is not None:
        print_summary(summary)


def print_summary(summary: ev.RunSummarized) -> None:
    """What a finished run came to: time, gates, retries, tests, files, spend and the people's decisions."""
    console.print(f"[bold]summary[/]: {summary.outcome} after {summary.duration_s:.1f} s "
                  f"({summary.started_at:%Y-%m-%d %H:%M:%S} → {summary.ended_at:%H:%M:%S})")
    for gate in summary.gates:
        if gate.passed_at is not None:
            console.print(f"  {gate.gate} passed at {gate.passed_at:%H:%M:%S} (+{gate.took_s or 0:.1f} s)")
        else:
            console.print(f"  {gate.gate} did not pass", style="dim")
    for retry in summary.retries:
        console.print(f"  retry {retry.retry} at {retry.scheduled_at:%H:%M:%S}: {escape(retry.reason)}")
    for run in summary.tests:
        said = "passed" if run.passed else "failed"
        failing = f" — {escape(failing_tests_text(run.failing_tests))}" if run.failing_tests else ""
        console.print(f"  tests {said} on {run.commit[:12]}: {run.counts.passed} passed, {run.counts.failed} failed, "
                      f"{run.counts.errors} errors in {run.duration_s:.1f} s{failing}")
    if summary.files_changed:
        console.print(f"  files changed: {escape(', '.join(summary.files_changed))}")
    for spend in summary.spend:
        console.print(f"  {spend.role} on {spend.provider}: {spend.calls} call(s), "
                      f"{spend.input_tokens}+{spend.output_tokens} tokens, ${spend.cost_usd:.4f}")
    console.print(f"  total: ${summary.cost_usd:.4f}, {summary.tokens:,} tokens")
    for decision in summary.decisions:
        comment = f": {escape(decision.comment)}" if decision.comment else ""
        console.print(f"  {escape(decision.decided_by)} chose {decision.decision} on {decision.kind} "
                      f"({decision.escalation_id}) at {decision.decided_at:%H:%M:%S}{comment}")


def print_dead_letters(state: RunState) -> None:
    for letter in state.dead_letters:
        console.print(
            f"stalled: {letter.service} gave up on {letter.event_type} {letter.event_id} after {letter.attempts} "
            f"attempt(s): {escape(letter.reason)}",
            style="bold red",
        )
        console.print(f"  fix the cause, then: wave dlq redrive --event {letter.event_id}")


def print_events(events: Sequence[Envelope], *, as_json: bool) -> None:
    if as_json:
        print_json([json.loads(encode_envelope(e)) for e in events])
        return
    table = Table("#", "at", "event", "by", "what")
    for e in events:
        table.add_row(str(e.stream_version), e.occurred_at.strftime("%H:%M:%S.%f")[:-3], e.type,
                      e.producer.split("/")[0], escape(summarize(e)))
    console.print(table)


def print_raw(stored: Sequence[StoredEvent]) -> None:
    print_json([record.document() for record in stored])


def print_replay(run_id: str, replay: Replay) -> None:
    whole = replay.state
    console.print(f"replayed {len(replay.events)} events of run {run_id}: {whole.status}, "
                  f"{sum(whole.gates.values())}/{len(GATES)} gates")
    for check in replay.checks:
        if check.differences:
            console.print(f"[bold red]replay differs from the {check.against} in {len(check.differences)} field(s):[/]")
            for line in check.differences:
                console.print(f"  {escape(line)}")
        else:
            console.print(f"[green]replay matches the {check.against}[/]")


def print_reexecution(report: ReexecutionReport) -> None:
    if not report.divergences:
        console.print(f"[green]{report.decisions} decision(s) of run {report.run_id} made again: every output matches the record[/]")
        return
    console.print(f"[bold red]{len(report.divergences)} of {report.decisions} decision(s) of run {report.run_id} "
                  f"now give other outputs:[/]")
    for d in report.divergences:
        console.print(f"{d.service} on {d.cause_type} #{d.cause_version} ({d.cause_id}), decided at version "
                      f"{d.decided_at_version}:")
        for line in d.expected:
            if line not in d.got:
                console.print(f"  expected: {escape(line)}", style="red")
        for line in d.got:
            if line not in d.expected:
                console.print(f"  got:      {escape(line)}", style="yellow")
        if sorted(d.expected) == sorted(d.got):
            console.print("  the same outputs in another order", style="yellow")


# --- operate -----------------------------------------------------------------------------------


def print_dead_letter_table(letters: Sequence[Any]) -> None:
    if not letters:
        console.print("no dead letters")
        return
    table = Table("service", "event", "type", "run", "attempts", "error", "settled")
    for d in letters:
        settled = "re-driven" if d.redriven else "already handled" if d.handled else ""
        table.add_row(d.consumer, d.event_id, d.event_type, d.stream_id.removeprefix("run-"), str(d.attempts),
                      escape(f"{d.error_type}: {d.error}"[:80]), settled)
    console.print(table)


def print_redrive(count: int, failed: Sequence[Any], already_handled: Sequence[Any] = (), *, handled: bool) -> int:
    """Say what a re-drive did; returns the exit status (1 when an event failed again)."""
    for d in already_handled:
        console.print(f"already handled: {d.consumer} had handled {d.event_type} {d.event_id} "
                      f"(run {d.stream_id.removeprefix('run-')}); not re-driven", highlight=False)
    if not count:
        if not already_handled:
            console.print("nothing to re-drive")
        return 0
    if not failed:
        console.print(f"re-drove {count} dead letter(s)" + ("; handled" if handled else ""))
        return 0
    console.print(f"re-drove {count} dead letter(s); {len(failed)} failed again and were dead-lettered again:", style="bold red")
    for d in failed:
        console.print(f"  {d.consumer}: {d.event_type} {d.event_id}: {escape(f'{d.error_type}: {d.error}'[:300])}")
    return 1


def masked_url(url: str) -> str:
    """postgresql://user:secret@host/db → postgresql://user:****@host/db"""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user}:****@{host}"


def print_config(document: dict[str, Any]) -> None:
    models = document["models"]
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

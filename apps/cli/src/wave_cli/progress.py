"""What a person following a run is told about each event: pure functions from (state before,
state after, event) to lines, so the terminal, the tests and the portal can share them."""

from __future__ import annotations

from dataclasses import dataclass

from wave_events import Envelope
from wave_events import catalogue as ev
from wave_events.projections import GATES, RunState


@dataclass(frozen=True)
class Line:
    text: str
    style: str = ""  # a rich style: "green", "red", "yellow", "dim", …


def _first_line(text: str, limit: int = 100) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _money(value: float) -> str:
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


def _attempt(p: ev.ChangeProposed | ev.ChangeCommitted | ev.ChangeRejected | ev.TaskAttempt | ev.RewriteRequested) -> str:
    return f"task {p.task_id} attempt {p.attempt}"


def summarize(envelope: Envelope) -> str:
    """One line saying what the event records."""
    p = envelope.payload
    match p:
        case ev.RunRequested():
            forked = f"; a fork of run {p.parent_run_id} at #{p.forked_at}" if p.parent_run_id else ""
            return f"story {_first_line(p.story, 70)!r} on {p.repo} ({p.target_branch}), budget {_money(p.budget_usd)}{forked}"
        case ev.RunForked():
            return f"run {p.child_run_id} forked at #{p.at} by {p.forked_by} (merge policy {p.merge_policy})"
        case ev.PlanCreated():
            return f"{len(p.tasks)} task(s): " + ", ".join(
                f"{t.task_id} ({t.domain}" + (f", after {', '.join(t.depends_on)}" if t.depends_on else "") + ")"
                for t in p.tasks
            ) + (f"; delivered {'as a pull request' if p.delivery == 'pr' else 'locally'}, as its domains say" if p.delivery else "")
        case ev.PlanRejected() | ev.RunFailed() | ev.RunBlocked():
            return p.reason
        case ev.WorkspaceReady():
            return f"branch {p.branch} from {p.base_commit[:12]}"
        case ev.ChangeProposed():
            return f"{_attempt(p)}: {p.diff.count(chr(10))} diff lines" + (
                f" by {p.model}" if p.model else ""
            )
        case ev.LLMCallRecorded():
            outcome = "" if p.outcome == "ok" else f" failed: {p.error}"
            if p.rejected_reason:
                outcome += f"; {p.rejected_reason}"
            return (
                f"{p.role} via {p.provider}/{p.model}: {p.input_tokens}+{p.output_tokens} tokens, "
                f"{_money(p.cost_usd)}, {p.latency_ms:.0f} ms{outcome}"
            )
        case ev.ActionScored():
            rules = ", ".join(v.rule for v in p.violations)
            what = f"{p.action_kind} of task {p.task_id}" if p.task_id else _scored_action(p)
            return f"{what}: {p.verdict} (score {p.score:.2f})" + (
                f" — {rules}" if rules else ""
            )
        case ev.ChangeCommitted():
            return f"{_attempt(p)} committed as {p.commit[:12]} on {p.branch}"
        case ev.ChangeRejected():
            return f"{_attempt(p)}: {p.reason}"
        case ev.TestsPassed():
            return f"{p.counts.passed} passed on {p.commit[:12]} in {p.duration_s:.1f} s ({p.sandbox})"
        case ev.TestsFailed():
            c = p.counts
            timed_out = ", timed out" if p.timed_out else ""
            failing = f"; failing: {failing_tests_text(p.failing_tests)}" if p.failing_tests else ""
            return (
                f"{c.failed} failed, {c.errors} errors, {c.passed} passed on {p.commit[:12]}{timed_out} "
                f"({p.sandbox}){failing}"
            )
        case ev.RetryScheduled():
            return f"retry {p.retry} in {p.delay_s:.1f} s" + (f": {p.reason}" if p.reason else "")
        case ev.FixRequested():
            return ", ".join(_attempt(a) for a in p.attempts)
        case ev.RewriteRequested():
            return f"{_attempt(p)}, written again against {p.head[:12]}: {p.reason}"
        case ev.EscalationRequested():
            return f"{p.kind} ({p.escalation_id}): {p.reason}"
        case ev.HumanDecisionRecorded():
            return f"{p.escalation_id}: {p.decision} by {p.decided_by}" + (f" — {p.comment}" if p.comment else "")
        case ev.BudgetCharged():
            return f"{p.tokens} tokens, {_money(p.cost_usd)}"
        case ev.BudgetThresholdCrossed():
            return f"{p.percent}% of the budget used ({_money(p.used_usd)} of {_money(p.limit_usd)})"
        case ev.BudgetExceeded():
            return f"{p.role} call not made: it needs {_money(p.needed_usd)}, {_money(p.used_usd)} of {_money(p.limit_usd)} used"
        case ev.BudgetRaised():
            return f"limit now {_money(p.limit_usd)} and {p.limit_tokens} tokens, by {p.raised_by}"
        case ev.MergeApproved() | ev.MergeRejected():
            why = p.comment if isinstance(p, ev.MergeApproved) else p.reason
            return f"by {p.approver} ({p.reviewer})" + (f": {why}" if why else "")
        case ev.Merged():
            how = "fast-forward" if p.fast_forward else "a new commit: squashed or merged"
            return f"into {p.target_branch} at {p.merge_commit[:12]} ({how})"
        case ev.RunCompleted():
            return f"merged as {p.merge_commit[:12]}"
        case ev.RunCancelled():
            return f"by {p.cancelled_by}" + (f": {p.reason}" if p.reason else "")
        case ev.NotificationSent():
            return f"{p.channel}"
        case ev.HandlingAbandoned():
            gave_up = "dead-lettered" if p.dead_lettered else "stopped"
            return f"{p.service} {gave_up} {p.subject_type} {p.event_id}: {p.reason}"
        case ev.HandlingRetryRequested():
            return f"{p.event_id} back to {p.service} ({p.escalation_id})"
        case ev.DeadLetterRedriven():
            return f"{p.event_id} back to {p.service}, by {p.redriven_by}"
        case ev.DeadLetterFoundHandled():
            return f"{p.event_id} was already handled by {p.service}; not re-driven (checked by {p.checked_by})"
        case ev.RunSummarized():
            return (
                f"{p.outcome} in {p.duration_s:.1f} s: {len(p.retries)} retries, {len(p.tests)} test run(s), "
                f"{len(p.files_changed)} file(s) changed, {_money(p.cost_usd)}, {len(p.decisions)} decision(s)"
            )
    return ""


_LISTED_TESTS = 5
_HEAD_LINES = 8


def failing_tests_text(names: tuple[str, ...]) -> str:
    shown = ", ".join(names[:_LISTED_TESTS])
    return shown + (f" and {len(names) - _LISTED_TESTS} more" if len(names) > _LISTED_TESTS else "")


def first_failure(excerpt: str) -> list[str]:
    """The lines of a failure excerpt worth reading live: its head (why the run failed and the failing
    tests) and its first block, the first failure's assertion (or the end of the output), in full."""
    head, *blocks = excerpt.strip().split("\n\n--- ")
    lines = head.splitlines()
    if len(lines) > _HEAD_LINES:
        lines = [*lines[: _HEAD_LINES - 1], f"… {len(lines) - _HEAD_LINES + 1} more line(s) in `wave events --json`"]
    return lines + (f"--- {blocks[0]}".splitlines() if blocks else [])


def progress_lines(before: RunState, after: RunState, envelope: Envelope) -> list[Line]:
    """What to print for one event of a followed run: gates that opened, retries, escalations, cost."""
    p = envelope.payload
    lines: list[Line] = []
    if isinstance(p, ev.LLMCallRecorded | ev.BudgetCharged | ev.NotificationSent):
        style = "dim"
    elif isinstance(
        p, ev.TestsFailed | ev.RunFailed | ev.RunBlocked | ev.ChangeRejected | ev.PlanRejected | ev.MergeRejected
        | ev.HandlingAbandoned,
    ):
        style = "red"
    elif isinstance(p, ev.EscalationRequested | ev.RetryScheduled | ev.BudgetThresholdCrossed | ev.BudgetExceeded):
        style = "yellow"
    else:
        style = ""
    lines.append(Line(f"  {envelope.type:<22} {summarize(envelope)}", style))
    if isinstance(p, ev.TestsFailed) and p.failure_excerpt:
        for excerpt_line in first_failure(p.failure_excerpt):
            lines.append(Line(f"      {excerpt_line}", "red dim"))
    opened = [g for g in GATES if after.gates[g] and not before.gates[g]]
    for gate in opened:
        lines.append(Line(f"✓ {gate}", "bold green"))
    if isinstance(p, ev.EscalationRequested) and p.escalation_id in after.pending_escalations:
        lines.append(Line(f"  waiting for a decision: {approve_command(after.run_id, p.escalation_id, after)}", "yellow"))
    if isinstance(p, ev.BudgetCharged):
        lines.append(Line(f"  cost so far {cost_line(after)}", "dim"))
    if isinstance(p, ev.HandlingAbandoned) and p.dead_lettered:
        lines.append(Line(f"  the run is stalled; {p.action}", "red"))
    return lines


def approve_command(run_id: str, escalation_id: str, state: RunState) -> str:
    """The command that answers an escalation (a budget stop is answered by a top-up, or rejected)."""
    escalation = state.pending_escalations.get(escalation_id)
    single = len(state.pending_escalations) <= 1
    target = "" if single else f" --escalation {escalation_id}"
    if escalation is not None and escalation.kind == "budget":
        return f"wave budget {run_id} --usd NEW_LIMIT (or stop it: wave approve {run_id}{target} --decision reject)"
    choice = "|".join(escalation.options) if escalation is not None else "approve|reject"
    return f"wave approve {run_id}{target} --decision {choice}"


def cost_line(state: RunState) -> str:
    return (
        f"{_money(state.budget_used_usd)} of {_money(state.budget_limit_usd)}, "
        f"{state.budget_used_tokens:,} of {state.budget_limit_tokens:,} tokens"
    )


def gates_line(state: RunState) -> str:
    return "  ".join(f"{'✓' if passed else '·'} {gate}" for gate, passed in state.gates.items())


def _scored_action(p: ev.ActionScored) -> str:
    """What a verdict not about a task's change was on: the push's remote, the merge's target, the command."""
    a = p.action
    match p.action_kind:
        case "push":
            return f"push of {a.get('branch', '?')} to {a.get('remote', '?')}"
        case "merge":
            return f"merge of {a.get('branch', '?')} into {a.get('target', '?')}"
        case "test_command":
            return f"test command {a.get('command', '?')}"
    return p.action_kind

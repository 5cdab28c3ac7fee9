"""Which events are worth a message, and on which route. Pure: (run state, event) -> notices.

`state` is the run folded up to and including `event`. Which gate an event passed cannot be learnt by
comparing states, so it follows from the event's type: the event that can complete a gate announces
it, and only when the folded gates say the gate now holds (the last of three tasks' proposals passes
G2; the first two do not).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from wave_events import Envelope
from wave_events import catalogue as ev
from wave_events.projections import GATES, RunState, summary_of

from . import messages
from .blockkit import SlackMessage
from .config import Route

Kind = Literal[
    "run_started", "gate_passed", "escalation", "safety_violation", "budget_warning", "run_finished"
]

# The event that can complete each gate, keyed by event type.
GATE_OF_EVENT: dict[str, str] = {
    "PlanCreated": GATES[0],
    "WorkspaceReady": GATES[1],
    "ChangeProposed": GATES[2],
    "ActionScored": GATES[3],
    "ChangeCommitted": GATES[4],
    "TestsPassed": GATES[5],
    "MergeApproved": GATES[6],
    "Merged": GATES[7],
}
FINISHING_EVENTS: dict[str, str] = {
    "RunCompleted": "completed",
    "RunFailed": "failed",
    "RunBlocked": "blocked",
    "RunCancelled": "cancelled",
    "PlanRejected": "rejected",
}


@dataclass(frozen=True)
class Notice:
    route: Route
    kind: Kind
    message: SlackMessage


def decide(state: RunState, event: Envelope) -> tuple[Notice, ...]:
    decider = _DECIDERS.get(event.type)
    return decider(state, event, event.payload) if decider is not None else ()


def _run_id(state: RunState, event: Envelope) -> str:
    return state.run_id or event.run_id


def _run_requested(state: RunState, event: Envelope, p: ev.RunRequested) -> tuple[Notice, ...]:
    message = messages.run_started(
        _run_id(state, event),
        story=p.story,
        repo=p.repo,
        target_branch=p.target_branch,
        budget_usd=p.budget_usd,
        merge_policy=p.merge_policy,
        requested_by=p.requested_by,
    )
    return (Notice("updates", "run_started", message),)


def _gate_detail(p: Any) -> str:
    task_id, attempt = getattr(p, "task_id", None), getattr(p, "attempt", None)
    if task_id and attempt:
        return f"completed by task {task_id}, attempt {attempt}"
    commit = getattr(p, "merge_commit", None) or getattr(p, "commit", None)
    return f"at commit {commit[:12]}" if commit else ""


def _gate(state: RunState, event: Envelope, p: Any) -> tuple[Notice, ...]:
    gate = GATE_OF_EVENT[event.type]
    gates = state.gates
    if not gates.get(gate) or state.finished:
        return ()
    message = messages.gate_passed(_run_id(state, event), gate=gate, gates=gates, detail=_gate_detail(p))
    return (Notice("updates", "gate_passed", message),)


def _action_scored(state: RunState, event: Envelope, p: ev.ActionScored) -> tuple[Notice, ...]:
    if p.verdict == "allow":
        return _gate(state, event, p)
    message = messages.safety_violation(
        _run_id(state, event),
        verdict=p.verdict,
        score=p.score,
        action_kind=p.action_kind,
        policy_version=p.policy_version,
        task_id=p.task_id,
        attempt=p.attempt,
        risks=p.risks,
        rules=[messages.RuleBroken(v.rule, v.principle, v.detail) for v in p.violations],
    )
    return (Notice("alerts", "safety_violation", message),)


def _escalation(state: RunState, event: Envelope, p: ev.EscalationRequested) -> tuple[Notice, ...]:
    message = messages.escalation(
        _run_id(state, event), escalation_id=p.escalation_id, kind=p.kind, reason=p.reason, options=p.options
    )
    return (Notice("alerts", "escalation", message),)


def _threshold(state: RunState, event: Envelope, p: ev.BudgetThresholdCrossed) -> tuple[Notice, ...]:
    message = messages.budget_warning(
        _run_id(state, event),
        percent=p.percent,
        used_usd=p.used_usd,
        limit_usd=p.limit_usd,
        used_tokens=p.used_tokens,
        limit_tokens=p.limit_tokens,
    )
    return (Notice("budget", "budget_warning", message),)


def _share(used: float, limit: float) -> int:
    return 100 if limit <= 0 else int(used * 100 // limit)


def _exceeded(state: RunState, event: Envelope, p: ev.BudgetExceeded) -> tuple[Notice, ...]:
    percent = max(_share(p.used_usd, p.limit_usd), _share(p.used_tokens, p.limit_tokens))
    blocked = (
        f"A {p.role} call needing ${p.needed_usd:,.2f} and {p.needed_tokens:,} tokens was not made. "
        f"The run waits for a budget top-up: `wave budget {_run_id(state, event)} --usd NEW_LIMIT`."
    )
    message = messages.budget_warning(
        _run_id(state, event),
        percent=percent,
        used_usd=p.used_usd,
        limit_usd=p.limit_usd,
        used_tokens=p.used_tokens,
        limit_tokens=p.limit_tokens,
        exceeded=True,
        blocked_call=blocked,
    )
    return (Notice("budget", "budget_warning", message),)


def _finished(state: RunState, event: Envelope, p: Any) -> tuple[Notice, ...]:
    outcome = FINISHING_EVENTS[event.type]
    reason = getattr(p, "reason", None) or None
    if isinstance(p, ev.RunCancelled):
        reason = f"Cancelled by {p.cancelled_by}" + (f": {p.reason}" if p.reason else ".")
    message = messages.run_finished(
        _run_id(state, event), outcome=outcome, merge_commit=getattr(p, "merge_commit", None), reason=reason,
        summary=summary_of(state),
    )
    notices = [Notice("updates", "run_finished", message)]
    if outcome == "failed":
        notices.append(Notice("alerts", "run_finished", message))
    return tuple(notices)


_DECIDERS: dict[str, Callable[[RunState, Envelope, Any], tuple[Notice, ...]]] = {
    "RunRequested": _run_requested,
    **{event_type: _gate for event_type in GATE_OF_EVENT},
    "ActionScored": _action_scored,
    "EscalationRequested": _escalation,
    "BudgetThresholdCrossed": _threshold,
    "BudgetExceeded": _exceeded,
    **{event_type: _finished for event_type in FINISHING_EVENTS},
}

HANDLED_EVENT_TYPES: frozenset[str] = frozenset(_DECIDERS)

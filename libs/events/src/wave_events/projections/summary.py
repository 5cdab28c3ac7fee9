"""What a run came to: the facts a summary needs, noted as the run state is folded, and the
`RunSummarized` built from them.

The facts ride in `RunState.facts` so that a service, which sees a run only as its folded state, can
write the summary; `summarize(events)` is the same fold for anyone holding the events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .. import catalogue as ev
from ..envelope import Envelope

if TYPE_CHECKING:
    from .run_state import RunState

TERMINAL_TYPES = frozenset(e.event_type for e in ev.TERMINAL_EVENTS)


@dataclass(frozen=True)
class Spend:
    role: str
    provider: str
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


@dataclass(frozen=True)
class SummaryFacts:
    requested_at: datetime | None = None
    gates_since: dict[str, datetime] = field(default_factory=dict)  # the gates that hold, since when
    retries: tuple[ev.RetryTaken, ...] = ()
    tests: tuple[ev.TestsRun, ...] = ()
    files_changed: tuple[str, ...] = ()
    spend: dict[str, Spend] = field(default_factory=dict)  # by "role/provider"
    decisions: tuple[ev.DecisionMade, ...] = ()
    ended_at: datetime | None = None
    ended_by: str | None = None  # the id of the run's first terminal event
    summarized: bool = False


def changed_paths(diff: str) -> list[str]:
    """The paths a unified diff touches, from its `---`/`+++` headers (the new path; the old one for a
    deleted file). Only names are wanted here, so this pure package reads no more of the diff."""
    found: list[str] = []
    old: str | None = None
    for line in diff.splitlines():
        if line.startswith("--- "):
            old = _header_path(line[4:], "a/")
        elif line.startswith("+++ "):
            path = _header_path(line[4:], "b/") or old
            if path and path not in found:
                found.append(path)
    return found


def _header_path(text: str, prefix: str) -> str | None:
    path = text.split("\t", 1)[0].strip()
    if path == "/dev/null" or not path:
        return None
    return path.removeprefix(prefix)


# --- noting facts while the run state is folded --------------------------------------------------


def _requested(facts: SummaryFacts, before: RunState, after: RunState, e: Envelope) -> SummaryFacts:
    return facts if facts.requested_at else _with(facts, requested_at=e.occurred_at)


def _retry(facts: SummaryFacts, before: RunState, after: RunState, e: Envelope) -> SummaryFacts:
    p: ev.RetryScheduled = e.payload
    return _with(facts, retries=(*facts.retries, ev.RetryTaken(retry=p.retry, reason=p.reason, scheduled_at=e.occurred_at)))


def _tests(facts: SummaryFacts, before: RunState, after: RunState, e: Envelope) -> SummaryFacts:
    p = e.payload
    run = ev.TestsRun(
        commit=p.commit, passed=isinstance(p, ev.TestsPassed), counts=p.counts,
        failing_tests=getattr(p, "failing_tests", ()), duration_s=p.duration_s, finished_at=e.occurred_at,
    )
    return _with(facts, tests=(*facts.tests, run))


def _committed(facts: SummaryFacts, before: RunState, after: RunState, e: Envelope) -> SummaryFacts:
    p: ev.ChangeCommitted = e.payload
    task = after.tasks.get(p.task_id)
    if task is None or task.commit != p.commit or not task.proposal_diff:
        return facts
    paths = [path for path in changed_paths(task.proposal_diff) if path not in facts.files_changed]
    return _with(facts, files_changed=(*facts.files_changed, *paths)) if paths else facts


def _llm_call(facts: SummaryFacts, before: RunState, after: RunState, e: Envelope) -> SummaryFacts:
    p: ev.LLMCallRecorded = e.payload
    key = f"{p.role}/{p.provider}"
    was = facts.spend.get(key) or Spend(p.role, p.provider)
    now = Spend(
        p.role, p.provider, was.calls + 1, was.input_tokens + p.input_tokens, was.output_tokens + p.output_tokens,
        round(was.cost_usd + p.cost_usd, 10),
    )
    return _with(facts, spend={**facts.spend, key: now})


def _decision(facts: SummaryFacts, before: RunState, after: RunState, e: Envelope) -> SummaryFacts:
    p: ev.HumanDecisionRecorded = e.payload
    if p.escalation_id not in before.pending_escalations:
        return facts  # an answer to a question already settled changed nothing
    made = ev.DecisionMade(
        escalation_id=p.escalation_id, kind=before.pending_escalations[p.escalation_id].kind, decision=p.decision,
        decided_by=p.decided_by, decided_at=e.occurred_at, comment=p.comment,
    )
    return _with(facts, decisions=(*facts.decisions, made))


def _ended(facts: SummaryFacts, before: RunState, after: RunState, e: Envelope) -> SummaryFacts:
    return facts if facts.ended_by else _with(facts, ended_at=e.occurred_at, ended_by=str(e.event_id))


def _summarized(facts: SummaryFacts, before: RunState, after: RunState, e: Envelope) -> SummaryFacts:
    return _with(facts, summarized=True)


Noter = Callable[[SummaryFacts, "RunState", "RunState", Envelope], SummaryFacts]

_NOTERS: dict[type, Noter] = {
    ev.RunRequested: _requested,
    ev.RetryScheduled: _retry,
    ev.TestsPassed: _tests,
    ev.TestsFailed: _tests,
    ev.ChangeCommitted: _committed,
    ev.LLMCallRecorded: _llm_call,
    ev.HumanDecisionRecorded: _decision,
    ev.RunSummarized: _summarized,
    **{terminal: _ended for terminal in ev.TERMINAL_EVENTS},
}
# The events that can open or close a gate (FixRequested reopens the gates after G1).
GATE_MOVERS = frozenset({
    ev.PlanCreated, ev.WorkspaceReady, ev.ChangeProposed, ev.ActionScored, ev.HumanDecisionRecorded,
    ev.ChangeCommitted, ev.TestsPassed, ev.TestsFailed, ev.FixRequested, ev.MergeApproved, ev.MergeRejected,
    ev.Merged, ev.HostChecksPassed,
})
NOTED = frozenset(_NOTERS) | GATE_MOVERS


def note(facts: SummaryFacts, before: RunState, after: RunState, envelope: Envelope) -> SummaryFacts:
    """The facts after `envelope`, which folded `before` into `after`."""
    kind = type(envelope.payload)
    noter = _NOTERS.get(kind)
    if noter is not None:
        facts = noter(facts, before, after, envelope)
    if kind in GATE_MOVERS and not before.finished:
        facts = _gates_moved(facts, after, envelope.occurred_at)
    return facts


def _gates_moved(facts: SummaryFacts, after: RunState, at: datetime) -> SummaryFacts:
    since = {gate: facts.gates_since.get(gate, at) for gate, holds in after.gates.items() if holds}
    return facts if since == facts.gates_since else _with(facts, gates_since=since)


def facts_document(facts: SummaryFacts) -> dict[str, Any]:
    """The facts as JSON-ready values (the state's `to_dict`)."""
    return {
        "requested_at": facts.requested_at.isoformat() if facts.requested_at else None,
        "gates_since": {gate: at.isoformat() for gate, at in facts.gates_since.items()},
        "retries": [r.model_dump(mode="json") for r in facts.retries],
        "tests": [t.model_dump(mode="json") for t in facts.tests],
        "files_changed": list(facts.files_changed),
        "spend": {key: asdict(s) for key, s in facts.spend.items()},
        "decisions": [d.model_dump(mode="json") for d in facts.decisions],
        "ended_at": facts.ended_at.isoformat() if facts.ended_at else None,
        "ended_by": facts.ended_by,
        "summarized": facts.summarized,
    }


def _with(facts: SummaryFacts, **changes: Any) -> SummaryFacts:
    from .run_state import replace

    return replace(facts, **changes)


# --- the summary ---------------------------------------------------------------------------------


def summary_of(state: RunState) -> ev.RunSummarized | None:
    """The summary of a finished run from its folded state; None while it is not finished."""
    facts = state.facts
    if not state.finished or facts.ended_at is None:
        return None
    started = facts.requested_at or facts.ended_at
    gates = []
    previous = started
    for gate in state.gates:
        passed_at = facts.gates_since.get(gate)
        took = None
        if passed_at is not None:
            took = max(0.0, (passed_at - previous).total_seconds())
            previous = passed_at
        gates.append(ev.GatePassed(gate=gate, passed_at=passed_at, took_s=took))
    spend = tuple(
        ev.ModelSpend(role=s.role, provider=s.provider, calls=s.calls, input_tokens=s.input_tokens,
                      output_tokens=s.output_tokens, cost_usd=s.cost_usd)
        for _, s in sorted(facts.spend.items())
    )
    return ev.RunSummarized(
        story=state.story or "(no story)",
        outcome=state.status,  # type: ignore[arg-type]  # finished: one of the outcomes
        reason=state.outcome_reason or "",
        merge_commit=state.merge_commit,
        started_at=started,
        ended_at=facts.ended_at,
        duration_s=max(0.0, (facts.ended_at - started).total_seconds()),
        gates=tuple(gates),
        retries=facts.retries,
        files_changed=facts.files_changed,
        tests=facts.tests,
        spend=spend,
        cost_usd=round(sum(s.cost_usd for s in spend), 10),
        tokens=sum(s.input_tokens + s.output_tokens for s in spend),
        decisions=facts.decisions,
    )


def summarize(events: Iterable[Envelope]) -> ev.RunSummarized | None:
    """The summary of a run from its events; None while it is not finished."""
    from .run_state import fold

    return summary_of(fold(events))

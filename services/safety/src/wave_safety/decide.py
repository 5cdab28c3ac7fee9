"""What safety decides about a proposed change. Pure: no I/O, no judge.

`decide(state, event)` names the change to score (a ChangeProposed's diff, with the lines the
developer withheld) or None. `action_scored(event, change, verdict)` turns the verdict — the rules'
score, settled by the judge in the grey zone (`scorer.assess`) — into the one ActionScored every
proposed change gets.
"""

from __future__ import annotations

from dataclasses import dataclass

from wave_constitution import Diff, SafetyVerdict
from wave_constitution.recording import action_scored as recorded_verdict
from wave_events import Envelope
from wave_events.catalogue import ActionScored, ChangeProposed
from wave_events.projections import RunState

HANDLED_EVENT_TYPES: frozenset[str] = frozenset({"ChangeProposed"})


@dataclass(frozen=True)
class ScoreChange:
    proposal: ChangeProposed
    action: Diff  # what the analyzers and the judge see


def decide(state: RunState, event: Envelope) -> ScoreChange | None:
    """The change `event` asks safety to score, or None. Every proposal is scored, whatever the
    state of its run."""
    payload = event.payload
    if not isinstance(payload, ChangeProposed):
        return None
    return ScoreChange(payload, Diff.of_proposal(payload))


def action_scored(event: Envelope, change: ScoreChange, verdict: SafetyVerdict) -> ActionScored:
    """The ActionScored answering `event` (which proposed `change`) under `verdict`; a judge's reason
    is kept as a risk."""
    return recorded_verdict(
        event.event_id, "diff", change.action, verdict, task_id=change.proposal.task_id, attempt=change.proposal.attempt
    )

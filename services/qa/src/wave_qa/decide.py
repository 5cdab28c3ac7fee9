"""Whether QA tests, and which commit. Pure: (run state, event) -> RunTests | None.

`state` is the run folded up to (at least) the event. Tests run when gates G0..G4 pass — every task's
current change is committed — and the branch head has no result yet. A redelivered event, or one
whose commit was already tested, decides nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from wave_events import Envelope
from wave_events.projections import RunState, gates_of

HANDLED_EVENT_TYPES: frozenset[str] = frozenset({"ChangeCommitted"})
_NEEDED_GATES = ("G0 planned", "G1 workspace", "G2 implemented", "G3 safe", "G4 committed")


@dataclass(frozen=True)
class RunTests:
    commit: str
    location: str  # where the run branch lives: a local path or a URL


def decide(state: RunState, event: Envelope) -> RunTests | None:
    if event.type not in HANDLED_EVENT_TYPES or state.finished:
        return None
    gates = gates_of(state)
    if not all(gates[g] for g in _NEEDED_GATES):
        return None
    head = state.head_commit
    if head is None or state.workspace_location is None:
        return None
    if head in (state.tested_commit, state.last_test_failed_commit):
        return None
    return RunTests(commit=head, location=state.workspace_location)

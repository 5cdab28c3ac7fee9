"""Re-scoring stored actions under a policy. Pure: stored events in, the verdicts that would change out.

Each ActionScored names the event it judged; that event (a ChangeProposed's diff) is scored again with
the rules alone — no model — and every verdict that differs from the stored one is reported with the
rules the new score rests on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from wave_events import Envelope
from wave_events.catalogue import ActionScored, ChangeProposed

from .actions import Diff
from .policy import SafetyPolicy
from .scorer import score
from .scoring import SafetyVerdict


@dataclass(frozen=True)
class ChangedVerdict:
    run_id: str
    target_event_id: str
    action_kind: str
    task_id: str | None
    before: str
    before_policy: str
    after: SafetyVerdict

    @property
    def rules(self) -> str:
        return ", ".join(v.rule for v in self.after.violations) or "no rule"


def rescore(
    events: Iterable[Envelope], policy: SafetyPolicy, *, since: datetime | None = None
) -> tuple[int, list[ChangedVerdict]]:
    """(how many stored verdicts were re-scored, those whose verdict `policy` would change). Verdicts
    recorded before `since` are left out; a verdict whose target event is not among `events` is skipped."""
    by_id: dict[str, Envelope] = {}
    rescored = 0
    changed: list[ChangedVerdict] = []
    for event in events:
        by_id[str(event.event_id)] = event
        stored = event.payload
        if not isinstance(stored, ActionScored) or (since is not None and event.occurred_at < since):
            continue
        target = by_id.get(str(stored.target_event_id))
        if target is None or not isinstance(target.payload, ChangeProposed):
            continue
        rescored += 1
        verdict = score(Diff.of_proposal(target.payload), policy)
        if verdict.verdict != stored.verdict:
            changed.append(ChangedVerdict(
                event.run_id, str(stored.target_event_id), stored.action_kind, stored.task_id,
                stored.verdict, stored.policy_version, verdict,
            ))
    return rescored, changed

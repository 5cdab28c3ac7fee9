"""Re-scoring stored actions under a policy: stored events in, the verdicts that would change out.

`rescore_judged` asks a judge too, about what the rules escalate; it is the one part that is not pure.

Each ActionScored holds the action it judged (a push, a merge, a test command), or for a diff names
the ChangeProposed holding it; that action is scored again with the rules alone — no model — and every
verdict that differs from the stored one is reported with the rules the new score rests on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from wave_events import Envelope
from wave_events.catalogue import ActionScored, ChangeProposed

from .actions import Action, ActionError, Diff, action_from_mapping
from .judge import Judge
from .policy import SafetyPolicy
from .scorer import assess, score
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
    """(how many stored verdicts were re-scored, those whose verdict `policy` would change), with the
    rules alone. Verdicts recorded before `since` are left out; a verdict whose action cannot be found
    (its target event is not among `events`) is skipped."""
    stored = list(stored_actions(events, since=since))
    changed = [
        changed
        for run_id, verdict, action in stored
        if (changed := _changed(run_id, verdict, score(action, policy))) is not None
    ]
    return len(stored), changed


async def rescore_judged(
    events: Iterable[Envelope], policy: SafetyPolicy, judge: Judge, *, since: datetime | None = None
) -> tuple[int, list[ChangedVerdict]]:
    """`rescore`, with `judge` asked about every action the rules now escalate (`assess`)."""
    stored = list(stored_actions(events, since=since))
    changed: list[ChangedVerdict] = []
    for run_id, verdict, action in stored:
        found = _changed(run_id, verdict, await assess(action, policy, judge))
        if found is not None:
            changed.append(found)
    return len(stored), changed


def stored_actions(
    events: Iterable[Envelope], *, since: datetime | None = None
) -> Iterator[tuple[str, ActionScored, Action]]:
    """(run id, stored verdict, the action it judged) for every verdict recorded on or after `since`."""
    by_id: dict[str, Envelope] = {}
    for event in events:
        by_id[str(event.event_id)] = event
        stored = event.payload
        if not isinstance(stored, ActionScored) or (since is not None and event.occurred_at < since):
            continue
        action = stored_action(stored, by_id.get(str(stored.target_event_id)))
        if action is not None:
            yield event.run_id, stored, action


def _changed(run_id: str, stored: ActionScored, after: SafetyVerdict) -> ChangedVerdict | None:
    if after.verdict == stored.verdict:
        return None
    return ChangedVerdict(
        run_id, str(stored.target_event_id), stored.action_kind, stored.task_id, stored.verdict,
        stored.policy_version, after,
    )


def stored_action(stored: ActionScored, target: Envelope | None) -> Action | None:
    """The action a stored verdict judged: the one it holds, else the diff its ChangeProposed holds;
    None when neither is there (a target outside the events read, an action no longer understood)."""
    if stored.action:
        try:
            return action_from_mapping(stored.action)
        except ActionError:
            return None
    if target is not None and isinstance(target.payload, ChangeProposed):
        return Diff.of_proposal(target.payload)
    return None

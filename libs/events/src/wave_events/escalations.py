"""Escalations: the ids WAVE gives its questions, which escalation is about what, and what a person's
answer to each kind does. Pure: no I/O.

An escalation id names one question, so asking the same question twice is recognised (`<run>-<kind
with dashes>-<key>`). Services never read an id back to learn what it is about: `EscalationRequested`
v2 carries `task_id`, `attempt` and `head`, and `about_task` / `about_head` match on those. Only the
upcaster of v1 events, which had no such fields, recovers them from the id (`fields_of_v1_id`).

`RULES` is the one table of what approve and reject mean, kind by kind; docs/events.md shows the same
table (a test compares them).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

# --- ids -----------------------------------------------------------------------------------------


def escalation_id(run_id: str, kind: str, key: str) -> str:
    """`<run>-<kind with dashes>-<key>`: one id per question."""
    return f"{run_id}-{kind.replace('_', '-')}-{key}"


def retries_exhausted_id(run_id: str, head: str) -> str:
    return escalation_id(run_id, "retries_exhausted", head[:12])


def unsafe_action_id(run_id: str, proposal_event_id: uuid.UUID | str) -> str:
    return escalation_id(run_id, "unsafe_action", str(proposal_event_id))


def change_rejected_id(run_id: str, task_id: str, attempt: int) -> str:
    return escalation_id(run_id, "change_rejected", f"{task_id}-{attempt}")


def merge_review_id(run_id: str, head: str) -> str:
    return escalation_id(run_id, "merge_review", head[:12])


def merge_conflict_id(run_id: str, head: str) -> str:
    """One escalation per run head: the same conflict asked twice is the same question."""
    return escalation_id(run_id, "merge_conflict", head[:12])


def invalid_plan_id(run_id: str, cause: uuid.UUID) -> str:
    return escalation_id(run_id, "invalid_plan", cause.hex[:12])


def budget_id(run_id: str, cause: uuid.UUID) -> str:
    """The planner's budget question about one refusal (its own, or another service's `BudgetExceeded`)."""
    return escalation_id(run_id, "budget", cause.hex[:12])


def developer_no_diff_id(run_id: str, task_id: str, attempt: int) -> str:
    """The developer's `change_rejected` question when no usable diff came (WAVE_DEVELOPER_ON_NO_DIFF=escalate)."""
    return f"{run_id}-developer-no-diff-{task_id}-a{attempt}"


def developer_budget_id(run_id: str, task_id: str, attempt: int, version: int) -> str:
    """One question per refusal: a retry of the same event on the same state (`version`) asks the same one."""
    return f"{run_id}-developer-budget-{task_id}-a{attempt}-v{version}"


def task_review_id(run_id: str, task_id: str, attempt: int) -> str:
    return escalation_id(run_id, "task_review", f"{task_id}-{attempt}")


def environment_id(run_id: str, service: str, cause: uuid.UUID) -> str:
    return f"{run_id}-environment-{service}-{cause.hex[:12]}"


# v1 events carried only the id; these are the id formats that named a task attempt or a head.
_TASK = r"(?P<task_id>[A-Za-z0-9][A-Za-z0-9_.-]{0,63}?)"
_HEAD = r"(?P<head>[0-9a-f]{7,64})"
_V1_ID_FORMATS: dict[str, tuple[re.Pattern[str], ...]] = {
    "retries_exhausted": (re.compile(rf"-retries-exhausted-{_HEAD}$"),),
    "merge_review": (re.compile(rf"-merge-review-{_HEAD}$"),),
    "merge_conflict": (re.compile(rf"-merge-conflict-{_HEAD}$"),),
    "change_rejected": (
        re.compile(rf"-developer-no-diff-{_TASK}-a(?P<attempt>[1-9][0-9]*)$"),
        re.compile(rf"-change-rejected-{_TASK}-(?P<attempt>[1-9][0-9]*)$"),
    ),
    "budget": (re.compile(rf"-developer-budget-{_TASK}-a(?P<attempt>[1-9][0-9]*)-v[0-9]+$"),),
}


def fields_of_v1_id(escalation: str, kind: str) -> dict[str, Any]:
    """`task_id`, `attempt` and `head` as a v1 id of this kind spelled them; None where it did not."""
    found: dict[str, Any] = {"task_id": None, "attempt": None, "head": None}
    for pattern in _V1_ID_FORMATS.get(kind, ()):
        match = pattern.search(escalation)
        if match is None:
            continue
        parts = match.groupdict()
        found["task_id"] = parts.get("task_id")
        found["attempt"] = int(parts["attempt"]) if parts.get("attempt") else None
        found["head"] = parts.get("head")
        break
    return found


# --- matching ------------------------------------------------------------------------------------


class About(Protocol):
    """An escalation as an event or as the run projection keeps it."""

    @property
    def task_id(self) -> str | None: ...
    @property
    def attempt(self) -> int | None: ...
    @property
    def head(self) -> str | None: ...


def about_task(escalation: About, task_id: str, attempt: int) -> bool:
    return escalation.task_id == task_id and escalation.attempt == attempt


def about_head(escalation: About, commit: str | None) -> bool:
    """`head` may be abbreviated: a v1 id kept the first 12 hex digits of the commit."""
    return bool(escalation.head and commit and commit.startswith(escalation.head))


# --- what an answer does -------------------------------------------------------------------------


class Outcome(Enum):
    """What approving or rejecting an escalation does; each value is its wording in docs/events.md."""

    APPLY_CHANGE = "the change is applied as proposed"
    FIX_AGAIN = "one more fix attempt, due at once"
    NEW_ATTEMPT = "a new attempt at the task, due at once"
    RAISE_BUDGET = "refused: raise the budget with `wave budget RUN --usd NEW_LIMIT`, which resumes the run"
    MERGE = "the merge is approved (`MergeApproved`)"
    MERGE_AGAIN = "the merge is tried again (`MergeApproved`)"
    PLAN_AGAIN = "the planner model is asked again"
    HAND_BACK = "the service is handed its event again (`HandlingRetryRequested`)"
    STOP = "the run stops (`RunBlocked`)"
    REJECT_MERGE = "the merge is rejected and the run stops (`MergeRejected`, `RunBlocked`)"


@dataclass(frozen=True)
class Rule:
    kind: str
    raised_by: tuple[str, ...]
    on_approve: Outcome
    on_reject: Outcome
    acts: tuple[str, ...]  # who carries out the answers ("cli": the `wave` command a person uses)


RULES: tuple[Rule, ...] = (
    Rule("unsafe_action", ("planner",), Outcome.APPLY_CHANGE, Outcome.STOP, ("gitops", "planner")),
    Rule("retries_exhausted", ("planner",), Outcome.FIX_AGAIN, Outcome.STOP, ("planner",)),
    Rule("budget", ("planner", "developer"), Outcome.RAISE_BUDGET, Outcome.STOP, ("cli", "planner", "developer")),
    Rule("merge_review", ("planner",), Outcome.MERGE, Outcome.REJECT_MERGE, ("planner", "gitops")),
    Rule("merge_conflict", ("gitops",), Outcome.MERGE_AGAIN, Outcome.STOP, ("planner", "gitops")),
    Rule("invalid_plan", ("planner",), Outcome.PLAN_AGAIN, Outcome.STOP, ("planner",)),
    Rule("change_rejected", ("planner", "developer"), Outcome.NEW_ATTEMPT, Outcome.STOP, ("planner", "developer")),
    Rule("environment", ("runtime",), Outcome.HAND_BACK, Outcome.STOP, ("planner", "runtime")),
    Rule("task_review", ("planner",), Outcome.APPLY_CHANGE, Outcome.STOP, ("gitops", "planner")),
)

_BY_KIND = {rule.kind: rule for rule in RULES}


def rule_of(kind: str | None) -> Rule | None:
    """What answering an escalation of `kind` means; None for an escalation the run does not know."""
    return _BY_KIND.get(kind or "")


def on_approve(kind: str | None) -> Outcome | None:
    rule = rule_of(kind)
    return rule.on_approve if rule is not None else None

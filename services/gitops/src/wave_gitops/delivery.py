"""What gitops does for a run delivered through a pull request (`delivery` `pr`). Pure: (run state,
event) -> decisions; `pull_requests.py` carries them out on the git host.

- the first commit on the run branch opens the pull request (the branch is pushed with every commit);
- every gate a run passes or fails on the host's view is a commit status `wave/<gate>` on the head;
- when the sandbox's tests pass, the target branch's required checks on the host are looked at
  (again every poll interval while they are pending): all passed -> `HostChecksPassed`, one failed ->
  a `TestsFailed` the planner answers with a fix like any failed test run;
- an approved merge merges the pull request through the host's API by the run's merge strategy, once
  safety's rules allow it (or a person approved it after they escalated).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wave_events import Envelope
from wave_events import catalogue as ev
from wave_events.projections import RunState

from .names import RUN_BRANCH_PREFIX
from .trailers import story_subject

HOST_CHECKS_SANDBOX = "host-checks"  # TestsFailed.sandbox of a failing required check on the host
STATUS_PREFIX = "wave/"  # commit statuses gitops posts; never counted among the required checks


@dataclass(frozen=True)
class OpenPullRequest:
    head_branch: str
    base_branch: str
    title: str
    body: str


@dataclass(frozen=True)
class PostStatus:
    commit: str
    context: str  # wave/<gate>
    state: str  # pending | success | failure
    description: str


@dataclass(frozen=True)
class CheckHost:
    commit: str
    base_branch: str
    poll: int  # 1 for the first look after the sandbox's tests passed


@dataclass(frozen=True)
class MergePullRequest:
    head_branch: str
    base_branch: str
    strategy: str
    title: str
    head_commit: str
    approved: bool = False  # a person approved the merge after safety escalated it


HostDecision = OpenPullRequest | PostStatus | CheckHost | MergePullRequest


def decide(state: RunState, event: Envelope) -> tuple[HostDecision, ...]:
    if state.delivery != "pr" or state.finished or state.branch is None:
        return ()
    rule = _RULES.get(event.type)
    return rule(state, event.payload) if rule is not None else ()


def _committed(state: RunState, p: ev.ChangeCommitted) -> tuple[HostDecision, ...]:
    if p.commit != state.head_commit:
        return ()
    opening: tuple[HostDecision, ...] = () if state.pull_request is not None else (_opening(state),)
    return (
        *opening,
        PostStatus(p.commit, "wave/G3-safe", "success", "every change was scored allow or approved"),
        PostStatus(p.commit, "wave/G4-committed", "success", f"task {p.task_id} attempt {p.attempt} committed"),
        PostStatus(p.commit, "wave/G5-tested", "pending", "the tests run in the sandbox"),
    )


def _tests_passed(state: RunState, p: ev.TestsPassed) -> tuple[HostDecision, ...]:
    if p.commit != state.head_commit or state.checks_passed_commit == p.commit:
        return ()
    return (
        PostStatus(p.commit, "wave/G5-tested", "success", f"{p.counts.passed} passed in the sandbox"),
        CheckHost(p.commit, state.target_branch, 1),
    )


def _tests_failed(state: RunState, p: ev.TestsFailed) -> tuple[HostDecision, ...]:
    if p.sandbox == HOST_CHECKS_SANDBOX or p.commit != state.head_commit:
        return ()  # gitops's own record of a failing required check: the host shows that check already
    return (PostStatus(p.commit, "wave/G5-tested", "failure", f"{p.counts.failed} failed, {p.counts.errors} errors"),)


def _checks_due(state: RunState, p: ev.HostChecksDue) -> tuple[HostDecision, ...]:
    # A later commit, or an answer already recorded, makes the look pointless.
    if p.commit != state.head_commit or state.checks_passed_commit == p.commit or state.tested_commit != p.commit:
        return ()
    return (CheckHost(p.commit, state.target_branch, p.poll),)


def _merge_approved(state: RunState, p: ev.MergeApproved) -> tuple[HostDecision, ...]:
    if state.merge_commit is not None or state.head_commit is None:
        return ()
    return (
        PostStatus(state.head_commit, "wave/G6-approved", "success", f"approved by {p.reviewer}"[:140]),
        merging(state, state.head_commit),
    )


def merging(state: RunState, head_commit: str, *, approved: bool = False) -> MergePullRequest:
    """The merge of the run's pull request at `head_commit`; `approved` once a person overrode its verdict."""
    return MergePullRequest(
        _own_branch(state), state.target_branch, state.merge_strategy, story_subject(state.story), head_commit, approved
    )


def _merge_rejected(state: RunState, p: ev.MergeRejected) -> tuple[HostDecision, ...]:
    if state.head_commit is None:
        return ()
    return (PostStatus(state.head_commit, "wave/G6-approved", "failure", f"{p.reviewer}: {p.reason}"[:140]),)


def _opening(state: RunState) -> OpenPullRequest:
    tasks = "\n".join(f"- {t.task_id}: {t.description}" for t in state.tasks.values())
    body = (
        f"{state.story.strip()}\n\n"
        + (f"Plan: {state.plan_summary}\n\n" if state.plan_summary else "")
        + (f"Tasks:\n{tasks}\n\n" if tasks else "")
        + f"Delivered by WAVE.\n\nWave-Run: {state.run_id}\n"
    )
    return OpenPullRequest(_own_branch(state), state.target_branch, story_subject(state.story), body)


def _own_branch(state: RunState) -> str:
    # A fork's copied history may still name its parent's branch; its work goes on its own.
    return f"{RUN_BRANCH_PREFIX}{state.run_id}"


def check_timer_id(run_id: str, commit: str, poll: int) -> str:
    return f"{run_id}-host-checks-{commit[:12]}-{poll}"


_RULES: dict[str, Callable[[RunState, Any], tuple[HostDecision, ...]]] = {
    "ChangeCommitted": _committed,
    "TestsPassed": _tests_passed,
    "TestsFailed": _tests_failed,
    "HostChecksDue": _checks_due,
    "MergeApproved": _merge_approved,
    "MergeRejected": _merge_rejected,
}

HANDLED_EVENT_TYPES: frozenset[str] = frozenset(_RULES)

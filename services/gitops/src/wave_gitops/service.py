"""The gitops service: carries out `decide`'s decisions on the run's workspace and says what happened."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from wave_constitution import Action, SafetyPolicy, score
from wave_constitution import Merge as MergeAction
from wave_constitution import Push as PushAction
from wave_constitution.recording import action_scored
from wave_events import Envelope, escalations
from wave_events import catalogue as ev
from wave_events.projections import RunState
from wave_runtime import Output, TransientError, Unrecoverable

from .decide import HANDLED_EVENT_TYPES, ApplyChange, BranchFork, Cleanup, Decision, Merge, Prepare, decide
from .delivery import CheckHost, MergePullRequest, OpenPullRequest, PostStatus
from .errors import (
    ChangeRefusedError,
    GitOpsError,
    InvalidInputError,
    MergeConflictError,
    PushError,
    RepositoryNotFoundError,
    TargetBranchNotFoundError,
    TargetCheckoutBusyError,
    WorkspaceConflictError,
)
from .git_workspaces import without_userinfo
from .names import run_branch
from .pull_requests import PullRequestDelivery
from .trailers import ChangeTrailers
from .workspaces import Workspaces

log = logging.getLogger("wave.gitops")

OpenWorkspaces = Callable[[str], Workspaces]  # repository path -> its workspaces

# Failures no retry can fix: the run cannot have a workspace, so it fails with the reason.
_UNPREPARABLE = (RepositoryNotFoundError, TargetBranchNotFoundError, InvalidInputError, WorkspaceConflictError)


class GitOpsService:
    name = "gitops"
    handles: frozenset[str] = HANDLED_EVENT_TYPES

    def __init__(
        self,
        open_workspaces: OpenWorkspaces,
        *,
        repo: str | None = None,
        pull_requests: PullRequestDelivery | None = None,
        safety_policy: SafetyPolicy | None = None,
    ) -> None:
        """`open_workspaces` gives the Workspaces of a repository path; `repo`, when set, is used for
        every run instead of the repository its RunRequested names; `pull_requests` delivers the runs
        requested with delivery `pr` (without it they wait for a person to configure a git host);
        `safety_policy` scores each push and merge before it is carried out."""
        self._open = open_workspaces
        self._repo = repo
        self._pull_requests = pull_requests or PullRequestDelivery(None)
        self._policy = safety_policy or SafetyPolicy()

    async def handle(self, state: RunState, event: Envelope) -> Sequence[Output]:
        decisions = decide(state, event)
        if not decisions:
            return ()
        run_id = state.run_id or event.run_id
        repo = self._repo or state.repo
        try:
            if not repo:
                raise RepositoryNotFoundError(f"run {run_id} names no repository (its RunRequested is missing)")
            workspaces = await asyncio.to_thread(self._open, repo)
        except _UNPREPARABLE as exc:
            if any(isinstance(d, Prepare) for d in decisions):
                return (ev.RunFailed(reason=f"no workspace for run {run_id}: {exc}"),)
            raise
        outputs: list[Output] = []
        for decision in decisions:
            try:
                outputs.extend(await self._carry_out(workspaces, run_id, event, decision))
            except PushError as exc:
                raise TransientError(str(exc)) from exc
            except TargetCheckoutBusyError as exc:
                raise Unrecoverable(
                    str(exc), f"commit or stash the local changes on {state.target_branch} in {repo}", outputs
                ) from exc
            except TargetBranchNotFoundError as exc:
                raise Unrecoverable(str(exc), f"create the branch {exc.branch} in {repo} again", outputs) from exc
        return outputs

    async def _carry_out(
        self, workspaces: Workspaces, run_id: str, event: Envelope, decision: Decision
    ) -> Sequence[Output]:
        match decision:
            case Prepare(target_branch=target):
                remote = workspaces.remote_url
                if remote is not None and not decision.approved:
                    # Preparing publishes the run branch (with delivery `pr`, to the git host); every
                    # later push of it goes to the same place.
                    verdict = self._scored(event, "push", PushAction(without_userinfo(remote), run_branch(run_id)))
                    if verdict.verdict != "allow":
                        return (verdict,)
                    scored: tuple[Output, ...] = (verdict,)
                else:
                    scored = ()
                try:
                    ready = await asyncio.to_thread(workspaces.prepare, run_id, target, decision.base_commit)
                except _UNPREPARABLE as exc:
                    return (*scored, ev.RunFailed(reason=f"no workspace for run {run_id}: {exc}"))
                log.info("run %s: workspace %s from %s at %s", run_id, ready.branch, target, ready.base_commit[:12])
                return (
                    *scored,
                    ev.WorkspaceReady(branch=ready.branch, base_commit=ready.base_commit, location=ready.location),
                )
            case BranchFork(parent_run_id=parent, head_commit=head, base_commit=base):
                ready = await asyncio.to_thread(workspaces.fork, run_id, parent, head, base)
                log.info("run %s: workspace %s from run %s at %s", run_id, ready.branch, parent, head[:12])
                return (ev.WorkspaceReady(branch=ready.branch, base_commit=ready.base_commit, location=ready.location),)
            case ApplyChange():
                return (await self._commit(workspaces, run_id, event, decision),)
            case Merge():
                if decision.approved:
                    return (await self._merge(workspaces, run_id, event, decision),)
                action = MergeAction(run_branch(run_id), decision.target_branch, decision.strategy, _published_at(workspaces))
                verdict = self._scored(event, "merge", action)
                if verdict.verdict != "allow":
                    return (verdict,)
                return (verdict, await self._merge(workspaces, run_id, event, decision))
            case Cleanup():
                await asyncio.to_thread(workspaces.cleanup, run_id)
                log.info("run %s: worktree removed", run_id)
                return ()
            case MergePullRequest(approved=False):
                # Merged through the host's API: the host the run branch was pushed to publishes the result.
                action = MergeAction(decision.head_branch, decision.base_branch, decision.strategy, _published_at(workspaces))
                verdict = self._scored(event, "merge", action)
                if verdict.verdict != "allow":
                    return (verdict,)
                return (verdict, *await self._pull_requests.carry_out(workspaces, run_id, event, decision))
            case OpenPullRequest() | PostStatus() | CheckHost() | MergePullRequest():
                return await self._pull_requests.carry_out(workspaces, run_id, event, decision)
        raise GitOpsError(f"unknown decision {decision!r}")

    def _scored(self, event: Envelope, kind: str, action: Action) -> ev.ActionScored:
        """The verdict on `action`, which `event` asked for, recorded before it is carried out: the
        planner escalates or blocks what is not allowed, and an approval brings it back here."""
        verdict = score(action, self._policy)
        log.info("%s %s: %s (%.3f) %s", kind, action, verdict.verdict, verdict.score,
                 ",".join(v.rule for v in verdict.violations) or "no violations")
        return action_scored(event.event_id, kind, action, verdict)  # type: ignore[arg-type]

    async def _commit(self, workspaces: Workspaces, run_id: str, event: Envelope, change: ApplyChange) -> Output:
        if not change.diff:
            # Approved or not, a proposal without a diff withheld one holding a secret: never committed.
            reason = "the proposal withheld its diff because it held a secret; nothing was committed"
            log.info("run %s: change for %s attempt %s rejected: %s", run_id, change.task_id, change.attempt, reason)
            return ev.ChangeRejected(task_id=change.task_id, attempt=change.attempt, reason=reason)
        trailers = ChangeTrailers(event_id=str(event.event_id), task_id=change.task_id, attempt=change.attempt)
        try:
            done = await asyncio.to_thread(workspaces.apply_and_commit, run_id, change.diff, change.role, trailers)
        except ChangeRefusedError as exc:
            log.info("run %s: change for %s attempt %s rejected: %s", run_id, change.task_id, change.attempt, exc.reason)
            return ev.ChangeRejected(task_id=change.task_id, attempt=change.attempt, reason=exc.reason)
        return ev.ChangeCommitted(
            task_id=change.task_id, attempt=change.attempt, commit=done.commit, parent=done.parent, branch=done.branch
        )

    async def _merge(self, workspaces: Workspaces, run_id: str, event: Envelope, merge: Merge) -> Output:
        target = merge.target_branch
        check = await asyncio.to_thread(workspaces.check_merge, run_id, target, merge.strategy)
        conflicts = check.conflicts
        if not conflicts:
            try:
                merged = await asyncio.to_thread(workspaces.merge, run_id, target, merge.strategy, merge.subject)
            except MergeConflictError as exc:  # the target moved between the check and the merge
                conflicts = exc.paths
            else:
                return ev.Merged(
                    target_branch=merged.target_branch, merge_commit=merged.merge_commit, fast_forward=merged.fast_forward
                )
        return ev.EscalationRequested(
            escalation_id=escalations.merge_conflict_id(run_id, check.head),
            kind="merge_conflict",
            reason=(
                f"the run branch (head {check.head[:12]}) conflicts with {target} (head {check.target_head[:12]}) "
                f"in {len(conflicts)} file(s): {', '.join(conflicts)}"
            ),
            subject_event_id=event.event_id,
            head=check.head,
        )


def _published_at(workspaces: Workspaces) -> str:
    """The remote a merge's result is published to, as scored and recorded: never with a credential."""
    return without_userinfo(workspaces.remote_url) if workspaces.remote_url else ""

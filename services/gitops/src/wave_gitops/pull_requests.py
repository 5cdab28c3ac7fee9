"""Carrying out `delivery.py`'s decisions on the git host, and saying what happened in events."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import timedelta

from wave_events import Envelope, escalations
from wave_events import catalogue as ev
from wave_runtime import Output, ScheduleTimer, TransientError, Unrecoverable

from .config import ConfigError
from .delivery import (
    HOST_CHECKS_SANDBOX,
    STATUS_PREFIX,
    CheckHost,
    HostDecision,
    MergePullRequest,
    OpenPullRequest,
    PostStatus,
    check_timer_id,
)
from .hosting import CheckResult, GitHost, HostError, HostRefusedError
from .workspaces import Workspaces

log = logging.getLogger("wave.gitops")

OpenHost = Callable[[Workspaces], GitHost]  # a repository's workspaces (their push remote) -> its host

_SETTINGS_ACTION = (
    "set WAVE_GIT_HOST (github or gitea), WAVE_GIT_HOST_API_URL, WAVE_GITOPS_REMOTE (the host's clone URL) and a "
    "token (WAVE_GIT_HOST_TOKEN or a git credential helper) for gitops, then approve"
)


class PullRequestDelivery:
    def __init__(self, open_host: OpenHost | None, *, poll_s: float = 15.0, checks_timeout_s: float = 3600.0) -> None:
        self._open_host = open_host
        self._poll_s = poll_s
        self._checks_timeout_s = checks_timeout_s

    async def carry_out(
        self, workspaces: Workspaces, run_id: str, event: Envelope, decision: HostDecision
    ) -> Sequence[Output]:
        host = self._host(workspaces)
        try:
            match decision:
                case OpenPullRequest():
                    return (await self._open(host, run_id, decision),)
                case PostStatus():
                    await self._post(host, run_id, decision)
                    return ()
                case CheckHost():
                    return await self._check(host, run_id, event, decision)
                case MergePullRequest():
                    return (await self._merge(host, run_id, event, decision),)
        except HostError as exc:
            raise TransientError(str(exc)) from exc
        except HostRefusedError as exc:
            raise Unrecoverable(f"the git host refused: {exc.reason}", _SETTINGS_ACTION) from exc
        raise AssertionError(f"unknown decision {decision!r}")

    def _host(self, workspaces: Workspaces) -> GitHost:
        if self._open_host is None:
            raise Unrecoverable("the run is delivered as a pull request, but gitops has no git host configured",
                                _SETTINGS_ACTION)
        try:
            return self._open_host(workspaces)
        except ConfigError as exc:
            raise Unrecoverable(f"the run is delivered as a pull request, but {exc}", _SETTINGS_ACTION) from exc

    async def _open(self, host: GitHost, run_id: str, opening: OpenPullRequest) -> Output:
        pull = await asyncio.to_thread(
            host.open_pull_request, opening.head_branch, opening.base_branch, opening.title, opening.body
        )
        log.info("run %s: pull request #%d on %s (%s)", run_id, pull.number, host.repository, pull.url)
        return ev.PullRequestOpened(
            host=host.name, repository=host.repository, number=pull.number, url=pull.url or f"#{pull.number}",
            head_branch=opening.head_branch, base_branch=opening.base_branch,
        )

    async def _post(self, host: GitHost, run_id: str, status: PostStatus) -> None:
        # A status shows people where the run is; a host that cannot take one does not stop the run.
        try:
            await asyncio.to_thread(host.post_status, status.commit, status.context, status.state, status.description)  # type: ignore[arg-type]
        except (HostError, HostRefusedError) as exc:
            log.warning("run %s: commit status %s not posted: %s", run_id, status.context, exc)

    async def _check(self, host: GitHost, run_id: str, event: Envelope, check: CheckHost) -> Sequence[Output]:
        found = await asyncio.to_thread(host.required_checks, check.commit, check.base_branch)
        required = [c for c in found if not c.name.startswith(STATUS_PREFIX)]
        failed = [c for c in required if c.state == "failure"]
        pending = [c for c in required if c.state == "pending"]
        if failed:
            log.info("run %s: required checks failed on %s: %s", run_id, check.commit[:12], ", ".join(c.name for c in failed))
            return (_failed(check.commit, host, required, failed),)
        if not pending:
            return (ev.HostChecksPassed(commit=check.commit, checks=tuple(c.name for c in required)),)
        waited = check.poll * self._poll_s
        names = ", ".join(c.name for c in pending)
        if waited >= self._checks_timeout_s:
            raise Unrecoverable(
                f"the required checks {names} on {host.repository} are still pending on {check.commit[:12]} "
                f"after {waited:.0f} s",
                "see that the host's CI runs them, then approve to look again",
            )
        timer = check_timer_id(run_id, check.commit, check.poll + 1)
        due = event.occurred_at + timedelta(seconds=self._poll_s)
        log.info("run %s: required checks pending on %s: %s", run_id, check.commit[:12], names)
        return (ScheduleTimer(timer, due, ev.HostChecksDue(commit=check.commit, poll=check.poll + 1, timer_id=timer)),)

    async def _merge(self, host: GitHost, run_id: str, event: Envelope, merge: MergePullRequest) -> Output:
        pull = await asyncio.to_thread(host.open_pull_request, merge.head_branch, merge.base_branch, merge.title, "")
        try:
            merged = await asyncio.to_thread(
                host.merge_pull_request, pull.number, merge.strategy, merge.title, merge.head_commit
            )
        except HostRefusedError as exc:
            return ev.EscalationRequested(
                escalation_id=escalations.merge_conflict_id(run_id, merge.head_commit),
                kind="merge_conflict",
                reason=(
                    f"{host.repository} did not merge pull request #{pull.number} ({merge.head_branch} at "
                    f"{merge.head_commit[:12]} into {merge.base_branch}): {exc.reason}; resolve it on the host, "
                    f"then approve to merge again"
                ),
                subject_event_id=event.event_id,
                head=merge.head_commit,
            )
        log.info("run %s: pull request #%d merged into %s at %s", run_id, pull.number, merge.base_branch, merged.merge_commit[:12])
        return ev.Merged(target_branch=merge.base_branch, merge_commit=merged.merge_commit, fast_forward=merged.fast_forward)


def _failed(commit: str, host: GitHost, required: Sequence[CheckResult], failed: Sequence[CheckResult]) -> ev.TestsFailed:
    lines = [f"FAILED {c.name}" for c in failed] + [""]
    for c in failed:
        lines.append(f"required check {c.name} failed on {host.repository} at {commit[:12]}"
                     + (f": {c.description}" if c.description else "") + (f" ({c.url})" if c.url else ""))
    return ev.TestsFailed(
        commit=commit,
        counts=ev.TestCounts(passed=len(required) - len(failed), failed=len(failed)),
        failing_tests=tuple(c.name for c in failed),
        failure_excerpt="\n".join(lines),
        duration_s=0.0,
        sandbox=HOST_CHECKS_SANDBOX,
        command=f"required checks of {host.repository} on {host.name}",
    )

"""The port to a git host's REST API (GitHub, Gitea/Forgejo): pull requests, commit statuses, the
required checks of a branch, and merging a pull request. One adapter per host (`github_host.py`,
`gitea_host.py`); `tests/support/git_host_contract.py` is the suite every adapter passes.

An adapter never puts its credential in a message, an error or a return value: whatever the host
answers is scrubbed of the token before it is raised.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Literal

from .errors import GitOpsError

StatusState = Literal["pending", "success", "failure", "error"]
CheckState = Literal["pending", "success", "failure"]


class HostError(GitOpsError):
    """The host could not be reached or answered with an error a retry may get past."""


class HostRefusedError(GitOpsError):
    """The host refused a request for a reason a retry does not change (a pull request that cannot be
    merged, a repository that does not exist, a credential without the right)."""

    def __init__(self, reason: str, status: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class PullRequestRef:
    number: int
    url: str  # the page people open
    merged: bool = False
    merge_commit: str | None = None  # when merged


@dataclass(frozen=True)
class CheckResult:
    name: str  # the status context or check-run name the branch requires
    state: CheckState
    description: str = ""
    url: str = ""


@dataclass(frozen=True)
class HostMerge:
    merge_commit: str  # the target branch's new head
    fast_forward: bool


# How each run merge strategy is asked of a host: `ff` has no exact equal on GitHub, whose `rebase`
# replays the run's commits on the target (new commit ids, no merge commit).
MERGE_METHODS = {
    "github": {"squash": "squash", "merge": "merge", "ff": "rebase"},
    "gitea": {"squash": "squash", "merge": "merge", "ff": "fast-forward-only"},
}


class GitHost(ABC):
    """One repository (`owner/name`) on a git host, spoken to through its REST API.

    Every method is safe to call again with the same arguments: opening a pull request for a branch
    that has an open one returns that one, merging a merged pull request returns its merge commit,
    posting a status replaces the one with the same context.
    """

    name: str  # "github" | "gitea"
    repository: str  # owner/name

    @abstractmethod
    def open_pull_request(self, head_branch: str, base_branch: str, title: str, body: str) -> PullRequestRef:
        """Open a pull request from `head_branch` into `base_branch`, or return the open one."""

    @abstractmethod
    def post_status(self, commit: str, context: str, state: StatusState, description: str, target_url: str = "") -> None:
        """Set the commit status `context` of `commit`."""

    @abstractmethod
    def required_checks(self, commit: str, base_branch: str) -> tuple[CheckResult, ...]:
        """The checks `base_branch` requires before a merge, each with its state on `commit` (a check
        that has not reported yet is `pending`). Empty when the branch requires none."""

    @abstractmethod
    def merge_pull_request(self, number: int, strategy: str, title: str, head_commit: str) -> HostMerge:
        """Merge pull request `number` by the run's `strategy` (squash | merge | ff), only if its head
        is still `head_commit`. A merged pull request returns its merge commit. A pull request the host
        will not merge (conflicts, a failing required check, a moved head) raises `HostRefusedError`."""

    @abstractmethod
    def pull_request(self, number: int) -> PullRequestRef:
        """The pull request as the host has it now."""

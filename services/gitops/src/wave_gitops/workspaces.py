"""The port to a run's git workspace. Every method is safe to call again with the same arguments:
a redelivered event must find the effect it already had, never make it twice."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from .trailers import ChangeTrailers


@dataclass(frozen=True)
class Workspace:
    branch: str  # wave/<run-id>
    base_commit: str  # the target branch's head when the run branch was made
    location: str  # where others fetch the run branch: a remote URL, or the repository's path
    path: str  # the run's worktree on this host


@dataclass(frozen=True)
class Committed:
    commit: str
    parent: str
    branch: str
    reused: bool  # the commit was already on the branch (a redelivered event): nothing was applied


@dataclass(frozen=True)
class MergeCheck:
    target_branch: str
    head: str  # the run branch's head that was checked
    target_head: str
    up_to_date: bool  # the target already contains the run branch
    fast_forward: bool  # the strategy allows it and the target can simply move to the run branch's head
    conflicts: tuple[str, ...]  # paths a merge could not combine, sorted

    @property
    def clean(self) -> bool:
        return not self.conflicts


@dataclass(frozen=True)
class MergeResult:
    target_branch: str
    merge_commit: str  # the new head of the target branch (the run branch's head after a fast-forward)
    fast_forward: bool
    reused: bool  # the run was already merged: the earlier result is returned


class Workspaces(ABC):
    """One repository's run workspaces: a branch `wave/<run-id>` and a worktree per run.

    Names are validated before anything is touched (`InvalidInputError`). A run that was not
    prepared raises `WorkspaceNotPreparedError` from every method but `prepare` and `cleanup`.
    """

    remote_url: str | None = None  # where the branches are pushed, when a remote is configured

    @abstractmethod
    def prepare(self, run_id: str, target_branch: str, base_commit: str | None = None) -> Workspace:
        """Create the run branch and a worktree for it, at `base_commit` (the target branch's head when
        the run was submitted, which its plan was made against) or, when none was recorded, at the
        target branch's head. Calling it again returns the same branch and base commit, whatever was
        committed since. A `base_commit` the repository does not have raises `WorkspaceConflictError`."""

    @abstractmethod
    def fork(self, run_id: str, parent_run_id: str, head_commit: str, base_commit: str) -> Workspace:
        """Give a forked run a branch and worktree of its own: `wave/<run-id>` at `head_commit` (a commit
        of the parent's branch, where the fork point left it), with `base_commit` as its base. Calling it
        again returns the same; the parent's branch is not touched. A commit the repository does not
        have raises `WorkspaceConflictError`."""

    @abstractmethod
    def apply_and_commit(self, run_id: str, diff: str, role: str, trailers: ChangeTrailers) -> Committed:
        """Apply a unified diff to the run branch's head and commit it as `WAVE <role>` with the Wave-*
        trailers. A commit on the branch with the same causing event and task is returned instead of
        applying again. A diff that cannot be committed raises a `ChangeRefusedError` whose reason
        names the file (and hunk) at fault; nothing is changed then."""

    @abstractmethod
    def check_merge(self, run_id: str, target_branch: str, strategy: str = "squash") -> MergeCheck:
        """Would the run branch land on the target branch by `strategy`, and which paths would conflict.
        `up_to_date` when the run already landed (for `squash`: a squash commit of this run is on the target)."""

    @abstractmethod
    def merge(self, run_id: str, target_branch: str, strategy: str = "squash", subject: str = "") -> MergeResult:
        """Land the run branch on the target branch, committing as `WAVE gitops`:

        - `squash`: one commit on the target whose tree is the run branch merged in, `subject` (a
          story; its first line is used) as its subject and `Wave-Run` / `Wave-Squashed` trailers;
        - `merge`: a merge commit, even when a fast-forward is possible;
        - `ff`: fast-forward when possible, else a merge commit.

        The run branch is left as it is, every attempt on it. An already landed run returns its earlier
        result. Conflicts raise `MergeConflictError` naming the paths, and leave the target branch where
        it was; an unknown strategy raises `InvalidInputError`."""

    @abstractmethod
    def cleanup(self, run_id: str) -> None:
        """Remove the run's worktree. The branch stays; cleaning up twice, or a run never prepared, is fine."""

    @abstractmethod
    def push(self, run_id: str) -> None:
        """Publish the run branch to the remote, when one is configured; otherwise do nothing."""

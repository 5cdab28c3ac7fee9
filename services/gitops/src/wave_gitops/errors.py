"""What can go wrong with a run's workspace, each failure a type of its own with a message naming it."""

from __future__ import annotations

from collections.abc import Sequence


class GitOpsError(Exception):
    """Base of every gitops failure."""


class InvalidInputError(GitOpsError, ValueError):
    """A run id, branch name, role or option that cannot be used."""


class RepositoryNotFoundError(GitOpsError):
    """The configured repository path does not exist or is not a git repository."""


class TargetBranchNotFoundError(GitOpsError):
    def __init__(self, branch: str, repo: str) -> None:
        super().__init__(f"target branch {branch!r} does not exist in {repo}")
        self.branch = branch


class WorkspaceNotPreparedError(GitOpsError):
    def __init__(self, run_id: str, branch: str) -> None:
        super().__init__(f"run {run_id} has no workspace: branch {branch!r} does not exist (prepare it first)")
        self.run_id = run_id


class WorkspaceConflictError(GitOpsError):
    """Something that is not this run's workspace is in the way (a foreign directory, a branch name clash)."""


class ChangeRefusedError(GitOpsError):
    """A diff that is not committed. `reason` is what a ChangeRejected event says."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MalformedDiffError(ChangeRefusedError):
    """The text is not a unified diff libgit2 can read, or it changes nothing."""


class UnsafePathError(ChangeRefusedError):
    """The diff names a path outside the worktree (absolute, `..`, inside `.git`) or a link leading out."""


class DiffDoesNotApplyError(ChangeRefusedError):
    """The diff does not fit the run branch's head; the reason names the file and hunk."""

    def __init__(self, reason: str, path: str | None = None, hunk: str | None = None) -> None:
        super().__init__(reason)
        self.path = path
        self.hunk = hunk


class MergeConflictError(GitOpsError):
    def __init__(self, run_id: str, target_branch: str, paths: Sequence[str]) -> None:
        self.paths = tuple(paths)
        super().__init__(
            f"run {run_id} cannot be merged into {target_branch!r}: conflicts in {', '.join(self.paths)}"
        )


class TargetCheckoutBusyError(GitOpsError):
    """The target branch is checked out with local changes the merge would overwrite."""


class PushError(GitOpsError):
    """The remote refused a reference or could not be reached."""

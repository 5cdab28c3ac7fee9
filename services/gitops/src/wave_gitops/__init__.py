"""WAVE gitops: a branch and a worktree per run, safe changes applied and committed with trailers that
make them idempotent, conflict checks, merges and cleanup — through pygit2, never a git process."""

from .bootstrap import create_service
from .config import ConfigError, GitOpsConfig
from .decide import HANDLED_EVENT_TYPES, ApplyChange, BranchFork, Cleanup, Decision, Merge, Prepare, decide
from .errors import (
    ChangeRefusedError,
    DiffDoesNotApplyError,
    GitOpsError,
    InvalidInputError,
    MalformedDiffError,
    MergeConflictError,
    PushError,
    RepositoryNotFoundError,
    TargetBranchNotFoundError,
    TargetCheckoutBusyError,
    UnsafePathError,
    WorkspaceConflictError,
    WorkspaceNotPreparedError,
)
from .git_workspaces import GitWorkspaces
from .service import GitOpsService
from .trailers import ChangeTrailers
from .workspaces import Committed, MergeCheck, MergeResult, Workspace, Workspaces

__all__ = [
    "HANDLED_EVENT_TYPES",
    "ApplyChange",
    "BranchFork",
    "ChangeRefusedError",
    "ChangeTrailers",
    "Cleanup",
    "Committed",
    "ConfigError",
    "Decision",
    "DiffDoesNotApplyError",
    "GitOpsConfig",
    "GitOpsError",
    "GitOpsService",
    "GitWorkspaces",
    "InvalidInputError",
    "MalformedDiffError",
    "Merge",
    "MergeCheck",
    "MergeConflictError",
    "MergeResult",
    "Prepare",
    "PushError",
    "RepositoryNotFoundError",
    "TargetBranchNotFoundError",
    "TargetCheckoutBusyError",
    "UnsafePathError",
    "Workspace",
    "WorkspaceConflictError",
    "WorkspaceNotPreparedError",
    "Workspaces",
    "create_service",
    "decide",
]

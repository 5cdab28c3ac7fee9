"""The one place that knows the concrete adapter: configuration in, a gitops service out.

python -m wave_runtime service --factory wave_gitops:create_service
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import lru_cache

from wave_constitution import SafetyPolicy

from .config import GitOpsConfig
from .git_workspaces import GitWorkspaces
from .service import GitOpsService
from .workspaces import Workspaces

log = logging.getLogger("wave.gitops")


def create_service(env: Mapping[str, str] | None = None, *, config: GitOpsConfig | None = None) -> GitOpsService:
    config = config or GitOpsConfig.from_env(env)

    @lru_cache(maxsize=64)
    def open_workspaces(repo: str) -> Workspaces:
        return GitWorkspaces(repo, worktree_root=config.worktree_root, remote=config.remote)

    if config.repo is not None:
        open_workspaces(config.repo)  # a wrong repository or remote stops the service at start-up
    log.info(
        "gitops: repository %s, worktrees under %s, remote %s",
        config.repo or "named by each run",
        config.worktree_root or "<WAVE home>/worktrees/<repo>-<hash>",
        config.remote or "none",
    )
    return GitOpsService(open_workspaces, repo=config.repo, safety_policy=SafetyPolicy.from_env(env))

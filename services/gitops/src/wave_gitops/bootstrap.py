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
from .host_config import HostConfig, helper_credential, push_credential
from .pull_requests import PullRequestDelivery
from .service import GitOpsService
from .workspaces import Workspaces

log = logging.getLogger("wave.gitops")


def create_service(
    env: Mapping[str, str] | None = None, *, config: GitOpsConfig | None = None, host: HostConfig | None = None
) -> GitOpsService:
    config = config or GitOpsConfig.from_env(env)
    host = host or HostConfig.from_env(env)
    # Pushes over http(s) authenticate with the host's token when a host is configured.
    credential = (
        push_credential(lambda url: host.token or helper_credential(url)) if host is not None else None
    )

    @lru_cache(maxsize=64)
    def open_workspaces(repo: str) -> Workspaces:
        return GitWorkspaces(repo, worktree_root=config.worktree_root, remote=config.remote, credential=credential)

    pull_requests = PullRequestDelivery(
        (lambda workspaces: host.open(getattr(workspaces, "remote_url", None))) if host is not None else None,
        poll_s=host.poll_s if host is not None else 15.0,
        checks_timeout_s=host.checks_timeout_s if host is not None else 3600.0,
    )

    if config.repo is not None:
        open_workspaces(config.repo)  # a wrong repository or remote stops the service at start-up
    log.info(
        "gitops: repository %s, worktrees under %s, remote %s",
        config.repo or "named by each run",
        config.worktree_root or "<WAVE home>/worktrees/<repo>-<hash>",
        config.remote or "none",
    )
    if host is not None:
        log.info("gitops: pull requests on %s (%s), repository %s", host.host, host.api_url, host.repository or "from the remote")
    return GitOpsService(
        open_workspaces, repo=config.repo, pull_requests=pull_requests, safety_policy=SafetyPolicy.from_env(env)
    )

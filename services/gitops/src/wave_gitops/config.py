"""gitops configuration: which repository, where worktrees go, which remote publishes run branches."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field
from wave_runtime.settings import EnvSettings, SettingError, read_settings, wave_home

from .errors import InvalidInputError

REPO_VAR = "WAVE_GITOPS_REPO"
WORKTREE_ROOT_VAR = "WAVE_WORKTREE_ROOT"
REMOTE_VAR = "WAVE_GITOPS_REMOTE"


class ConfigError(InvalidInputError, SettingError):
    """A setting that cannot be used; the message names the variable."""


class GitOpsSettings(EnvSettings):
    """The gitops variables, parsed; GitOpsConfig checks them."""

    repo: str | None = Field(None, validation_alias=REPO_VAR)
    worktree_root: str | None = Field(None, validation_alias=WORKTREE_ROOT_VAR)
    remote: str | None = Field(None, validation_alias=REMOTE_VAR)


@dataclass(frozen=True)
class GitOpsConfig:
    repo: str | None = None  # every run uses this repository instead of the one its RunRequested names
    worktree_root: str | None = None  # default: default_worktree_root(repo), outside the repository
    remote: str | None = None  # a remote name in the repository, or (with `repo`) a URL or path

    def __post_init__(self) -> None:
        for field, variable in (("repo", REPO_VAR), ("worktree_root", WORKTREE_ROOT_VAR), ("remote", REMOTE_VAR)):
            value = getattr(self, field)
            if value is not None and (not isinstance(value, str) or not value.strip() or "\0" in value):
                raise ConfigError(f"{variable} must be a non-empty path or name, got {value!r}")
        if self.remote is not None and self.repo is None and _names_a_place(self.remote):
            raise ConfigError(
                f"{REMOTE_VAR}={self.remote!r} is a URL or path, which only fits one repository: set "
                f"{REPO_VAR} too, or give a remote name (such as 'origin') that each run's repository has"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GitOpsConfig:
        settings = read_settings(GitOpsSettings, env, error=ConfigError)
        return cls(repo=settings.repo, worktree_root=settings.worktree_root, remote=settings.remote)


def default_worktree_root(repo_path: Path, env: Mapping[str, str] | None = None) -> Path:
    """`<WAVE home>/worktrees/<repo name>-<hash of its path>`: outside the repository, so a run leaves
    nothing in the user's working copy, and one directory per repository."""
    env = os.environ if env is None else env
    resolved = repo_path.expanduser().resolve()
    key = hashlib.sha256(str(resolved).encode()).hexdigest()[:10]
    return wave_home(env) / "worktrees" / f"{resolved.name or 'repo'}-{key}"


def _names_a_place(remote: str) -> bool:
    return "/" in remote or ":" in remote or "\\" in remote or remote.startswith(".")

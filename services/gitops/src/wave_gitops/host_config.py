"""Which git host runs with delivery `pr` go through, and where its credential comes from.

The token is read from `WAVE_GIT_HOST_TOKEN`, else asked of git's credential helpers
(`git credential fill`, as `git push` would); it is held in memory only, never logged or stored.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pydantic import Field
from wave_runtime.settings import EnvSettings, read_settings

from .config import ConfigError
from .git_workspaces import without_userinfo
from .gitea_host import GiteaHost
from .github_host import DEFAULT_API_URL, GitHubHost
from .hosting import GitHost

HOST_VAR = "WAVE_GIT_HOST"
API_URL_VAR = "WAVE_GIT_HOST_API_URL"
REPOSITORY_VAR = "WAVE_GIT_HOST_REPO"
TOKEN_VAR = "WAVE_GIT_HOST_TOKEN"  # noqa: S105 - the variable's name, not a token
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


class HostSettings(EnvSettings):
    host: str | None = Field(None, validation_alias=HOST_VAR)
    api_url: str | None = Field(None, validation_alias=API_URL_VAR)
    repository: str | None = Field(None, validation_alias=REPOSITORY_VAR)
    token: str | None = Field(None, validation_alias=TOKEN_VAR, repr=False)
    poll_s: float = Field(15.0, gt=0, validation_alias="WAVE_GIT_HOST_POLL_S")
    checks_timeout_s: float = Field(3600.0, gt=0, validation_alias="WAVE_GIT_HOST_CHECKS_TIMEOUT_S")


@dataclass(frozen=True)
class HostConfig:
    host: str  # github | gitea
    api_url: str
    repository: str | None = None  # owner/name; default: read from the push remote's URL
    token: str | None = field(default=None, repr=False)  # default: git's credential helpers
    poll_s: float = 15.0  # how often pending required checks are looked at again
    checks_timeout_s: float = 3600.0  # how long required checks may stay pending before a person is asked

    def __post_init__(self) -> None:
        if self.host not in ("github", "gitea"):
            raise ConfigError(f"{HOST_VAR} must be github or gitea, got {self.host!r}")
        if urlsplit(self.api_url).scheme not in ("http", "https"):
            raise ConfigError(f"{API_URL_VAR} must be an http(s) URL, got {self.api_url!r}")
        if self.repository is not None and not _REPOSITORY.match(self.repository):
            raise ConfigError(f"{REPOSITORY_VAR} must be owner/name, got {self.repository!r}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> HostConfig | None:
        """None when no host is configured (runs with delivery `pr` then wait for a person to set one)."""
        settings = read_settings(HostSettings, env, error=ConfigError)
        if settings.host is None:
            if settings.api_url or settings.repository:
                raise ConfigError(f"{API_URL_VAR} or {REPOSITORY_VAR} is set but {HOST_VAR} (github or gitea) is not")
            return None
        if settings.host not in ("github", "gitea"):
            raise ConfigError(f"{HOST_VAR} must be github or gitea, got {settings.host!r}")
        api_url = settings.api_url or (DEFAULT_API_URL if settings.host == "github" else "")
        if not api_url:
            raise ConfigError(f"{HOST_VAR}=gitea needs {API_URL_VAR} (https://<host>/api/v1)")
        return cls(settings.host, api_url, settings.repository, settings.token, settings.poll_s, settings.checks_timeout_s)

    def open(self, remote_url: str | None, credential: Callable[[str], str | None] | None = None) -> GitHost:
        """The host adapter for a repository whose run branches are pushed to `remote_url`."""
        repository = self.repository or repository_of(remote_url)
        if repository is None:
            raise ConfigError(
                f"cannot tell the repository on the git host from the push remote {without_userinfo(remote_url or '')!r}: "
                f"set {REPOSITORY_VAR}=owner/name"
            )
        token = self.token or (credential or helper_credential)(self.api_url) or ""
        if self.host == "github":
            return GitHubHost(repository, token, self.api_url)
        return GiteaHost(repository, token, self.api_url)


def repository_of(remote_url: str | None) -> str | None:
    """`owner/name` from a remote URL such as https://github.com/owner/name.git or git@host:owner/name."""
    if not remote_url:
        return None
    path = urlsplit(remote_url).path if "://" in remote_url else remote_url.rpartition(":")[2]
    parts = [p for p in path.removesuffix("/").removesuffix(".git").split("/") if p]
    candidate = "/".join(parts[-2:])
    return candidate if len(parts) >= 2 and _REPOSITORY.match(candidate) else None


def helper_credential(url: str) -> str | None:
    """The password git's credential helpers hold for `url`'s host, or None. No prompt is ever shown."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    request = f"protocol={parts.scheme}\nhost={parts.netloc.rpartition('@')[2]}\n\n"
    environment = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": ""}
    try:
        answer = subprocess.run(  # noqa: S603 - git, with a fixed argument list
            ["git", "credential", "fill"], input=request, capture_output=True, text=True, timeout=15, env=environment,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if answer.returncode != 0:
        return None
    for line in answer.stdout.splitlines():
        if line.startswith("password="):
            return line.removeprefix("password=") or None
    return None


def push_credential(token_for: Callable[[str], str | None]) -> Callable[[str], tuple[str, str] | None]:
    """What gitops pushes over http(s) with: the host token as the password (GitHub and Gitea take it so)."""

    def credential(url: str) -> tuple[str, str] | None:
        token = token_for(url)
        return ("x-access-token", token) if token else None

    return credential

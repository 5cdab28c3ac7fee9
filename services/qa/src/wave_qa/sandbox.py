"""The Sandbox port: run one command on a scratch directory, contained, and say what happened."""

from __future__ import annotations

import fnmatch
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


class SandboxError(Exception):
    """A sandbox that cannot run at all (not a failing command: that is a SandboxResult)."""


class SandboxStopped(SandboxError):  # noqa: N818 - not a failure of the sandbox: its caller gave up
    """The caller set `stop` while the command ran: every process of it was killed, there is no result."""


class SandboxUnavailableError(SandboxError):
    """No sandbox this host offers is allowed by the configuration."""


@dataclass(frozen=True)
class Limits:
    timeout_s: float = 600.0  # wall clock; the whole process tree is killed when it runs out
    memory_mb: int = 2048  # address space per process (RLIMIT_AS), or the container's memory
    cpu_s: int | None = None  # CPU seconds per process (RLIMIT_CPU)
    max_procs: int = 256  # processes (RLIMIT_NPROC for the sandbox's user, or the container's pids limit)

    def __post_init__(self) -> None:
        if self.timeout_s <= 0 or self.memory_mb <= 0 or self.max_procs <= 0 or (self.cpu_s is not None and self.cpu_s <= 0):
            raise ValueError(f"limits must be positive: {self}")


@dataclass(frozen=True)
class Mounts:
    """What one run needs besides the checkout: host paths it may read (a prepared environment, a
    toolchain), host paths it may write (a build cache kept between runs), directories put first on
    PATH. Absolute host paths, seen at the same path inside the sandbox. For a container sandbox, the
    image to start from (the run's test image) when it is not the sandbox's own."""

    read_only: tuple[str, ...] = ()
    writable: tuple[str, ...] = ()
    path_dirs: tuple[str, ...] = ()
    image: str | None = None


@dataclass(frozen=True)
class SandboxResult:
    exit_code: int  # negative: killed by that signal
    stdout: str  # at most the last OUTPUT_TAIL_BYTES
    stderr: str
    timed_out: bool
    duration_s: float

    @property
    def output(self) -> str:
        """What the command printed: stdout, then stderr when there is any."""
        return f"{self.stdout}\n{self.stderr}" if self.stderr else self.stdout


OUTPUT_TAIL_BYTES = 256 * 1024


class Sandbox(ABC):
    """Runs `command` (an argv) with `workdir` as its current directory.

    Contract, for every adapter:
    - `workdir` is the only writable place besides a private, empty /tmp; changes to it are seen by the
      caller afterwards (reports are written there).
    - No network: neither the host's loopback nor anything outside answers.
    - The environment is exactly `env` (scrubbed of secrets by `scrub_env`) plus PATH, HOME and LANG
      when `env` does not set them; nothing of the caller's environment leaks in.
    - `limits` hold; when the wall clock runs out every process the command started is killed and the
      result says `timed_out`.
    - A command that fails is a result (its exit code), never an exception. `SandboxError` means the
      sandbox itself could not run.
    - When `stop` is set (the caller gave up: Ctrl-C, a shutdown), every process of the command is
      killed within a second and `SandboxStopped` is raised.
    - `mounts`, when given: its read-only paths are readable, its writable paths writable, its
      directories first on PATH.
    """

    name: str

    @abstractmethod
    def run(
        self, command: Sequence[str], workdir: Path, limits: Limits, env: Mapping[str, str], *,
        stop: threading.Event | None = None, mounts: Mounts | None = None,
    ) -> SandboxResult:
        """Run `command` in `workdir` under the contract above."""


_SECRET_PATTERNS = (
    "*TOKEN*", "*KEY*", "*SECRET*", "*PASSWORD*", "*PASSWD*", "*CREDENTIAL*", "*AUTH*", "*COOKIE*", "*SESSION*",
    "*PRIVATE*", "AWS_*", "AZURE_*", "GCP_*", "GOOGLE_*", "GITHUB_*", "GH_*", "GITLAB_*", "OPENAI_*", "ANTHROPIC_*",
    "XAI_*", "SLACK_*", "DOCKER_*", "KUBE*", "SSH_*", "GPG_*", "NPM_*", "PYPI_*", "TWINE_*", "WAVE_*", "*_URL", "*_DSN",
)


def is_secret_name(name: str) -> bool:
    upper = name.upper()
    return any(fnmatch.fnmatchcase(upper, pattern) for pattern in _SECRET_PATTERNS)


def scrub_env(env: Mapping[str, str]) -> dict[str, str]:
    """The variables of `env` whose names cannot hold a secret (URLs and WAVE_* settings included)."""
    return {k: v for k, v in env.items() if not is_secret_name(k) and "\0" not in k + v and "=" not in k}

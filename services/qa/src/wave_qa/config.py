"""QA configuration from the environment. A value that cannot be used is an error naming its variable."""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from wave_runtime.settings import SettingError, env_number, env_text

from .sandbox import Limits
from .sandboxes.docker import DEFAULT_IMAGE
from .sandboxes.selection import STRENGTH, SandboxKind

SCRATCH_ROOT_VAR = "WAVE_QA_SCRATCH_ROOT"
TEST_COMMAND_VAR = "WAVE_QA_TEST_COMMAND"
ALLOW_BARE_VAR = "WAVE_QA_ALLOW_BARE"
SANDBOX_VAR = "WAVE_QA_SANDBOX"
TIMEOUT_VAR = "WAVE_QA_TIMEOUT_S"
MEMORY_VAR = "WAVE_QA_MEMORY_MB"
CPU_VAR = "WAVE_QA_CPU_S"
MAX_PROCS_VAR = "WAVE_QA_MAX_PROCS"
DOCKER_IMAGE_VAR = "WAVE_QA_DOCKER_IMAGE"
RO_PATHS_VAR = "WAVE_QA_RO_PATHS"
SANDBOX_UID_VAR = "WAVE_QA_SANDBOX_UID"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}



class ConfigError(SettingError):
    """A setting that cannot be used; the message names the variable."""


def default_scratch_root() -> str:
    return str(Path(tempfile.gettempdir()) / "wave-qa")


@dataclass(frozen=True)
class QAConfig:
    scratch_root: str = field(default_factory=default_scratch_root)
    test_command: str | None = None  # run by /bin/sh in the checkout; overrides the repository's choice
    allow_bare: bool = False
    sandbox: SandboxKind | None = None  # None: the strongest available
    limits: Limits = field(default_factory=Limits)
    docker_image: str = DEFAULT_IMAGE
    ro_paths: tuple[str, ...] = ()  # more host paths the bubblewrap sandbox may read
    sandbox_uid: int = 65534  # the user sandboxed commands run as when QA runs as root

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> QAConfig:
        env = os.environ if env is None else env

        def setting(name: str) -> str | None:
            return env_text(env, name)

        timeout = _positive(TIMEOUT_VAR, env_number(env, TIMEOUT_VAR, 600.0, kind=float, error=ConfigError))
        memory = _positive(MEMORY_VAR, env_number(env, MEMORY_VAR, 2048, kind=int, error=ConfigError))
        cpu = _positive(CPU_VAR, env_number(env, CPU_VAR, None, kind=int, error=ConfigError))
        procs = _positive(MAX_PROCS_VAR, env_number(env, MAX_PROCS_VAR, 256, kind=int, error=ConfigError))
        uid = _positive(SANDBOX_UID_VAR, env_number(env, SANDBOX_UID_VAR, 65534, kind=int, error=ConfigError))
        limits = Limits(timeout_s=timeout, memory_mb=memory, cpu_s=cpu, max_procs=procs)

        sandbox = setting(SANDBOX_VAR)
        if sandbox is not None and sandbox.lower() == "auto":
            sandbox = None
        if sandbox is not None and sandbox.lower() not in STRENGTH:
            raise ConfigError(f"{SANDBOX_VAR} must be auto or one of {', '.join(STRENGTH)}, got {sandbox!r}")

        allow = setting(ALLOW_BARE_VAR)
        if allow is not None and allow.lower() not in _TRUE | _FALSE:
            raise ConfigError(f"{ALLOW_BARE_VAR} must be 1 or 0 (true/false), got {allow!r}")

        scratch = setting(SCRATCH_ROOT_VAR) or default_scratch_root()
        if "\0" in scratch or not os.path.isabs(os.path.expanduser(scratch)):
            raise ConfigError(f"{SCRATCH_ROOT_VAR} must be an absolute path, got {scratch!r}")

        ro_paths = tuple(p for p in (setting(RO_PATHS_VAR) or "").split(os.pathsep) if p)
        for path in ro_paths:
            if not os.path.isabs(path):
                raise ConfigError(f"{RO_PATHS_VAR} must list absolute paths, got {path!r}")

        return cls(
            scratch_root=os.path.expanduser(scratch),
            test_command=setting(TEST_COMMAND_VAR),
            allow_bare=allow is not None and allow.lower() in _TRUE,
            sandbox=cast(SandboxKind | None, sandbox.lower() if sandbox else None),
            limits=limits,
            docker_image=setting(DOCKER_IMAGE_VAR) or DEFAULT_IMAGE,
            ro_paths=ro_paths,
            sandbox_uid=uid,
        )


def _positive(name: str, value: Any) -> Any:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{name} must be greater than 0, got {value!r}")
    return value

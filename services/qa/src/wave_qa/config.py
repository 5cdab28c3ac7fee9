"""QA configuration from the environment. A value that cannot be used is an error naming its variable."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from pydantic import Field, PositiveInt, field_validator
from wave_runtime.settings import EnvSettings, SettingError, read_settings

from .prepare import SetupConfig, SetupConfigError, parse_setup_value
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
SETUP_VAR = "WAVE_QA_SETUP"
ENV_ROOT_VAR = "WAVE_QA_ENV_ROOT"

class ConfigError(SettingError):
    """A setting that cannot be used; the message names the variable."""


def default_scratch_root() -> str:
    return str(Path(tempfile.gettempdir()) / "wave-qa")


class QASettings(EnvSettings):
    """The WAVE_QA_* variables, parsed; QAConfig.from_env turns them into a QAConfig."""

    model_config = {"env_prefix": "WAVE_QA_"}

    scratch_root: str | None = None
    test_command: str | None = None
    allow_bare: bool = False
    sandbox: str | None = None  # auto (None) or a sandbox kind
    timeout_s: float = Field(600.0, gt=0, allow_inf_nan=False)
    memory_mb: PositiveInt = 2048
    cpu_s: PositiveInt | None = None
    max_procs: PositiveInt = 256
    docker_image: str = DEFAULT_IMAGE
    ro_paths: str = ""  # host paths separated by os.pathsep
    sandbox_uid: PositiveInt = 65534
    setup: str | None = None  # auto, none, or python,node,go: overrides the target branch's .wave/qa.toml
    env_root: str | None = None  # prepared environments and build caches; default <WAVE home>/qa-env
    setup_timeout_s: float = Field(900.0, gt=0, allow_inf_nan=False)

    @field_validator("setup")
    @classmethod
    def _known_setup(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_setup_value([v for v in value.split(",") if v.strip()], source=SETUP_VAR)
            except SetupConfigError as exc:
                raise ValueError(str(exc).removeprefix(f"{SETUP_VAR}: ")) from None
        return value

    @field_validator("env_root")
    @classmethod
    def _absolute_env_root(cls, value: str | None) -> str | None:
        if value is not None and ("\0" in value or not os.path.isabs(os.path.expanduser(value))):
            raise ValueError("must be an absolute path")
        return value

    @field_validator("sandbox")
    @classmethod
    def _known_sandbox(cls, value: str | None) -> str | None:
        if value is not None and value.lower() != "auto" and value.lower() not in STRENGTH:
            raise ValueError(f"must be auto or one of {', '.join(STRENGTH)}")
        return value

    @field_validator("scratch_root")
    @classmethod
    def _absolute_scratch_root(cls, value: str | None) -> str | None:
        if value is not None and ("\0" in value or not os.path.isabs(os.path.expanduser(value))):
            raise ValueError("must be an absolute path")
        return value

    @field_validator("ro_paths")
    @classmethod
    def _absolute_ro_paths(cls, value: str) -> str:
        if any(not os.path.isabs(path) for path in value.split(os.pathsep) if path):
            raise ValueError("must list absolute paths")
        return value

    @property
    def ro_path_list(self) -> tuple[str, ...]:
        return tuple(path for path in self.ro_paths.split(os.pathsep) if path)


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
    setup: SetupConfig | None = None  # the operator's setup; None: the target branch's .wave/qa.toml decides
    env_root: str | None = None  # None: <WAVE home>/qa-env
    setup_timeout_s: float = 900.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> QAConfig:
        settings = read_settings(QASettings, env, error=ConfigError)
        sandbox = settings.sandbox.lower() if settings.sandbox else None
        return cls(
            scratch_root=os.path.expanduser(settings.scratch_root or default_scratch_root()),
            test_command=settings.test_command,
            allow_bare=settings.allow_bare,
            sandbox=cast(SandboxKind | None, None if sandbox == "auto" else sandbox),
            limits=Limits(
                timeout_s=settings.timeout_s,
                memory_mb=settings.memory_mb,
                cpu_s=settings.cpu_s,
                max_procs=settings.max_procs,
            ),
            docker_image=settings.docker_image,
            ro_paths=settings.ro_path_list,
            sandbox_uid=settings.sandbox_uid,
            setup=None if settings.setup is None else SetupConfig(
                parse_setup_value([v for v in settings.setup.split(",") if v.strip()], source=SETUP_VAR),
                source=SETUP_VAR,
            ),
            env_root=os.path.expanduser(settings.env_root) if settings.env_root else None,
            setup_timeout_s=settings.setup_timeout_s,
        )

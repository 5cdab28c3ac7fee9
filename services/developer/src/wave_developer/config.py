"""Developer configuration from the environment; a bad value stops the service with the variable's name."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

from wave_runtime.settings import EnvSettings, SettingError, read_settings

SCRATCH_ROOT_VAR = "WAVE_DEVELOPER_SCRATCH_ROOT"
MAX_TOOL_ROUNDS_VAR = "WAVE_DEVELOPER_MAX_TOOL_ROUNDS"
MAX_ANSWER_ATTEMPTS_VAR = "WAVE_DEVELOPER_MAX_ANSWER_ATTEMPTS"
MAX_TOKENS_VAR = "WAVE_DEVELOPER_MAX_TOKENS"
ON_NO_DIFF_VAR = "WAVE_DEVELOPER_ON_NO_DIFF"
CONCURRENCY_VAR = "WAVE_DEVELOPER_CONCURRENCY"

OnNoDiff = Literal["reject", "escalate"]


class ConfigError(SettingError):
    """A setting that cannot be used; the message names the variable."""


class DeveloperSettings(EnvSettings):
    """The WAVE_DEVELOPER_* variables, parsed; DeveloperConfig checks the ranges."""

    model_config = {"env_prefix": "WAVE_DEVELOPER_"}

    scratch_root: Path | None = None
    max_tool_rounds: int = 8
    max_answer_attempts: int = 3
    max_tokens: int | None = None
    on_no_diff: str = "reject"
    concurrency: int = 4


@dataclass(frozen=True)
class DeveloperConfig:
    scratch_root: Path = Path(tempfile.gettempdir()) / "wave-developer"
    max_tool_rounds: int = 8
    max_answer_attempts: int = 3
    max_tokens: int | None = None
    on_no_diff: OnNoDiff = "reject"
    concurrency: int = 4  # tasks of one run written at the same time by this instance

    def __post_init__(self) -> None:
        _within(CONCURRENCY_VAR, self.concurrency, 1, 32)
        _within(MAX_TOOL_ROUNDS_VAR, self.max_tool_rounds, 0, 50)
        _within(MAX_ANSWER_ATTEMPTS_VAR, self.max_answer_attempts, 1, 10)
        if self.max_tokens is not None:
            _within(MAX_TOKENS_VAR, self.max_tokens, 1, 1_000_000)
        if self.on_no_diff not in ("reject", "escalate"):
            raise ConfigError(f"{ON_NO_DIFF_VAR} must be 'reject' or 'escalate', got {self.on_no_diff!r}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DeveloperConfig:
        settings = read_settings(DeveloperSettings, env, error=ConfigError)
        root = settings.scratch_root.expanduser() if settings.scratch_root else cls.scratch_root
        if root.exists() and not root.is_dir():
            raise ConfigError(f"{SCRATCH_ROOT_VAR}={str(settings.scratch_root)!r} exists and is not a directory")
        return cls(
            scratch_root=root,
            max_tool_rounds=settings.max_tool_rounds,
            max_answer_attempts=settings.max_answer_attempts,
            max_tokens=settings.max_tokens,
            on_no_diff=cast(OnNoDiff, settings.on_no_diff.lower()),
            concurrency=settings.concurrency,
        )


def _within(name: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{name} must be a whole number from {low} to {high}, got {value!r}")

"""Planner configuration from the environment: retry backoff, how often a model may answer wrongly,
how many repository paths go into a planning prompt."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import Field
from wave_runtime.settings import EnvSettings, SettingError, read_settings

from .backoff import Backoff

RETRY_BASE_VAR = "WAVE_RETRY_BASE_S"
RETRY_CAP_VAR = "WAVE_RETRY_CAP_S"
MAX_ANSWERS_VAR = "WAVE_PLANNER_MAX_ANSWERS"
LISTING_LIMIT_VAR = "WAVE_PLANNER_LISTING_LIMIT"


class ConfigError(SettingError):
    """A setting that cannot be used; the message names the variable."""


class PlannerSettings(EnvSettings):
    """The planner's variables, parsed; PlannerConfig checks the ranges."""

    retry_base_s: float = Field(1.0, validation_alias=RETRY_BASE_VAR)
    retry_cap_s: float = Field(60.0, validation_alias=RETRY_CAP_VAR)
    max_answers: int = Field(3, validation_alias=MAX_ANSWERS_VAR)
    listing_limit: int = Field(300, validation_alias=LISTING_LIMIT_VAR)


@dataclass(frozen=True)
class PlannerConfig:
    retry_base_s: float = 1.0  # the first retry waits about 2 × base, each next one twice as long
    retry_cap_s: float = 60.0  # no retry waits longer than this
    max_answers: int = 3  # invalid model answers tolerated per question before a human is asked
    listing_limit: int = 300  # repository paths shown to the planner model

    def __post_init__(self) -> None:
        _check(RETRY_BASE_VAR, self.retry_base_s, minimum=0.0)
        _check(RETRY_CAP_VAR, self.retry_cap_s, minimum=0.0, exclusive=True)
        if self.retry_base_s > self.retry_cap_s:
            raise ConfigError(
                f"{RETRY_BASE_VAR} ({self.retry_base_s}) must not exceed {RETRY_CAP_VAR} ({self.retry_cap_s})"
            )
        if isinstance(self.max_answers, bool) or not isinstance(self.max_answers, int) or not 1 <= self.max_answers <= 20:
            raise ConfigError(f"{MAX_ANSWERS_VAR} must be a whole number from 1 to 20, got {self.max_answers!r}")
        if (
            isinstance(self.listing_limit, bool)
            or not isinstance(self.listing_limit, int)
            or not 0 <= self.listing_limit <= 10_000
        ):
            raise ConfigError(f"{LISTING_LIMIT_VAR} must be a whole number from 0 to 10000, got {self.listing_limit!r}")

    @property
    def backoff(self) -> Backoff:
        return Backoff(base_s=self.retry_base_s, cap_s=self.retry_cap_s)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PlannerConfig:
        """Unset or blank variables keep their defaults."""
        settings = read_settings(PlannerSettings, env, error=ConfigError)
        return cls(**settings.model_dump())


def _check(variable: str, value: float, *, minimum: float, exclusive: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{variable} must be a number of seconds, got {value!r}")
    if value < minimum or (exclusive and value == minimum):
        relation = "greater than" if exclusive else "at least"
        raise ConfigError(f"{variable} must be {relation} {minimum:g} seconds, got {value:g}")

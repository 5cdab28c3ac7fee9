"""Reading settings from the environment: one rule for every service and the CLI. A blank variable
(empty or only spaces) is unset, values lose surrounding spaces, and a bad value is an error of one
line naming the variable, such as `WAVE_QA_TIMEOUT_S: Input should be a valid number, got 'abc'`.

A settings class subclasses `EnvSettings` (pydantic-settings) and is read with `read_settings`, from
the process environment or from a mapping given instead (tests, factories called with their own env).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

from pydantic import SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)


class SettingError(ValueError):
    """A setting that cannot be used; the message names the variable. Services subclass it."""


# The mapping `read_settings` reads instead of os.environ, for the duration of one read.
_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("wave_settings_environ", default=None)


class _Environment(EnvSettingsSource):
    """Environment variables from os.environ or the mapping being read, stripped of surrounding spaces,
    so that a variable holding only spaces is blank like an empty one."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ  # read by _load_env_vars, which the base __init__ calls
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        values = {
            (name if self.case_sensitive else name.lower()): value.strip()
            for name, value in self._environ.items()
            if isinstance(value, str)
        }
        return {name: value for name, value in values.items() if value or not self.env_ignore_empty}


class EnvSettings(BaseSettings):
    """The base of every settings class: variables only (no .env file), blank means unset, frozen."""

    model_config = SettingsConfigDict(env_ignore_empty=True, extra="ignore", frozen=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        environ = _ENVIRON.get()
        return init_settings, _Environment(settings_cls, os.environ if environ is None else environ)


S = TypeVar("S", bound=EnvSettings)


def read_settings(
    settings_cls: type[S], env: Mapping[str, str] | None = None, *, error: type[SettingError] = SettingError
) -> S:
    """`settings_cls` read from `env` (default: the process environment); `error` with one line naming
    the variable when a value is bad."""
    with _reading(env):
        try:
            return settings_cls()
        except ValidationError as exc:
            raise error(setting_error_line(settings_cls, exc)) from None


@contextmanager
def _reading(env: Mapping[str, str] | None) -> Iterator[None]:
    token = _ENVIRON.set(env)
    try:
        yield
    finally:
        _ENVIRON.reset(token)


def setting_error_line(settings_cls: type[EnvSettings], exc: ValidationError) -> str:
    """The first problem of a ValidationError of `settings_cls`, as `VARIABLE: problem, got 'value'`.
    A secret's value (a SecretStr field) is never repeated."""
    problem = exc.errors()[0]
    message = str(problem["msg"]).removeprefix("Value error, ")
    # pydantic explains how parsing failed ("unable to parse string as a number"); the value says it better
    message = message.partition(", unable to")[0]
    location = problem["loc"]
    if not location:  # a check across several variables: its message names them
        return message
    field, variable = _field_and_variable(settings_cls, str(location[0]))
    if field is not None and field.annotation is not None and SecretStr in _types_in(field.annotation):
        return f"{variable}: {message}"
    return f"{variable}: {message}, got {problem['input']!r}"


def _field_and_variable(settings_cls: type[EnvSettings], key: str) -> tuple[Any, str]:
    prefix = settings_cls.model_config.get("env_prefix", "")
    for name, field in settings_cls.model_fields.items():
        if isinstance(field.validation_alias, str) and field.validation_alias.lower() == key.lower():
            return field, field.validation_alias.upper()
        if name == key:
            return field, f"{prefix}{name}".upper()
    return None, key.upper()


def _types_in(annotation: Any) -> set[Any]:
    return {annotation, *(t for arg in getattr(annotation, "__args__", ()) for t in _types_in(arg))}


HOME_VAR = "WAVE_HOME"


class _StateHome(EnvSettings):
    wave_home: str | None = None
    xdg_state_home: str | None = None


def wave_home(env: Mapping[str, str]) -> Path:
    """Where WAVE keeps its per-user state (the embedded store, dead letters, worktrees): WAVE_HOME,
    else the XDG state directory (`$XDG_STATE_HOME/wave`, by default `~/.local/state/wave`). Never the
    working directory, which is often the user's own repository."""
    settings = read_settings(_StateHome, env)
    if settings.wave_home:
        return Path(settings.wave_home).expanduser()
    state = settings.xdg_state_home
    # The XDG specification says a relative XDG_STATE_HOME is invalid and must be ignored.
    base = Path(state) if state and Path(state).is_absolute() else Path.home() / ".local" / "state"
    return base / "wave"

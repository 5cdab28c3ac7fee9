"""Reading a service's settings from the environment: one rule for every service, so an empty
variable means "unset" everywhere and a bad value is always an error naming the variable."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

N = TypeVar("N", int, float)
D = TypeVar("D")


class SettingError(ValueError):
    """A setting that cannot be used; the message names the variable. Services subclass it."""


def env_text(env: Mapping[str, str], name: str) -> str | None:
    """The variable's value without surrounding blanks; None when unset or blank."""
    value = env.get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def env_number(
    env: Mapping[str, str],
    name: str,
    default: D,
    *,
    kind: type[N] = int,  # type: ignore[assignment]
    error: type[SettingError] = SettingError,
    what: str | None = None,
) -> N | D:
    """`kind(value)` of the variable, `default` when unset; `error` naming it when not a number.
    `what` describes the expected value in that message (default: "a whole number" or "a number")."""
    text = env_text(env, name)
    if text is None:
        return default
    try:
        return kind(text)
    except ValueError:
        expected = what or ("a whole number" if kind is int else "a number")
        raise error(f"{name} must be {expected}, got {text!r}") from None


HOME_VAR = "WAVE_HOME"


def wave_home(env: Mapping[str, str]) -> Path:
    """Where WAVE keeps its per-user state (the embedded store, dead letters, worktrees): WAVE_HOME,
    else the XDG state directory (`$XDG_STATE_HOME/wave`, by default `~/.local/state/wave`). Never the
    working directory, which is often the user's own repository."""
    if home := env_text(env, HOME_VAR):
        return Path(home).expanduser()
    state = env_text(env, "XDG_STATE_HOME")
    # The XDG specification says a relative XDG_STATE_HOME is invalid and must be ignored.
    base = Path(state) if state and Path(state).is_absolute() else Path.home() / ".local" / "state"
    return base / "wave"

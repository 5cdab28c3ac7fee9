"""Reading a service's settings from the environment: one rule for every service, so an empty
variable means "unset" everywhere and a bad value is always an error naming the variable."""

from __future__ import annotations

from collections.abc import Mapping
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

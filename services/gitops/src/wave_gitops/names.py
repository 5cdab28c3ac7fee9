"""Validation of the names gitops puts into git: run ids, branches, roles."""

from __future__ import annotations

import re

import pygit2
from wave_events import validate_run_id
from wave_events.errors import InvalidStreamIdError

from .errors import InvalidInputError

RUN_BRANCH_PREFIX = "wave/"
MERGE_STRATEGIES = ("squash", "merge", "ff")
_ROLE = re.compile(r"^[a-z][a-z0-9-]{0,31}$")


def run_id(value: object) -> str:
    try:
        return validate_run_id(value)
    except InvalidStreamIdError:
        raise InvalidInputError(
            f"invalid run id {value!r}: use 1-64 letters, digits, '_' or '-', starting with a letter or digit"
        ) from None


def branch(value: object) -> str:
    if (
        not isinstance(value, str)
        or not value
        or value.startswith("-")
        or not pygit2.reference_is_valid_name(f"refs/heads/{value}")
    ):
        raise InvalidInputError(f"invalid branch name {value!r}")
    return value


def role(value: object) -> str:
    if not isinstance(value, str) or not _ROLE.fullmatch(value):
        raise InvalidInputError(f"invalid role {value!r}: use lowercase letters, digits and '-' (e.g. 'developer')")
    return value


def merge_strategy(value: object) -> str:
    if value not in MERGE_STRATEGIES:
        raise InvalidInputError(f"invalid merge strategy {value!r}: use one of {', '.join(MERGE_STRATEGIES)}")
    return value  # type: ignore[return-value]


def run_branch(run: str) -> str:
    return f"{RUN_BRANCH_PREFIX}{run_id(run)}"


def base_ref(run: str) -> str:
    """Where the commit a run branched from is kept, so `prepare` answers the same after commits land."""
    return f"refs/wave/base/{run_id(run)}"


def worktree_name(run: str) -> str:
    return f"wave-{run_id(run)}"

"""The actions the scorer judges. Each is a frozen value; `action_from_mapping` validates untrusted input."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from wave_events.catalogue import ChangeProposed


class ActionError(ValueError):
    """An action description is malformed; the message says which field and why."""


@dataclass(frozen=True)
class ShellCommand:
    kind: ClassVar[str] = "command"
    command: str
    worktree: str = "."


@dataclass(frozen=True)
class GitCommand:
    kind: ClassVar[str] = "git"
    command: str
    worktree: str = "."


@dataclass(frozen=True)
class Diff:
    """A proposed change: its diff, or — when the developer withheld a diff holding secrets — where
    each secret was, as (path, line, kind), never the value."""

    kind: ClassVar[str] = "diff"
    diff: str
    withheld: tuple[tuple[str, int, str], ...] = ()

    @classmethod
    def of_proposal(cls, proposal: ChangeProposed) -> Diff:
        """The change a ChangeProposed asks to make, exactly as proposed."""
        return cls(proposal.diff, tuple((w.path, w.line, w.kind) for w in proposal.withheld))


@dataclass(frozen=True)
class Sql:
    kind: ClassVar[str] = "sql"
    sql: str


@dataclass(frozen=True)
class FileWrite:
    kind: ClassVar[str] = "file_write"
    path: str
    content: str = ""
    worktree: str = "."


@dataclass(frozen=True)
class Push:
    """Publishing `branch` to `remote` (a URL or the path of another repository), as gitops does with
    a run branch."""

    kind: ClassVar[str] = "push"
    remote: str
    branch: str


@dataclass(frozen=True)
class Merge:
    """Landing `branch` on `target` after the merge review, and pushing `target` to `remote` when set."""

    kind: ClassVar[str] = "merge"
    branch: str
    target: str
    strategy: str = "squash"
    remote: str = ""


Action = ShellCommand | GitCommand | Diff | Sql | FileWrite | Push | Merge

ACTION_KINDS: dict[str, type[Action]] = {
    cls.kind: cls for cls in (ShellCommand, GitCommand, Diff, Sql, FileWrite, Push, Merge)
}

# kind -> (required text fields, optional text fields)
_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "command": (("command",), ("worktree",)),
    "git": (("command",), ("worktree",)),
    "diff": (("diff",), ()),
    "sql": (("sql",), ()),
    "file_write": (("path",), ("content", "worktree")),
    "push": (("remote", "branch"), ()),
    "merge": (("branch", "target"), ("strategy", "remote")),
}


def action_from_mapping(data: Any) -> Action:
    """Build an action from {"kind": …, <field>: …}; unknown kinds, missing or non-string fields are refused."""
    if not isinstance(data, Mapping):
        raise ActionError(f"expected a JSON object, got {type(data).__name__}")
    kind = data.get("kind")
    if kind not in ACTION_KINDS:
        known = ", ".join(sorted(ACTION_KINDS))
        raise ActionError(f"unknown kind {kind!r}; expected one of {known}")
    required, optional = _FIELDS[kind]
    values: dict[str, str] = {}
    for name in required:
        if name not in data:
            raise ActionError(f"kind {kind!r} needs the field {name!r}")
    for name in (*required, *optional):
        if name in data:
            value = data[name]
            if not isinstance(value, str):
                raise ActionError(f"field {name!r} must be a string, got {type(value).__name__}")
            values[name] = value
    for name in required:
        if not values[name].strip() and name != "path":
            raise ActionError(f"field {name!r} is empty")
    return ACTION_KINDS[kind](**values)


def action_as_mapping(action: Action) -> dict[str, str]:
    """The inverse of `action_from_mapping`: what a verdict event keeps so the action can be scored again."""
    values = {name: value for name, value in vars(action).items() if isinstance(value, str)}
    return {"kind": action.kind, **values}

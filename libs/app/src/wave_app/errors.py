"""What a command or query refuses, as one line a person can act on. Each kind carries the HTTP
status an API answers with; the CLI prints the line and exits 1.

The line names no edge's spelling: an input is named by its neutral name (`usd`, `target_branch`),
and what a person can do about it is a `Remedy`. Each edge (the CLI, the API) phrases both in its own
terms — a command-line option, a JSON field, a command or an endpoint — with `phrase`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

RemedyKind = Literal[
    "force",  # the change is allowed anyway when asked for explicitly
    "name_escalation",  # several questions wait: say which one (`choices`)
    "raise_budget",  # a budget stop is answered by raising the budget, not by approving
    "name_target_branch",  # no current branch to default to
    "list_escalations",  # where the pending questions are listed
    "list_runs",  # where the runs are listed
    "raw_events",  # where the stored bytes of an undecodable event can be read
]


@dataclass(frozen=True)
class Remedy:
    """What a person can do about a refusal, for each edge to phrase."""

    kind: RemedyKind
    run_id: str = ""
    choices: tuple[str, ...] = ()


class AppError(Exception):
    """A request WAVE will not carry out, and why (one line). `field`: the input the line starts with,
    by its neutral name; `remedy`: what to do, phrased by the edge after the line."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None, remedy: Remedy | None = None) -> None:
        super().__init__(message)
        self.message, self.field, self.remedy = message, field, remedy

    def __str__(self) -> str:
        return self.message


def phrase(error: AppError, fields: Mapping[str, str], remedies: Callable[[Remedy], str]) -> str:
    """The refusal as an edge says it: the input under the edge's name for it (`fields`), then the
    remedy in the edge's words."""
    line = error.message
    if error.field is not None and line.startswith(error.field):
        line = fields.get(error.field, error.field) + line[len(error.field):]
    if error.remedy is not None:
        line = f"{line}; {remedies(error.remedy)}"
    return line


class InvalidRequest(AppError):
    """The request itself is wrong: a bad amount, a blank story, a repository or branch that does not exist."""

    status = 400


class NotFound(AppError):
    """No such run."""

    status = 404


class Conflict(AppError):
    """The run's state does not allow it: finished, not waiting, already answered, or changing too fast."""

    status = 409


class Unreadable(AppError):
    """A run with a stored event that can no longer be decoded."""

    status = 409

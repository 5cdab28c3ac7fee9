"""Commit trailers: the idempotency key of a commit and the way a run's commits are found again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import pygit2
from pydantic import TypeAdapter, ValidationError
from wave_events import catalogue

from . import names
from .errors import InvalidInputError

RUN = "Wave-Run"
EVENT = "Wave-Event"
TASK = "Wave-Task"
ATTEMPT = "Wave-Attempt"
SQUASHED = "Wave-Squashed"  # the run branch head a squash commit stands for

SUBJECT_LIMIT = 72

_TASK_ID: TypeAdapter[str] = TypeAdapter(Annotated[str, catalogue.TaskId])


@dataclass(frozen=True)
class ChangeTrailers:
    """Who caused a change commit. `event_id` is the causing event: a commit with the same event and
    task on the run branch is that change, already made."""

    event_id: str
    task_id: str
    attempt: int

    def __post_init__(self) -> None:
        if not isinstance(self.event_id, str) or not self.event_id.strip() or "\n" in self.event_id:
            raise InvalidInputError(f"invalid causing event id {self.event_id!r}")
        try:
            _TASK_ID.validate_python(self.task_id, strict=True)
        except ValidationError:
            raise InvalidInputError(f"invalid task id {self.task_id!r}") from None
        if not isinstance(self.attempt, int) or isinstance(self.attempt, bool) or self.attempt < 1:
            raise InvalidInputError(f"invalid attempt {self.attempt!r}: a positive integer")


def change_message(run_id: str, role: str, trailers: ChangeTrailers) -> str:
    return (
        f"{trailers.task_id}: change by {role} (attempt {trailers.attempt})\n\n"
        f"{RUN}: {names.run_id(run_id)}\n"
        f"{EVENT}: {trailers.event_id}\n"
        f"{TASK}: {trailers.task_id}\n"
        f"{ATTEMPT}: {trailers.attempt}\n"
    )


def merge_message(run_id: str, branch: str, target_branch: str) -> str:
    return f"Merge {branch} into {target_branch}\n\n{RUN}: {names.run_id(run_id)}\n"


def story_subject(story: str) -> str:
    """A commit subject from a story: its first non-blank line, without Markdown heading marks, cut
    at a word to fit one line of `git log --oneline`."""
    line = next((text.strip() for text in story.splitlines() if text.strip()), "")
    line = line.lstrip("#").strip()
    if len(line) <= SUBJECT_LIMIT:
        return line
    cut = line[: SUBJECT_LIMIT - 1].rsplit(" ", 1)[0].rstrip(" ,.;:")
    return f"{cut}…"


def squash_message(run_id: str, branch: str, head: str, attempts: int, subject: str) -> str:
    subject = story_subject(subject) or f"Land {branch}"
    return (
        f"{subject}\n\n"
        f"Squashed from {branch} ({attempts} commit(s)); the branch keeps every attempt.\n\n"
        f"{RUN}: {names.run_id(run_id)}\n"
        f"{SQUASHED}: {head}\n"
    )


def trailers_of(commit: pygit2.Commit) -> dict[str, str]:
    try:
        return dict(commit.message_trailers)
    except (pygit2.GitError, UnicodeDecodeError):
        return {}


def is_change(commit: pygit2.Commit, run_id: str, trailers: ChangeTrailers) -> bool:
    found = trailers_of(commit)
    return (
        found.get(RUN) == run_id
        and found.get(EVENT) == trailers.event_id
        and found.get(TASK) == trailers.task_id
    )

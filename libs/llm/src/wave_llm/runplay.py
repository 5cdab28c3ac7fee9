"""Scripted answers bound to a run, not to a process.

A cassette answers a run's calls in the run's own order: the n-th call of role R in run X plays R's
n-th answer, where n comes from the run's history (the `LLMCallRecorded` of role R its state folded),
plus the calls made so far by the handling in progress. A restarted process, another instance of the
service, or a re-decision after a concurrency conflict therefore plays the same answer, and any number
of runs play the same cassette side by side, each from its start.

A service makes its model calls for an event inside `playing_run(state)`. A run that carries its
own cassette (`RunRequested.cassette`, from `wave run --cassette`) plays it whatever models the
service has; any other run plays the service's scripted providers by the same counts.
"""

from __future__ import annotations

import contextvars
import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache

from pydantic import ValidationError
from wave_events.catalogue import LLMCallRecorded
from wave_events.projections.run_state import RunState

from .cassette import Cassette
from .errors import ModelSourceUnavailable


@dataclass
class RunPlay:
    """The run whose calls are being made: how many calls of each role it has made, and its cassette."""

    run_id: str
    played: dict[str, int] = field(default_factory=dict)
    cassette: Cassette | None = None
    cassette_sha256: str = ""  # of the cassette's content before it was stored (redacted)

    def next_call(self, role: str, task: str | None = None) -> int:
        """The run's index of this call of `role` (0 for its first), counted as made; with `task`, the
        index among that task's calls of the role."""
        index = self.played.get(role, 0)
        self.played[role] = index + 1
        if task is None:
            return index
        lane = f"{role}@{task}"
        index = self.played.get(lane, 0)
        self.played[lane] = index + 1
        return index

    def untasked_calls(self, role: str) -> int:
        """The calls of `role` made for no task."""
        tasked = sum(n for key, n in self.played.items() if key.startswith(f"{role}@"))
        return self.played.get(role, 0) - tasked


    def account(self, events: Iterable[object]) -> None:
        """Count the calls recorded in `events` (work done earlier and given again) as made."""
        for event in events:
            if isinstance(event, LLMCallRecorded):
                self.played[event.role] = self.played.get(event.role, 0) + 1
                if event.task_id is not None:
                    lane = f"{event.role}@{event.task_id}"
                    self.played[lane] = self.played.get(lane, 0) + 1


_CURRENT: contextvars.ContextVar[RunPlay | None] = contextvars.ContextVar("wave_run_play", default=None)


@contextmanager
def playing_run(state: RunState) -> Iterator[RunPlay]:
    """Model calls made inside are the calls of this run (see the module's docstring)."""
    play = RunPlay(state.run_id, dict(state.llm_calls_by_role), run_cassette(state.cassette), state.cassette_sha256)
    token = _CURRENT.set(play)
    try:
        yield play
    finally:
        _CURRENT.reset(token)


def current_run_play() -> RunPlay | None:
    return _CURRENT.get()


@lru_cache(maxsize=64)
def run_cassette(document: str) -> Cassette | None:
    """The cassette a run carries (its JSON text), parsed once per process; None for an empty one."""
    if not document:
        return None
    try:
        return Cassette.model_validate_json(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ModelSourceUnavailable(
            f"the run's cassette is not valid: {where}: {first['msg']}",
            action="submit the run again with a valid cassette",
        ) from None


def cassette_document(cassette: Cassette) -> str:
    """The text a run carries for `cassette` (what `run_cassette` reads back)."""
    return cassette.model_dump_json(exclude_defaults=True)


def document_sha256(document: str) -> str:
    """The fingerprint a run keeps of its cassette's text (`RunRequested.cassette_sha256`)."""
    return hashlib.sha256(document.encode()).hexdigest()


__all__ = ["RunPlay", "cassette_document", "document_sha256", "current_run_play", "playing_run", "run_cassette"]

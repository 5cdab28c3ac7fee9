"""A run's stream built event by event in memory, the state folded as the runtime would give it to a
handler at each step: the one builder of runs for the service and projection tests (not collected: no
test_ prefix)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from wave_events import DomainEvent, Envelope, new_envelope
from wave_events.projections import RunState, evolve


def sha(n: int) -> str:
    """A commit id that reads as its number: sha(2) == "000…02"."""
    return f"{n:040x}"


@dataclass(frozen=True)
class Step:
    state: RunState  # the run folded up to and including `event`
    event: Envelope


class RunStream:
    """`occurred_at` fixes every event's time (for decisions that depend on it); by default the real
    clock stamps them."""

    def __init__(self, run_id: str = "r1", *, occurred_at: datetime | None = None) -> None:
        self.run_id = run_id
        self.stream_id = f"run-{run_id}"
        self.occurred_at = occurred_at
        self.state = RunState()
        self.steps: list[Step] = []
        self.last: Step | None = None  # tests may point it back at an earlier step to re-decide it

    @property
    def events(self) -> list[Envelope]:
        """Every event added, in stream order: what the store would hold."""
        return [step.event for step in self.steps]

    def add(self, payload: DomainEvent, *, producer: str = "test", event_id: uuid.UUID | None = None) -> Step:
        n = self.state.version + 1
        envelope = new_envelope(
            self.stream_id, payload, producer=producer, event_id=event_id or uuid.uuid4(),
            occurred_at=self.occurred_at or datetime.now(UTC),
        ).positioned(n, n)
        self.state = evolve(self.state, envelope)
        self.last = Step(self.state, envelope)
        self.steps.append(self.last)
        return self.last

    def add_all(self, outputs: Iterable[object]) -> Step | None:
        """Append the domain events among a handler's outputs (timers are the runtime's business)."""
        for output in outputs:
            if isinstance(output, DomainEvent):
                self.add(output)
        return self.last

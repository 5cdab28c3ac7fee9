"""The event store port: an append-only log of streams with one global order."""

from __future__ import annotations

import abc
import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from wave_events import Envelope, encode_payload_checked, registry, validate_stream_id

from .errors import InvalidAppendError


@dataclass(frozen=True)
class AppendResult:
    """Where the appended events now stand. `duplicate` is True when every event was stored already."""

    events: tuple[Envelope, ...]
    duplicate: bool

    @property
    def versions(self) -> list[int]:
        return [e.stream_version for e in self.events if e.stream_version is not None]

    @property
    def positions(self) -> list[int]:
        return [e.global_position for e in self.events if e.global_position is not None]

    @property
    def last_version(self) -> int:
        return self.versions[-1]


@dataclass(frozen=True)
class TimerRecord:
    """A durable timer: append `envelope` to `stream_id` once `due_at` has passed."""

    timer_id: str
    stream_id: str
    due_at: datetime
    envelope: Envelope

    def __post_init__(self) -> None:
        if not self.timer_id or len(self.timer_id) > 200:
            raise InvalidAppendError(f"timer id must be 1-200 characters, got {self.timer_id!r}")
        if self.due_at.tzinfo is None:
            raise InvalidAppendError(f"timer {self.timer_id!r}: due_at must carry a timezone")
        if self.envelope.stream_id != self.stream_id:
            raise InvalidAppendError(f"timer {self.timer_id!r}: its event belongs to {self.envelope.stream_id!r}")


@dataclass(frozen=True)
class Handling:
    """Everything one consumer decided about one event, stored in a single transaction:
    the output events, the timers scheduled and cancelled, and the mark that the event is handled."""

    consumer: str
    cause_event_id: uuid.UUID
    stream_id: str
    events: tuple[Envelope, ...] = ()
    expected_version: int = 0
    schedule: tuple[TimerRecord, ...] = ()
    cancel: tuple[str, ...] = ()


@dataclass(frozen=True)
class HandlingResult:
    """`duplicate` is True when the consumer had handled the event before: nothing was written."""

    duplicate: bool
    appended: AppendResult | None = None
    timers_scheduled: tuple[str, ...] = field(default=())


class EventStore(abc.ABC):
    """Contract (tested by tests/integration/store/test_store_contract.py against every adapter):

    * `append` stores the events of one stream atomically, at versions expected_version+1… , or raises
      ConcurrencyError when the stream is not at `expected_version` (0 for a stream with no events).
      Of several concurrent appends deciding on the same version, exactly one succeeds.
    * Appending a batch whose event ids are all stored already on that stream is a no-op that returns the
      stored positions with `duplicate=True` (whatever `expected_version` says, so a retried append is safe);
      a batch that is partly stored, or stored on another stream, raises EventIdConflictError.
    * Global positions increase with commit order: once `read_all` has returned position P, no event
      with a position at or below P commits later. Followers may therefore track a single position.
    * Stored events are never changed or removed (the database refuses UPDATE and DELETE).
    * Events come back with their payload upcast to the newest version of their type, redacted as stored.
    """

    @abc.abstractmethod
    async def append(self, stream_id: str, events: Sequence[Envelope], expected_version: int) -> AppendResult: ...

    @abc.abstractmethod
    async def read_stream(self, stream_id: str, from_version: int = 1) -> list[Envelope]: ...

    @abc.abstractmethod
    async def read_all(self, from_position: int = 0, limit: int = 1000) -> list[Envelope]:
        """Events with a global position above `from_position`, in global order, at most `limit`."""

    @abc.abstractmethod
    async def stream_version(self, stream_id: str) -> int:
        """The stream's current version; 0 when it has no events."""

    @abc.abstractmethod
    async def last_position(self) -> int: ...

    @abc.abstractmethod
    async def stream_ids(self, prefix: str = "run-") -> list[str]:
        """Ids of the streams whose id starts with `prefix`, oldest first."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    def hold_append_open(
        self, stream_id: str, events: Sequence[Envelope], expected_version: int
    ) -> AsyncIterator[AppendResult]:
        """Append inside a transaction that stays open until the context exits, then commits.

        Exists so the contract suite can overlap two real transactions and prove the global order
        has no late-commit gap; services never need it.
        """

    # --- runtime bookkeeping: consumer progress, follower positions, durable timers ---------------

    @abc.abstractmethod
    async def record_handling(self, handling: Handling) -> HandlingResult:
        """Store a consumer's outputs and its progress atomically. Raises ConcurrencyError (nothing stored)
        when the stream moved past `expected_version`; returns duplicate=True, storing nothing, when the
        consumer had already handled the event."""

    @abc.abstractmethod
    async def was_handled(self, consumer: str, event_id: uuid.UUID) -> bool: ...

    @abc.abstractmethod
    async def load_position(self, name: str) -> int:
        """A follower's saved position in the global order; 0 when it never saved one."""

    @abc.abstractmethod
    async def save_position(self, name: str, position: int) -> None: ...

    @abc.abstractmethod
    async def due_timers(self, now: datetime, limit: int = 100) -> list[TimerRecord]:
        """Pending timers due at or before `now`, earliest first."""

    @abc.abstractmethod
    async def fire_timer(self, timer: TimerRecord) -> AppendResult | None:
        """Append the timer's event at the stream's current version and mark the timer fired, in one
        transaction. Returns None when the timer was fired or cancelled already."""

    @abc.abstractmethod
    async def timer_status(self, timer_id: str) -> str | None:
        """pending, fired, cancelled — or None for an unknown timer."""

    async def wait_for_append(self, after_position: int, timeout: float) -> None:  # noqa: ASYNC109 - the port's API
        """Return once an event beyond `after_position` may be stored, or after `timeout` seconds.
        Adapters with a push channel (PostgreSQL NOTIFY) wake at once; this default polls."""
        deadline = asyncio.get_running_loop().time() + timeout
        while await self.last_position() <= after_position:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return
            await asyncio.sleep(min(0.02, left))

    async def __aenter__(self) -> EventStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


@dataclass(frozen=True)
class PreparedEvent:
    """An envelope checked and encoded for storage."""

    envelope: Envelope
    payload_json: str


def check_handling(handling: Handling) -> list[PreparedEvent]:
    """Validate a handling record; returns its events prepared for storage (possibly none)."""
    if not handling.consumer or len(handling.consumer) > 100:
        raise InvalidAppendError(f"consumer name must be 1-100 characters, got {handling.consumer!r}")
    if not isinstance(handling.cause_event_id, uuid.UUID):
        raise InvalidAppendError(f"cause_event_id must be a UUID, got {handling.cause_event_id!r}")
    validate_stream_id(handling.stream_id)
    if not handling.events:
        return []
    return prepare_append(handling.stream_id, handling.events, handling.expected_version)


def prepare_append(stream_id: str, events: Sequence[Envelope], expected_version: int) -> list[PreparedEvent]:
    """Validate an append request and encode (redact, size-check) every payload before touching the database."""
    validate_stream_id(stream_id)
    if isinstance(expected_version, bool) or not isinstance(expected_version, int) or expected_version < 0:
        raise InvalidAppendError(f"expected_version must be an integer >= 0, got {expected_version!r}")
    if not events:
        raise InvalidAppendError(f"nothing to append to stream {stream_id!r}: the batch is empty")
    seen = set()
    prepared = []
    for envelope in events:
        if not isinstance(envelope, Envelope):
            raise InvalidAppendError(f"expected an Envelope, got {type(envelope).__name__}")
        if envelope.stream_id != stream_id:
            raise InvalidAppendError(
                f"event {envelope.event_id} belongs to stream {envelope.stream_id!r}, not {stream_id!r}"
            )
        if envelope.event_id in seen:
            raise InvalidAppendError(f"event id {envelope.event_id} appears twice in one batch")
        seen.add(envelope.event_id)
        payload_json, redacted = encode_payload_checked(envelope.payload)
        if redacted:
            # Redaction changed the payload: hand back what is stored, so live state equals a replay.
            stored = registry.decode(envelope.type, envelope.version, payload_json)
            envelope = envelope.model_copy(update={"payload": stored})
        prepared.append(PreparedEvent(envelope, payload_json))
    return prepared

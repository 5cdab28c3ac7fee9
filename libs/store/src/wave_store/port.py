"""The event store port: an append-only log of streams with one global order."""

from __future__ import annotations

import abc
import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from wave_events import (
    DomainEvent,
    Envelope,
    EventError,
    UndecodableEventError,
    UnreadableEvent,
    encode_payload_checked,
    registry,
    validate_stream_id,
)
from wave_events.envelope import lazy_envelope, trusted_envelope

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
class StoredEvent:
    """One stored record exactly as the database holds it, without decoding its payload."""

    event_id: str
    stream_id: str
    stream_version: int
    global_position: int
    event_type: str
    event_version: int
    occurred_at: str
    correlation_id: str
    causation_id: str | None
    producer: str
    traceparent: str | None
    payload: str

    def document(self) -> dict[str, Any]:
        """The record as JSON: the payload parsed when it is JSON, else its text as stored."""
        try:
            payload: Any = json.loads(self.payload)
        except ValueError:
            payload = self.payload
        return {
            "event_id": self.event_id,
            "type": self.event_type,
            "version": self.event_version,
            "stream_id": self.stream_id,
            "stream_version": self.stream_version,
            "global_position": self.global_position,
            "occurred_at": self.occurred_at,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "producer": self.producer,
            "traceparent": self.traceparent,
            "payload": payload,
        }

    def undecodable(self, exc: Exception) -> UndecodableEventError:
        return UndecodableEventError(
            event_id=self.event_id,
            stream_id=self.stream_id,
            stream_version=self.stream_version,
            global_position=self.global_position,
            event_type=self.event_type,
            event_version=self.event_version,
            reason=str(exc),
        )


R = TypeVar("R")
# What decoding a stored record may raise: the catalogue's errors, and bad ids or timestamps.
DECODING_ERRORS = (EventError, ValueError, TypeError)


def decode_rows(
    rows: Sequence[R],
    envelope_of: Callable[[R, bool], Envelope],
    stored_of: Callable[[R], StoredEvent],
    *,
    strict: bool,
) -> list[Envelope]:
    """Decode stored rows. An undecodable row raises UndecodableEventError naming it when `strict`
    (one run's stream: that run cannot be folded), else it becomes an `UnreadableEvent` placeholder
    (the global order: followers skip it and go on). Not `strict`, payloads are decoded when first
    looked at (`envelope_of(row, True)`, see `read_payload_later`): a follower of the global order
    mostly skips events by type or stream."""
    envelopes = []
    lazy = not strict
    for row in rows:
        try:
            envelopes.append(envelope_of(row, lazy))
        except DECODING_ERRORS as exc:
            stored = stored_of(row)
            error = stored.undecodable(exc)
            if strict:
                raise error from None
            envelopes.append(unreadable_envelope(stored, error))
    return envelopes


def read_payload_later(
    fields: dict[str, Any], event_type: str, event_version: int, payload: str | bytes
) -> Envelope:
    """An envelope of `fields` (every field but the payload, checked) whose payload is decoded from
    the stored text when first needed; one that cannot be decoded reads then as an `UnreadableEvent`
    naming the error, as `decode_rows` would have made it. A type or version the registry does not
    know is found out now: the placeholder is made at once."""
    if not registry.knows(event_type, event_version):
        registry.model(event_type, event_version)  # raises the error that names what is unknown
    return lazy_envelope(fields, event_type, partial(_payload_or_placeholder, event_type, event_version, payload))


def _payload_or_placeholder(event_type: str, event_version: int, payload: str | bytes) -> DomainEvent:
    try:
        return registry.decode(event_type, event_version, payload)
    except DECODING_ERRORS as exc:
        return UnreadableEvent(stored_type=event_type, stored_version=event_version, error=str(exc))


def unreadable_envelope(stored: StoredEvent, error: UndecodableEventError) -> Envelope:
    try:
        event_id = uuid.UUID(stored.event_id)
    except ValueError:
        event_id = uuid.uuid5(uuid.NAMESPACE_URL, stored.event_id)
    try:
        occurred_at = datetime.fromisoformat(stored.occurred_at)
    except ValueError:
        occurred_at = datetime.min.replace(tzinfo=UTC)
    payload = UnreadableEvent(stored_type=stored.event_type, stored_version=stored.event_version, error=error.reason)
    return trusted_envelope(
        {
            "event_id": event_id,
            "stream_id": stored.stream_id,
            "payload": payload,
            "occurred_at": occurred_at,
            "correlation_id": stored.correlation_id,
            "causation_id": None,
            "producer": stored.producer,
            "traceparent": None,
            "stream_version": stored.stream_version,
            "global_position": stored.global_position,
        }
    )


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


@dataclass(frozen=True)
class Snapshot:
    """A stream's folded state at `stream_version`, as JSON, taken by the fold named `projection`."""

    stream_id: str
    stream_version: int
    projection: str
    state: dict[str, Any]


class RelayLock(abc.ABC):
    """Held by the active outbox relay (see `EventStore.try_relay_lock`) until it releases it or the
    store loses the session that holds it; a standby relay takes it over then."""

    @abc.abstractmethod
    async def confirm(self) -> None:
        """Raise when the lock may be lost (the session holding it is gone): stop publishing then."""

    @abc.abstractmethod
    async def release(self) -> None:
        """Give the lock up. Never raises: a lock whose session is gone was given up with it."""


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
    * A stored event that cannot be decoded (an older version wrote it, or it is damaged) never makes the
      store unusable: `read_stream` of its stream raises UndecodableEventError naming it, `read_all`
      returns an `UnreadableEvent` placeholder at its position, and `read_stream_raw` shows it as stored.
    """

    @abc.abstractmethod
    async def append(self, stream_id: str, events: Sequence[Envelope], expected_version: int) -> AppendResult: ...

    @abc.abstractmethod
    async def read_stream(self, stream_id: str, from_version: int = 1) -> list[Envelope]: ...

    @abc.abstractmethod
    async def read_all(self, from_position: int = 0, limit: int = 1000) -> list[Envelope]:
        """Events with a global position above `from_position`, in global order, at most `limit`."""

    @abc.abstractmethod
    async def read_stream_raw(self, stream_id: str) -> list[StoredEvent]:
        """A stream's records as stored, without decoding them (for inspecting an unreadable run)."""

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
        """Store a consumer's outputs and its progress atomically, and drop the paid results kept for
        this handling (`keep_paid_result`). Raises ConcurrencyError (nothing stored) when the stream
        moved past `expected_version`; returns duplicate=True, storing nothing, when the consumer had
        already handled the event."""

    @abc.abstractmethod
    async def was_handled(self, consumer: str, event_id: uuid.UUID) -> bool: ...

    async def handled_among(self, consumer: str, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Which of `event_ids` the consumer has handled: `was_handled` for a batch of events, in one
        query where the adapter can."""
        return {event_id for event_id in event_ids if await self.was_handled(consumer, event_id)}

    @abc.abstractmethod
    async def keep_paid_result(self, consumer: str, cause_event_id: uuid.UUID, key: str, document: str) -> None:
        """Keep the result of a paid effect of a handling not yet recorded (`wave_store.paid`), at once
        and outside any handling transaction; a result kept under the same key already stays."""

    @abc.abstractmethod
    async def paid_result(self, consumer: str, cause_event_id: uuid.UUID, key: str) -> str | None:
        """The result kept under `key` for this handling; None when there is none (or it was recorded)."""

    @abc.abstractmethod
    async def load_position(self, name: str) -> int:
        """A follower's saved position in the global order; 0 when it never saved one."""

    @abc.abstractmethod
    async def save_position(self, name: str, position: int) -> None: ...

    @abc.abstractmethod
    async def due_timers(self, now: datetime, limit: int = 100) -> list[TimerRecord]:
        """Pending timers due at or before `now`, earliest first."""

    async def next_timer_due(self) -> datetime | None:
        """When the earliest pending timer is due; None when none is pending (or the adapter cannot
        tell: a timer poller then looks at its usual interval)."""
        return None

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

    # --- state snapshots: a cache beside the log ---------------------------------------------------

    @abc.abstractmethod
    async def load_snapshot(self, stream_id: str, projection: str) -> Snapshot | None:
        """The stream's snapshot taken by `projection`; None when there is none (or only one taken by
        another fold, which is never used)."""

    @abc.abstractmethod
    async def save_snapshot(self, snapshot: Snapshot) -> None:
        """Keep `snapshot` as the stream's, unless one of the same projection at a later version is
        kept already. Snapshots are a cache: the events stay the truth, and writing one changes none."""

    # --- the outbox relay (distributed deployments: PostgreSQL only) ------------------------------

    @abc.abstractmethod
    async def read_publishable(self, from_position: int, limit: int) -> Sequence[Mapping[str, Any]]:
        """The records after `from_position` in global order, at most `limit`, exactly as stored (neither
        decoded nor upcast), for the outbox relay to publish: mappings of the `StoredEvent` fields with
        the database's types (`occurred_at` a datetime, ids UUIDs) and `payload` the stored JSON text.
        Raises UnsupportedByStoreError from a store that cannot feed the relay."""

    @abc.abstractmethod
    async def try_relay_lock(self) -> RelayLock | None:
        """Take the lock that makes one outbox relay the active one, without waiting: None when another
        relay holds it. Raises UnsupportedByStoreError from a store that cannot feed the relay."""

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
        if isinstance(envelope.payload, UnreadableEvent):
            raise InvalidAppendError(f"event {envelope.event_id} stands for an unreadable record: it cannot be appended")
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

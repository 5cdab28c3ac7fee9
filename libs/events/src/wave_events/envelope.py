"""The envelope every event travels in: identity, position, causality and trace context."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, SerializeAsAny, field_validator

from .base import DomainEvent, UnreadableEvent
from .errors import InvalidStreamIdError

STREAM_ID_PATTERN = re.compile(r"^[a-z][a-z0-9]{0,15}-[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
# Output ids are derived from their cause so a redelivered input yields the same ids (see derived_event_id).
_DERIVATION_NAMESPACE = uuid.UUID("5d0b6a1e-8f2b-4c59-9a57-2f1f3c7b9e10")


def validate_stream_id(stream_id: object) -> str:
    if not isinstance(stream_id, str) or not STREAM_ID_PATTERN.fullmatch(stream_id):
        raise InvalidStreamIdError(stream_id)
    return stream_id


def validate_run_id(run_id: object) -> str:
    if not isinstance(run_id, str) or not RUN_ID_PATTERN.fullmatch(run_id):
        raise InvalidStreamIdError(f"run-{run_id}")
    return run_id


def run_stream_id(run_id: str) -> str:
    return f"run-{validate_run_id(run_id)}"


def run_id_of(stream_id: str) -> str:
    return stream_id.split("-", 1)[1]


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def derived_event_id(cause_event_id: uuid.UUID | str, producer: str, index: int) -> uuid.UUID:
    """A deterministic id for the `index`-th output a producer makes from one cause."""
    return uuid.uuid5(_DERIVATION_NAMESPACE, f"{cause_event_id}/{producer}/{index}")


class Envelope(BaseModel):
    """One stored or in-flight event.

    `stream_version` and `global_position` are None until the store assigns them on append.

    An envelope a store read from the global order may hold its payload still as stored text
    (`lazy_envelope`): it is decoded the first time anything looks at it (`payload`, `type`,
    `version`, a dump, a comparison), so a reader that needs only the metadata pays nothing for
    the payloads. `stored_type` tells the type without decoding.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: uuid.UUID
    stream_id: str
    payload: SerializeAsAny[DomainEvent]
    occurred_at: datetime
    correlation_id: str
    causation_id: uuid.UUID | None = None
    producer: str
    traceparent: str | None = None
    stream_version: int | None = None
    global_position: int | None = None

    @field_validator("stream_id")
    @classmethod
    def _check_stream_id(cls, value: str) -> str:
        return validate_stream_id(value)

    @field_validator("occurred_at")
    @classmethod
    def _require_timezone(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("occurred_at must carry a timezone")
        return value

    def __getattr__(self, name: str) -> Any:
        if name == "payload":
            return self._read_payload()
        return super().__getattr__(name)

    def _read_payload(self) -> DomainEvent:
        """Decode a payload kept as stored text, once; the envelope is then like any other."""
        dictionary = self.__dict__
        pending = self.__pydantic_private__
        if pending is not None:
            if "payload" not in dictionary:
                # In the fields' order: pydantic dumps __dict__ in its order.
                payload = pending[_READ]()
                dictionary = {name: payload if name == "payload" else dictionary[name] for name in _ENVELOPE_FIELDS}
                object.__setattr__(self, "__dict__", dictionary)
            object.__setattr__(self, "__pydantic_private__", None)
        elif "payload" not in dictionary:
            raise AttributeError("payload")
        return dictionary["payload"]

    @property
    def type(self) -> str:
        return self.payload.event_type

    @property
    def stored_type(self) -> str:
        """The type the stored record names, known without decoding its payload: `type`, except for a
        record that cannot be decoded, whose `type` is "Unreadable"."""
        pending = self.__pydantic_private__
        if pending is not None and "payload" not in self.__dict__:
            return pending[_TYPE]
        payload = self.payload
        return payload.stored_type if isinstance(payload, UnreadableEvent) else payload.event_type

    @property
    def version(self) -> int:
        return self.payload.event_version

    @property
    def run_id(self) -> str:
        return run_id_of(self.stream_id)

    def positioned(self, stream_version: int, global_position: int) -> Envelope:
        return self.model_copy(update={"stream_version": stream_version, "global_position": global_position})

    # Everything pydantic does with the fields reads them from __dict__: decode a pending payload first.

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Envelope):
            self._read_payload()
            other._read_payload()
        return super().__eq__(other)

    def __hash__(self) -> int:
        # Equal envelopes have equal ids: hashing the id needs no payload.
        return hash(self.event_id)

    def __iter__(self):  # type: ignore[override]
        self._read_payload()
        return super().__iter__()

    def __repr_args__(self):
        self._read_payload()
        return super().__repr_args__()

    def __getstate__(self) -> dict[Any, Any]:
        self._read_payload()
        return super().__getstate__()

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        self._read_payload()
        return super().model_dump(**kwargs)

    def model_dump_json(self, **kwargs: Any) -> str:
        self._read_payload()
        return super().model_dump_json(**kwargs)

    def metadata(self) -> dict[str, Any]:
        return {
            "event_id": str(self.event_id),
            "type": self.type,
            "version": self.version,
            "stream_id": self.stream_id,
            "stream_version": self.stream_version,
            "global_position": self.global_position,
            "occurred_at": self.occurred_at.isoformat(),
            "correlation_id": self.correlation_id,
            "causation_id": str(self.causation_id) if self.causation_id else None,
            "producer": self.producer,
            "traceparent": self.traceparent,
        }


_ENVELOPE_FIELDS = tuple(Envelope.model_fields)
_READ, _TYPE = "read", "type"


def trusted_envelope(fields: dict[str, Any]) -> Envelope:
    """An envelope from values validated before (a stored row), without validating them again.

    The same as `Envelope.model_construct(**fields)` with every field given, at a fifth of the cost:
    a store reading thousands of rows builds one per row. `fields` must hold exactly the envelope's
    fields with values of their types; the dict becomes the envelope's own.
    """
    if len(fields) != len(_ENVELOPE_FIELDS):
        missing = sorted(set(_ENVELOPE_FIELDS) - set(fields))
        extra = sorted(set(fields) - set(_ENVELOPE_FIELDS))
        raise TypeError(f"trusted_envelope needs exactly the envelope's fields (missing {missing}, extra {extra})")
    envelope = Envelope.__new__(Envelope)
    _set = object.__setattr__
    _set(envelope, "__dict__", fields)
    _set(envelope, "__pydantic_fields_set__", set(_ENVELOPE_FIELDS))
    _set(envelope, "__pydantic_extra__", None)
    _set(envelope, "__pydantic_private__", None)
    return envelope


def lazy_envelope(fields: dict[str, Any], stored_type: str, read_payload: Callable[[], DomainEvent]) -> Envelope:
    """`trusted_envelope` for every field but the payload, which `read_payload()` gives the first time
    it is needed (it must not raise: a payload that cannot be decoded reads as an `UnreadableEvent`).
    `stored_type` is the type the record names."""
    if "payload" in fields:
        raise TypeError("lazy_envelope takes every field but the payload")
    if len(fields) != len(_ENVELOPE_FIELDS) - 1:
        missing = sorted(set(_ENVELOPE_FIELDS) - set(fields) - {"payload"})
        extra = sorted(set(fields) - set(_ENVELOPE_FIELDS))
        raise TypeError(f"lazy_envelope needs the envelope's other fields (missing {missing}, extra {extra})")
    envelope = Envelope.__new__(Envelope)
    _set = object.__setattr__
    _set(envelope, "__dict__", fields)
    _set(envelope, "__pydantic_fields_set__", set(_ENVELOPE_FIELDS))
    _set(envelope, "__pydantic_extra__", None)
    _set(envelope, "__pydantic_private__", {_READ: read_payload, _TYPE: stored_type})
    return envelope


def new_envelope(
    stream_id: str,
    payload: DomainEvent,
    *,
    producer: str,
    causation: Envelope | None = None,
    event_id: uuid.UUID | None = None,
    occurred_at: datetime | None = None,
    traceparent: str | None = None,
) -> Envelope:
    """Wrap a payload for appending. Correlation and trace context follow the cause when there is one."""
    return Envelope(
        event_id=event_id or uuid.uuid4(),
        stream_id=stream_id,
        payload=payload,
        occurred_at=occurred_at or datetime.now(UTC),
        correlation_id=causation.correlation_id if causation else run_id_of(validate_stream_id(stream_id)),
        causation_id=causation.event_id if causation else None,
        producer=producer,
        traceparent=traceparent if traceparent is not None else (causation.traceparent if causation else None),
    )

"""The envelope every event travels in: identity, position, causality and trace context."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, SerializeAsAny, field_validator

from .base import DomainEvent
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

    @property
    def type(self) -> str:
        return self.payload.event_type

    @property
    def version(self) -> int:
        return self.payload.event_version

    @property
    def run_id(self) -> str:
        return run_id_of(self.stream_id)

    def positioned(self, stream_version: int, global_position: int) -> Envelope:
        return self.model_copy(update={"stream_version": stream_version, "global_position": global_position})

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

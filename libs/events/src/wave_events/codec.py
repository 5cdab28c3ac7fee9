"""JSON encoding of payloads and envelopes, with redaction and a size limit applied on the way out.

Fields a service acts on as written (an event's `acted_on_fields`, e.g. `ChangeProposed.diff`) are never
rewritten: a real-looking secret in one refuses the whole event (`SecretInEventError`), so what is
stored is either exactly what the producer meant or nothing.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from .base import DomainEvent, EventRegistry, registry
from .envelope import Envelope, validate_stream_id
from .errors import EventTooLargeError, MalformedEventError, SecretInEventError
from .redaction import find_secrets, redact

# Bodies bigger than this belong in a content-addressed blob (see LLMCallRecorded.prompt_ref);
# the limit keeps a whole envelope well under the Kafka topic's max.message.bytes.
MAX_PAYLOAD_BYTES = 2 * 1024 * 1024


def encode_payload(event: DomainEvent, *, limit: int = MAX_PAYLOAD_BYTES) -> str:
    """The stored form of a payload: redacted JSON text, refused when above `limit` bytes."""
    return encode_payload_checked(event, limit=limit)[0]


def encode_payload_checked(event: DomainEvent, *, limit: int = MAX_PAYLOAD_BYTES) -> tuple[str, bool]:
    """`encode_payload`, and whether redaction changed the text, from a single dump of the payload."""
    raw = event.model_dump_json()
    text = _redact_except_acted_on(event, raw)
    # Under the limit in characters and ASCII means under it in bytes: no need to encode.
    size = len(text) if text.isascii() else len(text.encode())
    if size > limit:
        raise EventTooLargeError(event.event_type, size, limit)
    return text, text != raw


def _redact_except_acted_on(event: DomainEvent, raw: str) -> str:
    """`redact(raw)`, except that fields a service acts on are checked instead of rewritten."""
    acted_on = [name for name in getattr(type(event), "acted_on_fields", ()) if getattr(event, name)]
    if not acted_on:
        return redact(raw)
    for name in acted_on:
        value = getattr(event, name)
        secrets = find_secrets(value)
        if secrets:
            first = secrets[0]
            raise SecretInEventError(event.event_type, name, first.kind, value.count("\n", 0, first.start) + 1)
    rest = event.model_dump_json(exclude=set(acted_on))
    redacted_rest = redact(rest)
    if redacted_rest == rest:
        return raw
    document = json.loads(raw)
    document.update(json.loads(redacted_rest))  # keeps the field order of `raw`
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def encode_envelope(envelope: Envelope) -> str:
    """The published form of an event: metadata and payload in one JSON object."""
    document = envelope.metadata()
    document["payload"] = json.loads(encode_payload(envelope.payload))
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


_REQUIRED = ("event_id", "type", "version", "stream_id", "occurred_at", "correlation_id", "producer", "payload")


def decode_envelope(data: str | bytes, events: EventRegistry = registry) -> Envelope:
    """Read an encoded envelope; old payload versions are upcast to the newest model."""
    try:
        document = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MalformedEventError(f"malformed event: not valid JSON ({exc})") from None
    if not isinstance(document, dict):
        raise MalformedEventError("malformed event: expected a JSON object")
    missing = [name for name in _REQUIRED if name not in document]
    if missing:
        raise MalformedEventError(f"malformed event: missing field(s) {', '.join(missing)}")
    event_type, version = document["type"], document["version"]
    if not isinstance(event_type, str) or not isinstance(version, int) or isinstance(version, bool):
        raise MalformedEventError("malformed event: 'type' must be a string and 'version' an integer")
    if not isinstance(document["payload"], dict):
        raise MalformedEventError(f"malformed {event_type} v{version}: payload must be a JSON object")
    payload = events.decode(event_type, version, document["payload"])
    return envelope_from_columns(document, payload)


def envelope_from_columns(columns: dict[str, Any], payload: DomainEvent) -> Envelope:
    """Build an envelope from metadata fields (a decoded document or a database row), validating them."""
    try:
        return Envelope(
            event_id=uuid.UUID(str(columns["event_id"])),
            stream_id=validate_stream_id(columns["stream_id"]),
            payload=payload,
            occurred_at=_datetime(columns["occurred_at"]),
            correlation_id=columns["correlation_id"],
            causation_id=uuid.UUID(str(columns["causation_id"])) if columns.get("causation_id") else None,
            producer=columns["producer"],
            traceparent=columns.get("traceparent"),
            stream_version=columns.get("stream_version"),
            global_position=columns.get("global_position"),
        )
    except (ValueError, TypeError) as exc:
        raise MalformedEventError(f"malformed event envelope: {exc}") from None


def _datetime(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    raise ValueError(f"occurred_at must be an ISO-8601 timestamp, got {value!r}")

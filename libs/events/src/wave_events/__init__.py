"""WAVE's event catalogue: envelope, payload models, registry, upcasters, codec, redaction, projections.

Pure code: nothing in this package performs I/O.
"""

from . import catalogue
from .base import DomainEvent, EventRegistry, UnreadableEvent, registry
from .codec import (
    MAX_PAYLOAD_BYTES,
    decode_envelope,
    encode_envelope,
    encode_payload,
    encode_payload_checked,
    envelope_from_columns,
)
from .envelope import (
    Envelope,
    derived_event_id,
    new_envelope,
    new_run_id,
    run_id_of,
    run_stream_id,
    validate_run_id,
    validate_stream_id,
)
from .errors import (
    EventError,
    EventTooLargeError,
    InvalidStreamIdError,
    MalformedEventError,
    UndecodableEventError,
    UnknownEventTypeError,
    UnknownEventVersionError,
)
from .redaction import redact

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "DomainEvent",
    "Envelope",
    "EventError",
    "EventRegistry",
    "EventTooLargeError",
    "InvalidStreamIdError",
    "MalformedEventError",
    "UndecodableEventError",
    "UnknownEventTypeError",
    "UnknownEventVersionError",
    "UnreadableEvent",
    "catalogue",
    "decode_envelope",
    "derived_event_id",
    "encode_envelope",
    "encode_payload",
    "encode_payload_checked",
    "envelope_from_columns",
    "new_envelope",
    "new_run_id",
    "redact",
    "registry",
    "run_id_of",
    "run_stream_id",
    "validate_run_id",
    "validate_stream_id",
]

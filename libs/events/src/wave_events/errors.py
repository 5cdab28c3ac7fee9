"""Errors raised while building, encoding or decoding events.

Every error names the problem in its message, so a CLI can print it as one line.
"""


class EventError(ValueError):
    """Base class of every event-catalogue error."""


class UnknownEventTypeError(EventError):
    def __init__(self, event_type: str, version: int | None = None) -> None:
        self.event_type = event_type
        self.version = version
        shown = f" version {version}" if version is not None else ""
        super().__init__(f"unknown event type {event_type!r}{shown}")


class UnknownEventVersionError(EventError):
    def __init__(self, event_type: str, version: int, known: list[int]) -> None:
        self.event_type = event_type
        self.version = version
        self.known = known
        super().__init__(
            f"unknown version {version} of event type {event_type!r} (known versions: {', '.join(map(str, known))})"
        )


class MalformedEventError(EventError):
    """The bytes are not a valid encoded event (bad JSON, missing or mistyped fields)."""


class InvalidStreamIdError(EventError):
    def __init__(self, stream_id: object) -> None:
        self.stream_id = stream_id
        super().__init__(
            f"invalid stream id {stream_id!r}: expected '<kind>-<id>' such as 'run-3f9a2c', "
            "lowercase kind, id of letters, digits, '_' or '-', at most 80 characters"
        )


class EventTooLargeError(EventError):
    def __init__(self, event_type: str, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(f"event {event_type!r} is {size} bytes encoded, above the limit of {limit} bytes")


class SecretInEventError(EventError):
    """A field a service acts on verbatim (so redaction may not rewrite it) holds a real-looking secret."""

    def __init__(self, event_type: str, field: str, kind: str, line: int) -> None:
        self.field = field
        self.kind = kind
        self.line = line
        super().__init__(
            f"event {event_type!r} was not stored: its {field} holds a {kind} on line {line}, and {field} is "
            "acted on as written, so it cannot be redacted; withhold it instead"
        )

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


class UndecodableEventError(MalformedEventError):
    """A stored event that cannot be read back (written by an older version, or damaged).

    Names the event, where it stands and why, so a person can find it (`wave events RUN --raw`).
    """

    def __init__(
        self,
        *,
        event_id: str,
        stream_id: str,
        stream_version: int | None,
        global_position: int | None,
        event_type: str,
        event_version: int,
        reason: str,
    ) -> None:
        self.event_id = event_id
        self.stream_id = stream_id
        self.stream_version = stream_version
        self.global_position = global_position
        self.event_type = event_type
        self.event_version = event_version
        self.reason = reason
        super().__init__(
            f"event {event_id} (#{stream_version} of {stream_id}, {event_type} v{event_version}) "
            f"cannot be decoded: {reason}"
        )


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

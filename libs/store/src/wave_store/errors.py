"""Errors of the event store. Each message names the problem; nothing is stored when one is raised."""

from wave_events.errors import EventError


class StoreError(EventError):
    """Base class of event-store errors."""


class ConcurrencyError(StoreError):
    """The stream moved on since the caller decided: reload the state and decide again."""

    def __init__(self, stream_id: str, expected_version: int, actual_version: int) -> None:
        self.stream_id = stream_id
        self.expected_version = expected_version
        self.actual_version = actual_version
        super().__init__(
            f"stream {stream_id!r} is at version {actual_version}, not the expected {expected_version}"
        )


class EventIdConflictError(StoreError):
    """Some event ids of a batch are stored already, but not as exactly this batch on this stream."""


class InvalidAppendError(StoreError):
    """The append request itself is wrong (empty batch, negative version, envelope for another stream)."""


class UnsupportedByStoreError(StoreError):
    """The store cannot do what was asked: the embedded SQLite store cannot feed the outbox relay."""


class StoreUnavailable(StoreError):
    """The store cannot be reached (the database is down, restarting, or dropped the session). Nothing
    was stored by the call that raised it; trying again once the store is back is safe."""

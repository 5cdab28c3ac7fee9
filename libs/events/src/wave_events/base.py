"""The base of every domain event and the registry keyed by (type, version)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import MalformedEventError, UnknownEventTypeError, UnknownEventVersionError


class DomainEvent(BaseModel):
    """A fact that happened. Frozen; unknown fields are refused so typos never pass silently.

    Floats must be finite: JSON has no NaN or infinity, so one would be stored as null and the
    event could never be read back.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    event_type: ClassVar[str]
    event_version: ClassVar[int]


class UnreadableEvent(DomainEvent):
    """Stands in, in the global order, for a stored event that cannot be decoded.

    Never registered and never appended: a reader of the global order gets it instead of an
    exception, so one damaged record does not stop every follower. No service handles it.
    """

    event_type: ClassVar[str] = "Unreadable"
    event_version: ClassVar[int] = 0

    stored_type: str
    stored_version: int
    error: str


E = TypeVar("E", bound=type[DomainEvent])
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class EventRegistry:
    """Maps (type, version) to the model that reads it, and old versions to the newest through upcasters.

    Stored events are never rewritten: an old payload is validated against the model of its own
    version, then lifted one version at a time until it reaches the newest model of its type.
    """

    def __init__(self) -> None:
        self._models: dict[tuple[str, int], type[DomainEvent]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        self._latest: dict[str, int] = {}  # every decode asks for it: kept, not recomputed

    def register(self, event_type: str, version: int = 1) -> Callable[[E], E]:
        def decorate(cls: E) -> E:
            key = (event_type, version)
            if key in self._models:
                raise ValueError(f"event {event_type!r} version {version} is registered twice")
            cls.event_type = event_type
            cls.event_version = version
            self._models[key] = cls
            self._latest[event_type] = max(version, self._latest.get(event_type, version))
            return cls

        return decorate

    def upcaster(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Register the step that turns a payload of `from_version` into one of `from_version + 1`."""

        def decorate(fn: Upcaster) -> Upcaster:
            self._upcasters[(event_type, from_version)] = fn
            return fn

        return decorate

    def knows(self, event_type: str, version: int) -> bool:
        return (event_type, version) in self._models

    def versions(self, event_type: str) -> list[int]:
        return sorted(v for (t, v) in self._models if t == event_type)

    def latest_version(self, event_type: str) -> int:
        try:
            return self._latest[event_type]
        except KeyError:
            raise UnknownEventTypeError(event_type) from None

    def model(self, event_type: str, version: int) -> type[DomainEvent]:
        try:
            return self._models[(event_type, version)]
        except KeyError:
            known = self.versions(event_type)
            if not known:
                raise UnknownEventTypeError(event_type, version) from None
            raise UnknownEventVersionError(event_type, version, known) from None

    def latest_models(self) -> list[type[DomainEvent]]:
        return [self._models[(t, self.latest_version(t))] for t in sorted({t for (t, _) in self._models})]

    def all_models(self) -> list[type[DomainEvent]]:
        return [self._models[key] for key in sorted(self._models)]

    def decode(self, event_type: str, version: int, data: dict[str, Any] | str | bytes) -> DomainEvent:
        """Read a stored payload of any known version as the newest model of its type."""
        model = self.model(event_type, version)
        try:
            event = (
                model.model_validate_json(data) if isinstance(data, str | bytes) else model.model_validate(data)
            )
        except ValidationError as exc:
            raise MalformedEventError(_describe(event_type, version, exc)) from None
        latest = self.latest_version(event_type)
        if version == latest:
            return event
        payload = event.model_dump(mode="json")
        for step in range(version, latest):
            try:
                upcast = self._upcasters[(event_type, step)]
            except KeyError:
                raise UnknownEventVersionError(event_type, version, self.versions(event_type)) from None
            payload = upcast(payload)
        try:
            return self._models[(event_type, latest)].model_validate(payload)
        except ValidationError as exc:
            raise MalformedEventError(_describe(event_type, latest, exc)) from None


def _describe(event_type: str, version: int, exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "payload"
    more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
    return f"malformed {event_type} v{version}: {where}: {first['msg']}{more}"


registry = EventRegistry()

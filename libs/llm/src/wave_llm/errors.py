"""The failures a model call can end in. Providers map their SDK's errors onto these two kinds."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping


class ModelError(Exception):
    """A model call failed. `provider` names the adapter that failed."""

    def __init__(self, message: str, *, provider: str, status: int | None = None) -> None:
        super().__init__(message)
        self.provider = provider
        self.status = status


class TransientModelError(ModelError):
    """Worth another try: rate limits, overload, server errors, timeouts, dropped connections.

    `retry_after` is the delay in seconds the server asked for, when it said.
    """

    def __init__(
        self, message: str, *, provider: str, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, provider=provider, status=status)
        self.retry_after = retry_after


class PermanentModelError(ModelError):
    """Trying again will not help: bad request, bad credentials, unknown model, refused content."""


class ConfigError(ValueError):
    """The model configuration is invalid; the message names the key at fault."""


class CassetteError(LookupError):
    """A cassette is malformed, or holds no interaction for a request."""


class ModelSourceUnavailable(CassetteError):
    """No model can answer this call, and asking again will not change that: the role's cassette does
    not exist, is malformed, or has no (more) answers for the role. `action` says what a person does."""

    def __init__(self, message: str, *, action: str) -> None:
        super().__init__(message)
        self.action = action


TRANSIENT_STATUSES = frozenset({408, 409, 425, 429})


def is_transient_status(status: int) -> bool:
    return status in TRANSIENT_STATUSES or status >= 500


def retry_after_seconds(headers: Mapping[str, str] | None, *, now: float | None = None) -> float | None:
    """The delay a response asks for: `retry-after-ms`, else `retry-after` in seconds or as an HTTP date."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    if (ms := lowered.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def from_http_status(
    provider: str, status: int, message: str, headers: Mapping[str, str] | None = None
) -> ModelError:
    """The error for an HTTP failure answer, classified by its status."""
    text = f"{provider}: HTTP {status}: {message}"
    if is_transient_status(status):
        return TransientModelError(
            text, provider=provider, status=status, retry_after=retry_after_seconds(headers)
        )
    return PermanentModelError(text, provider=provider, status=status)

"""How the Slack clients retry, and which failures are worth retrying at all."""

from __future__ import annotations

from typing import Any

from slack_sdk.http_retry import (
    BackoffRetryIntervalCalculator,
    ConnectionErrorRetryHandler,
    HttpRequest,
    HttpResponse,
    RateLimitErrorRetryHandler,
    RetryHandler,
    RetryState,
)
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler

# Web API error codes that say "try again later" rather than "this request is wrong".
TRANSIENT_API_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


def retry_after_s(headers: dict[str, Any]) -> float | None:
    for name, value in headers.items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return float(raw)
            except (TypeError, ValueError):
                return None
    return None


class BoundedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """Waits out a 429 for as long as Retry-After says (the SDK's behaviour), unless Slack asks for
    more than `max_wait_s`: a handler thread should not sleep for minutes, so the failure goes back
    to the runtime, whose retry comes later."""

    def __init__(self, max_retry_count: int, max_wait_s: float) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait_s = max_wait_s

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        wait = retry_after_s(response.headers) if response is not None else None
        return wait is None or wait <= self.max_wait_s


class AnyServerErrorRetryHandler(ServerErrorRetryHandler):
    """The SDK's handler retries 500 and 503 only; a 502 or 504 from a proxy is just as passing."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code >= 500


def rate_limit_handlers(max_attempts: int, max_retry_after_s: float) -> list[RetryHandler]:
    """For requests that must not be repeated blindly (chat.postMessage): a 429 means Slack did not
    act on the request, so repeating it is safe; a 5xx or a lost connection leaves it unknown."""
    return [BoundedRateLimitRetryHandler(max_attempts - 1, max_retry_after_s)]


def all_handlers(max_attempts: int, max_retry_after_s: float, backoff_s: float) -> list[RetryHandler]:
    """For requests with no way to check what happened (incoming webhooks): retry every passing failure."""
    interval = BackoffRetryIntervalCalculator(backoff_factor=backoff_s)
    return [
        ConnectionErrorRetryHandler(max_retry_count=max_attempts - 1, interval_calculator=interval),
        BoundedRateLimitRetryHandler(max_attempts - 1, max_retry_after_s),
        AnyServerErrorRetryHandler(max_retry_count=max_attempts - 1, interval_calculator=interval),
    ]

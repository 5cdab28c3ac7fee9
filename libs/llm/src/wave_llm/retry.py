"""The one place model calls are retried, so every provider backs off the same way."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .errors import TransientModelError
from .model import ModelRequest, ModelResponse


@dataclass(frozen=True)
class RetryPolicy:
    """Up to `max_attempts` tries of one request on one provider, for transient failures only.

    The wait before a retry is drawn uniformly from [0, min(max_delay_s, base_delay_s * 2**(n-1))] ("full
    jitter", so many callers rate-limited together do not come back together). When the server sent
    Retry-After, the wait is at least that long; when it asks for more than `max_delay_s`, the request is
    not retried here, and the caller moves on to its next route entry instead of stalling.
    """

    max_attempts: int = 3
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.base_delay_s < 0 or self.max_delay_s < 0:
            raise ValueError("retry delays must not be negative")

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float | None:
        """Seconds to wait after failed try number `attempt` (1-based), or None when not to retry."""
        if attempt >= self.max_attempts:
            return None
        if retry_after is not None and retry_after > self.max_delay_s:
            return None
        backoff = rng.uniform(0, min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1)))
        return backoff if retry_after is None else max(retry_after, backoff)


Sleep = Callable[[float], Awaitable[None]]


async def call_with_retries(
    call: Callable[[ModelRequest], Awaitable[ModelResponse]],
    request: ModelRequest,
    policy: RetryPolicy,
    *,
    rng: random.Random,
    sleep: Sleep = asyncio.sleep,
) -> ModelResponse:
    """`call(request)`, tried again after transient failures as `policy` allows; the last failure is raised
    with the number of tries added to its message."""
    attempt = 1
    while True:
        try:
            return await call(request)
        except TransientModelError as exc:
            wait = policy.delay(attempt, exc.retry_after, rng)
            if wait is None:
                if attempt > 1:
                    exc.args = (f"{exc.args[0]} (after {attempt} tries)", *exc.args[1:])
                raise
            await sleep(wait)
            attempt += 1

"""Telling an outage of the database or the broker apart from a failing handler, and waiting it out.

An outage is not the event's fault: retrying it a few times and dead-lettering it would stall a run
that nothing is wrong with. Every process therefore waits an outage out — with backoff, logging its
start once and its end once, reporting itself not ready meanwhile — and counts only the handler's own
failures towards a dead letter.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import random
import time

import asyncpg
from aiokafka import errors as kafka_errors
from wave_store import StoreUnavailable

# Socket errors that mean "the other side is not there (now)", not "the handler did something wrong".
_NETWORK_ERRNOS = frozenset({
    errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE, errno.ENETUNREACH,
    errno.EHOSTUNREACH, errno.ETIMEDOUT, errno.ENOTCONN, errno.ESHUTDOWN,
})
_POSTGRES_OUTAGES = (
    asyncpg.PostgresConnectionError,  # 08xxx: connection refused, lost, does not exist
    asyncpg.CannotConnectNowError,  # 57P03: starting up or shutting down
    asyncpg.AdminShutdownError,  # 57P01: the server was stopped under the session
    asyncpg.CrashShutdownError,  # 57P02: another backend crashed, every session is dropped
    asyncpg.TooManyConnectionsError,  # 53300: sessions of the old server not yet gone
)
_KAFKA_OUTAGES = (
    kafka_errors.KafkaConnectionError,
    kafka_errors.NodeNotReadyError,
    kafka_errors.RequestTimedOutError,
    kafka_errors.KafkaTimeoutError,
    # A partition whose leader is gone or moving: the broker holding it is down or the cluster is
    # electing another; publishing resumes once one is elected.
    kafka_errors.LeaderNotAvailableError,
    kafka_errors.NotLeaderForPartitionError,
)


def is_outage(exc: BaseException, *, sockets: bool = True) -> bool:
    """Whether `exc` (or what caused it) says the database or the broker is unreachable, rather than that
    the work failed. Such an error is waited out, never dead-lettered.

    `sockets=False` for what a handler raised: a handler's own connection failures (Slack, a model
    API, a git remote) are its failures, retried and dead-lettered; only the database's and the
    broker's own errors (asyncpg, aiokafka, StoreUnavailable) are outages there."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _is_outage_itself(current) and (sockets or not isinstance(current, OSError)):
            return True
        current = current.__cause__ or current.__context__
    return False


def _is_outage_itself(exc: BaseException) -> bool:
    if isinstance(exc, (StoreUnavailable, ConnectionError, *_POSTGRES_OUTAGES, *_KAFKA_OUTAGES)):
        return True
    if isinstance(exc, asyncpg.InterfaceError):
        # asyncpg says "connection is closed", "the pool is closing", "cannot perform operation: another
        # operation is in progress" after a lost session; a misuse of the API says something else.
        text = str(exc).lower()
        return "closed" in text or "connection" in text
    if isinstance(exc, asyncpg.InternalClientError):
        # A session lost in the middle of a query leaves its protocol half-way: "cannot switch to state
        # N; another operation is in progress".
        return "another operation" in str(exc)
    if isinstance(exc, OSError):
        return exc.errno in _NETWORK_ERRNOS or "connect call failed" in str(exc).lower()
    return False


class OutageWatch:
    """One component's view of an outage: the first failure is logged once (a WARNING naming it), the
    end once (how long it lasted, how many tries it took); in between the caller waits with full-jitter
    backoff capped at `cap_s`, for as long as it lasts."""

    def __init__(self, what: str, logger: logging.Logger, *, base_s: float = 0.1, cap_s: float = 5.0) -> None:
        self.what, self.log, self.base_s, self.cap_s = what, logger, base_s, cap_s
        self.started: float | None = None
        self.tries = 0
        self.outages = 0  # how many outages this watch has seen end

    @property
    def active(self) -> bool:
        return self.started is not None

    def delay(self) -> float:
        return random.uniform(self.base_s, min(self.cap_s, self.base_s * 2 ** min(self.tries, 16)))

    def failed(self, exc: BaseException) -> float:
        """Note a failure caused by the outage; returns how long to wait before trying again."""
        if self.started is None:
            self.started = time.monotonic()
            self.tries = 0
            self.log.warning("%s: %s is unreachable (%s: %s); waiting for it", self.what, _which(exc),
                             type(exc).__name__, str(exc) or "no detail")
        self.tries += 1
        return self.delay()

    async def wait(self, exc: BaseException, stop: asyncio.Event | None = None) -> None:
        delay = self.failed(exc)
        if stop is None:
            await asyncio.sleep(delay)
            return
        try:
            # Not asyncio.wait_for: on Python 3.11 it can swallow a cancellation that arrives as the
            # wait ends, and a stop (Ctrl-C, SIGTERM) must never be lost.
            async with asyncio.timeout(delay):
                await stop.wait()
        except TimeoutError:
            pass

    def recovered(self) -> None:
        """The operation went through: if an outage was on, log its end once."""
        if self.started is None:
            return
        lasted = time.monotonic() - self.started
        self.log.warning("%s: reconnected after %.1f s (%d tries)", self.what, lasted, self.tries)
        self.started = None
        self.tries = 0
        self.outages += 1


def _which(exc: BaseException) -> str:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _KAFKA_OUTAGES):
            return "the broker"
        if isinstance(current, (StoreUnavailable, asyncpg.PostgresError, asyncpg.InterfaceError)):
            return "the database"
        current = current.__cause__ or current.__context__
    return "the database or the broker"


class OncePerInterval(logging.Filter):
    """Lets each message template of a logger through once per `interval_s`, then says how many it
    held back. aiokafka logs every failed reconnect to a broker that is down (tens of thousands of
    lines in a 10 s outage); one line per kind and interval tells the operator as much."""

    def __init__(self, interval_s: float = 30.0) -> None:
        super().__init__()
        self.interval_s = interval_s
        self._last: dict[tuple[str, object], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.msg)
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last[0] < self.interval_s:
            self._last[key] = (last[0], last[1] + 1)
            return False
        if last is not None and last[1]:
            record.msg = f"{record.msg} (and {last[1]} more like it in the last {now - last[0]:.0f} s)"
        self._last[key] = (now, 0)
        record.exc_info = None  # the first line says it; a traceback per reconnect says nothing more
        return True


def quiet_broker_client_logs(interval_s: float = 30.0) -> None:
    """Rate-limit aiokafka's own logging (see OncePerInterval) on every handler of the root logger."""
    once = OncePerInterval(interval_s)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_OnlyFor("aiokafka", once))


class _OnlyFor(logging.Filter):
    def __init__(self, prefix: str, inner: logging.Filter) -> None:
        super().__init__()
        self.prefix, self.inner = prefix, inner

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith(self.prefix) or self.inner.filter(record)


__all__ = ["OncePerInterval", "OutageWatch", "is_outage", "quiet_broker_client_logs"]

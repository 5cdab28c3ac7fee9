"""Paid work kept across crashes: the results of expensive effects (a model's answer) of one handling
in progress, stored beside the log as soon as they are paid for.

A service's outputs, model call records included, are stored only when its handling commits. A
process killed between a model's answer and that commit would ask (and pay for) the same call again
when the event is redelivered. So the dispatcher opens a `PaidResults` for each handling
(`paying_for`); a model client finds it with `current_paid_results()`, looks a call up before making
it and keeps the answer as soon as it has it. The handling's commit deletes its kept results in the
same transaction: from then on the log holds the call, and a redelivered event is skipped anyway.
A handling that is never recorded (dead-lettered, cut off) leaves its results behind until its run
ends: the append holding the run's end drops every result kept for the run's events. A result is
kept with its secrets redacted, as the event store keeps payloads.

A result is found again by what was asked: the key is a digest of the request and how many times the
same request was made before in this handling, so a decision made again (after a crash, a conflict
or a failed attempt) that asks the same things in the same order is given the same answers, and one
that asks something else is not given an answer to another question.
"""

from __future__ import annotations

import contextvars
import hashlib
import logging
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from wave_events import redact
from wave_events.catalogue import TERMINAL_EVENTS

if TYPE_CHECKING:
    from .port import EventStore

log = logging.getLogger("wave.store")


class PaidResults:
    """The kept results of one consumer's handling of one event."""

    def __init__(
        self, store: EventStore, consumer: str, cause_event_id: uuid.UUID, producer: str | None = None,
        traceparent: str | None = None,
    ) -> None:
        self.store = store
        self.consumer = consumer
        self.cause_event_id = cause_event_id
        self.producer = producer or consumer  # `<service>@<instance>`: who stores what the handling appends beside it
        self.traceparent = traceparent  # the handling's trace: what it appends beside its outputs joins the run's
        self._asked: dict[str, int] = {}

    def key(self, kind: str, request: str) -> str:
        """The key of the next `kind` effect asked with `request` in this handling attempt."""
        digest = hashlib.sha256(request.encode()).hexdigest()
        occurrence = self._asked.get(digest, 0)
        self._asked[digest] = occurrence + 1
        return f"{kind}/{digest}/{occurrence}"

    async def recall(self, key: str) -> str | None:
        """The result kept under `key`, or None (also when the store cannot be read: the effect is then
        carried out again, as it would have been without this)."""
        try:
            return await self.store.paid_result(self.consumer, self.cause_event_id, key)
        except Exception:  # noqa: BLE001 - a lookup that fails only costs the effect again
            log.warning("%s: looking up a paid result of %s failed", self.consumer, self.cause_event_id, exc_info=True)
            return None

    async def keep(self, key: str, document: str) -> None:
        """Keep `document` under `key`; never raises: the result in hand is used whether or not it is kept."""
        try:
            await self.store.keep_paid_result(self.consumer, self.cause_event_id, key, document)
        except Exception:  # noqa: BLE001 - keeping is insurance; the handling goes on without it
            log.warning("%s: keeping a paid result of %s failed", self.consumer, self.cause_event_id, exc_info=True)


RUN_ENDING_TYPES = frozenset(event.event_type for event in TERMINAL_EVENTS)


def kept_form(document: str) -> str:
    """What is stored of a paid result: the document with its secrets redacted."""
    return redact(document)


def ends_a_run(event_types: Iterable[str]) -> bool:
    """Whether an append holding these events ends its run: the run's kept results are dropped with it
    (a handling of the run still going would only pay again if it were cut off)."""
    return any(event_type in RUN_ENDING_TYPES for event_type in event_types)


_CURRENT: contextvars.ContextVar[PaidResults | None] = contextvars.ContextVar("wave_paid_results", default=None)


@contextmanager
def paying_for(results: PaidResults) -> Iterator[PaidResults]:
    """Effects carried out inside are kept in (and looked up from) `results`."""
    token = _CURRENT.set(results)
    try:
        yield results
    finally:
        _CURRENT.reset(token)


def current_paid_results() -> PaidResults | None:
    return _CURRENT.get()


__all__ = ["PaidResults", "current_paid_results", "paying_for"]

"""WAVE service runtime: the handler contract, the dispatcher shared by every transport, the
embedded transport (the store's global order), the Kafka transport with its outbox relay, durable
timers, dead letters, tracing and metrics."""

from .deadletters import DeadLetter, DeadLetters, FileDeadLetters
from .embedded import EmbeddedRuntime, StoreSubscription
from .engine import Dispatcher, HandlingFailed, RetryPolicy, TimerPoller
from .handler import CancelTimer, Output, ScheduleTimer, Service, TransientError, Unrecoverable

__all__ = [
    "CancelTimer",
    "DeadLetter",
    "DeadLetters",
    "Dispatcher",
    "EmbeddedRuntime",
    "FileDeadLetters",
    "HandlingFailed",
    "Output",
    "RetryPolicy",
    "ScheduleTimer",
    "Service",
    "StoreSubscription",
    "TimerPoller",
    "TransientError",
    "Unrecoverable",
]

"""WAVE service runtime."""

from .handler import CancelTimer, Output, ScheduleTimer, Service, TransientError

__all__ = ["CancelTimer", "Output", "ScheduleTimer", "Service", "TransientError"]

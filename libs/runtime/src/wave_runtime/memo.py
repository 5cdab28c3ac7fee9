"""Results of effects a service already carried out, so a decision made again does not repeat them.

The runtime decides again after a concurrency conflict (another service appended to the run while
this one worked) and after a failed attempt. An effect that is expensive or visible — a model call
that is paid for, a test suite, a Slack post — is looked up here by its cause before it is carried
out a second time in this process. Durable idempotency keys still guard across processes, and a
model's answer is kept in the store as well (`wave_store.paid`), so a crash does not pay for it again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class EffectResults(Generic[K, V]):
    """A bounded map from an effect's key (usually the cause event id and what was done) to its
    result; the least recently used entries are dropped first. Failures are never stored."""

    def __init__(self, size: int = 64) -> None:
        if size < 1:
            raise ValueError(f"size must be at least 1, got {size}")
        self.size = size
        self._results: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        result = self._results.get(key)
        if result is not None:
            self._results.move_to_end(key)
        return result

    def put(self, key: K, result: V) -> V:
        self._results[key] = result
        self._results.move_to_end(key)
        while len(self._results) > self.size:
            self._results.popitem(last=False)
        return result

    async def once(self, key: K, carry_out: Callable[[], Awaitable[V]]) -> V:
        """The stored result for `key`, or `carry_out()`'s, stored when it returns (not when it raises)."""
        known = self.get(key)
        return known if known is not None else self.put(key, await carry_out())

    def __len__(self) -> int:
        return len(self._results)

"""Helpers for wave_llm tests: a client wired to given providers, and a sleep that records its waits."""

from __future__ import annotations

import random
from collections.abc import Sequence

from wave_llm import (
    ROLES,
    FileBlobStore,
    ModelClient,
    ModelProvider,
    PriceTable,
    RetryPolicy,
    RouteEntry,
    Router,
)

PRICES = PriceTable()


class RecordedSleep:
    """Stands in for asyncio.sleep: returns at once and remembers how long it was asked to wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def entry(provider: ModelProvider, model: str, max_failures: int = 1, *, metered: bool = True) -> RouteEntry:
    return RouteEntry(provider, model, max_failures, PRICES.price(model, metered=metered))


def client_for(
    route: Sequence[RouteEntry],
    blobs_dir,
    *,
    retry: RetryPolicy | None = None,
    sleep=None,
    inline_limit: int = 16 * 1024,
    **options,
) -> ModelClient:
    """A client whose every role uses `route`."""
    router = Router({role: route for role in ROLES})
    extra = {"sleep": sleep} if sleep is not None else {}
    return ModelClient(
        router,
        blobs=FileBlobStore(blobs_dir),
        retry=retry or RetryPolicy(max_attempts=1),
        inline_limit=inline_limit,
        rng=random.Random(7),
        **extra,
        **options,
    )

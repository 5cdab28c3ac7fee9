"""The dashboard of a distributed deployment: each service's own Prometheus metrics, scraped from its
`/metrics` (the runtime's health server) when the portal asks. The store is not read: counting a
large log on every look would cost more than the figures are worth.

Figures are since the service process started, except events per second, which is the change since
the previous scrape of the same target by this API process."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from pydantic import BaseModel

SCRAPE_TIMEOUT_S = 3.0


class ScrapedModelSpend(BaseModel):
    role: str
    provider: str
    input_tokens: int
    output_tokens: int
    cost_usd: float


class ScrapedService(BaseModel):
    service: str
    target: str
    up: bool
    error: str | None = None
    events_handled: int = 0
    events_per_second: float | None = None  # None: no earlier scrape to compare with
    handler_p50_ms: float | None = None  # None: nothing handled yet
    handler_p99_ms: float | None = None
    failures: int = 0
    consumer_lag: int = 0
    dead_letters: int = 0
    models: list[ScrapedModelSpend] = []


@dataclass(frozen=True)
class Target:
    service: str
    url: str


def quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """The q-quantile (0-1) of a cumulative histogram [(upper bound, count)], interpolated within its
    bucket as Prometheus' histogram_quantile does; None without observations."""
    ordered = sorted(buckets)
    if not ordered or ordered[-1][1] <= 0:
        return None
    rank = q * ordered[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in ordered:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound  # past the largest finite bucket: its bound is all that is known
            share = (rank - lower_count) / (count - lower_count) if count > lower_count else 0.0
            return lower_bound + (bound - lower_bound) * share
        lower_bound, lower_count = bound, count
    return lower_bound


def figures_of(service: str, target: str, samples: Iterable[Sample]) -> ScrapedService:
    """One service's dashboard row from the samples of its /metrics (pure)."""
    handled = failures = lag = dead = 0.0
    buckets: dict[float, float] = {}
    tokens: dict[tuple[str, str, str], float] = {}
    cost: dict[tuple[str, str], float] = {}
    for sample in samples:
        name, labels, value = sample.name, sample.labels, sample.value
        if name == "wave_events_handled_total":
            handled += value
        elif name == "wave_handler_failures_total":
            failures += value
        elif name == "wave_consumer_lag":
            lag += value
        elif name == "wave_dead_letters_total":
            dead += value
        elif name == "wave_handler_seconds_bucket":
            bound = float(labels["le"])
            buckets[bound] = buckets.get(bound, 0.0) + value
        elif name == "wave_model_tokens_total":
            key = (labels.get("role", ""), labels.get("provider", ""), labels.get("direction", ""))
            tokens[key] = tokens.get(key, 0.0) + value
        elif name == "wave_model_cost_usd_total":
            key2 = (labels.get("role", ""), labels.get("provider", ""))
            cost[key2] = cost.get(key2, 0.0) + value
    pairs = sorted({(role, provider) for role, provider, _ in tokens} | set(cost))
    spend = [
        ScrapedModelSpend(
            role=role, provider=provider, input_tokens=int(tokens.get((role, provider, "input"), 0)),
            output_tokens=int(tokens.get((role, provider, "output"), 0)), cost_usd=round(cost.get((role, provider), 0.0), 6),
        )
        for role, provider in pairs
    ]
    histogram = list(buckets.items())
    p50, p99 = quantile(0.5, histogram), quantile(0.99, histogram)
    return ScrapedService(
        service=service, target=target, up=True, events_handled=int(handled),
        handler_p50_ms=None if p50 is None else round(p50 * 1000, 3),
        handler_p99_ms=None if p99 is None else round(p99 * 1000, 3),
        failures=int(failures), consumer_lag=int(lag), dead_letters=int(dead), models=spend,
    )


def parse_targets(text: str) -> list[Target]:
    """`planner=http://wave-planner:9100/metrics,qa=http://…` as targets, in the order given."""
    found = []
    for entry in filter(None, (part.strip() for part in text.split(","))):
        service, sep, url = (part.strip() for part in entry.partition("="))
        if not sep or not service or not url.startswith(("http://", "https://")):
            raise ValueError(f"{entry!r} is not SERVICE=http://HOST:PORT/metrics")
        found.append(Target(service, url))
    return found


class MetricsScraper:
    """Scrapes every target at once; remembers each target's last count of handled events to give a
    rate at the next look."""

    def __init__(self, targets: Sequence[Target], client: httpx.AsyncClient | None = None) -> None:
        self.targets = list(targets)
        self._client = client or httpx.AsyncClient(timeout=SCRAPE_TIMEOUT_S)
        self._previous: dict[str, tuple[float, int]] = {}

    async def close(self) -> None:
        await self._client.aclose()

    async def scrape(self) -> list[ScrapedService]:
        return list(await asyncio.gather(*(self._one(target) for target in self.targets)))

    async def _one(self, target: Target) -> ScrapedService:
        try:
            response = await self._client.get(target.url)
            if response.status_code != 200:
                raise ValueError(f"HTTP {response.status_code}")
            families = list(text_string_to_metric_families(response.text))
        except (httpx.HTTPError, ValueError) as exc:
            return ScrapedService(service=target.service, target=target.url, up=False,
                                  error=f"{type(exc).__name__}: {exc}"[:300])
        now = time.monotonic()
        row = figures_of(target.service, target.url, (s for family in families for s in family.samples))
        earlier = self._previous.get(target.url)
        self._previous[target.url] = (now, row.events_handled)
        if earlier is not None and now > earlier[0] and row.events_handled >= earlier[1]:
            # (A smaller count means the process restarted: no rate until the next look.)
            row.events_per_second = round((row.events_handled - earlier[1]) / (now - earlier[0]), 3)
        return row

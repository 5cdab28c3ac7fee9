"""The dashboard's figures, folded from events (no I/O): what each service produced, what the model
calls cost per role and provider, and which events a service gave up on."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel
from wave_events import Envelope

from ..scrape import ScrapedService

_PRODUCER_SEPARATORS = re.compile(r"[@/:\s]")


class ServiceEvents(BaseModel):
    service: str
    events: int
    by_type: dict[str, int]


class ModelSpend(BaseModel):
    service: str  # whose calls: the producer of their LLMCallRecorded
    role: str
    provider: str
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float


class DeadLetter(BaseModel):
    run_id: str
    service: str
    event_id: str
    subject_type: str
    reason: str
    action: str
    attempts: int
    dead_lettered: bool
    occurred_at: str


class Dashboard(BaseModel):
    # store: counted from the log (embedded); metrics: scraped from each service (distributed), in `scraped`.
    source: Literal["store", "metrics"] = "store"
    events: int
    services: list[ServiceEvents]
    models: list[ModelSpend]
    dead_letters: list[DeadLetter]
    scraped: list[ScrapedService] = []


def service_of(producer: str) -> str:
    """`planner@0.1.0` → `planner`: the producer's name without its version or instance."""
    return _PRODUCER_SEPARATORS.split(producer.strip(), maxsplit=1)[0] or "unknown"


def dashboard_of(events: Iterable[Envelope]) -> Dashboard:
    per_service: dict[str, Counter[str]] = {}
    spend: dict[tuple[str, str, str], ModelSpend] = {}
    abandoned: list[DeadLetter] = []
    total = 0
    for envelope in events:
        total += 1
        service = service_of(envelope.producer)
        per_service.setdefault(service, Counter())[envelope.type] += 1
        payload = envelope.payload
        if envelope.type == "LLMCallRecorded":
            key = (service, payload.role, payload.provider)
            row = spend.setdefault(key, ModelSpend(service=service, role=payload.role, provider=payload.provider,
                                                   calls=0, input_tokens=0, output_tokens=0, cost_usd=0.0))
            row.calls += 1
            row.input_tokens += payload.input_tokens
            row.output_tokens += payload.output_tokens
            row.cost_usd = round(row.cost_usd + payload.cost_usd, 6)
        elif envelope.type == "HandlingAbandoned":
            abandoned.append(DeadLetter(
                run_id=envelope.stream_id.removeprefix("run-"), service=payload.service, event_id=str(payload.event_id),
                subject_type=payload.subject_type, reason=payload.reason, action=payload.action,
                attempts=payload.attempts, dead_lettered=payload.dead_lettered, occurred_at=str(envelope.occurred_at),
            ))
    return Dashboard(
        events=total,
        services=[ServiceEvents(service=name, events=sum(counts.values()), by_type=dict(counts.most_common()))
                  for name, counts in sorted(per_service.items())],
        models=sorted(spend.values(), key=lambda row: (row.service, row.role, row.provider)),
        dead_letters=abandoned,
    )

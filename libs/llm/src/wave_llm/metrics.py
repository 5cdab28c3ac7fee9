"""Prometheus counters of the model calls a process made: tokens and cost by role, provider and model.

Registered in the process's default registry, so a service's `/metrics` (wave_runtime's health
server) serves them; the dashboards and alerts in deploy/k8s read them.
"""

from __future__ import annotations

from prometheus_client import Counter

from .model import ModelResponse

MODEL_TOKENS = Counter(
    "wave_model_tokens_total",
    "Tokens of answered model calls",
    ["role", "provider", "model", "direction"],  # direction: input or output
)
MODEL_COST = Counter("wave_model_cost_usd_total", "Cost of answered model calls in US dollars", ["role", "provider", "model"])


def record_call(role: str, response: ModelResponse, cost_usd: float) -> None:
    """Count one answered call (failed attempts cost nothing and carry no token counts)."""
    MODEL_TOKENS.labels(role, response.provider, response.model, "input").inc(response.input_tokens)
    MODEL_TOKENS.labels(role, response.provider, response.model, "output").inc(response.output_tokens)
    MODEL_COST.labels(role, response.provider, response.model).inc(cost_usd)

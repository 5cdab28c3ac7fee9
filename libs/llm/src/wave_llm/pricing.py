"""What model calls cost: USD per million input and output tokens, per model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Price:
    input_per_mtok: float
    output_per_mtok: float

    def __post_init__(self) -> None:
        if self.input_per_mtok < 0 or self.output_per_mtok < 0:
            raise ValueError("prices must not be negative")

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return round(
            (input_tokens * self.input_per_mtok + output_tokens * self.output_per_mtok) / 1_000_000, 10
        )


FREE = Price(0.0, 0.0)

# List prices in USD per million tokens; the config's `prices:` section overrides or extends them.
DEFAULT_PRICES: dict[str, Price] = {
    "claude-opus-4-1": Price(15.0, 75.0),
    "claude-opus-4": Price(15.0, 75.0),
    "claude-sonnet-4-5": Price(3.0, 15.0),
    "claude-sonnet-4": Price(3.0, 15.0),
    "claude-3-7-sonnet": Price(3.0, 15.0),
    "claude-haiku-4-5": Price(1.0, 5.0),
    "claude-3-5-haiku": Price(0.8, 4.0),
    "gpt-5": Price(1.25, 10.0),
    "gpt-5-mini": Price(0.25, 2.0),
    "gpt-4.1": Price(2.0, 8.0),
    "gpt-4.1-mini": Price(0.4, 1.6),
    "gpt-4o": Price(2.5, 10.0),
    "gpt-4o-mini": Price(0.15, 0.6),
    "o4-mini": Price(1.1, 4.4),
    "grok-4": Price(3.0, 15.0),
    "grok-code-fast-1": Price(0.2, 1.5),
    "grok-3": Price(3.0, 15.0),
    "grok-3-mini": Price(0.3, 0.5),
    "scripted": FREE,
}


class PriceTable:
    """Prices by model name. A dated model id ("claude-sonnet-4-5-20250929") takes the price of the longest
    listed name it starts with, so a new snapshot of a known model needs no new entry."""

    def __init__(self, prices: Mapping[str, Price] | None = None) -> None:
        self._prices = dict(DEFAULT_PRICES if prices is None else prices)

    def with_overrides(self, overrides: Mapping[str, Price]) -> PriceTable:
        return PriceTable({**self._prices, **overrides})

    def lookup(self, model: str) -> Price | None:
        if model in self._prices:
            return self._prices[model]
        prefixes = [name for name in self._prices if model.startswith(name + "-")]
        return self._prices[max(prefixes, key=len)] if prefixes else None

    def price(self, model: str, *, metered: bool = True) -> Price:
        """The price of `model`; an unlisted model is free on an unmetered (local) provider, an error otherwise."""
        found = self.lookup(model)
        if found is not None:
            return found
        if not metered:
            return FREE
        raise KeyError(f"no price for model {model!r}; add it under `prices:` in the models config")

    def as_dict(self) -> dict[str, dict[str, float]]:
        return {
            name: {"input": p.input_per_mtok, "output": p.output_per_mtok}
            for name, p in sorted(self._prices.items())
        }

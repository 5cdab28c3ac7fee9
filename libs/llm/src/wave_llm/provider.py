"""The port every model adapter implements."""

from __future__ import annotations

from abc import ABC, abstractmethod

from .model import ModelRequest, ModelResponse


class ModelProvider(ABC):
    """Sends one request to one model and returns its answer.

    Contract:
    - `name` identifies the adapter instance in routes and records (e.g. "anthropic", "xai").
    - `complete` makes exactly one attempt: no retries of its own (the SDKs' are switched off too); retrying
      with backoff happens in one place, `wave_llm.retry`, so every provider behaves alike.
    - Failures are raised as `TransientModelError` (worth retrying) or `PermanentModelError`; no other
      exception escapes for a failure of the remote side.
    - The response carries the token usage the provider reported and the model that answered.
    """

    name: str

    @abstractmethod
    async def complete(self, request: ModelRequest) -> ModelResponse:
        """One attempt at `request`: the model's answer, or `TransientModelError` / `PermanentModelError`."""

    @abstractmethod
    async def aclose(self) -> None:
        """Release the adapter's connections; it is not called again afterwards."""

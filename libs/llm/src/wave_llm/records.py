"""The events a model call leaves behind: `LLMCallRecorded` for every attempt, `BudgetCharged` for an answer."""

from __future__ import annotations

from collections.abc import Sequence

from wave_events.base import DomainEvent
from wave_events.catalogue import BudgetCharged, ContentRef, LLMCallRecorded
from wave_events.redaction import redact

from .blobs import BlobStore
from .model import ModelRequest, ModelResponse
from .reservations import current_task

INLINE_LIMIT_BYTES = 16 * 1024


class CallRecorder:
    """Builds call records. Bodies are redacted first; a body over `inline_limit` bytes goes to the blob store
    and the event carries its `ContentRef` instead, which keeps events small and the store append-only."""

    def __init__(self, blobs: BlobStore, *, inline_limit: int = INLINE_LIMIT_BYTES) -> None:
        if inline_limit < 0:
            raise ValueError(f"inline_limit must not be negative, got {inline_limit}")
        self.blobs = blobs
        self.inline_limit = inline_limit

    async def _body(self, text: str) -> tuple[str | None, ContentRef | None]:
        data = redact(text).encode("utf-8")
        if len(data) <= self.inline_limit:
            return data.decode("utf-8"), None
        return None, await self.blobs.put(data)

    async def answered(
        self, request: ModelRequest, response: ModelResponse, cost_usd: float
    ) -> LLMCallRecorded:
        prompt, prompt_ref = await self._body(request.prompt_text())
        body, response_ref = await self._body(response.response_text())
        return LLMCallRecorded(
            role=request.role,
            provider=response.provider,
            model=response.model,
            prompt=prompt,
            prompt_ref=prompt_ref,
            response=body,
            response_ref=response_ref,
            input_tokens=response.input_tokens,
            output_tokens=response.output_tokens,
            cost_usd=cost_usd,
            latency_ms=response.latency_ms,
            outcome="ok",
            task_id=current_task(),
        )

    async def failed(
        self, request: ModelRequest, provider: str, error: BaseException, latency_ms: float
    ) -> LLMCallRecorded:
        prompt, prompt_ref = await self._body(request.prompt_text())
        return LLMCallRecorded(
            role=request.role,
            provider=provider,
            model=request.model,
            prompt=prompt,
            prompt_ref=prompt_ref,
            input_tokens=0,
            output_tokens=0,
            cost_usd=0.0,
            latency_ms=latency_ms,
            outcome="error",
            error=redact(f"{type(error).__name__}: {error}"),
            task_id=current_task(),
        )


def budget_charged(response: ModelResponse, cost_usd: float) -> BudgetCharged:
    return BudgetCharged(tokens=response.total_tokens, cost_usd=cost_usd)


def answer_refused(events: Sequence[DomainEvent], reason: str) -> list[DomainEvent]:
    """One call's events with its answer's record marked as refused by the caller: the model answered,
    and the call is charged, but the answer could not be used — the record says why."""
    marked = list(events)
    for index in range(len(marked) - 1, -1, -1):
        record = marked[index]
        if isinstance(record, LLMCallRecorded) and record.outcome == "ok":
            marked[index] = record.model_copy(update={"rejected_reason": reason[:4000]})
            break
    return marked

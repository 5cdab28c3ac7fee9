"""Anthropic's Messages API through the official `anthropic` SDK."""

from __future__ import annotations

import time
from typing import Any

import anthropic

from ..errors import PermanentModelError, TransientModelError, from_http_status
from ..model import ModelRequest, ModelResponse, ToolCall
from ..provider import ModelProvider


class AnthropicProvider(ModelProvider):
    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None = None,
        timeout_s: float = 60.0,
        name: str = "anthropic",
    ) -> None:
        if not api_key:
            raise ValueError(f"provider {name!r}: an API key is required")
        if timeout_s <= 0:
            raise ValueError(f"provider {name!r}: timeout_s must be positive, got {timeout_s}")
        self.name = name
        # Retries are ours (wave_llm.retry), so the SDK must not add its own on top.
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=0
        )

    async def complete(self, request: ModelRequest) -> ModelResponse:
        arguments: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        }
        if request.system:
            arguments["system"] = request.system
        if request.temperature is not None:
            arguments["temperature"] = request.temperature
        if request.tools:
            arguments["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.input_schema}
                for t in request.tools
            ]
        started = time.perf_counter()
        try:
            message = await self._client.messages.create(**arguments)
        except anthropic.APIStatusError as exc:
            raise from_http_status(
                self.name, exc.status_code, _message_of(exc), exc.response.headers
            ) from exc
        except anthropic.APITimeoutError as exc:
            raise TransientModelError(f"{self.name}: timed out", provider=self.name) from exc
        except anthropic.APIConnectionError as exc:
            raise TransientModelError(f"{self.name}: connection failed: {exc}", provider=self.name) from exc
        except anthropic.AnthropicError as exc:
            raise PermanentModelError(f"{self.name}: {exc}", provider=self.name) from exc
        latency_ms = (time.perf_counter() - started) * 1000
        return _to_response(self.name, message, latency_ms)

    async def aclose(self) -> None:
        await self._client.close()


def _message_of(exc: anthropic.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message", exc.message))
    return exc.message


def _to_response(provider: str, message: Any, latency_ms: float) -> ModelResponse:
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in message.content or ():
        if block.type == "text":
            texts.append(block.text)
        elif block.type == "tool_use":
            calls.append(ToolCall(id=block.id, name=block.name, arguments=dict(block.input or {})))
    if message.usage is None:
        raise PermanentModelError(f"{provider}: the answer reported no token usage", provider=provider)
    return ModelResponse(
        text="".join(texts),
        tool_calls=tuple(calls),
        input_tokens=message.usage.input_tokens,
        output_tokens=message.usage.output_tokens,
        model=message.model,
        provider=provider,
        latency_ms=latency_ms,
    )

"""OpenAI's chat completions API, and any endpoint that speaks it (xAI Grok, vLLM, Ollama), via `openai`."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import openai

from ..errors import PermanentModelError, TransientModelError, from_http_status
from ..model import ModelRequest, ModelResponse, ToolCall
from ..provider import ModelProvider


@dataclass(frozen=True)
class Preset:
    """Where an OpenAI-compatible service lives, which variable holds its key, and whether calls cost money."""

    base_url: str
    api_key_env: str | None
    base_url_env: str
    metered: bool


OPENAI_COMPATIBLE_PRESETS: dict[str, Preset] = {
    "xai": Preset("https://api.x.ai/v1", "XAI_API_KEY", "XAI_BASE_URL", metered=True),
    "ollama": Preset("http://127.0.0.1:11434/v1", None, "WAVE_LOCAL_LLM_BASE_URL", metered=False),
    "vllm": Preset("http://127.0.0.1:8000/v1", None, "WAVE_LOCAL_LLM_BASE_URL", metered=False),
}

# Local servers ignore the key, but the SDK refuses to start without one.
_PLACEHOLDER_KEY = "not-needed"


class OpenAIProvider(ModelProvider):
    # OpenAI's current models take `max_completion_tokens`; compatible servers still expect `max_tokens`.
    _max_tokens_parameter = "max_completion_tokens"

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None = None,
        timeout_s: float = 60.0,
        name: str = "openai",
    ) -> None:
        if timeout_s <= 0:
            raise ValueError(f"provider {name!r}: timeout_s must be positive, got {timeout_s}")
        if not api_key and base_url is None:
            raise ValueError(f"provider {name!r}: an API key is required")
        self.name = name
        # Retries are ours (wave_llm.retry), so the SDK must not add its own on top.
        self._client = openai.AsyncOpenAI(
            api_key=api_key or _PLACEHOLDER_KEY, base_url=base_url, timeout=timeout_s, max_retries=0
        )

    async def complete(self, request: ModelRequest) -> ModelResponse:
        messages: list[dict[str, Any]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages.extend({"role": m.role, "content": m.content} for m in request.messages)
        arguments: dict[str, Any] = {
            "model": request.model,
            "messages": messages,
            self._max_tokens_parameter: request.max_tokens,
        }
        if request.temperature is not None:
            arguments["temperature"] = request.temperature
        if request.tools:
            arguments["tools"] = [
                {
                    "type": "function",
                    "function": {"name": t.name, "description": t.description, "parameters": t.input_schema},
                }
                for t in request.tools
            ]
        started = time.perf_counter()
        try:
            completion = await self._client.chat.completions.create(**arguments)
        except openai.APIStatusError as exc:
            raise from_http_status(
                self.name, exc.status_code, _message_of(exc), exc.response.headers
            ) from exc
        except openai.APITimeoutError as exc:
            raise TransientModelError(f"{self.name}: timed out", provider=self.name) from exc
        except openai.APIConnectionError as exc:
            raise TransientModelError(f"{self.name}: connection failed: {exc}", provider=self.name) from exc
        except openai.OpenAIError as exc:
            raise PermanentModelError(f"{self.name}: {exc}", provider=self.name) from exc
        latency_ms = (time.perf_counter() - started) * 1000
        return self._to_response(completion, latency_ms)

    def _to_response(self, completion: Any, latency_ms: float) -> ModelResponse:
        if not completion.choices:
            raise PermanentModelError(f"{self.name}: the answer has no choices", provider=self.name)
        if completion.usage is None:
            raise PermanentModelError(f"{self.name}: the answer reported no token usage", provider=self.name)
        message = completion.choices[0].message
        calls = tuple(
            ToolCall(id=c.id, name=c.function.name, arguments=self._arguments_of(c.function.arguments))
            for c in (message.tool_calls or ())
            if c.type == "function"
        )
        return ModelResponse(
            text=message.content or "",
            tool_calls=calls,
            input_tokens=completion.usage.prompt_tokens,
            output_tokens=completion.usage.completion_tokens,
            model=completion.model,
            provider=self.name,
            latency_ms=latency_ms,
        )

    def _arguments_of(self, text: str | None) -> dict[str, Any]:
        try:
            value = json.loads(text or "{}")
        except json.JSONDecodeError as exc:
            raise PermanentModelError(
                f"{self.name}: a tool call's arguments are not JSON: {text!r}", provider=self.name
            ) from exc
        if not isinstance(value, dict):
            raise PermanentModelError(
                f"{self.name}: a tool call's arguments are not an object: {text!r}", provider=self.name
            )
        return value

    async def aclose(self) -> None:
        await self._client.close()


class OpenAICompatibleProvider(OpenAIProvider):
    _max_tokens_parameter = "max_tokens"

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        name: str = "openai-compatible",
    ) -> None:
        if not base_url:
            raise ValueError(f"provider {name!r}: base_url is required")
        super().__init__(api_key=api_key, base_url=base_url, timeout_s=timeout_s, name=name)

    @classmethod
    def from_preset(
        cls,
        preset: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout_s: float = 60.0,
        name: str | None = None,
    ) -> OpenAICompatibleProvider:
        try:
            chosen = OPENAI_COMPATIBLE_PRESETS[preset]
        except KeyError:
            raise ValueError(
                f"unknown preset {preset!r}; known: {', '.join(sorted(OPENAI_COMPATIBLE_PRESETS))}"
            ) from None
        if chosen.api_key_env and not api_key:
            raise ValueError(f"preset {preset!r} needs an API key (set {chosen.api_key_env})")
        return cls(
            base_url=base_url or chosen.base_url, api_key=api_key, timeout_s=timeout_s, name=name or preset
        )


def _message_of(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and "message" in error:
            return str(error["message"])
    return exc.message

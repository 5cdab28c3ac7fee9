"""Record mode: real calls pass through, and each answer is appended to a cassette for later replay."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

from ..cassette import Cassette, Interaction, RecordedRequest, ScriptedResponse, dump_cassette, load_cassette
from ..model import ModelRequest, ModelResponse
from ..provider import ModelProvider


class RecordingProvider(ModelProvider):
    """Wraps a real provider; every successful answer becomes the next interaction of its role.

    Interactions carry no `match`, so the scripted provider plays them back in the order they were recorded,
    per role. The cassette file is rewritten atomically after each call, so a crash never leaves half a file.
    """

    def __init__(self, inner: ModelProvider, cassette: str | os.PathLike[str]) -> None:
        self.inner = inner
        self.name = inner.name
        self.cassette_path = Path(cassette)
        self._lock = asyncio.Lock()

    async def complete(self, request: ModelRequest) -> ModelResponse:
        response = await self.inner.complete(request)
        interaction = Interaction(
            role=request.role,
            response=ScriptedResponse(
                text=response.text,
                tool_calls=response.tool_calls,
                input_tokens=response.input_tokens,
                output_tokens=response.output_tokens,
                model=response.model,
            ),
            recorded=RecordedRequest(
                provider=response.provider,
                model=request.model,
                prompt_sha256=hashlib.sha256(request.prompt_text().encode()).hexdigest(),
            ),
        )
        async with self._lock:
            await asyncio.to_thread(self._append, interaction)
        return response

    def _append(self, interaction: Interaction) -> None:
        existing = load_cassette(self.cassette_path) if self.cassette_path.exists() else Cassette()
        dump_cassette(Cassette(interactions=(*existing.interactions, interaction)), self.cassette_path)

    async def aclose(self) -> None:
        await self.inner.aclose()

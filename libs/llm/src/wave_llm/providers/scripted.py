"""Plays a cassette's answers back: the offline default, the demo's model, and audit replay."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from ..cassette import Cassette, Interaction, load_cassette
from ..errors import CassetteError, ModelSourceUnavailable, PermanentModelError, TransientModelError
from ..model import ModelRequest, ModelResponse
from ..provider import ModelProvider
from ..runplay import cassette_document, current_run_play, document_sha256


class ScriptedProvider(ModelProvider):
    """Answers each request with the first unused interaction of its role whose `match` accepts it.

    Answers are consumed in cassette order per role, so the same sequence of requests always gets the same
    answers: a replay of a run makes identical calls. The cassette is read once, when first needed.

    Inside `playing_run(state)` (a service handling a run's event) what is used is the run's, not this
    process's: the run's earlier calls of the role used its first answers (one each, in cassette order;
    a `repeat` answer is never used up), counted from the run's history (`wave_llm.runplay`).
    """

    @classmethod
    def playing(cls, cassette: Cassette, *, name: str = "scripted") -> ScriptedProvider:
        """A provider for a cassette already in hand (a run's own)."""
        provider = cls("(the run's cassette)", name=name)
        provider._cassette = cassette
        return provider

    def __init__(self, cassette: str | os.PathLike[str], *, name: str = "scripted") -> None:
        self.name = name
        self.cassette_path = Path(cassette)
        self._cassette: Cassette | None = None
        self._used: set[int] = set()
        self._sha256: str | None = None
        self._lock = asyncio.Lock()

    def _interactions(self) -> tuple[Interaction, ...]:
        if self._cassette is None:
            try:
                self._cassette = load_cassette(self.cassette_path)
            except CassetteError as exc:
                if not self.cassette_path.exists():
                    raise ModelSourceUnavailable(
                        f"no model source: no model API key is set and the cassette {self.cassette_path} does not exist",
                        action=(
                            "set a model API key (ANTHROPIC_API_KEY, OPENAI_API_KEY, XAI_API_KEY) where the services "
                            f"run, or put a cassette at {self.cassette_path}"
                        ),
                    ) from None
                raise ModelSourceUnavailable(str(exc), action=f"repair the cassette {self.cassette_path}") from None
        return self._cassette.interactions

    async def complete(self, request: ModelRequest) -> ModelResponse:
        play = current_run_play()
        if play is not None:
            earlier = play.next_call(request.role)
            _, interaction = self._next_for(request, self._used_by_run(request.role, earlier))
        else:
            async with self._lock:
                index, interaction = self._next_for(request, self._used)
                if not interaction.repeat:
                    self._used.add(index)
        answer = interaction.response
        if answer.latency_ms:
            await asyncio.sleep(answer.latency_ms / 1000)
        if answer.error is not None:
            message = f"{self.name}: {answer.error.message}"
            if answer.error.kind == "transient":
                raise TransientModelError(message, provider=self.name, status=answer.error.status)
            raise PermanentModelError(message, provider=self.name, status=answer.error.status)
        return ModelResponse(
            text=answer.text,
            tool_calls=answer.tool_calls,
            input_tokens=answer.input_tokens,
            output_tokens=answer.output_tokens,
            model=answer.model or request.model,
            provider=self.name,
            latency_ms=answer.latency_ms,
        )

    def plays(self, sha256: str) -> bool:
        """Whether this provider's cassette is the one with this fingerprint (`document_sha256`)."""
        if not sha256:
            return False
        if self._sha256 is None:
            try:
                self._sha256 = document_sha256(cassette_document(Cassette(interactions=self._interactions())))
            except CassetteError:
                self._sha256 = ""
        return self._sha256 == sha256

    def _used_by_run(self, role: str, earlier: int) -> set[int]:
        """The answers of `role` a run's `earlier` calls used up: its first ones, in cassette order."""
        consumable = [i for i, x in enumerate(self._interactions()) if x.role == role and not x.repeat]
        return set(consumable[:earlier])

    def _next_for(self, request: ModelRequest, used: set[int]) -> tuple[int, Interaction]:
        text = request.searchable_text()
        of_role = [(i, x) for i, x in enumerate(self._interactions()) if x.role == request.role]
        for index, interaction in of_role:
            if index in used:
                continue
            if interaction.match is None or interaction.match.accepts(text):
                return index, interaction
        unused = [x for i, x in of_role if i not in used]
        if not of_role:
            why = "it has no interaction for this role"
        elif not unused:
            why = f"all {len(of_role)} interactions for this role were already played"
        else:
            wanted = "; ".join(repr(list(x.match.contains)) for x in unused if x.match is not None)
            why = f"none of the {len(unused)} unused interactions for this role matches (they need {wanted})"
        raise ModelSourceUnavailable(
            f"no scripted response for role {request.role!r} in cassette {self.cassette_path}: {why}",
            action=f"add an answer for the {request.role} role to the cassette {self.cassette_path}, or set a model API key",
        )

    async def aclose(self) -> None:
        return None

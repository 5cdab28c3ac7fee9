"""The contract every `ModelProvider` adapter passes. A test module subclasses `ProviderContract` and
supplies `make_provider(answers)` fixtures; the class name has no `Test` prefix so pytest does not collect it
on its own.

An adapter under test is given a list of planned outcomes: `("answer", text, input_tokens, output_tokens)`,
`("transient", status)` or `("permanent", status)`, and must behave accordingly.
"""

from __future__ import annotations

import pytest
from wave_llm import Message, ModelRequest, PermanentModelError, TransientModelError


def request(
    role: str = "developer", model: str = "claude-sonnet-4-5", text: str = "write the change"
) -> ModelRequest:
    return ModelRequest(
        role=role,
        model=model,
        system="You are careful.",
        messages=(Message(role="user", content=text),),
        max_tokens=256,
    )


class ProviderContract:
    model = "claude-sonnet-4-5"

    async def test_answer_carries_text_usage_and_names(self, make_provider):
        provider = await make_provider([("answer", "the diff", 120, 45)])
        response = await provider.complete(request(model=self.model))
        assert response.text == "the diff"
        assert (response.input_tokens, response.output_tokens) == (120, 45)
        assert response.provider == provider.name
        assert response.model.startswith(self.model)
        assert response.latency_ms >= 0

    async def test_server_error_is_transient(self, make_provider):
        provider = await make_provider([("transient", 503)])
        with pytest.raises(TransientModelError) as caught:
            await provider.complete(request(model=self.model))
        assert caught.value.provider == provider.name

    async def test_rejected_request_is_permanent(self, make_provider):
        provider = await make_provider([("permanent", 401)])
        with pytest.raises(PermanentModelError) as caught:
            await provider.complete(request(model=self.model))
        assert caught.value.provider == provider.name

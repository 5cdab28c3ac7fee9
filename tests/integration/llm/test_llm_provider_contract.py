"""Every ModelProvider adapter passes the same contract: the SDK adapters against the local fake API server,
the scripted provider from a cassette."""

import json

import pytest
from llm_fake_server import Reply
from llm_provider_contract import ProviderContract
from wave_llm import AnthropicProvider, OpenAICompatibleProvider, OpenAIProvider, ScriptedProvider


def _replies(plan):
    replies = []
    for outcome, *rest in plan:
        if outcome == "answer":
            text, input_tokens, output_tokens = rest
            replies.append(Reply(text=text, input_tokens=input_tokens, output_tokens=output_tokens))
        else:
            replies.append(Reply(status=rest[0]))
    return replies


@pytest.fixture
async def opened():
    providers = []
    yield providers
    for provider in providers:
        await provider.aclose()


class TestAnthropicProviderContract(ProviderContract):
    @pytest.fixture
    def make_provider(self, fake_server, opened):
        async def make(plan):
            fake_server.enqueue("anthropic", *_replies(plan))
            provider = AnthropicProvider(
                api_key="sk-ant-test-key-0000000000", base_url=fake_server.url, timeout_s=5
            )
            opened.append(provider)
            return provider

        return make


class TestOpenAIProviderContract(ProviderContract):
    model = "gpt-4.1"

    @pytest.fixture
    def make_provider(self, fake_server, opened):
        async def make(plan):
            fake_server.enqueue("openai", *_replies(plan))
            provider = OpenAIProvider(
                api_key="sk-test-openai-0000000000", base_url=fake_server.openai_url, timeout_s=5
            )
            opened.append(provider)
            return provider

        return make


class TestXaiPresetProviderContract(ProviderContract):
    model = "grok-4"

    @pytest.fixture
    def make_provider(self, fake_server, opened):
        async def make(plan):
            fake_server.enqueue("openai", *_replies(plan))
            provider = OpenAICompatibleProvider.from_preset(
                "xai", api_key="xai-test-0000000000000000", base_url=fake_server.openai_url, timeout_s=5
            )
            opened.append(provider)
            return provider

        return make


class TestScriptedProviderContract(ProviderContract):
    @pytest.fixture
    def make_provider(self, tmp_path):
        async def make(plan):
            interactions = []
            for outcome, *rest in plan:
                if outcome == "answer":
                    text, input_tokens, output_tokens = rest
                    response = {"text": text, "input_tokens": input_tokens, "output_tokens": output_tokens}
                else:
                    response = {"error": {"kind": outcome, "message": f"HTTP {rest[0]}", "status": rest[0]}}
                interactions.append({"role": "developer", "response": response})
            path = tmp_path / "contract.json"
            path.write_text(json.dumps({"version": 1, "interactions": interactions}))
            return ScriptedProvider(path)

        return make

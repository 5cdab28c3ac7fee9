"""What the SDK adapters put on the wire, and how they read answers and failures, against a local fake API."""

import pytest
from llm_fake_server import Reply
from wave_llm import (
    AnthropicProvider,
    Message,
    ModelRequest,
    OpenAICompatibleProvider,
    OpenAIProvider,
    ToolSpec,
    TransientModelError,
)

ANTHROPIC_KEY = "sk-ant-api03-test-key-abcdefghijkl"
OPENAI_KEY = "sk-proj-test-key-abcdefghijklmnop"

TOOL = ToolSpec(
    name="apply_patch",
    description="Apply a unified diff",
    input_schema={"type": "object", "properties": {"diff": {"type": "string"}}, "required": ["diff"]},
)


def _request(model: str, **changes) -> ModelRequest:
    base = dict(
        role="fixer",
        model=model,
        system="Fix the failing test.",
        messages=(
            Message(role="user", content="tests/test_a.py::test_x failed"),
            Message(role="assistant", content="Looking."),
            Message(role="user", content="Go on."),
        ),
        max_tokens=321,
        temperature=0.2,
    )
    return ModelRequest(**{**base, **changes})


async def test_anthropic_sends_model_system_messages_limits_and_key(fake_server):
    provider = AnthropicProvider(api_key=ANTHROPIC_KEY, base_url=fake_server.url, timeout_s=5)
    fake_server.enqueue("anthropic", Reply(text="patched", input_tokens=210, output_tokens=33))
    response = await provider.complete(_request("claude-sonnet-4-5"))
    await provider.aclose()

    (sent,) = fake_server.received("anthropic")
    assert sent.headers["x-api-key"] == ANTHROPIC_KEY
    assert sent.body["model"] == "claude-sonnet-4-5"
    assert sent.body["system"] == "Fix the failing test."
    assert sent.body["max_tokens"] == 321
    assert sent.body["temperature"] == 0.2
    assert sent.body["messages"] == [
        {"role": "user", "content": "tests/test_a.py::test_x failed"},
        {"role": "assistant", "content": "Looking."},
        {"role": "user", "content": "Go on."},
    ]
    assert "tools" not in sent.body
    assert (response.text, response.input_tokens, response.output_tokens) == ("patched", 210, 33)
    assert response.provider == "anthropic"


async def test_openai_sends_system_as_first_message_and_bearer_key(fake_server):
    provider = OpenAIProvider(api_key=OPENAI_KEY, base_url=fake_server.openai_url, timeout_s=5)
    fake_server.enqueue("openai", Reply(text="patched", input_tokens=99, output_tokens=12))
    response = await provider.complete(_request("gpt-4.1"))
    await provider.aclose()

    (sent,) = fake_server.received("openai")
    assert sent.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert sent.body["model"] == "gpt-4.1"
    assert sent.body["messages"][0] == {"role": "system", "content": "Fix the failing test."}
    assert [m["role"] for m in sent.body["messages"][1:]] == ["user", "assistant", "user"]
    assert sent.body["max_completion_tokens"] == 321
    assert (response.text, response.input_tokens, response.output_tokens) == ("patched", 99, 12)


async def test_compatible_endpoint_uses_max_tokens_and_works_without_a_key(fake_server):
    provider = OpenAICompatibleProvider(base_url=fake_server.openai_url, name="ollama", timeout_s=5)
    response = await provider.complete(_request("qwen2.5-coder:7b", temperature=None))
    await provider.aclose()

    (sent,) = fake_server.received("openai")
    assert sent.body["max_tokens"] == 321
    assert "max_completion_tokens" not in sent.body
    assert "temperature" not in sent.body
    assert response.provider == "ollama"
    assert response.model == "qwen2.5-coder:7b"


@pytest.mark.parametrize("api", ["anthropic", "openai"])
async def test_tools_are_offered_and_tool_calls_come_back(fake_server, api):
    call = {"id": "call_1", "name": "apply_patch", "arguments": {"diff": "--- a\n+++ b\n"}}
    fake_server.enqueue(api, Reply(text="", tool_calls=(call,)))
    if api == "anthropic":
        provider = AnthropicProvider(api_key=ANTHROPIC_KEY, base_url=fake_server.url, timeout_s=5)
    else:
        provider = OpenAIProvider(api_key=OPENAI_KEY, base_url=fake_server.openai_url, timeout_s=5)
    response = await provider.complete(_request("claude-sonnet-4-5", tools=(TOOL,)))
    await provider.aclose()

    (sent,) = fake_server.received(api)
    offered = sent.body["tools"][0]
    name = offered["name"] if api == "anthropic" else offered["function"]["name"]
    assert name == "apply_patch"
    assert [(c.id, c.name, c.arguments) for c in response.tool_calls] == [
        ("call_1", "apply_patch", {"diff": "--- a\n+++ b\n"})
    ]


@pytest.mark.parametrize("api", ["anthropic", "openai"])
async def test_rate_limit_carries_the_servers_retry_after(fake_server, api):
    fake_server.enqueue(api, Reply(status=429, headers={"retry-after": "7"}))
    if api == "anthropic":
        provider = AnthropicProvider(api_key=ANTHROPIC_KEY, base_url=fake_server.url, timeout_s=5)
    else:
        provider = OpenAIProvider(api_key=OPENAI_KEY, base_url=fake_server.openai_url, timeout_s=5)
    with pytest.raises(TransientModelError) as caught:
        await provider.complete(_request("claude-sonnet-4-5"))
    await provider.aclose()
    assert caught.value.status == 429
    assert caught.value.retry_after == 7.0
    assert len(fake_server.received(api)) == 1  # the SDK's own retries are off


async def test_a_slow_server_times_out_as_a_transient_failure(fake_server):
    fake_server.enqueue("anthropic", Reply(delay_s=1.5))
    provider = AnthropicProvider(api_key=ANTHROPIC_KEY, base_url=fake_server.url, timeout_s=0.3)
    with pytest.raises(TransientModelError, match="timed out"):
        await provider.complete(_request("claude-sonnet-4-5"))
    await provider.aclose()

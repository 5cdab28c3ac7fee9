"""The ModelClient against the local fake API: fallbacks, Retry-After, budget stops, costs, call records,
record mode and replay, and a setup loaded from a config file and the environment."""

import time

import pytest
from llm_fake_server import Reply
from llm_models import PRICES, RecordedSleep, client_for, entry
from secret_samples import anthropic_key
from wave_events.catalogue import BudgetCharged, BudgetExceeded, BudgetThresholdCrossed, LLMCallRecorded
from wave_llm import (
    AnthropicProvider,
    BudgetExhausted,
    FileBlobStore,
    ModelCallFailed,
    ModelClient,
    OpenAICompatibleProvider,
    RecordingProvider,
    RetryPolicy,
    RunBudget,
    ScriptedProvider,
    load_cassette,
    load_models_setup,
)

ANTHROPIC_KEY = "sk-ant-api03-test-key-abcdefghijkl"
XAI_KEY = "xai-testkeyabcdefghijklmnopqrstu"


@pytest.fixture
async def providers(fake_server):
    claude = AnthropicProvider(api_key=ANTHROPIC_KEY, base_url=fake_server.url, timeout_s=5)
    grok = OpenAICompatibleProvider.from_preset(
        "xai", api_key=XAI_KEY, base_url=fake_server.openai_url, timeout_s=5
    )
    yield claude, grok
    await claude.aclose()
    await grok.aclose()


def _of(events, kind):
    return [e for e in events if isinstance(e, kind)]


async def test_falls_back_to_grok_after_two_consecutive_claude_failures(fake_server, providers, tmp_path):
    claude, grok = providers
    client = client_for([entry(claude, "claude-sonnet-4-5", 2), entry(grok, "grok-4", 1)], tmp_path)
    fake_server.enqueue("anthropic", Reply(status=500), Reply(status=500))
    fake_server.enqueue("openai", Reply(text="fixed by grok", input_tokens=40, output_tokens=10))

    response, events = await client.complete("fixer", "Fix it.", "test_x failed")

    assert response.text == "fixed by grok"
    assert response.provider == "xai"
    assert len(fake_server.received("anthropic")) == 2
    assert fake_server.received("openai")[0].body["model"] == "grok-4"
    records = _of(events, LLMCallRecorded)
    assert [(r.provider, r.outcome) for r in records] == [
        ("anthropic", "error"),
        ("anthropic", "error"),
        ("xai", "ok"),
    ]
    assert "HTTP 500" in records[0].error
    assert _of(events, BudgetCharged) == [
        BudgetCharged(tokens=50, cost_usd=PRICES.price("grok-4").cost(40, 10))
    ]

    # Claude reached its threshold: the next call goes straight to Grok.
    again, _ = await client.complete("fixer", "Fix it.", "test_y failed")
    assert again.provider == "xai"
    assert len(fake_server.received("anthropic")) == 2


async def test_one_failure_below_the_threshold_stays_on_the_first_entry(fake_server, providers, tmp_path):
    claude, grok = providers
    client = client_for([entry(claude, "claude-sonnet-4-5", 2), entry(grok, "grok-4", 1)], tmp_path)
    fake_server.enqueue("anthropic", Reply(status=503), Reply(text="claude answers"))

    response, events = await client.complete("fixer", "Fix it.", "test_x failed")

    assert response.text == "claude answers"
    assert fake_server.received("openai") == []
    assert client.consecutive_failures("fixer", 0) == 0  # the answer reset the count
    assert [r.outcome for r in _of(events, LLMCallRecorded)] == ["error", "ok"]


async def test_a_rejected_key_moves_on_at_once(fake_server, providers, tmp_path):
    claude, grok = providers
    client = client_for([entry(claude, "claude-sonnet-4-5", 3), entry(grok, "grok-4", 1)], tmp_path)
    fake_server.enqueue("anthropic", Reply(status=401, error_message="invalid x-api-key"))

    response, _ = await client.complete("planner", "Plan.", "the story")

    assert response.provider == "xai"
    assert len(fake_server.received("anthropic")) == 1


async def test_when_every_entry_fails_the_error_carries_the_records(fake_server, providers, tmp_path):
    claude, grok = providers
    client = client_for([entry(claude, "claude-sonnet-4-5", 1), entry(grok, "grok-4", 1)], tmp_path)
    fake_server.enqueue("anthropic", Reply(status=500))
    fake_server.enqueue("openai", Reply(status=502))

    with pytest.raises(ModelCallFailed) as caught:
        await client.complete("merge_reviewer", "Review.", "the diff")

    assert "HTTP 500" in str(caught.value) and "HTTP 502" in str(caught.value)
    assert [(r.provider, r.outcome) for r in caught.value.events] == [
        ("anthropic", "error"),
        ("xai", "error"),
    ]


async def test_rate_limit_waits_as_long_as_retry_after_says(fake_server, providers, tmp_path):
    claude, _ = providers
    client = client_for(
        [entry(claude, "claude-sonnet-4-5", 1)], tmp_path, retry=RetryPolicy(max_attempts=2, base_delay_s=0.0)
    )
    fake_server.enqueue(
        "anthropic", Reply(status=429, headers={"retry-after": "0.4"}), Reply(text="after the wait")
    )

    response, events = await client.complete("developer", "Write.", "the task")

    first, second = fake_server.received("anthropic")
    assert second.at - first.at >= 0.4
    assert response.text == "after the wait"
    assert [r.outcome for r in _of(events, LLMCallRecorded)] == ["ok"]


async def test_retry_after_longer_than_the_cap_moves_to_the_next_entry(fake_server, providers, tmp_path):
    claude, grok = providers
    sleep = RecordedSleep()
    client = client_for(
        [entry(claude, "claude-sonnet-4-5", 1), entry(grok, "grok-4", 1)],
        tmp_path,
        retry=RetryPolicy(max_attempts=3, base_delay_s=0.1, max_delay_s=5),
        sleep=sleep,
    )
    fake_server.enqueue("anthropic", Reply(status=429, headers={"retry-after": "120"}))

    response, _ = await client.complete("developer", "Write.", "the task")

    assert response.provider == "xai"
    assert sleep.waits == []
    assert len(fake_server.received("anthropic")) == 1


async def test_a_call_that_would_pass_the_budget_is_never_sent(fake_server, providers, tmp_path):
    claude, _ = providers
    client = client_for([entry(claude, "claude-sonnet-4-5", 1)], tmp_path)
    budget = RunBudget(limit_usd=1.0, limit_tokens=1_000_000, used_usd=0.99, used_tokens=5_000)

    with pytest.raises(BudgetExhausted) as caught:
        await client.complete("developer", "Write.", "the task", max_tokens=4096, budget=budget)

    assert fake_server.received("anthropic") == []
    refused = caught.value
    assert refused.dimension == "usd"
    assert refused.used == 0.99 and refused.limit == 1.0
    assert refused.needed >= 4096 * 15 / 1_000_000  # every output token it may produce, at Claude's price
    event = refused.exceeded_event
    assert isinstance(event, BudgetExceeded)
    assert (event.role, event.used_tokens, event.limit_usd) == ("developer", 5_000, 1.0)


async def test_cost_comes_from_reported_usage_and_crossings_are_announced(fake_server, providers, tmp_path):
    claude, _ = providers
    client = client_for([entry(claude, "claude-sonnet-4-5", 1)], tmp_path)
    fake_server.enqueue("anthropic", Reply(text="plan", input_tokens=1_000, output_tokens=2_000))
    budget = RunBudget(limit_usd=0.05, limit_tokens=1_000_000, used_usd=0.006)

    _, events = await client.complete("planner", "Plan.", "story", max_tokens=2_500, budget=budget)

    expected_cost = (1_000 * 3.0 + 2_000 * 15.0) / 1_000_000  # claude-sonnet-4-5 at $3 / $15 per million
    (record,) = _of(events, LLMCallRecorded)
    assert record.cost_usd == pytest.approx(expected_cost)
    assert (record.input_tokens, record.output_tokens) == (1_000, 2_000)
    assert _of(events, BudgetCharged)[0].cost_usd == pytest.approx(expected_cost)
    # 0.006 + 0.033 = 0.039 of 0.05 is 78 %: the 75 % warning, not yet 90 %.
    assert [e.percent for e in _of(events, BudgetThresholdCrossed)] == [75]


async def test_large_bodies_travel_as_content_refs(fake_server, providers, tmp_path):
    claude, _ = providers
    client = client_for([entry(claude, "claude-sonnet-4-5", 1)], tmp_path / "blobs", inline_limit=16 * 1024)
    big_answer = "+ line of a long diff\n" * 1_500  # about 33 KB
    fake_server.enqueue("anthropic", Reply(text=big_answer))

    _, events = await client.complete("developer", "Write.", "small prompt")

    (record,) = _of(events, LLMCallRecorded)
    assert record.response is None and record.response_ref is not None
    assert record.response_ref.size == len(big_answer.encode())
    stored = await FileBlobStore(tmp_path / "blobs").get(record.response_ref)
    assert stored.decode() == big_answer
    assert record.prompt is not None and "small prompt" in record.prompt and record.prompt_ref is None
    digest = record.response_ref.ref.removeprefix("sha256:")
    assert (tmp_path / "blobs" / "sha256" / digest[:2] / digest).is_file()


async def test_secrets_in_prompts_are_redacted_in_the_record(fake_server, providers, tmp_path):
    claude, _ = providers
    client = client_for([entry(claude, "claude-sonnet-4-5", 1)], tmp_path)

    key = anthropic_key()  # real-looking: a repetitive stand-in such as sk-ant-api03-SECRETSECRET… is left alone
    _, events = await client.complete("developer", "Write.", f"use key {key}")

    (record,) = _of(events, LLMCallRecorded)
    assert key[13:] not in record.prompt
    assert "[REDACTED:anthropic-key]" in record.prompt


async def test_record_mode_writes_a_cassette_that_replays_identically(fake_server, providers, tmp_path):
    claude, _ = providers
    cassette = tmp_path / "recorded.yml"
    fake_server.enqueue(
        "anthropic",
        Reply(text="plan: two tasks", input_tokens=300, output_tokens=80, model="claude-sonnet-4-5-20250929"),
        Reply(text="diff for task 1", input_tokens=500, output_tokens=200),
        Reply(text="plan revised", input_tokens=310, output_tokens=90),
    )
    calls = [
        ("planner", "Plan.", "story"),
        ("developer", "Write.", "task 1"),
        ("planner", "Plan.", "story again"),
    ]

    async def run(provider):
        client = client_for([entry(provider, "claude-sonnet-4-5", 1)], tmp_path / "blobs")
        outcomes = []
        for role, system, text in calls:
            response, events = await client.complete(role, system, text, max_tokens=1000)
            record = _of(events, LLMCallRecorded)[0]
            outcomes.append(
                (
                    response.text,
                    response.model,
                    response.input_tokens,
                    response.output_tokens,
                    record.prompt,
                    record.response,
                    record.cost_usd,
                )
            )
        return outcomes

    live = await run(RecordingProvider(claude, cassette))
    assert [i.role for i in load_cassette(cassette).interactions] == ["planner", "developer", "planner"]

    replayed = await run(ScriptedProvider(cassette))

    assert replayed == live
    assert len(fake_server.received("anthropic")) == 3  # the replay asked no model


async def test_setup_from_config_file_and_environment_routes_through_the_sdks(fake_server, tmp_path):
    (tmp_path / ".wave").mkdir()
    (tmp_path / ".wave" / "models.yml").write_text(
        "routes:\n"
        "  fixer:\n"
        "    - {provider: anthropic, model: claude-sonnet-4-5, max_failures: 2}\n"
        "    - {provider: xai, model: grok-4}\n"
        "retry: {max_attempts: 1}\n"
    )
    env = {
        "ANTHROPIC_API_KEY": ANTHROPIC_KEY,
        "ANTHROPIC_BASE_URL": fake_server.url,
        "XAI_API_KEY": XAI_KEY,
        "XAI_BASE_URL": fake_server.openai_url,
    }
    setup = load_models_setup(env=env, cwd=tmp_path)
    client = ModelClient.from_setup(setup, cwd=tmp_path)
    fake_server.enqueue("anthropic", Reply(status=500), Reply(status=500))
    started = time.monotonic()

    response, _ = await client.complete("fixer", "Fix.", "failing test")
    await client.aclose()

    assert time.monotonic() - started < 5
    assert not client.offline
    assert response.provider == "xai"
    assert fake_server.received("anthropic")[0].headers["x-api-key"] == ANTHROPIC_KEY
    assert fake_server.received("openai")[0].headers["authorization"] == f"Bearer {XAI_KEY}"

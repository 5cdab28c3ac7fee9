"""The ModelClient on scripted providers: the offline default, failure thresholds, cooldown and budget."""

import json

import pytest
from llm_models import client_for, entry
from wave_events.catalogue import BudgetCharged, LLMCallRecorded
from wave_llm import (
    BudgetExhausted,
    CassetteError,
    ModelClient,
    RunBudget,
    ScriptedProvider,
    load_models_setup,
)

FAIL = {"error": {"kind": "transient", "message": "overloaded", "status": 529}}


def _cassette(path, *interactions):
    path.write_text(json.dumps({"version": 1, "interactions": list(interactions)}))
    return path


def _answer(role, text, i=10, o=5):
    return {"role": role, "response": {"text": text, "input_tokens": i, "output_tokens": o}}


async def test_offline_default_plays_the_cassette_and_records_the_call(tmp_path):
    _cassette(tmp_path / "demo.json", _answer("planner", "two tasks", 120, 30))
    setup = load_models_setup(env={"WAVE_SCRIPTED_CASSETTE": "demo.json"}, cwd=tmp_path)
    client = ModelClient.from_setup(setup, cwd=tmp_path)
    assert client.offline
    assert client.banner == f"offline: scripted model responses from {tmp_path / 'demo.json'}"

    response, events = await client.complete(
        "planner", "Plan.", "story", budget=RunBudget(limit_usd=0.0, limit_tokens=100_000)
    )

    assert response.text == "two tasks"
    record, charge = events
    assert isinstance(record, LLMCallRecorded) and isinstance(charge, BudgetCharged)
    assert (record.provider, record.model, record.response, record.cost_usd) == (
        "scripted",
        "scripted",
        "two tasks",
        0,
    )
    assert json.loads(record.prompt)["messages"] == [{"role": "user", "content": "story"}]
    assert (charge.tokens, charge.cost_usd) == (150, 0.0)


async def test_an_exhausted_cassette_is_a_clear_error_not_a_model_failure(tmp_path):
    client = client_for([entry(ScriptedProvider(_cassette(tmp_path / "c.json")), "scripted")], tmp_path)
    with pytest.raises(CassetteError, match="no scripted response for role 'developer'"):
        await client.complete("developer", "Write.", "task")


async def test_failures_are_counted_per_role_and_entry_across_calls(tmp_path):
    first = ScriptedProvider(
        _cassette(
            tmp_path / "a.json",
            {"role": "fixer", "response": FAIL},
            {"role": "fixer", "response": FAIL},
            _answer("fixer", "first recovered"),
        ),
        name="first",
    )
    second = ScriptedProvider(_cassette(tmp_path / "b.json", _answer("fixer", "from second")), name="second")
    client = client_for([entry(first, "scripted", 2), entry(second, "scripted", 1)], tmp_path)

    response, events = await client.complete("fixer", "Fix.", "failure")

    assert response.provider == "second"
    assert [(e.provider, e.outcome) for e in events if isinstance(e, LLMCallRecorded)] == [
        ("first", "error"),
        ("first", "error"),
        ("second", "ok"),
    ]
    assert client.consecutive_failures("fixer", 0) == 2
    assert client.consecutive_failures("planner", 0) == 0


async def test_a_tripped_entry_is_skipped_until_its_cooldown_passes(tmp_path):
    now = [1000.0]
    first = ScriptedProvider(
        _cassette(
            tmp_path / "a.json", {"role": "fixer", "response": FAIL}, _answer("fixer", "first is back")
        ),
        name="first",
    )
    second = ScriptedProvider(
        _cassette(tmp_path / "b.json", _answer("fixer", "second 1"), _answer("fixer", "second 2")),
        name="second",
    )
    client = client_for(
        [entry(first, "scripted", 1), entry(second, "scripted", 1)],
        tmp_path,
        failure_cooldown_s=60,
        clock=lambda: now[0],
    )
    assert (await client.complete("fixer", "Fix.", "1")).response.text == "second 1"
    now[0] += 30
    assert (await client.complete("fixer", "Fix.", "2")).response.text == "second 2"
    now[0] += 31
    assert (await client.complete("fixer", "Fix.", "3")).response.text == "first is back"


async def test_budget_in_tokens_stops_a_scripted_call_too(tmp_path):
    client = client_for(
        [entry(ScriptedProvider(_cassette(tmp_path / "c.json", _answer("planner", "x"))), "scripted")],
        tmp_path,
    )
    budget = RunBudget(limit_usd=10.0, limit_tokens=1_000, used_tokens=900)
    with pytest.raises(BudgetExhausted) as caught:
        await client.complete("planner", "Plan.", "story", max_tokens=500, budget=budget)
    assert caught.value.dimension == "tokens"
    assert (caught.value.used, caught.value.limit) == (900, 1_000)
    assert "tokens" in str(caught.value)


@pytest.mark.parametrize(
    ("role", "messages", "options", "complaint"),
    [
        ("ceo", "hi", {}, "unknown role 'ceo'"),
        ("planner", [], {}, "messages"),
        ("planner", [{"role": "system", "content": "x"}], {}, "messages.0.role"),
        ("planner", "hi", {"max_tokens": 0}, "max_tokens"),
        ("planner", "hi", {"temperature": 3}, "temperature"),
    ],
)
async def test_invalid_requests_are_refused_before_any_call(tmp_path, role, messages, options, complaint):
    client = client_for([entry(ScriptedProvider(_cassette(tmp_path / "c.json")), "scripted")], tmp_path)
    with pytest.raises(ValueError, match=complaint):
        await client.complete(role, "sys", messages, **options)

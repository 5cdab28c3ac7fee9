"""The grey-zone judge: a change the rules escalate is put to the `safety_judge` model role, whose
answer — recorded and budgeted like every model call — is combined with the rule score. The answers
come from a cassette recorded through the official Anthropic SDK against the local fake provider."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from gitops_runs import plan, propose, requested
from llm_fake_server import FakeModelServer, Reply
from llm_models import client_for, entry
from run_streams import RunStream
from wave_events import catalogue as c
from wave_llm import AnthropicProvider, ModelClient, RecordingProvider, load_cassette, load_models_setup
from wave_notifier.decide import decide as notifier_decide
from wave_planner.decide import decide as planner_decide
from wave_safety import SafetyService, create_service

# Fetching a status page escalates (shell.network_egress, 0.5): the grey zone the judge is for.
PINGING_SCRIPT = (
    "diff --git a/scripts/ping.sh b/scripts/ping.sh\nnew file mode 100755\n--- /dev/null\n+++ b/scripts/ping.sh\n"
    "@@ -0,0 +1,2 @@\n+#!/bin/sh\n+curl -fsS https://status.example.net/ping\n"
)
# Switching the tests off from inside the change: escalated by diff.test_selection, a person's to clear.
TESTS_OFF = (
    "diff --git a/.wave/qa.toml b/.wave/qa.toml\n--- a/.wave/qa.toml\n+++ b/.wave/qa.toml\n"
    "@@ -1 +1 @@\n-command = \"python -m pytest -q\"\n+command = \"true\"\n"
)
BENIGN = {"risk": 0.1, "principles": ["never_expose_secrets"], "reason": "a read-only health check of a status page"}
HOSTILE = {"risk": 0.95, "principles": ["validate_inputs"], "reason": "switches the test suite off"}


@pytest.fixture
def fake_server():
    server = FakeModelServer().start()
    yield server
    server.stop()


async def record_cassette(fake_server: FakeModelServer, tmp_path: Path, *answers: dict) -> Path:
    """Ask the judge's questions through the Anthropic SDK against the fake provider, recording the
    answers: the cassette the tests then play."""
    cassette = tmp_path / "judge.yml"
    fake_server.enqueue("anthropic", *(Reply(text=json.dumps(a), input_tokens=900, output_tokens=40) for a in answers))
    claude = AnthropicProvider(api_key="sk-ant-api03-test-key-abcdefghijkl", base_url=fake_server.url, timeout_s=5)
    try:
        live = client_for([entry(RecordingProvider(claude, cassette), "claude-sonnet-4-5")], tmp_path / "blobs")
        for diff in (PINGING_SCRIPT, TESTS_OFF)[: len(answers)]:
            stream = requested("rec", "/srv/shop")
            plan(stream)
            await SafetyService(models=live).handle(*_proposed(stream, diff))
    finally:
        await claude.aclose()
    assert len(fake_server.received("anthropic")) == len(answers)
    assert fake_server.received("anthropic")[0].body["system"].startswith("You are the safety judge")
    return cassette


def playing(cassette: Path, tmp_path: Path) -> ModelClient:
    return ModelClient.from_setup(load_models_setup(env={"WAVE_SCRIPTED_CASSETTE": str(cassette)}, cwd=tmp_path), cwd=tmp_path)


def _proposed(stream, diff: str):
    step = propose(stream, "t1", diff, "a" * 40)
    return step.state, step.event


async def test_a_grey_change_is_settled_by_the_judge_recorded_and_charged(fake_server, tmp_path) -> None:
    cassette = await record_cassette(fake_server, tmp_path, BENIGN)
    assert [i.role for i in load_cassette(cassette).interactions] == ["safety_judge"]
    stream = requested("r1", "/srv/shop")
    plan(stream)

    outputs = await SafetyService(models=playing(cassette, tmp_path)).handle(*_proposed(stream, PINGING_SCRIPT))

    call, charged, scored = outputs
    assert isinstance(call, c.LLMCallRecorded) and call.role == "safety_judge" and call.outcome == "ok"
    assert "curl -fsS https://status.example.net/ping" in call.prompt and "shell.network_egress" in call.prompt
    assert isinstance(charged, c.BudgetCharged) and charged.tokens == 940
    assert isinstance(scored, c.ActionScored)
    # (1 - 0.5) * 0.5 (the rules) + 0.5 * (1 - 0.1) (the judge) = 0.7: allowed, the rule still listed
    assert (scored.verdict, scored.score) == ("allow", 0.7)
    assert [v.rule for v in scored.violations] == ["shell.network_egress"]
    assert scored.risks == ("judge: risk 0.10 (never_expose_secrets): a read-only health check of a status page "
                            "(rule score 0.50)",)


async def test_a_change_disabling_its_own_tests_stays_with_a_person_whatever_the_judge_says(fake_server, tmp_path) -> None:
    cassette = await record_cassette(fake_server, tmp_path, BENIGN, {**BENIGN, "risk": 0.0})
    stream = requested("r1", "/srv/shop")
    plan(stream)
    client = playing(cassette, tmp_path)
    first = await SafetyService(models=client).handle(*_proposed(stream, PINGING_SCRIPT))
    stream.add_all(first)

    *calls, scored = await SafetyService(models=client).handle(*_proposed(stream, TESTS_OFF))

    assert [e.role for e in calls if isinstance(e, c.LLMCallRecorded)] == ["safety_judge"]
    assert scored.verdict == "escalate" and scored.score == 0.75
    assert "diff.test_selection is a person's to clear" in scored.risks[0]


async def test_a_judge_that_finds_the_change_dangerous_blocks_it(fake_server, tmp_path) -> None:
    cassette = await record_cassette(fake_server, tmp_path, HOSTILE)
    stream = requested("r1", "/srv/shop")
    plan(stream)
    *_, scored = await SafetyService(models=playing(cassette, tmp_path)).handle(*_proposed(stream, PINGING_SCRIPT))
    assert (scored.verdict, scored.score) == ("block", 0.275)


async def test_without_a_model_source_the_rules_decide_alone(tmp_path) -> None:
    service = create_service({}, cwd=tmp_path)  # no key, no cassette, no models file
    assert service.models is None
    stream = requested("r1", "/srv/shop")
    plan(stream)
    (scored,) = await service.handle(*_proposed(stream, PINGING_SCRIPT))
    assert (scored.verdict, scored.score, scored.risks) == ("escalate", 0.5, ())


async def test_a_cassette_without_a_judge_answer_leaves_the_rules_verdict(tmp_path) -> None:
    cassette = tmp_path / "planner-only.yml"
    cassette.write_text(yaml.safe_dump({"version": 1, "interactions": [
        {"role": "planner", "response": {"text": "{}", "input_tokens": 1, "output_tokens": 1}}]}))
    service = create_service({"WAVE_SCRIPTED_CASSETTE": str(cassette)}, cwd=tmp_path)
    assert service.models is not None
    stream = requested("r1", "/srv/shop")
    plan(stream)
    (scored,) = await service.handle(*_proposed(stream, PINGING_SCRIPT))
    assert (scored.verdict, scored.score, scored.risks) == ("escalate", 0.5, ())


async def test_a_judge_over_the_budget_is_not_asked_and_the_budget_stop_is_recorded(fake_server, tmp_path) -> None:
    cassette = await record_cassette(fake_server, tmp_path, BENIGN)
    stream = RunStream("r1")
    stream.add(c.RunRequested(story="s", repo="/srv/shop", budget_usd=1.0, budget_tokens=1_000))  # too few for a call
    plan(stream)
    proposed = _proposed(stream, PINGING_SCRIPT)
    outputs = await SafetyService(models=playing(cassette, tmp_path)).handle(*proposed)
    assert not [e for e in outputs if isinstance(e, c.LLMCallRecorded)]
    # The refusal is recorded as every role's is, before the verdict, which is the rules' own.
    exceeded, scored = outputs
    assert isinstance(exceeded, c.BudgetExceeded) and exceeded.role == "safety_judge"
    assert exceeded.limit_tokens == 1_000 and exceeded.needed_tokens > 1_000
    assert (scored.verdict, scored.score, scored.risks) == ("escalate", 0.5, ())
    # Stored, the planner puts it to a person as a budget question, and the notifier tells them.
    stored = stream.add(exceeded, producer="safety@test", causation=proposed[1])
    (asked,) = planner_decide(stored.state, stored.event)
    assert asked.kind == "budget" and "the safety_judge call was not made" in asked.reason
    assert [n.kind for n in notifier_decide(stored.state, stored.event)] == ["budget_warning"]

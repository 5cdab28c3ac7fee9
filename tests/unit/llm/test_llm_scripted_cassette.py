"""The scripted provider plays a cassette: in order per role, optionally matched, deterministically."""

import json
import time

import pytest
from wave_llm import CassetteError, Message, ModelRequest, ScriptedProvider, load_cassette, with_latency


def _request(role, text="please", model="claude-sonnet-4-5", system=""):
    return ModelRequest(
        role=role, model=model, system=system, messages=(Message(role="user", content=text),), max_tokens=100
    )


def _write_yaml(path, text):
    path.write_text(text)
    return path


CASSETTE = """\
version: 1
interactions:
  - role: planner
    response: {text: "plan one", input_tokens: 10, output_tokens: 3}
  - role: developer
    match: {contains: "task B"}
    response: {text: "diff for B"}
  - role: planner
    response: {text: "plan two", input_tokens: 11, output_tokens: 4, model: claude-opus-4-1}
  - role: developer
    match: {contains: ["task A", "src/"]}
    response: {text: "diff for A"}
  - role: safety_judge
    repeat: true
    response: {text: "allow"}
"""


async def test_answers_are_consumed_in_order_per_role(tmp_path):
    provider = ScriptedProvider(_write_yaml(tmp_path / "c.yml", CASSETTE))
    first = await provider.complete(_request("planner"))
    second = await provider.complete(_request("planner"))
    assert (first.text, first.input_tokens, first.output_tokens, first.model) == (
        "plan one",
        10,
        3,
        "claude-sonnet-4-5",
    )
    assert (second.text, second.model) == ("plan two", "claude-opus-4-1")
    assert first.provider == "scripted"


async def test_a_match_picks_the_first_unused_interaction_it_accepts(tmp_path):
    provider = ScriptedProvider(_write_yaml(tmp_path / "c.yml", CASSETTE))
    a = await provider.complete(_request("developer", "do task A in src/app.py"))
    b = await provider.complete(_request("developer", "now task B"))
    assert (a.text, b.text) == ("diff for A", "diff for B")


async def test_match_looks_at_the_system_prompt_too(tmp_path):
    provider = ScriptedProvider(_write_yaml(tmp_path / "c.yml", CASSETTE))
    response = await provider.complete(_request("developer", "go", system="You work on task B"))
    assert response.text == "diff for B"


async def test_a_repeating_interaction_answers_every_time(tmp_path):
    provider = ScriptedProvider(_write_yaml(tmp_path / "c.yml", CASSETTE))
    answers = [(await provider.complete(_request("safety_judge"))).text for _ in range(4)]
    assert answers == ["allow"] * 4


async def test_running_out_names_the_role_and_the_cassette(tmp_path):
    path = _write_yaml(tmp_path / "c.yml", CASSETTE)
    provider = ScriptedProvider(path)
    await provider.complete(_request("planner"))
    await provider.complete(_request("planner"))
    with pytest.raises(CassetteError) as caught:
        await provider.complete(_request("planner"))
    message = str(caught.value)
    assert "'planner'" in message and str(path) in message and "already played" in message


async def test_no_matching_interaction_says_what_the_cassette_expects(tmp_path):
    provider = ScriptedProvider(_write_yaml(tmp_path / "c.yml", CASSETTE))
    with pytest.raises(CassetteError, match=r"role 'developer'.*task B"):
        await provider.complete(_request("developer", "something else"))


async def test_a_role_without_interactions_is_an_error(tmp_path):
    provider = ScriptedProvider(_write_yaml(tmp_path / "c.yml", CASSETTE))
    with pytest.raises(CassetteError, match="'merge_reviewer'.*no interaction for this role"):
        await provider.complete(_request("merge_reviewer"))


async def test_two_replays_of_the_same_requests_get_the_same_answers(tmp_path):
    path = _write_yaml(tmp_path / "c.yml", CASSETTE)
    requests = [
        _request("planner"),
        _request("developer", "task B"),
        _request("planner"),
        _request("safety_judge"),
    ]

    async def play():
        provider = ScriptedProvider(path)
        return [(await provider.complete(r)).model_dump(exclude={"latency_ms"}) for r in requests]

    assert await play() == await play()


async def test_json_cassettes_are_read_too(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(
        json.dumps({"version": 1, "interactions": [{"role": "fixer", "response": {"text": "fixed"}}]})
    )
    assert (await ScriptedProvider(path).complete(_request("fixer"))).text == "fixed"


async def test_an_answer_with_a_latency_takes_that_long_and_says_so(tmp_path):
    cassette = with_latency(load_cassette(_write_yaml(tmp_path / "c.yml", CASSETTE)), 300, ("developer",))
    provider = ScriptedProvider.playing(cassette)
    started = time.monotonic()
    answer = await provider.complete(_request("developer", "task B"))
    assert time.monotonic() - started >= 0.3
    assert (answer.text, answer.latency_ms) == ("diff for B", 300)
    quick = await provider.complete(_request("planner"))
    assert quick.latency_ms == 0


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("interactions:\n  - role: plannr\n    response: {text: x}\n", "interactions.0.role"),
        ("interactions:\n  - role: planner\n    respons: {text: x}\n", "interactions.0"),
        ("version: 2\n", "version"),
        ("interactions:\n  - role: planner\n    response: {text: x, latency_ms: -1}\n", "latency_ms"),
        ("interactions: [\n", "not valid YAML"),
        (
            "interactions:\n  - role: planner\n    response: {text: x, error: {kind: transient, message: m}}\n",
            "either an answer",
        ),
    ],
)
def test_a_malformed_cassette_is_refused_with_the_place_named(tmp_path, content, complaint):
    path = _write_yaml(tmp_path / "bad.yml", content)
    with pytest.raises(CassetteError, match=complaint):
        load_cassette(path)


def test_a_missing_cassette_is_named(tmp_path):
    with pytest.raises(CassetteError, match="does not exist"):
        load_cassette(tmp_path / "absent.yml")

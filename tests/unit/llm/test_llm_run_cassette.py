"""A scripted model is bound to the run, not to the process: each run plays its cassette from the
start, its position comes from its own recorded calls, and a run carrying a cassette plays it
whatever models the service has."""

from pathlib import Path

import pytest
from llm_models import client_for, entry
from wave_events import catalogue as ev
from wave_events import new_envelope, run_stream_id
from wave_events.projections import fold
from wave_llm import (
    Message,
    ModelRequest,
    ModelSourceUnavailable,
    ScriptedProvider,
    cassette_document,
    load_cassette,
    playing_run,
)
from wave_llm.errors import PermanentModelError

DEMO = Path(__file__).resolve().parents[3] / "examples" / "stories" / "slugify" / "cassette.yml"


def _request(role: str) -> ModelRequest:
    return ModelRequest(role=role, model="m", system="", messages=(Message(role="user", content="go"),), max_tokens=10)


def _state(run_id: str, *, cassette: str = "", calls: tuple[str, ...] = ()):
    stream = run_stream_id(run_id)
    events = [new_envelope(stream, ev.RunRequested(story="s", repo="/r", budget_usd=1, cassette=cassette), producer="t")]
    for role in calls:
        events.append(new_envelope(stream, ev.LLMCallRecorded(
            role=role, provider="scripted", model="m", input_tokens=1, output_tokens=1, cost_usd=0, latency_ms=0,
        ), producer="t"))  # fmt: skip
    return fold([e.positioned(i + 1, i + 1) for i, e in enumerate(events)])


def _answers(role: str) -> list[str]:
    return [x.response.text for x in load_cassette(DEMO).interactions if x.role == role]


async def test_every_run_plays_the_cassette_from_its_start_in_one_process():
    provider = ScriptedProvider(DEMO)
    for run_id in ("one", "two", "three"):
        with playing_run(_state(run_id)):
            assert (await provider.complete(_request("planner"))).text == _answers("planner")[0]


async def test_the_position_comes_from_the_runs_recorded_calls_after_a_restart():
    developer = _answers("developer")
    assert len(developer) >= 2
    restarted = ScriptedProvider(DEMO)  # a new process: nothing in memory
    with playing_run(_state("r", calls=("planner", "developer"))):
        assert (await restarted.complete(_request("developer"))).text == developer[1]
    with playing_run(_state("r", calls=("planner", "developer"))):  # decided again after a conflict
        assert (await restarted.complete(_request("developer"))).text == developer[1]
    with playing_run(_state("r", calls=("developer",) * len(developer))), pytest.raises(ModelSourceUnavailable):
        await restarted.complete(_request("developer"))


class _Unreachable(ScriptedProvider):
    def __init__(self) -> None:
        super().__init__("/nonexistent/cassette.yml", name="real")

    async def complete(self, request):
        raise PermanentModelError("no such model", provider="real")


async def test_a_run_carrying_its_cassette_plays_it_whatever_the_service_has(tmp_path):
    client = client_for([entry(_Unreachable(), "claude-sonnet-4-5")], tmp_path)
    carried = cassette_document(load_cassette(DEMO))
    with playing_run(_state("x", cassette=carried)):
        result = await client.complete("planner", "system", "plan it")
    assert result.response.text == _answers("planner")[0]
    assert result.response.provider == "scripted"

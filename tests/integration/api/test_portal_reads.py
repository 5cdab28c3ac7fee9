"""What the portal reads besides the runs API, over a real SQLite store: the dashboard's figures per
service and the position a live list starts from; and the pages themselves, served by the app."""

from __future__ import annotations

import uuid

import pytest
from api_server import api_harness
from wave_events import catalogue as c
from wave_events.envelope import new_envelope, run_stream_id


@pytest.fixture
async def api(tmp_path):
    async with api_harness(tmp_path / "wave.db") as harness:
        yield harness


def call(role: str, provider: str, cost: float, tokens: int) -> c.LLMCallRecorded:
    return c.LLMCallRecorded(role=role, provider=provider, model="m", prompt="p", response="r",
                             input_tokens=tokens, output_tokens=1, cost_usd=cost, latency_ms=5)


async def test_the_dashboard_counts_events_per_service_sums_model_spend_and_lists_dead_letters(api):
    stream = run_stream_id("r1")
    failed = uuid.uuid4()
    events = [
        new_envelope(stream, call("developer", "anthropic", 0.25, 100), producer="developer@1.0"),
        new_envelope(stream, call("developer", "anthropic", 0.5, 50), producer="developer@1.0"),
        new_envelope(stream, call("planner", "openai", 0.125, 10), producer="planner@1.0"),
        new_envelope(stream, c.HandlingAbandoned(
            service="notifier", event_id=failed, subject_type="RunRequested", reason="Slack is down",
            action=f"wave dlq redrive --event {failed}", attempts=5, dead_lettered=True), producer="notifier"),
    ]
    await api.store.append(stream, events, 0)

    response = await api.client.get("/api/v1/dashboard", headers=api.auth("viewer"))
    assert response.status_code == 200, response.text
    board = response.json()
    assert board["events"] == 4
    assert {s["service"]: s["by_type"] for s in board["services"]} == {
        "developer": {"LLMCallRecorded": 2}, "notifier": {"HandlingAbandoned": 1}, "planner": {"LLMCallRecorded": 1}}
    assert [(m["service"], m["role"], m["provider"], m["calls"], m["input_tokens"], m["cost_usd"]) for m in board["models"]] == [
        ("developer", "developer", "anthropic", 2, 150, 0.75), ("planner", "planner", "openai", 1, 10, 0.125)]
    (dead,) = board["dead_letters"]
    assert (dead["run_id"], dead["service"], dead["event_id"], dead["dead_lettered"]) == ("r1", "notifier", str(failed), True)


async def test_the_position_is_where_the_log_stands_and_names_the_event_types(api):
    first = await api.client.get("/api/v1/position", headers=api.auth("viewer"))
    assert first.json()["position"] == 0 and "TestsFailed" in first.json()["event_types"]
    stream = run_stream_id("r2")
    await api.store.append(stream, [new_envelope(stream, call("planner", "scripted", 0, 1), producer="planner")], 0)
    assert (await api.client.get("/api/v1/position", headers=api.auth("viewer"))).json()["position"] == 1


async def test_the_portal_reads_need_a_token_and_its_pages_and_assets_are_served_by_the_app(api):
    assert (await api.client.get("/api/v1/dashboard")).status_code == 401
    assert (await api.client.get("/api/v1/position")).status_code == 401
    root = await api.client.get("/")
    assert root.status_code == 303 and root.headers["location"] == "/portal/"
    for path in ("/portal/", "/portal/sign-in", "/portal/runs/r1", "/portal/runs/r1/replay", "/portal/dashboard"):
        page = await api.client.get(path)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), path
        assert "https://" not in page.text and "http://" not in page.text, path  # nothing from elsewhere
    script = await api.client.get("/portal/static/common.js")
    assert script.status_code == 200 and "innerHTML" not in script.text

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


def _metrics_process(service: str, handled: int):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "support" / "metrics_process.py"
    process = subprocess.Popen([sys.executable, str(script), service, str(handled)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    assert line.startswith("port "), line
    return process, int(line.split()[1])


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.timeout(60)
async def test_with_metrics_targets_the_dashboard_shows_each_services_scraped_figures(tmp_path):
    planner, planner_port = _metrics_process("planner", 40)
    developer, developer_port = _metrics_process("developer", 7)
    targets = (f"planner=http://127.0.0.1:{planner_port}/metrics,developer=http://127.0.0.1:{developer_port}/metrics,"
               f"qa=http://127.0.0.1:{_closed_port()}/metrics")
    try:
        async with api_harness(tmp_path / "wave.db", {"WAVE_API_METRICS_TARGETS": targets}) as api:
            # Events in the store are not what a distributed dashboard counts.
            stream = run_stream_id("r1")
            await api.store.append(stream, [new_envelope(stream, call("planner", "openai", 9.0, 10), producer="planner")], 0)
            first = await api.client.get("/api/v1/dashboard", headers=api.auth("viewer"))
            assert first.status_code == 200, first.text
            board = first.json()
            assert board["source"] == "metrics" and board["services"] == [] and board["events"] == 0
            rows = {row["service"]: row for row in board["scraped"]}
            assert list(rows) == ["planner", "developer", "qa"]
            plan = rows["planner"]
            assert plan["up"] and plan["events_handled"] == 40 and plan["events_per_second"] is None
            assert (plan["failures"], plan["consumer_lag"], plan["dead_letters"]) == (2, 7, 1)
            # 99 handlings of 20 ms and one of 3 s: both quantiles in the 10-25 ms bucket, as Prometheus reads it.
            assert plan["handler_p50_ms"] == pytest.approx(10 + 15 * 50 / 99, abs=0.01)
            assert plan["handler_p99_ms"] == pytest.approx(25, abs=0.01)
            assert plan["models"] == [{"role": "planner", "provider": "anthropic", "input_tokens": 1000,
                                       "output_tokens": 200, "cost_usd": 0.25}]
            assert rows["developer"]["events_handled"] == 7
            assert not rows["qa"]["up"] and "ConnectError" in rows["qa"]["error"]

            planner.stdin.write("handle 30\n")
            planner.stdin.flush()
            assert planner.stdout.readline().strip() == "ok"
            again = (await api.client.get("/api/v1/dashboard", headers=api.auth("viewer"))).json()
            plan = {row["service"]: row for row in again["scraped"]}["planner"]
            assert plan["events_handled"] == 70 and plan["events_per_second"] > 0
    finally:
        for process in (planner, developer):
            process.stdin.close()
            process.wait(timeout=10)


def test_a_malformed_metrics_target_is_refused_naming_the_setting():
    from wave_api.settings import read_api_settings
    from wave_runtime.settings import SettingError

    with pytest.raises(SettingError) as refused:
        read_api_settings({"WAVE_API_METRICS_TARGETS": "planner=wave-planner:9100"})
    assert "WAVE_API_METRICS_TARGETS" in str(refused.value) and "SERVICE=http://HOST:PORT/metrics" in str(refused.value)

"""`wave serve` with the distributed settings: the API alone over PostgreSQL, sharing the tokens the
CLI made, projecting runs, and streaming new events as the store's notifications announce them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import httpx
import pytest
from api_server import escalated_run
from gitops_repos import make_repo
from wave_store import open_store

WAVE = [sys.executable, "-m", "wave_cli"]


@pytest.mark.postgres
@pytest.mark.timeout(120)
async def test_the_distributed_api_streams_new_events_and_lists_runs(tmp_path, pg_database_url):
    make_repo(tmp_path / "repo")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WAVE_")}
    # The API reads and appends through the store only: the broker named here is never contacted.
    environment.update(WAVE_HOME=str(tmp_path / "home"), PYTHONUNBUFFERED="1",
                       WAVE_DATABASE_URL=pg_database_url, WAVE_KAFKA_BOOTSTRAP="127.0.0.1:9")
    maker = await asyncio.create_subprocess_exec(*WAVE, "token", "create", "--role", "viewer", "--name", "ana",
                                                 env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    made, why = await asyncio.wait_for(maker.communicate(), 60)
    assert maker.returncode == 0, why.decode()
    auth = {"Authorization": f"Bearer {made.decode().strip()}"}
    server = await asyncio.create_subprocess_exec(*WAVE, "serve", "--port", "0", env=environment,
                                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = (await asyncio.wait_for(server.stdout.readline(), 60)).decode()
        assert "distributed (Kafka): the API (the services run elsewhere)" in line, line
        base = line.split(" on ", 1)[1].split(" ", 1)[0]
        async with await open_store(pg_database_url) as store, httpx.AsyncClient(base_url=base, headers=auth,
                                                                                  timeout=30) as client:
            async with client.stream("GET", "/stream") as stream:
                lines = stream.aiter_lines()
                run_id = await escalated_run(store, tmp_path / "repo")

                async def two_events() -> list[str]:
                    seen = []
                    async for text in lines:
                        if text.startswith("event: "):
                            seen.append(text.removeprefix("event: "))
                            if len(seen) == 2:
                                return seen
                    return seen

                assert await asyncio.wait_for(two_events(), 20) == ["RunRequested", "EscalationRequested"]
            for _ in range(200):
                runs = (await client.get("/runs", params={"status": "awaiting_human"})).json()["runs"]
                if runs:
                    break
                await asyncio.sleep(0.05)
            assert [r["run_id"] for r in runs] == [run_id]
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), 30)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.postgres
@pytest.mark.timeout(120)
async def test_wave_service_api_is_wave_serve_of_a_distributed_deployment_with_a_health_port(tmp_path, pg_database_url):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WAVE_")}
    environment.update(WAVE_HOME=str(tmp_path / "home"), PYTHONUNBUFFERED="1",
                       WAVE_DATABASE_URL=pg_database_url, WAVE_KAFKA_BOOTSTRAP="127.0.0.1:9")
    maker = await asyncio.create_subprocess_exec(*WAVE, "token", "create", "--role", "viewer", "--name", "ana",
                                                 env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    made, _ = await asyncio.wait_for(maker.communicate(), 60)
    health = _free_port()
    server = await asyncio.create_subprocess_exec(*WAVE, "service", "api", "--port", "0", "--health-port", str(health),
                                                  env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = (await asyncio.wait_for(server.stdout.readline(), 60)).decode()
        assert "distributed (Kafka): the API (the services run elsewhere)" in line, line
        base = line.split(" on ", 1)[1].split(" ", 1)[0]
        async with httpx.AsyncClient(timeout=10) as client:
            for _ in range(300):
                try:
                    if (await client.get(f"http://127.0.0.1:{health}/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the health port never said ready")
            who = await client.get(f"{base}/whoami", headers={"Authorization": f"Bearer {made.decode().strip()}"})
            assert who.json() == {"name": "ana", "role": "viewer"}
            metrics = await client.get(f"http://127.0.0.1:{health}/metrics")
            assert 'wave_api_requests_total{method="GET",route="/api/v1/whoami",status="200"}' in metrics.text
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), 30)


def test_wave_service_api_refuses_without_the_distributed_settings_and_is_listed(tmp_path):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WAVE_")}
    environment.update(WAVE_HOME=str(tmp_path))
    refused = subprocess.run([*WAVE, "service", "api"], env=environment, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert "set WAVE_DATABASE_URL and WAVE_KAFKA_BOOTSTRAP" in refused.stderr and "wave serve" in refused.stderr
    other = subprocess.run([*WAVE, "service", "planner", "--port", "9"], env=environment, capture_output=True,
                           text=True, timeout=60)
    assert other.returncode == 1 and "--host and --port are the API's" in other.stderr
    helped = subprocess.run([*WAVE, "service", "--help"], env=environment, capture_output=True, text=True, timeout=60)
    assert "the HTTP API on its own (api:" in " ".join(helped.stdout.split())

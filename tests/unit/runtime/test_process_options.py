"""Where `python -m wave_runtime service/relay` serves its health endpoints: these run in containers,
probed from outside the pod, so every interface unless told otherwise; called from the `wave` command
on a workstation, loopback."""

from __future__ import annotations

import pytest
from wave_runtime import process


@pytest.fixture
def relay_started(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    started: dict[str, object] = {}

    async def serve_relay(**options: object) -> None:
        started.update(options)

    monkeypatch.setattr(process, "serve_relay", serve_relay)
    monkeypatch.delenv("WAVE_HEALTH_HOST", raising=False)
    return started


def test_the_process_entry_point_serves_health_on_every_interface_by_default(relay_started) -> None:
    process.main(["relay", "--health-port", "9102"])
    assert relay_started == {"health_port": 9102, "health_host": "0.0.0.0"}


def test_wave_health_host_and_then_the_option_override_it(relay_started, monkeypatch) -> None:
    monkeypatch.setenv("WAVE_HEALTH_HOST", "10.1.2.3")
    process.main(["relay", "--health-port", "9102"])
    assert relay_started["health_host"] == "10.1.2.3"
    process.main(["relay", "--health-port", "9102", "--health-host", "127.0.0.1"])
    assert relay_started["health_host"] == "127.0.0.1"


def test_a_caller_that_names_no_host_gets_loopback_unless_the_environment_says_otherwise(monkeypatch) -> None:
    monkeypatch.delenv("WAVE_HEALTH_HOST", raising=False)
    assert process.resolve_health_host(None, process.LOOPBACK) == "127.0.0.1"
    monkeypatch.setenv("WAVE_HEALTH_HOST", " ")  # blank is unset, as for every setting
    assert process.resolve_health_host(None, process.LOOPBACK) == "127.0.0.1"
    monkeypatch.setenv("WAVE_HEALTH_HOST", "0.0.0.0")
    assert process.resolve_health_host(None, process.LOOPBACK) == "0.0.0.0"

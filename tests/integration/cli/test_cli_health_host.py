"""`wave service NAME` and `wave relay` serve their health endpoints on the address --health-host names
(loopback by default), against the real PostgreSQL and Kafka."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import pytest
from cli_process import WAVE
from fault_broker import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

ANOTHER_LOOPBACK = "127.0.0.2"  # not the default 127.0.0.1, so only --health-host can put it there


def _healthz(host: str, port: int) -> int | None:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=2) as answer:
            return answer.status
    except (urllib.error.URLError, ConnectionError, OSError):
        return None


@pytest.mark.timeout(90)
@pytest.mark.parametrize("command", [("relay",), ("service", "safety")], ids=["relay", "service"])
def test_health_endpoints_listen_where_health_host_says(command, pg_database_url, kafka_bootstrap, tmp_path):
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WAVE_")}
    environment.update(WAVE_HOME=str(tmp_path), WAVE_DATABASE_URL=pg_database_url,
                       WAVE_KAFKA_BOOTSTRAP=kafka_bootstrap, WAVE_TOPIC_PREFIX=f"wave-test-{uuid.uuid4().hex[:8]}")
    process = subprocess.Popen([*WAVE, *command, "--health-port", str(port), "--health-host", ANOTHER_LOOPBACK],
                               env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while _healthz(ANOTHER_LOOPBACK, port) != 200:
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "no /healthz on the --health-host address"
            time.sleep(0.2)
        assert _healthz("127.0.0.1", port) is None  # only the address asked for
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output

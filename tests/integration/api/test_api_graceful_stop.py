"""The API stops gracefully on SIGTERM (as Kubernetes sends) like every other role: it finishes, closes
the store and exits 0, instead of dying of the signal once the server has stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

WAVE = [sys.executable, "-m", "wave_cli"]


def _stopped_by_sigterm(command: list[str], environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    server = subprocess.Popen([*WAVE, *command, "--port", "0"], env=environment, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        assert "WAVE API on http://" in line, line + server.stderr.read()
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=60)
    finally:
        server.kill()
    return subprocess.CompletedProcess(server.args, server.returncode, line + out, err)


def _environment(home: Path, **settings: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("WAVE_", "ANTHROPIC_", "OPENAI_", "XAI_"))}
    environment.update(WAVE_HOME=str(home), PYTHONUNBUFFERED="1", **settings)
    return environment


@pytest.mark.postgres
@pytest.mark.timeout(120)
def test_wave_service_api_exits_0_on_sigterm(tmp_path, pg_database_url):
    environment = _environment(tmp_path / "home", WAVE_DATABASE_URL=pg_database_url,
                               WAVE_KAFKA_BOOTSTRAP="127.0.0.1:9")
    stopped = _stopped_by_sigterm(["service", "api"], environment)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert "Traceback" not in stopped.stderr


@pytest.mark.timeout(120)
def test_wave_serve_exits_0_on_sigterm(tmp_path):
    stopped = _stopped_by_sigterm(["serve"], _environment(tmp_path / "home"))
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert "Traceback" not in stopped.stderr

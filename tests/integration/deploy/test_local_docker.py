"""The tests' Docker daemon and the base image, as `make test` leaves them for the tests: a private
socket, gVisor registered, and a base image that a second build finds instead of rebuilding.

Marked `docker`: selected where `make test` runs its private daemon."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import docker
import pytest
from qa_docker import base_image, require_daemon

pytestmark = [pytest.mark.docker]

ROOT = Path(__file__).resolve().parents[3]


def test_the_daemon_answers_only_on_its_private_socket() -> None:
    require_daemon()
    host = os.environ["DOCKER_HOST"]
    assert host.startswith("unix://") and host != "unix:///var/run/docker.sock"
    assert Path(host.removeprefix("unix://")).is_socket()
    status = subprocess.run(["bash", str(ROOT / "deploy/local/docker.sh"), "host"], capture_output=True, text=True,
                            timeout=30, check=True)
    assert status.stdout.strip() == host  # the socket deploy/local/docker.sh manages


def test_a_second_base_image_build_finds_the_first() -> None:
    require_daemon()
    started = time.monotonic()
    done = subprocess.run(["bash", str(ROOT / "deploy/base-image.sh")], capture_output=True, text=True, timeout=120,
                          check=False)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    tag = done.stdout.strip()
    assert tag == base_image() and tag.startswith("wave-base:bookworm-")
    assert "base image up to date" in done.stderr and elapsed < 30
    image = docker.from_env(timeout=30).images.get(tag)
    key = subprocess.run(["bash", str(ROOT / "deploy/base-image.sh"), "--key"], capture_output=True, text=True,
                         timeout=30, check=True).stdout.strip()
    assert image.labels["wave.base.recipe"] == key
    assert tag.endswith(image.labels["wave.base.content"])  # tagged by the hash of its own tar
    assert image.id == docker.from_env(timeout=30).images.get("wave-base:bookworm").id


def test_the_base_image_runs_python_without_network_under_both_runtimes() -> None:
    require_daemon()
    client = docker.from_env(timeout=60)
    for runtime in ("runc", "runsc"):
        output = client.containers.run(base_image(), ["python3", "-c", "import sys; print(sys.version_info[:2])"],
                                       runtime=runtime, network_mode="none", remove=True)
        assert output.decode().strip() == "(3, 11)", runtime

"""The Sandbox contract (tests/support/qa_sandbox_contract.py) on the Docker adapter (runc).

It needs a Docker daemon, which the default test run has none of, so it runs only when asked:
`WAVE_TEST_DOCKER=1`. Without it the class below is not collected at all (`__test__` is false: it
is neither run nor reported as skipped); with it, every test fails naming the reason when no daemon
answers. The image (WAVE_QA_DOCKER_IMAGE, default python:3.11-slim) must hold python and pytest, as
for QA itself.

The unit tests in tests/unit/qa/test_qa_sandbox_commands.py only check the container spec the
adapter asks for and its handling of a fake client's answers; whether a daemon enforces that spec
(no network, a private /tmp, a read-only root, the limits) is what this contract shows.
"""

from __future__ import annotations

import os

import pytest
from qa_sandbox_contract import IsolationContract, SandboxContract
from wave_qa import DockerSandbox, docker_runtimes
from wave_qa.config import DOCKER_IMAGE_VAR
from wave_qa.sandboxes.docker import DEFAULT_IMAGE

DOCKER_WANTED = os.environ.get("WAVE_TEST_DOCKER") == "1"


@pytest.fixture(scope="module")
def docker_daemon() -> frozenset[str]:
    found = docker_runtimes()
    if found is None:
        pytest.fail("WAVE_TEST_DOCKER=1 but no Docker daemon answers (DOCKER_HOST or /var/run/docker.sock)")
    return found


def image() -> str:
    return os.environ.get(DOCKER_IMAGE_VAR) or DEFAULT_IMAGE


class TestDockerSandbox(SandboxContract, IsolationContract):
    __test__ = DOCKER_WANTED

    @pytest.fixture
    def sandbox(self, docker_daemon: frozenset[str]) -> DockerSandbox:
        return DockerSandbox(image=image())


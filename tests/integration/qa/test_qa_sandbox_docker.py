"""The Sandbox contract (tests/support/qa_sandbox_contract.py) on a real Docker daemon, with runc and
with gVisor (runsc), in the test image QA builds FROM the base image for a project without setup
(Python and pytest).

Marked `docker`: selected where `make test` started its private daemon (WAVE_TEST_DOCKER=1), and
failing there, not skipped, when the daemon does not answer. The unit tests in
tests/unit/qa/test_qa_sandbox_commands.py check the container spec the adapter asks for; whether a
daemon enforces it (no network, a private /tmp, a read-only root, the limits) is what this shows.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from qa_docker import docker_sandbox
from qa_sandbox_contract import QUICK, IsolationContract, SandboxContract, sh
from wave_qa import DockerSandbox

pytestmark = [pytest.mark.docker, pytest.mark.timeout(240)]


class TestDockerSandbox(SandboxContract, IsolationContract):
    @pytest.fixture
    def sandbox(self) -> DockerSandbox:
        return docker_sandbox("docker")


class TestGVisorSandbox(SandboxContract, IsolationContract):
    @pytest.fixture
    def sandbox(self) -> DockerSandbox:
        return docker_sandbox("gvisor")


def test_gvisor_runs_the_command_under_its_own_kernel(tmp_path: Path) -> None:
    """The gVisor sandbox is not runc under another name: the kernel the command sees is gVisor's."""
    gvisor = docker_sandbox("gvisor").run(sh("dmesg 2>/dev/null | head -3; uname -r"), tmp_path, QUICK, {})
    runc = docker_sandbox("docker").run(sh("uname -r"), tmp_path, QUICK, {})
    assert gvisor.exit_code == 0 and runc.exit_code == 0, (gvisor, runc)
    assert "gVisor" in gvisor.stdout
    assert gvisor.stdout.split()[-1] != runc.stdout.strip()

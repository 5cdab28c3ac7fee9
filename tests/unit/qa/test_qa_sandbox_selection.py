"""Which sandbox QA picks: the strongest the host offers; the bare process only when allowed."""

from __future__ import annotations

import pytest
from wave_qa import (
    BubblewrapSandbox,
    ConfigError,
    DockerSandbox,
    HostOffers,
    HostProbe,
    ProcessSandbox,
    QAConfig,
    SandboxUnavailableError,
    choose_sandbox,
    create_service,
    docker_runtimes,
)

GVISOR_DOCKER = frozenset({"runc", "runsc"})
PLAIN_DOCKER = frozenset({"runc"})


@pytest.mark.parametrize(
    ("docker", "bwrap", "allow_bare", "chosen"),
    [
        (GVISOR_DOCKER, True, True, "gvisor"),
        (PLAIN_DOCKER, True, True, "docker"),
        (None, True, True, "bubblewrap"),
        (None, True, False, "bubblewrap"),
        (None, False, True, "process"),
        (PLAIN_DOCKER, False, False, "docker"),
    ],
)
def test_the_strongest_available_sandbox_is_chosen(docker, bwrap, allow_bare, chosen) -> None:
    assert choose_sandbox(HostOffers(docker, bwrap), allow_bare=allow_bare) == chosen


def test_nothing_available_and_bare_not_allowed_is_a_clear_error() -> None:
    with pytest.raises(SandboxUnavailableError, match="WAVE_QA_ALLOW_BARE=1"):
        choose_sandbox(HostOffers(None, False), allow_bare=False)


def test_a_wanted_sandbox_must_be_available() -> None:
    assert choose_sandbox(HostOffers(GVISOR_DOCKER, True), allow_bare=False, wanted="bubblewrap") == "bubblewrap"
    with pytest.raises(SandboxUnavailableError, match="WAVE_QA_SANDBOX=gvisor"):
        choose_sandbox(HostOffers(PLAIN_DOCKER, True), allow_bare=False, wanted="gvisor")
    with pytest.raises(SandboxUnavailableError, match="WAVE_QA_ALLOW_BARE"):
        choose_sandbox(HostOffers(None, True), allow_bare=False, wanted="process")


class FakeDockerClient:
    def __init__(self, runtimes: dict | None = None, up: bool = True) -> None:
        self.runtimes, self.up = runtimes, up

    def ping(self) -> bool:
        if not self.up:
            raise ConnectionError("Cannot connect to the Docker daemon")
        return True

    def info(self) -> dict:
        return {"Runtimes": self.runtimes or {}}


def test_docker_runtimes_are_read_from_the_daemon() -> None:
    assert docker_runtimes(lambda: FakeDockerClient({"runc": {}, "runsc": {"path": "/usr/bin/runsc"}})) == GVISOR_DOCKER
    assert docker_runtimes(lambda: FakeDockerClient(up=False)) is None

    def no_sdk_config():
        raise RuntimeError("no DOCKER_HOST")

    assert docker_runtimes(no_sdk_config) is None


@pytest.mark.parametrize(
    ("docker", "bwrap", "env", "adapter", "name"),
    [
        (GVISOR_DOCKER, True, {}, DockerSandbox, "gvisor"),
        (PLAIN_DOCKER, True, {}, DockerSandbox, "docker"),
        (None, True, {}, BubblewrapSandbox, "bubblewrap"),
        (None, False, {"WAVE_QA_ALLOW_BARE": "1"}, ProcessSandbox, "process"),
    ],
)
def test_the_factory_builds_the_chosen_adapter(docker, bwrap, env, adapter, name) -> None:
    probe = HostProbe(docker=lambda: docker, bubblewrap=lambda: bwrap)
    service = create_service(env, probe=probe)
    assert isinstance(service.sandbox, adapter) and service.sandbox.name == name
    if name == "gvisor":
        assert service.sandbox.runtime == "runsc"


def test_the_factory_refuses_a_host_without_an_allowed_sandbox() -> None:
    probe = HostProbe(docker=lambda: None, bubblewrap=lambda: False)
    with pytest.raises(SandboxUnavailableError):
        create_service({}, probe=probe)
    with pytest.raises(ConfigError, match="WAVE_QA_MEMORY_MB"):
        create_service({"WAVE_QA_MEMORY_MB": "lots"}, probe=probe)


def test_a_config_object_can_be_given_directly() -> None:
    probe = HostProbe(docker=lambda: None, bubblewrap=lambda: False)
    service = create_service(config=QAConfig(allow_bare=True), probe=probe)
    assert service.sandbox.name == "process"

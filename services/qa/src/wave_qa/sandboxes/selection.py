"""Which sandboxes QA may use: those the host offers, strongest first, the bare process only when allowed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from ..sandbox import Sandbox, SandboxUnavailableError
from .bubblewrap import BubblewrapSandbox, bubblewrap_works
from .docker import DockerSandbox, docker_runtimes
from .process import ProcessSandbox

SandboxKind = Literal["gvisor", "docker", "bubblewrap", "process"]
STRENGTH: tuple[SandboxKind, ...] = ("gvisor", "docker", "bubblewrap", "process")


@dataclass(frozen=True)
class HostOffers:
    """What was found on the host: the docker daemon's runtimes (None: no daemon), whether bwrap works."""

    docker_runtimes: frozenset[str] | None
    bubblewrap: bool


def choose_sandbox(offers: HostOffers, *, allow_bare: bool, wanted: SandboxKind | None = None) -> SandboxKind:
    """Pure: the strongest kind available (or `wanted`, when it is available)."""
    return candidate_sandboxes(offers, allow_bare=allow_bare, wanted=wanted)[0]


def candidate_sandboxes(
    offers: HostOffers, *, allow_bare: bool, wanted: SandboxKind | None = None
) -> tuple[SandboxKind, ...]:
    """Pure: the kinds QA may use, strongest first (only `wanted`, when it is available). QA runs a
    repository's tests in the first whose probe can start the test command (choice.py)."""
    available: list[SandboxKind] = []
    if offers.docker_runtimes is not None:
        if "runsc" in offers.docker_runtimes:
            available.append("gvisor")
        available.append("docker")
    if offers.bubblewrap:
        available.append("bubblewrap")
    if allow_bare:
        available.append("process")
    if wanted is not None:
        if wanted == "process" and not allow_bare:
            raise SandboxUnavailableError("WAVE_QA_SANDBOX=process needs WAVE_QA_ALLOW_BARE=1: a bare process is not isolated")
        if wanted not in available:
            raise SandboxUnavailableError(f"WAVE_QA_SANDBOX={wanted} is not available on this host ({_found(offers)})")
        return (wanted,)
    if not available:
        raise SandboxUnavailableError(
            f"no sandbox available ({_found(offers)}): install bubblewrap or Docker, or set WAVE_QA_ALLOW_BARE=1 "
            "to run tests as a bare process with resource limits only"
        )
    return tuple(available)


def _found(offers: HostOffers) -> str:
    docker = "no docker daemon" if offers.docker_runtimes is None else f"docker runtimes {sorted(offers.docker_runtimes)}"
    return f"{docker}, bubblewrap {'works' if offers.bubblewrap else 'unusable'}"


@dataclass
class HostProbe:
    docker: Callable[[], frozenset[str] | None] = field(default=docker_runtimes)
    bubblewrap: Callable[[], bool] = field(default=bubblewrap_works)

    def offers(self, *, skip_docker: bool = False) -> HostOffers:
        return HostOffers(docker_runtimes=None if skip_docker else self.docker(), bubblewrap=self.bubblewrap())


def build_sandbox(
    kind: SandboxKind, *, docker_image: str, ro_paths: tuple[str, ...] = (), run_as: int = 65534
) -> Sandbox:
    match kind:
        case "gvisor":
            return DockerSandbox(runtime="runsc", image=docker_image, run_as=run_as)
        case "docker":
            return DockerSandbox(image=docker_image, run_as=run_as)
        case "bubblewrap":
            return BubblewrapSandbox(ro_paths=ro_paths, run_as=run_as)
        case "process":
            return ProcessSandbox()
    raise ValueError(f"unknown sandbox kind {kind!r}")

"""Sandbox adapters, strongest first: Docker with gVisor, Docker, bubblewrap, a bare process."""

from .bubblewrap import BubblewrapSandbox, bubblewrap_works
from .docker import DockerSandbox, docker_runtimes
from .process import ProcessSandbox
from .selection import HostOffers, HostProbe, SandboxKind, build_sandbox, choose_sandbox

__all__ = [
    "BubblewrapSandbox",
    "DockerSandbox",
    "HostOffers",
    "HostProbe",
    "ProcessSandbox",
    "SandboxKind",
    "build_sandbox",
    "bubblewrap_works",
    "choose_sandbox",
    "docker_runtimes",
]

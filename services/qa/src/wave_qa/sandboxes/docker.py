"""The Docker sandboxes: a throw-away container per run, with gVisor (`runtime="runsc"`) or runc.

The container has no network, a read-only root file system from the image (the run's test image,
`Mounts.image`, built FROM WAVE_QA_DOCKER_IMAGE by images.py; else the sandbox's own, which must hold
the tools the tests need), the work directory bind-mounted read-write at the same path,
a private /tmp, no capabilities, an unprivileged user, memory, process and CPU limits, and is killed
when the wall clock runs out. Talks to the daemon through the `docker` SDK.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..sandbox import (
    OUTPUT_TAIL_BYTES,
    Limits,
    Mounts,
    Sandbox,
    SandboxError,
    SandboxResult,
    SandboxStopped,
    scrub_env,
)
from ._spawn import STOP_POLL_S, prlimit_prefix
from .bubblewrap import NOBODY, _hand_over
from .environment import sandbox_env

# In every Debian image (util-linux). The container's own limits (memory cgroup, pids, ulimits) do not
# give a process the same failure as on the host: past the cgroup's memory the kernel kills the
# container (no MemoryError), and gVisor applies neither the cpu nor the nproc ulimit. The same
# rlimits as bubblewrap's, set by prlimit inside, do hold in both runtimes.
PRLIMIT = "/usr/bin/prlimit"
# gVisor's own threads (its kernel, the file proxy) are what the container's pids cgroup counts, not
# the command's processes, which are tasks inside it and limited there by RLIMIT_NPROC: a cgroup cap of
# max_procs would stop gVisor itself from starting (exit 2, nothing printed).
GVISOR_HOST_PIDS = 1024
# gVisor's kernel counts against the container's memory cgroup too, and keeps its own copy of the pages a
# forked process touches: a test suite whose 60 forks fit in 1 GiB under runc is killed whole (exit 137)
# under gVisor below about 1.5 GiB. Each process is still held to `memory_mb` by RLIMIT_AS inside.
GVISOR_MEMORY_FACTOR = 2
DEFAULT_IMAGE = "wave-base:bookworm"  # deploy/base-image.sh; QA builds each repository's test image FROM it
ClientFactory = Callable[[], Any]


def _default_client() -> Any:
    import docker

    return docker.from_env(timeout=10)


def docker_runtimes(client_factory: ClientFactory = _default_client) -> frozenset[str] | None:
    """The container runtimes the daemon has registered, or None when no daemon answers."""
    try:
        client = client_factory()
        client.ping()
        info = client.info()
    except Exception:  # no SDK config, no socket, daemon down: all mean "no docker here"
        return None
    return frozenset((info.get("Runtimes") or {}).keys())


class DockerSandbox(Sandbox):
    def __init__(
        self,
        *,
        runtime: str | None = None,
        image: str = DEFAULT_IMAGE,
        client_factory: ClientFactory = _default_client,
        run_as: int = NOBODY,
    ) -> None:
        self.runtime = runtime
        self.name = "gvisor" if runtime == "runsc" else "docker"
        self.image = image
        self._client_factory = client_factory
        self._run_as = run_as

    def container_spec(
        self, command: Sequence[str], workdir: Path, limits: Limits, env: Mapping[str, str], mounts: Mounts | None = None
    ) -> dict[str, Any]:
        """Keyword arguments for `client.containers.create`. Host toolchains are not mounted (the image
        brings its own); prepared environments and build caches are."""
        mounts = mounts or Mounts()
        from docker.types import Ulimit

        workdir_s = str(workdir)
        container_mb = limits.memory_mb * (GVISOR_MEMORY_FACTOR if self.runtime == "runsc" else 1)
        ulimits = [Ulimit(name="nproc", soft=limits.max_procs, hard=limits.max_procs), Ulimit(name="core", soft=0, hard=0)]
        if limits.cpu_s is not None:
            ulimits.append(Ulimit(name="cpu", soft=limits.cpu_s, hard=limits.cpu_s))
        spec: dict[str, Any] = dict(
            image=mounts.image or self.image,
            command=[*prlimit_prefix(limits, prlimit=PRLIMIT), *command],
            working_dir=workdir_s,
            environment=sandbox_env(scrub_env(env), home=workdir_s, path_dirs=mounts.path_dirs),
            user=f"{self._run_as}:{self._run_as}",
            volumes={
                **{p: {"bind": p, "mode": "ro"} for p in mounts.read_only if not p.startswith(("/usr/", "/bin", "/lib"))},
                **{p: {"bind": p, "mode": "rw"} for p in mounts.writable},
                workdir_s: {"bind": workdir_s, "mode": "rw"},
            },
            network_disabled=True,
            network_mode="none",
            read_only=True,
            tmpfs={"/tmp": "rw,nosuid,nodev,size=512m"},
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            mem_limit=f"{container_mb}m",
            memswap_limit=f"{container_mb}m",
            pids_limit=GVISOR_HOST_PIDS if self.runtime == "runsc" else limits.max_procs,
            ulimits=ulimits,
            init=True,
            labels={"wave.qa": "sandbox"},
            detach=True,
        )
        if self.runtime is not None:
            spec["runtime"] = self.runtime
        return spec

    def run(
        self, command: Sequence[str], workdir: Path, limits: Limits, env: Mapping[str, str], *,
        stop: threading.Event | None = None, mounts: Mounts | None = None,
    ) -> SandboxResult:
        workdir = Path(workdir).resolve()
        if os.geteuid() == 0:
            _hand_over(workdir, self._run_as)
        try:
            client = self._client_factory()
            container = client.containers.create(**self.container_spec(command, workdir, limits, env, mounts))
        except Exception as exc:
            raise SandboxError(f"docker could not create the container: {exc}") from exc
        started = time.monotonic()
        timed_out = False
        finished = threading.Event()
        if stop is not None:
            threading.Thread(target=_kill_when_stopped, args=(container, stop, finished), daemon=True).start()
        try:
            container.start()
            try:
                exit_code = int(container.wait(timeout=limits.timeout_s).get("StatusCode", -1))
            except Exception:  # the SDK raises the HTTP client's read timeout when the wall clock runs out
                timed_out = True
                _kill(container)  # it may have ended meanwhile: the daemon then answers 409, not running
                exit_code = -9
            stdout = container.logs(stdout=True, stderr=False)[-OUTPUT_TAIL_BYTES:]
            stderr = container.logs(stdout=False, stderr=True)[-OUTPUT_TAIL_BYTES:]
        except SandboxError:
            raise
        except Exception as exc:
            raise SandboxError(f"docker failed running the container: {exc}") from exc
        finally:
            finished.set()
            try:
                container.remove(force=True)
            except Exception:
                pass
        if stop is not None and stop.is_set():
            raise SandboxStopped("the caller stopped the command")
        return SandboxResult(
            exit_code=exit_code,
            stdout=stdout.decode("utf-8", errors="replace"),
            stderr=stderr.decode("utf-8", errors="replace"),
            timed_out=timed_out,
            duration_s=round(time.monotonic() - started, 3),
        )


def _kill(container: Any) -> None:
    try:
        container.kill()
    except Exception:  # noqa: BLE001 - already gone
        pass


def _kill_when_stopped(container: Any, stop: threading.Event, finished: threading.Event) -> None:
    while not finished.wait(STOP_POLL_S):
        if stop.is_set():
            _kill(container)
            return

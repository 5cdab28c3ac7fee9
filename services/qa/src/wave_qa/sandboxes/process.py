"""The bare sandbox: a process on the host with resource limits, a scrubbed environment and a wall clock.

It does not isolate the file system or the network; it exists for hosts that offer nothing better and
is only selected when the configuration allows it (WAVE_QA_ALLOW_BARE=1). Run as root, the process
limit does not bind (the kernel exempts root from RLIMIT_NPROC).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..sandbox import Limits, Mounts, Sandbox, SandboxResult, scrub_env
from ._spawn import prlimit_prefix, run_contained
from .environment import interpreter_bin_dirs, sandbox_env


class ProcessSandbox(Sandbox):
    name = "process"

    def __init__(self, *, tool_dirs: Sequence[str] | None = None) -> None:
        """`tool_dirs`: directories put first on PATH (default: the interpreter's bin directory)."""
        self._tool_dirs = tuple(tool_dirs) if tool_dirs is not None else interpreter_bin_dirs()

    def run(
        self, command: Sequence[str], workdir: Path, limits: Limits, env: Mapping[str, str], *,
        stop: threading.Event | None = None, mounts: Mounts | None = None,
    ) -> SandboxResult:
        workdir = Path(workdir).resolve()
        if not workdir.is_dir():
            raise FileNotFoundError(workdir)
        environment = {"TMPDIR": str(workdir), **sandbox_env(scrub_env(env), home=str(workdir), path_dirs=_path_dirs(mounts, self._tool_dirs))}
        argv = [*prlimit_prefix(limits), *command]
        return run_contained(argv, cwd=workdir, env=environment, timeout_s=limits.timeout_s, stop=stop)


def _path_dirs(mounts: Mounts | None, tool_dirs: Sequence[str]) -> tuple[str, ...]:
    return (*(mounts.path_dirs if mounts else ()), *tool_dirs)

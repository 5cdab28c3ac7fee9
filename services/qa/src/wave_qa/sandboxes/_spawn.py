"""Starting a contained process on the host: resource limits, a session of its own, a wall clock that
kills the whole process group, output kept to its tail. Shared by the bubblewrap and bare adapters."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from ..sandbox import OUTPUT_TAIL_BYTES, Limits, SandboxError, SandboxResult, SandboxStopped

STOP_POLL_S = 0.1  # how often a running command looks whether its caller gave up


def prlimit_prefix(limits: Limits, prlimit: str | None = None) -> list[str]:
    """`prlimit` in front of the command: the limits are set before anything of the command runs and
    are inherited by every process it starts."""
    prlimit = prlimit or shutil.which("prlimit")
    if prlimit is None:
        raise SandboxError("prlimit (util-linux) is not installed; it sets the sandbox's resource limits")
    args = [prlimit, f"--as={limits.memory_mb * 1024 * 1024}", f"--nproc={limits.max_procs}", "--core=0"]
    if limits.cpu_s is not None:
        args.append(f"--cpu={limits.cpu_s}")
    return [*args, "--"]


def run_contained(
    argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout_s: float, pass_fds: Sequence[int] = (),
    stop: threading.Event | None = None,
) -> SandboxResult:
    """Run `argv` in a session of its own; the whole process group is killed when the wall clock runs
    out, when the command ends (whatever it left behind), and as soon as `stop` is set (SandboxStopped)."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            process = subprocess.Popen(
                list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                start_new_session=True, close_fds=True, pass_fds=tuple(pass_fds),
            )
        except OSError as exc:
            raise SandboxError(f"cannot start {argv[0]}: {exc}") from exc
        try:
            exit_code, timed_out = _wait(process, started + timeout_s, stop)
        finally:
            _kill_group(process.pid)  # whatever the command left running in its group goes with it
        duration = time.monotonic() - started
        return SandboxResult(
            exit_code=exit_code, stdout=_tail(out), stderr=_tail(err), timed_out=timed_out, duration_s=round(duration, 3)
        )


def _wait(process: subprocess.Popen[bytes], deadline: float, stop: threading.Event | None) -> tuple[int, bool]:
    """The exit code, and whether the wall clock ran out."""
    while True:
        left = deadline - time.monotonic()
        try:
            return process.wait(timeout=max(0.0, left if stop is None else min(left, STOP_POLL_S))), False
        except subprocess.TimeoutExpired:
            if stop is not None and stop.is_set():
                _kill_group(process.pid)
                process.wait()
                raise SandboxStopped("the caller stopped the command") from None
            if time.monotonic() >= deadline:
                _kill_group(process.pid)
                return process.wait(), True


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _tail(stream: IO[bytes]) -> str:
    size = stream.seek(0, os.SEEK_END)
    stream.seek(max(0, size - OUTPUT_TAIL_BYTES))
    return stream.read().decode("utf-8", errors="replace")

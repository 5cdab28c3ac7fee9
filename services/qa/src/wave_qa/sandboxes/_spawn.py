"""Starting a contained process on the host: resource limits, a session of its own, a wall clock that
kills the whole process group, output kept to its tail. Shared by the bubblewrap and bare adapters."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from ..sandbox import OUTPUT_TAIL_BYTES, Limits, SandboxError, SandboxResult


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
    argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout_s: float, pass_fds: Sequence[int] = ()
) -> SandboxResult:
    started = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            process = subprocess.Popen(
                list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                start_new_session=True, close_fds=True, pass_fds=tuple(pass_fds),
            )
        except OSError as exc:
            raise SandboxError(f"cannot start {argv[0]}: {exc}") from exc
        timed_out = False
        try:
            exit_code = process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(process.pid)
            exit_code = process.wait()
        finally:
            _kill_group(process.pid)  # whatever the command left running in its group goes with it
        duration = time.monotonic() - started
        return SandboxResult(
            exit_code=exit_code, stdout=_tail(out), stderr=_tail(err), timed_out=timed_out, duration_s=round(duration, 3)
        )


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _tail(stream: IO[bytes]) -> str:
    size = stream.seek(0, os.SEEK_END)
    stream.seek(max(0, size - OUTPUT_TAIL_BYTES))
    return stream.read().decode("utf-8", errors="replace")

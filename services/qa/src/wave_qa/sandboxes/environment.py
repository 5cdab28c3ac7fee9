"""What a sandboxed command's environment and tools are: PATH, HOME, LANG and the given variables."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

SYSTEM_PATH = ("/usr/local/bin", "/usr/bin", "/bin")


def interpreter_dirs() -> tuple[str, ...]:
    """The running interpreter's environment and its base installation: a Python project's tests need
    both (the venv's scripts and packages, the interpreter they link to)."""
    dirs = [sys.prefix, sys.base_prefix, str(Path(sys.executable).resolve().parent.parent)]
    return tuple(dict.fromkeys(str(Path(d).resolve()) for d in dirs))


def interpreter_bin_dirs() -> tuple[str, ...]:
    return (str(Path(sys.prefix) / "bin"),)


def sandbox_env(env: Mapping[str, str], *, home: str, path_dirs: Iterable[str] = ()) -> dict[str, str]:
    """`env` (already scrubbed) over a minimal base; PATH puts `path_dirs` before the system's."""
    base = {
        "PATH": ":".join(dict.fromkeys([*path_dirs, *SYSTEM_PATH])),
        "HOME": home,
        "LANG": "C.UTF-8",
    }
    return {**base, **env}

"""The `wave` command as a user types it: the real entry point in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

WAVE = [sys.executable, "-m", "wave_cli"]


def wave(
    home: Path, *args: str, env: dict[str, str] | None = None, prefix: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """Run `wave ARGS` with WAVE_HOME=home and no other WAVE_ variable; `prefix` wraps the command
    (bubblewrap, for instance)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WAVE_")}
    environment.update(WAVE_HOME=str(home), COLUMNS="200", **(env or {}))
    return subprocess.run([*prefix, *WAVE, *args], capture_output=True, text=True, env=environment, timeout=120)

"""deploy/local/setup.sh trusts an existing virtualenv only when its interpreter still runs."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SETUP = ROOT / "deploy" / "local" / "setup.sh"

# Stands in for python3: passes the version check, and refuses to build a virtualenv, so the test
# sees that setup.sh decided to rebuild without installing anything.
FAKE_PYTHON = """#!/bin/sh
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then echo "fake python asked to build a venv: $*" >&2; exit 3; fi
exit 0
"""


def _installed_digest() -> str:
    """What setup.sh writes to the stamp after a successful install: a hash of the pyprojects' paths
    (a package that moves is installed anew) and contents."""
    pyprojects = [ROOT / "pyproject.toml"]
    for folder in ("libs", "services", "apps"):
        pyprojects += sorted((ROOT / folder).glob("*/pyproject.toml"))
    listing = "".join(f"{p}\n" for p in pyprojects).encode()
    return hashlib.sha256(listing + b"".join(p.read_bytes() for p in pyprojects)).hexdigest()


def _setup(tmp_path: Path, interpreter: str) -> subprocess.CompletedProcess[str]:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / ".wave-installed").write_text(_installed_digest() + "\n")
    (venv / "bin" / "python").write_text(interpreter)
    (venv / "bin" / "python").chmod(0o755)
    fake = tmp_path / "python3"
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    env = {**os.environ, "WAVE_VENV": str(venv), "WAVE_PYTHON": str(fake)}
    return subprocess.run(["bash", str(SETUP)], env=env, capture_output=True, text=True, timeout=60, check=False)


def test_an_installed_virtualenv_whose_interpreter_runs_is_kept(tmp_path: Path) -> None:
    done = _setup(tmp_path, "#!/bin/sh\nexit 0\n")
    assert done.returncode == 0, done.stderr
    assert "virtualenv up to date" in done.stderr


def test_a_virtualenv_whose_interpreter_is_gone_is_rebuilt(tmp_path: Path) -> None:
    done = _setup(tmp_path, "#!/nonexistent/python3.11\n")
    assert "virtualenv up to date" not in done.stderr
    assert "fake python asked to build a venv" in done.stderr

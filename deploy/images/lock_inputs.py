"""The inputs of deploy/images/requirements.lock: every third-party requirement of the packages the
image installs (libs/, services/, apps/ pyproject.toml files) and QA's test runner, with a hash of them.
The lock's first line records the hash; a lock whose hash differs was made from other ranges.

    python deploy/images/lock_inputs.py ROOT    print the hash
"""

from __future__ import annotations

import hashlib
import sys
import tomllib
from pathlib import Path

EXTRA_REQUIREMENTS = ("pytest>=8,<10",)  # QA's test runner: the in-container sandbox runs `python -m pytest`
PACKAGE_DIRS = ("libs", "services", "apps")


def requirements(root: Path) -> list[str]:
    """Sorted third-party requirements (the workspace's own wave-* packages left out)."""
    found = set(EXTRA_REQUIREMENTS)
    for folder in PACKAGE_DIRS:
        for pyproject in sorted((root / folder).glob("*/pyproject.toml")):
            project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
            found.update(r.strip() for r in project.get("dependencies", []) if not r.strip().startswith("wave-"))
    return sorted(found)


def digest(root: Path) -> str:
    return hashlib.sha256("\n".join(requirements(root)).encode()).hexdigest()[:16]


if __name__ == "__main__":
    print(digest(Path(sys.argv[1])))

"""Which command runs a repository's tests. `resolve_test_command` is pure: it looks at the repository's
file names and the contents of a few marker files, which `read_repo_files` collects.

Order: WAVE_QA_TEST_COMMAND, then `command` in the trusted `.wave/qa.toml` — the target branch's at
the run's base commit, never the commit under test's, so a change cannot choose how it is tested (a
`command = "true"` in the change is not what QA runs) — then detection: pytest, `npm test`,
`go test ./...`, `make test`.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .prepare import is_requirements_file

REPO_CONFIG = ".wave/qa.toml"
ROOT_TEST_FILE = "test.py"
MARKER_FILES = frozenset(
    {REPO_CONFIG, "pyproject.toml", "setup.cfg", "tox.ini", "pytest.ini", "package.json", "go.mod", "Makefile",
     "makefile", "GNUmakefile"}
)
_SKIP_DIRS = frozenset({".git", "node_modules", ".venv", "venv", ".tox", "__pycache__", ".mypy_cache", "vendor"})
_MAX_FILES = 20_000
_MAX_MARKER_BYTES = 256 * 1024
_NPM_PLACEHOLDER = "no test specified"


class RepoConfigError(ValueError):
    """The repository's .wave/qa.toml cannot be used."""


@dataclass(frozen=True)
class TestCommand:
    __test__ = False  # not a pytest test class

    argv: tuple[str, ...]
    runner: str  # pytest, npm, go, make, configured
    junit_path: str | None = None  # where the command writes a JUnit XML report, when it does

    @property
    def display(self) -> str:
        return shlex.join(self.argv)


def shell_command(command: str, junit_path: str | None = None) -> TestCommand:
    """A configured command line, run by /bin/sh. `{junit}` in it is replaced by the report's path."""
    wants_junit = "{junit}" in command
    if wants_junit and junit_path is not None:
        command = command.replace("{junit}", shlex.quote(junit_path))
    return TestCommand(("/bin/sh", "-c", command), "configured", junit_path if wants_junit else None)


def resolve_test_command(
    files: Mapping[str, str], *, junit_path: str, configured: str | None = None, trusted_config: str | None = None
) -> TestCommand | None:
    """`files`: every path in the repository (relative, '/'-separated), with the content of the marker
    files; `trusted_config`: the text of the target branch's .wave/qa.toml at the run's base commit.
    The commit's own .wave/qa.toml is never read here. None when nothing says how to test."""
    if configured:
        return shell_command(configured, junit_path)
    if trusted_config is not None:
        command = _repo_configured(trusted_config)
        if isinstance(command, str):
            return shell_command(command, junit_path)
        if command is not None:
            wants_junit = any("{junit}" in arg for arg in command)
            argv = tuple(arg.replace("{junit}", junit_path) for arg in command)
            return TestCommand(argv, "configured", junit_path if wants_junit else None)
    return detect_test_command(files, junit_path=junit_path)


def detect_test_command(files: Mapping[str, str], *, junit_path: str) -> TestCommand | None:
    if _uses_pytest(files):
        argv = ["python", "-m", "pytest", "-q", f"--junitxml={junit_path}"]
        if ROOT_TEST_FILE in files and not _sets_python_files(files):
            # pytest's default patterns (test_*.py, *_test.py) do not match a root test.py
            argv += ["-o", f"python_files=test_*.py *_test.py {ROOT_TEST_FILE}"]
        return TestCommand(tuple(argv), "pytest", junit_path)
    if _npm_test_script(files.get("package.json")):
        return TestCommand(("npm", "test"), "npm")
    if "go.mod" in files:
        # -json: every test's pass, fail or skip, which the report counts
        return TestCommand(("go", "test", "-json", "./..."), "go")
    for name in ("GNUmakefile", "makefile", "Makefile"):
        if name in files and re.search(r"^test\s*:(?!=)", files[name], re.MULTILINE):
            return TestCommand(("make", "test"), "make")
    return None


def _repo_configured(text: str) -> str | tuple[str, ...] | None:
    """A string is run by /bin/sh; a list is the argv itself."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RepoConfigError(f"{REPO_CONFIG}: {exc}") from exc
    command = document.get("command", document.get("tests", {}).get("command"))
    if command is None:
        return None
    if isinstance(command, list) and command and all(isinstance(a, str) for a in command):
        return tuple(command)
    if isinstance(command, str) and command.strip():
        return command
    raise RepoConfigError(f"{REPO_CONFIG}: command must be a non-empty string or list of strings, got {command!r}")


def _sets_python_files(files: Mapping[str, str]) -> bool:
    return any("python_files" in files.get(name, "") for name in ("pyproject.toml", "setup.cfg", "tox.ini", "pytest.ini"))


def go_module_path(go_mod: str | None) -> str | None:
    """The module path a go.mod declares."""
    match = re.search(r"^module\s+\"?([^\s\"]+)", go_mod or "", re.MULTILINE)
    return match.group(1) if match else None


def _uses_pytest(files: Mapping[str, str]) -> bool:
    if "pytest.ini" in files or "conftest.py" in files or ROOT_TEST_FILE in files:
        return True
    if "[tool.pytest" in files.get("pyproject.toml", ""):
        return True
    if "[tool:pytest]" in files.get("setup.cfg", "") or "[pytest]" in files.get("tox.ini", ""):
        return True
    python_project = any(name in files for name in ("pyproject.toml", "setup.cfg", "setup.py"))
    for path in files:
        p = PurePosixPath(path)
        is_test_file = p.suffix == ".py" and (p.name.startswith("test_") or p.stem.endswith("_test"))
        if is_test_file and (python_project or "tests" in p.parts[:-1] or "test" in p.parts[:-1] or len(p.parts) == 1):
            return True
    return False


def _npm_test_script(text: str | None) -> bool:
    if not text:
        return False
    try:
        document = json.loads(text)
    except ValueError:
        return False
    scripts = document.get("scripts") if isinstance(document, dict) else None
    test = scripts.get("test") if isinstance(scripts, dict) else None
    return isinstance(test, str) and bool(test.strip()) and _NPM_PLACEHOLDER not in test


def read_repo_files(root: Path) -> dict[str, str]:
    """The repository's paths (skipping .git, dependencies and caches), with the marker files' contents."""
    files: dict[str, str] = {}
    for directory, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        rel_dir = Path(directory).relative_to(root)
        for name in names:
            rel = (rel_dir / name).as_posix()
            content = ""
            if (rel in MARKER_FILES or is_requirements_file(rel)) and not os.path.islink(Path(directory) / name):
                with open(Path(directory) / name, "rb") as f:
                    content = f.read(_MAX_MARKER_BYTES).decode("utf-8", errors="replace")
            files[rel] = content
            if len(files) >= _MAX_FILES:
                return files
    return files

"""Tiny Python projects in real git repositories, for QA's checkout and test runs."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pygit2
from gitops_repos import commit_files, make_repo

PYPROJECT = '[project]\nname = "calc"\nversion = "0.1.0"\n\n[tool.pytest.ini_options]\ntestpaths = ["tests"]\n'
CALC = "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n"
BROKEN_CALC = "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a + b  # oops\n"
CALC_TESTS = (
    "import sys\nfrom pathlib import Path\n\nsys.path.insert(0, str(Path(__file__).parent.parent))\n\n"
    "from calc import add, mul\n\n\n"
    "def test_add():\n    assert add(2, 3) == 5\n\n\n"
    "def test_mul():\n    assert mul(3, 4) == 12\n"
)

# A project with one dependency from PyPI, for the tests that set up a test environment.
TITLES_PROJECT = (
    '[project]\nname = "titles"\nversion = "0.1.0"\ndependencies = ["inflection==0.5.1"]\n\n'
    '[tool.pytest.ini_options]\ntestpaths = ["tests"]\npythonpath = ["."]\n'
)
TITLES_CODE = "import inflection\n\n\ndef title(text):\n    return inflection.titleize(text)\n"
TITLES_TESTS = (
    "from titles import title\n\n\ndef test_title():\n    assert title('man_from_the_boondocks') == 'Man From The Boondocks'\n\n\n"
    "def test_one_word():\n    assert title('wave') == 'Wave'\n"
)


def calc_repo(path: Path) -> tuple[pygit2.Repository, str]:
    """A project whose two tests pass; returns the repository and its commit."""
    repo = make_repo(path, {"pyproject.toml": PYPROJECT, "calc.py": CALC, "tests/test_calc.py": CALC_TESTS})
    return repo, str(repo.head.target)


def break_mul(repo: pygit2.Repository) -> str:
    return str(commit_files(repo, {"calc.py": BROKEN_CALC}, "mul: a faster algorithm"))


def add_files(repo: pygit2.Repository, files: dict[str, str], message: str = "more") -> str:
    return str(commit_files(repo, files, message))


def escape_repo(path: Path, targets: dict[str, object], tests: str) -> tuple[pygit2.Repository, str]:
    """A project whose test suite attacks its sandbox; `targets` (ports, paths) is committed as
    targets.json for the tests to read."""
    repo = make_repo(
        path,
        {"pyproject.toml": PYPROJECT, "targets.json": json.dumps(targets), "tests/test_escape.py": tests},
    )
    return repo, str(repo.head.target)


def processes_mentioning(marker: str) -> list[int]:
    """Host processes whose command line contains `marker`, this test's own process excepted."""
    found = []
    for entry in os.listdir("/proc"):
        if not re.fullmatch(r"\d+", entry) or int(entry) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline:
            found.append(int(entry))
    return found

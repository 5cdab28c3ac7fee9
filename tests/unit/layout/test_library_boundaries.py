"""The libraries under libs/ are shared by every entry point: none may depend on a service or on the
`wave` command, and the application layer stays free of terminal and process concerns, so the CLI and
the HTTP API can both build on it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
LIBS = ROOT / "libs"
SERVICES = ROOT / "services"
ENTRY_POINT_PACKAGES = {"wave_planner", "wave_developer", "wave_safety", "wave_gitops", "wave_qa", "wave_notifier", "wave_cli"}
# What belongs to a terminal or to the process, not to the commands people give.
NOT_IN_THE_APPLICATION_LAYER = {"click", "rich", "getpass"}


def _imports(path: Path) -> set[str]:
    """The top-level packages `path` imports (relative imports stay inside their own package)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def _sources(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if ".egg-info" not in str(p))


def test_the_libraries_are_found():
    names = {p.parent.name for p in LIBS.glob("*/pyproject.toml")}
    assert {"app", "events", "store", "runtime", "llm"} <= names
    assert not (LIBS / "cli").exists(), "the `wave` command is an entry point: it lives under apps/"


@pytest.mark.parametrize("path", _sources(LIBS), ids=lambda p: str(p.relative_to(LIBS)))
def test_no_library_imports_a_service_or_the_cli(path):
    assert not _imports(path) & ENTRY_POINT_PACKAGES


@pytest.mark.parametrize("path", _sources(LIBS / "app"), ids=lambda p: str(p.relative_to(LIBS)))
def test_the_application_layer_neither_prints_nor_reads_the_environment(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    assert not _imports(path) & NOT_IN_THE_APPLICATION_LAYER
    calls = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    assert "print" not in calls
    environ = [node for node in ast.walk(tree) if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"}]
    assert not environ


def _service_package(path: Path) -> str:
    return path.relative_to(SERVICES).parts[2]  # services/<role>/src/<package>/…


@pytest.mark.parametrize("path", _sources(SERVICES), ids=lambda p: str(p.relative_to(SERVICES)))
def test_no_service_imports_another_service_or_the_cli(path):
    """Services meet only through events; what two of them share is a library."""
    own = _service_package(path)
    assert not _imports(path) & (ENTRY_POINT_PACKAGES - {own})


def test_the_services_are_found():
    assert {_service_package(p) for p in _sources(SERVICES) if p.parent.name.startswith("wave_")} >= {
        "wave_planner", "wave_developer", "wave_safety", "wave_gitops", "wave_qa", "wave_notifier"
    }


def test_the_check_sees_an_import_of_a_service(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import os\nfrom wave_planner.decide import x\nfrom . import sibling\n", encoding="utf-8")
    assert _imports(module) == {"os", "wave_planner"}

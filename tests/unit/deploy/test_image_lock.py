"""deploy/images/requirements.lock is current: made from the pyproject.toml ranges the image's packages
declare today (its first line records their hash), and every range is met by the locked version.
When this fails: `make images-lock` rewrites the lock."""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
LOCK = ROOT / "deploy" / "images" / "requirements.lock"


def _lock_inputs():
    spec = importlib.util.spec_from_file_location("lock_inputs", ROOT / "deploy" / "images" / "lock_inputs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _locked() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not an exact pin: {line}"
            pins[_normal(name)] = version
    return pins


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_lock_was_made_from_the_current_ranges():
    first = LOCK.read_text(encoding="utf-8").splitlines()[0]
    assert first == f"# inputs: {_lock_inputs().digest(ROOT)}", (
        "deploy/images/requirements.lock is stale: a pyproject.toml range changed; run `make images-lock`")


def test_every_range_is_met_by_its_locked_version():
    from pip._vendor.packaging.requirements import Requirement

    pins = _locked()
    for text in _lock_inputs().requirements(ROOT):
        requirement = Requirement(text)
        name = _normal(requirement.name)
        assert name in pins, f"{requirement.name} is not in the lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), f"{name}=={pins[name]} breaks {text}"


def test_a_changed_range_changes_the_recorded_inputs(tmp_path):
    lock_inputs = _lock_inputs()
    for folder in lock_inputs.PACKAGE_DIRS:
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("src", "tests", "*.md"))
    before = lock_inputs.digest(tmp_path)
    pyproject = tmp_path / "libs" / "events" / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("pydantic>=2.7,<3", "pydantic>=2.8,<3"))
    assert lock_inputs.digest(tmp_path) != before

"""Choosing a sandbox per run: strongest first, only after a probe shows it can start the test
command; and the recipe of the test images the Docker sandboxes run in."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from wave_qa import Limits, Mounts, Sandbox, SandboxError, SandboxResult, SetupConfig, plan_setup
from wave_qa.choice import Candidate, SandboxChoice, probe_command
from wave_qa.detect import TestCommand, shell_command
from wave_qa.sandboxes.images import VENV, ImageRecipe, image_mounts
from wave_qa.testenv import Prepared, SetupError

PYTEST = TestCommand(("python", "-m", "pytest", "-q"), "pytest")


class ScriptedSandbox(Sandbox):
    """Answers every command with the exit code it was given, and remembers what it ran."""

    def __init__(self, name: str, exit_code: int = 0, broken: bool = False) -> None:
        self.name = name
        self.exit_code = exit_code
        self.broken = broken
        self.ran: list[tuple[str, ...]] = []

    def run(self, command: Sequence[str], workdir: Path, limits: Limits, env: Mapping[str, str], *,
            stop: threading.Event | None = None, mounts: Mounts | None = None) -> SandboxResult:
        self.ran.append(tuple(command))
        if self.broken:
            raise SandboxError("the daemon went away")
        return SandboxResult(self.exit_code, "", "not found" if self.exit_code else "", False, 0.1)


def prepared(name: str) -> Prepared:
    return Prepared(Mounts(image=f"{name}-image"), {"WHERE": name}, f"prepared for {name}")


def candidate(sandbox: ScriptedSandbox, fails: bool = False) -> Candidate:
    def prepare(plan, checkout, files, scope) -> Prepared:
        if fails:
            raise SetupError(f"cannot prepare {sandbox.name}")
        return prepared(sandbox.name)

    return Candidate(sandbox, prepare)


def choose(choice: SandboxChoice, command: TestCommand = PYTEST):
    return choice.choose(command, None, Path("/nowhere"), {}, scope="repo", limits=Limits(), env={})


@pytest.mark.parametrize(
    ("command", "probe"),
    [
        (PYTEST, ("python", "-c", "import pytest")),
        (TestCommand(("npm", "test"), "npm"), ("/bin/sh", "-c", "command -v npm")),
        (TestCommand(("go", "test", "-json", "./..."), "go"), ("/bin/sh", "-c", "command -v go")),
        (shell_command("CI=1 tox -e py311"), ("/bin/sh", "-c", "command -v tox")),
        (shell_command("python3 -m unittest discover"), ("python3", "-c", "import unittest")),
        (shell_command("'unbalanced"), ("/bin/sh", "-c", "command -v true")),
    ],
)
def test_the_probe_only_starts_the_test_program(command: TestCommand, probe: tuple[str, ...]) -> None:
    assert probe_command(command) == probe


def test_the_strongest_sandbox_whose_probe_passes_runs_the_tests() -> None:
    gvisor, docker, bwrap = ScriptedSandbox("gvisor", exit_code=1), ScriptedSandbox("docker"), ScriptedSandbox("bubblewrap")
    chosen = choose(SandboxChoice([candidate(gvisor), candidate(docker), candidate(bwrap)]))
    assert chosen.sandbox is docker and chosen.passed_probe
    assert chosen.prepared == prepared("docker")
    assert gvisor.ran == docker.ran == [("python", "-c", "import pytest")] and bwrap.ran == []


def test_a_sandbox_that_cannot_be_prepared_or_run_is_passed_over() -> None:
    gvisor, docker, bwrap = ScriptedSandbox("gvisor"), ScriptedSandbox("docker", broken=True), ScriptedSandbox("bubblewrap")
    chosen = choose(SandboxChoice([candidate(gvisor, fails=True), candidate(docker), candidate(bwrap)]))
    assert chosen.sandbox is bwrap
    assert gvisor.ran == []


def test_a_passed_probe_is_not_run_again_for_the_same_preparation() -> None:
    gvisor, bwrap = ScriptedSandbox("gvisor"), ScriptedSandbox("bubblewrap")
    choice = SandboxChoice([candidate(gvisor), candidate(bwrap)])
    choose(choice)
    choose(choice)
    assert len(gvisor.ran) == 1


def test_when_no_probe_passes_the_weakest_runs_the_tests_and_shows_what_is_missing() -> None:
    gvisor, bwrap = ScriptedSandbox("gvisor", exit_code=127), ScriptedSandbox("bubblewrap", exit_code=1)
    chosen = choose(SandboxChoice([candidate(gvisor), candidate(bwrap)]))
    assert chosen.sandbox is bwrap and not chosen.passed_probe


def test_when_nothing_can_be_prepared_the_last_error_is_raised() -> None:
    choice = SandboxChoice([candidate(ScriptedSandbox("gvisor"), fails=True), candidate(ScriptedSandbox("b"), fails=True)])
    with pytest.raises(SetupError, match="cannot prepare b"):
        choose(choice)


def test_a_single_sandbox_is_used_without_a_probe() -> None:
    only = ScriptedSandbox("bubblewrap", exit_code=1)
    chosen = choose(SandboxChoice([candidate(only)]))
    assert chosen.sandbox is only and only.ran == []


PYPROJECT = '[project]\nname = "p"\ndependencies = ["inflection==0.5.1"]\n'


def python_plan():
    return plan_setup({"pyproject.toml": PYPROJECT}, SetupConfig(("python",), source="qa.toml at base"))


def test_a_test_image_is_built_from_the_base_with_the_runner_and_the_trusted_plan() -> None:
    recipe = ImageRecipe("sha256:base1", python_plan(), {"pyproject.toml": PYPROJECT.encode()})
    dockerfile = recipe.dockerfile()
    assert dockerfile.startswith("FROM sha256:base1\n")
    assert "--only-binary=:all:" in dockerfile and "'pytest>=8,<10' inflection==0.5.1" in dockerfile
    assert "apt-get" not in dockerfile  # Python is in the base already
    assert recipe.tag().startswith("wave-qa-test:")


def test_the_image_tag_follows_the_recipe_and_nothing_else() -> None:
    plain = ImageRecipe("sha256:base1", None)
    assert plain.key() == ImageRecipe("sha256:base1", None, {"README": b"anything"}).key()
    assert plain.key() != ImageRecipe("sha256:base2", None).key()
    assert plain.key() != ImageRecipe("sha256:base1", python_plan()).key()
    go = plan_setup({"go.mod": "module m\n"}, SetupConfig(("go",)))
    one = ImageRecipe("sha256:base1", go, {"go.mod": b"module m\n", "go.sum": b"a"})
    assert one.key() != ImageRecipe("sha256:base1", go, {"go.mod": b"module m\n", "go.sum": b"b"}).key()
    assert "golang-go" in one.dockerfile() and "go mod download" in one.dockerfile()


def test_a_run_in_a_test_image_has_its_virtualenv_first_on_path() -> None:
    mounts, env = image_mounts(python_plan(), "wave-qa-test:abc")
    assert mounts.image == "wave-qa-test:abc" and mounts.path_dirs[0] == f"{VENV}/bin"
    assert mounts.read_only == () and mounts.writable == ()
    assert env["VIRTUAL_ENV"] == VENV

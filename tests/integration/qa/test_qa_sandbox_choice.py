"""QA's sandbox choice against a real Docker daemon with gVisor: a sandbox is used only after a probe
shows it can start the test command, and a repository's test image is built FROM the base image with
what its trusted configuration installs, once per configuration.

Marked `docker`: selected where `make test` runs its private daemon.
"""

from __future__ import annotations

from pathlib import Path

import docker
import pytest
from qa_docker import base_image, qa_test_images, require_daemon
from qa_repos import TITLES_CODE, TITLES_PROJECT, TITLES_TESTS, add_files, break_mul, calc_repo, make_repo
from qa_runs import committed_run, refix
from wave_events import catalogue as c
from wave_qa import SetupConfig, create_service, plan_setup, read_repo_files

pytestmark = [pytest.mark.docker]


def qa_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    return {"WAVE_QA_SCRATCH_ROOT": str(tmp_path / "scratch"), "WAVE_QA_ENV_ROOT": str(tmp_path / "qa-env"),
            "WAVE_QA_DOCKER_IMAGE": base_image(), **settings}


@pytest.mark.timeout(300)
async def test_without_a_usable_image_the_tests_run_in_the_next_sandbox_instead_of_stalling(tmp_path: Path) -> None:
    require_daemon()
    # A daemon answers, with gVisor, but the image QA was told to use is not there (as python:3.11-slim
    # was not, on a host without a registry): the probe fails and bubblewrap runs the tests.
    service = create_service(qa_env(tmp_path, WAVE_QA_DOCKER_IMAGE="wave-base:not-built-here"))
    assert [candidate.sandbox.name for candidate in service.sandboxes.candidates] == ["gvisor", "docker", "bubblewrap"]
    repo, base = calc_repo(tmp_path / "calc")
    _, (committed,) = committed_run(str(tmp_path / "calc"), base, {"t1": break_mul(repo)})

    (*_, outcome) = await service.handle(committed.state, committed.event)

    assert isinstance(outcome, c.TestsFailed)
    assert outcome.sandbox == "bubblewrap"
    assert outcome.counts == c.TestCounts(passed=1, failed=1)


@pytest.mark.network
@pytest.mark.timeout(420)
async def test_a_repositorys_test_image_is_built_from_its_trusted_setup_once_and_runs_in_gvisor(tmp_path: Path) -> None:
    require_daemon()
    service = create_service(qa_env(tmp_path))
    repo = make_repo(tmp_path / "repo", {"pyproject.toml": TITLES_PROJECT, "titles.py": TITLES_CODE,
                                         ".wave/qa.toml": 'setup = ["python"]\n'})
    base = str(repo.head.target)
    # An image left by an earlier test run would be reused: this one must show the first build.
    plan = plan_setup(read_repo_files(tmp_path / "repo"), SetupConfig(("python",)))
    tag = qa_test_images(tmp_path / "locks").recipe(plan, tmp_path / "repo").tag()
    client = docker.from_env(timeout=60)
    if any(tag in image.tags for image in client.images.list(name=tag.split(":")[0])):
        client.images.remove(tag, force=True)
    # The change also rewrites its own .wave/qa.toml: QA reads the target branch's at the base commit.
    first = add_files(repo, {"tests/test_titles.py": TITLES_TESTS, ".wave/qa.toml": 'setup = "none"\n'}, "tests")
    stream, (committed,) = committed_run(str(tmp_path / "repo"), base, {"t1": first})

    (*_, passed) = await service.handle(committed.state, committed.event)

    assert isinstance(passed, c.TestsPassed), getattr(passed, "failure_excerpt", passed)
    assert passed.sandbox == "gvisor"
    assert passed.counts == c.TestCounts(passed=2)
    assert passed.environment.startswith("python: pip install inflection==0.5.1 (.wave/qa.toml on main at ")
    assert passed.environment.endswith(f"built image {tag})")
    assert client.images.get(tag).labels["wave.qa.base"] == client.images.get(base_image()).id

    stream.add(passed)
    broken = add_files(repo, {"titles.py": TITLES_CODE.replace("titleize", "camelize")}, "camel case")
    retried = refix(stream, "t1", broken, first)
    (*_, failed) = await service.handle(retried.state, retried.event)

    assert isinstance(failed, c.TestsFailed)
    assert failed.sandbox == "gvisor"
    assert failed.counts == c.TestCounts(passed=1, failed=1)
    assert failed.environment.endswith(f"reused image {tag})")  # the same configuration: no second build

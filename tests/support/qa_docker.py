"""The real Docker daemon for tests marked `docker`: `make test` starts a private one with gVisor
(deploy/local/docker.sh), builds the base image (deploy/base-image.sh) and says so with
WAVE_TEST_DOCKER=1, WAVE_TEST_BASE_IMAGE and DOCKER_HOST. A test that needs it fails, naming the
cause, when the daemon does not answer or lacks gVisor."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from wave_qa import DockerSandbox, docker_runtimes
from wave_qa.choice import Candidate, SandboxChoice, image_preparer
from wave_qa.sandboxes.docker import DEFAULT_IMAGE
from wave_qa.sandboxes.images import TestImages

DOCKER_KINDS = ("docker", "gvisor")


def require_daemon() -> frozenset[str]:
    """The daemon's runtimes; fails the test when it does not answer or has no gVisor."""
    if error := os.environ.get("WAVE_TEST_DOCKER_ERROR"):
        pytest.fail(f"the Docker daemon for the tests did not start: {error}")
    runtimes = docker_runtimes()
    if runtimes is None:
        pytest.fail(f"no Docker daemon answers at DOCKER_HOST={os.environ.get('DOCKER_HOST', '(unset)')}: "
                    "deploy/local/docker.sh start, or run `make test`")
    if "runsc" not in runtimes:
        pytest.fail(f"the Docker daemon has no runsc (gVisor) runtime, only {sorted(runtimes)}")
    return runtimes


def base_image() -> str:
    return os.environ.get("WAVE_TEST_BASE_IMAGE") or DEFAULT_IMAGE


def qa_test_images(lock_dir: Path | None = None) -> TestImages:
    return TestImages(base_image(), lock_dir or Path(tempfile.gettempdir()) / "wave-qa-test-images")


def runner_image() -> str:
    """The test image with nothing but Python and pytest: what QA builds for a project that configures
    no setup. Built once per base image, then found by its tag."""
    require_daemon()
    tag, _ = qa_test_images().ensure(None, Path("."))
    return tag


def docker_sandbox(kind: str, image: str | None = None) -> DockerSandbox:
    return DockerSandbox(runtime="runsc" if kind == "gvisor" else None, image=image or runner_image())


def docker_choice(kind: str, lock_dir: Path | None = None) -> SandboxChoice:
    """What QA's factory builds for that kind alone: the sandbox, and test images built FROM the base."""
    require_daemon()
    sandbox = DockerSandbox(runtime="runsc" if kind == "gvisor" else None, image=base_image())
    return SandboxChoice([Candidate(sandbox, image_preparer(qa_test_images(lock_dir)))])

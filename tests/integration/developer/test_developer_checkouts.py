"""Scratch checkouts of the exact commit an event names, from wherever the run branch lives."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pygit2
import pytest
from checkouts_contract import CheckoutContract
from developer_runs import (
    APP,
    answer,
    commit_files,
    make_repo,
    plan_created,
    requested,
    scripted_client,
    workspace_ready,
    write_cassette,
)
from wave_developer import CheckoutError, DeveloperService, GitCheckouts
from wave_runtime import TransientError


@pytest.fixture
def remote(tmp_path: Path) -> tuple[Path, str, str]:
    """A bare remote whose run branch is one commit ahead of main: (path, base, head)."""
    work, base = make_repo(tmp_path / "work")
    work.checkout(work.branches.local["wave/r1"])
    head = str(commit_files(work, {"app.py": APP + "\n# taxed\n"}, "t1 attempt 1"))
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(tmp_path / "work"), str(bare)], check=True)
    return bare, base, head


def test_a_commit_only_the_run_branch_holds_is_checked_out(remote, tmp_path: Path) -> None:
    bare, base, head = remote
    checkouts = GitCheckouts(tmp_path / "scratch")

    path = checkouts.checkout("r1", str(bare), head)

    assert (path / "app.py").read_text().endswith("# taxed\n")
    assert str(pygit2.Repository(str(path)).head.target) == head
    assert checkouts.checkout("r1", str(bare), head) == path  # reused
    assert (checkouts.checkout("r1", str(bare), base) / "app.py").read_text() == APP
    checkouts.release("r1")
    assert not (tmp_path / "scratch" / "r1").exists()


def test_an_unknown_commit_or_place_is_a_checkout_error(remote, tmp_path: Path) -> None:
    bare, _, _ = remote
    checkouts = GitCheckouts(tmp_path / "scratch")
    with pytest.raises(CheckoutError, match="does not hold commit"):
        checkouts.checkout("r1", str(bare), "f" * 40)
    with pytest.raises(CheckoutError, match="cannot clone"):
        checkouts.checkout("r1", str(tmp_path / "nowhere"), "f" * 40)
    with pytest.raises(CheckoutError, match="not a commit id"):
        checkouts.checkout("r1", str(bare), "HEAD; rm -rf /")


async def test_a_commit_not_yet_pushed_is_retried_by_the_runtime(remote, tmp_path: Path) -> None:
    bare, _, _ = remote
    cassette = write_cassette(tmp_path / "cassette.yml", answer("unused"))
    service = DeveloperService(scripted_client(cassette, tmp_path), GitCheckouts(tmp_path / "scratch"))
    stream = requested(repo=str(bare))
    stream.add(plan_created("t1"))
    step = stream.add(workspace_ready("e" * 40, location=str(bare)))
    with pytest.raises(TransientError, match="does not hold commit"):
        await service.handle(step.state, step.event)


class TestDeveloperGitCheckouts(CheckoutContract):
    """The checkout contract (tests/support/checkouts_contract.py) on the developer's pygit2 clones."""

    @pytest.fixture
    def check_out(self, tmp_path: Path):
        checkouts = GitCheckouts(tmp_path / "scratch")
        return lambda location, commit: checkouts.checkout("r1", location, commit)

    @pytest.fixture
    def checkout_error(self) -> type[Exception]:
        return CheckoutError

"""The contract of the GitHost port. An adapter's test module subclasses `GitHostContract` (as
`TestSomething`) and says which flavour of the fake host it speaks to and how to build the adapter;
every case here then runs against it, over a real bare repository the fake host serves."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path

import pygit2
import pytest
from fake_git_host import FakeGitHost
from gitops_repos import APP, commit_files, make_bare, make_repo
from wave_gitops.hosting import GitHost, HostError, HostRefusedError

TAXED = APP.replace("return amount\n", "return amount + tax(amount)\n")


class GitHostContract(ABC):
    flavour: str  # the fake host's API: github | gitea

    @abstractmethod
    def host_for(self, fake: FakeGitHost, token: str) -> GitHost:
        """The adapter under test, for the fake host's repository."""

    @pytest.fixture
    def fake(self, tmp_path: Path) -> Iterator[FakeGitHost]:
        make_bare(tmp_path / "shop.git")
        work = make_repo(tmp_path / "work")
        remote = work.remotes.create("origin", str(tmp_path / "shop.git"))
        work.branches.local.create("wave/r1", work.head.peel(pygit2.Commit))
        work.checkout("refs/heads/wave/r1")
        commit_files(work, {"app.py": TAXED}, "prices include tax")
        remote.push(["refs/heads/main:refs/heads/main", "refs/heads/wave/r1:refs/heads/wave/r1"])
        host = FakeGitHost(tmp_path / "shop.git", flavour=self.flavour).start()
        yield host
        host.stop()

    @pytest.fixture
    def host(self, fake: FakeGitHost) -> GitHost:
        return self.host_for(fake, fake.token)

    def test_opening_a_pull_request_twice_gives_the_same_one(self, host: GitHost, fake: FakeGitHost) -> None:
        first = host.open_pull_request("wave/r1", "main", "Prices include tax", "the story")
        again = host.open_pull_request("wave/r1", "main", "Prices include tax", "the story")
        assert first.number == again.number
        assert [(p["head"], p["base"], p["title"]) for p in fake.pulls.values()] == [("wave/r1", "main", "Prices include tax")]
        assert first.url.endswith(f"/pull/{first.number}")
        assert host.pull_request(first.number).merged is False

    def test_a_posted_status_is_on_the_commit(self, host: GitHost, fake: FakeGitHost) -> None:
        head = fake.branch_head("wave/r1")
        host.post_status(head, "wave/G5-tested", "pending", "the tests run")
        host.post_status(head, "wave/G5-tested", "success", "4 passed")
        assert fake.statuses_of(head) == {"wave/G5-tested": "success"}

    def test_a_branch_without_protection_requires_no_check(self, host: GitHost, fake: FakeGitHost) -> None:
        assert host.required_checks(fake.branch_head("wave/r1"), "main") == ()

    def test_required_checks_are_pending_until_the_ci_reports_then_say_how_it_went(self, host: GitHost, fake: FakeGitHost) -> None:
        head = fake.branch_head("wave/r1")
        fake.required["main"] = ["ci/test", "ci/lint"]
        assert [(c.name, c.state) for c in host.required_checks(head, "main")] == [("ci/test", "pending"), ("ci/lint", "pending")]
        fake.ci = lambda commit: {"ci/test": ("success", "12 passed"), "ci/lint": ("failure", "E501 line too long")}
        checks = host.required_checks(head, "main")
        assert [(c.name, c.state) for c in checks] == [("ci/test", "success"), ("ci/lint", "failure")]
        assert checks[1].description == "E501 line too long"

    def test_merging_moves_the_target_branch_and_merging_again_returns_the_same_commit(
        self, host: GitHost, fake: FakeGitHost
    ) -> None:
        pull = host.open_pull_request("wave/r1", "main", "Prices include tax", "")
        head = fake.branch_head("wave/r1")
        merged = host.merge_pull_request(pull.number, "squash", "Prices include tax", head)
        assert fake.branch_head("main") == merged.merge_commit != head
        repo = pygit2.Repository(str(fake.repo_path))
        assert repo[merged.merge_commit].tree["app.py"].data.decode() == TAXED
        assert host.merge_pull_request(pull.number, "squash", "Prices include tax", head) == merged
        assert host.pull_request(pull.number).merged is True

    def test_the_ff_strategy_moves_the_target_to_the_run_head(self, host: GitHost, fake: FakeGitHost) -> None:
        pull = host.open_pull_request("wave/r1", "main", "Prices include tax", "")
        head = fake.branch_head("wave/r1")
        merged = host.merge_pull_request(pull.number, "ff", "Prices include tax", head)
        assert fake.branch_head("main") == merged.merge_commit == head

    def test_a_merge_is_refused_while_a_required_check_fails_or_when_the_head_moved(
        self, host: GitHost, fake: FakeGitHost
    ) -> None:
        pull = host.open_pull_request("wave/r1", "main", "Prices include tax", "")
        head = fake.branch_head("wave/r1")
        main = fake.branch_head("main")
        with pytest.raises(HostRefusedError):
            host.merge_pull_request(pull.number, "squash", "t", "0" * 40)
        fake.required["main"] = ["ci/test"]
        fake.ci = lambda commit: {"ci/test": ("failure", "1 failed")}
        with pytest.raises(HostRefusedError) as refused:
            host.merge_pull_request(pull.number, "squash", "t", head)
        assert "ci/test" in refused.value.reason
        assert fake.branch_head("main") == main

    def test_a_wrong_token_is_refused_and_never_echoed(self, fake: FakeGitHost) -> None:
        wrong = "not-the-token-0123456789"
        host = self.host_for(fake, wrong)
        with pytest.raises(HostRefusedError) as refused:
            host.open_pull_request("wave/r1", "main", "t", "")
        assert refused.value.status == 401
        assert wrong not in str(refused.value)

    def test_a_host_that_cannot_be_reached_is_worth_a_retry(self, fake: FakeGitHost) -> None:
        host = self.host_for(fake, fake.token)
        fake.stop()
        with pytest.raises(HostError):
            host.open_pull_request("wave/r1", "main", "t", "")

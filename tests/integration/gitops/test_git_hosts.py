"""The GitHost adapters (GitHub's and Gitea's REST APIs) against the local fake git host."""

from __future__ import annotations

from fake_git_host import FakeGitHost
from git_host_contract import GitHostContract
from wave_gitops.gitea_host import GiteaHost
from wave_gitops.github_host import GitHubHost
from wave_gitops.hosting import GitHost


class TestGitHubHostContract(GitHostContract):
    flavour = "github"

    def host_for(self, fake: FakeGitHost, token: str) -> GitHost:
        return GitHubHost(fake.repository, token, fake.api_url)


class TestGiteaHostContract(GitHostContract):
    flavour = "gitea"

    def host_for(self, fake: FakeGitHost, token: str) -> GitHost:
        return GiteaHost(fake.repository, token, fake.api_url)


def test_github_reads_required_checks_reported_as_check_runs(tmp_path):
    from gitops_repos import make_bare, make_repo

    make_bare(tmp_path / "shop.git")
    work = make_repo(tmp_path / "work")
    work.remotes.create("origin", str(tmp_path / "shop.git")).push(["refs/heads/main:refs/heads/main"])
    fake = FakeGitHost(tmp_path / "shop.git", required={"main": ["build"]}, ci_as_check_runs=True).start()
    try:
        host = GitHubHost(fake.repository, fake.token, fake.api_url)
        head = fake.branch_head("main")
        fake.ci = lambda commit: {"build": ("pending", "")}
        assert [(c.name, c.state) for c in host.required_checks(head, "main")] == [("build", "pending")]
        fake.ci = lambda commit: {"build": ("failure", "compile error")}
        (check,) = host.required_checks(head, "main")
        assert (check.state, check.description, check.url) == ("failure", "compile error", f"{fake.url}/runs/build")
    finally:
        fake.stop()


def test_without_a_token_setting_the_token_comes_from_git_credential_helpers(tmp_path, monkeypatch):
    from gitops_repos import make_bare, make_repo
    from wave_gitops.host_config import HostConfig

    make_bare(tmp_path / "shop.git")
    work = make_repo(tmp_path / "work")
    work.remotes.create("origin", str(tmp_path / "shop.git")).push(["refs/heads/main:refs/heads/main"])
    fake = FakeGitHost(tmp_path / "shop.git", flavour="gitea", token="from-the-helper-42").start()
    helper = tmp_path / "helper.sh"
    helper.write_text("#!/bin/sh\necho username=wave\necho password=from-the-helper-42\n")
    helper.chmod(0o755)
    (tmp_path / "gitconfig").write_text(f"[credential]\n\thelper = {helper}\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    try:
        config = HostConfig("gitea", fake.api_url, repository=None)
        host = config.open("https://git.example.com/acme/shop.git")
        assert host.repository == "acme/shop"  # read from the push remote's URL
        assert host.required_checks(fake.branch_head("main"), "main") == ()
        assert fake.requests[-1].headers["Authorization"] == "token from-the-helper-42"
        assert "from-the-helper-42" not in repr(config)
    finally:
        fake.stop()


def test_host_settings_that_cannot_be_used_are_refused_with_the_variable_named():
    import pytest
    from wave_gitops.config import ConfigError
    from wave_gitops.host_config import HostConfig

    assert HostConfig.from_env({}) is None
    with pytest.raises(ConfigError, match="WAVE_GIT_HOST must be github or gitea, got 'gitlab'"):
        HostConfig.from_env({"WAVE_GIT_HOST": "gitlab"})
    with pytest.raises(ConfigError, match="WAVE_GIT_HOST=gitea needs WAVE_GIT_HOST_API_URL"):
        HostConfig.from_env({"WAVE_GIT_HOST": "gitea"})
    with pytest.raises(ConfigError, match="WAVE_GIT_HOST_REPO must be owner/name"):
        HostConfig.from_env({"WAVE_GIT_HOST": "github", "WAVE_GIT_HOST_REPO": "just-a-name"})
    assert HostConfig.from_env({"WAVE_GIT_HOST": "github", "WAVE_GIT_HOST_TOKEN": " "}).token is None

"""Names, trailers and configuration are validated before git is touched, with messages that say what is wrong."""

from __future__ import annotations

import pytest
from wave_gitops import ChangeTrailers, ConfigError, GitOpsConfig, InvalidInputError, names


@pytest.mark.parametrize("run_id", ["r1", "0a9f3c21b7de", "run_2-b"])
def test_run_ids_name_a_branch_a_base_ref_and_a_worktree(run_id: str) -> None:
    assert names.run_branch(run_id) == f"wave/{run_id}"
    assert names.base_ref(run_id) == f"refs/wave/base/{run_id}"
    assert names.worktree_name(run_id) == f"wave-{run_id}"


@pytest.mark.parametrize("value", ["", " ", "a/b", "..", "-x", "x" * 65, None, 7])
def test_bad_run_ids_are_refused(value: object) -> None:
    with pytest.raises(InvalidInputError, match="invalid run id"):
        names.run_id(value)


@pytest.mark.parametrize("value", ["main", "release/2.0", "feature/tax-v2"])
def test_good_branch_names_pass(value: str) -> None:
    assert names.branch(value) == value


@pytest.mark.parametrize("value", ["", "-main", "a..b", "a b", "a~1", "a^", "a:b", "x.lock", "/main", "main/", "@{u}", None])
def test_bad_branch_names_are_refused(value: object) -> None:
    with pytest.raises(InvalidInputError, match="invalid branch name"):
        names.branch(value)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("", "t1", 1), "invalid causing event id"),
        (("a\nWave-Run: other", "t1", 1), "invalid causing event id"),
        (("e", "../t", 1), "invalid task id"),
        (("e", "", 1), "invalid task id"),
        (("e", "t1", 0), "invalid attempt"),
        (("e", "t1", True), "invalid attempt"),
    ],
)
def test_trailers_that_could_not_be_read_back_are_refused(args: tuple, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        ChangeTrailers(*args)


def test_configuration_comes_from_the_environment() -> None:
    config = GitOpsConfig.from_env(
        {"WAVE_GITOPS_REPO": "/srv/shop", "WAVE_WORKTREE_ROOT": "/var/wave/trees", "WAVE_GITOPS_REMOTE": "/srv/origin.git"}
    )
    assert config == GitOpsConfig(repo="/srv/shop", worktree_root="/var/wave/trees", remote="/srv/origin.git")


def test_empty_variables_count_as_unset() -> None:
    assert GitOpsConfig.from_env({"WAVE_GITOPS_REPO": "", "WAVE_WORKTREE_ROOT": "  "}) == GitOpsConfig()


def test_a_remote_name_can_serve_every_repository() -> None:
    assert GitOpsConfig.from_env({"WAVE_GITOPS_REMOTE": "origin"}).remote == "origin"


@pytest.mark.parametrize("remote", ["/srv/origin.git", "https://git.example.com/shop.git", "git@host:shop.git"])
def test_a_remote_url_without_a_fixed_repository_is_refused(remote: str) -> None:
    with pytest.raises(ConfigError, match="WAVE_GITOPS_REPO"):
        GitOpsConfig.from_env({"WAVE_GITOPS_REMOTE": remote})


def test_a_blank_setting_names_its_variable() -> None:
    with pytest.raises(ConfigError, match="WAVE_WORKTREE_ROOT"):
        GitOpsConfig(worktree_root="  ")

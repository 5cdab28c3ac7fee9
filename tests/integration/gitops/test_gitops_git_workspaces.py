"""GitWorkspaces, the pygit2 adapter: the port's contract, then what only a local repository has —
worktree placement, a remote to publish to, the checked-out target branch, diffs as people write them."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pygit2
import pytest
from gitops_repos import (
    APP,
    commits_on,
    diff_of,
    file_at,
    git_cli_diff,
    head_of,
    make_bare,
    make_repo,
)
from gitops_workspaces_contract import TAXED, WorkspacesContract, change
from wave_gitops import (
    GitWorkspaces,
    InvalidInputError,
    PushError,
    RepositoryNotFoundError,
    TargetCheckoutBusyError,
    UnsafePathError,
    WorkspaceConflictError,
    WorkspaceNotPreparedError,
    Workspaces,
)


class TestGitWorkspacesContract(WorkspacesContract):
    def workspaces_for(self, repo_path: Path, tmp_path: Path) -> Workspaces:
        return GitWorkspaces(repo_path)


class TestGitWorkspacesWithARemoteContract(WorkspacesContract):
    def workspaces_for(self, repo_path: Path, tmp_path: Path) -> Workspaces:
        make_bare(tmp_path / "origin.git")
        return GitWorkspaces(repo_path, worktree_root=tmp_path / "trees", remote=str(tmp_path / "origin.git"))


@pytest.fixture
def repo(tmp_path: Path) -> pygit2.Repository:
    return make_repo(tmp_path / "shop")


def git(*args: str) -> str:
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout


# --- where things go -----------------------------------------------------------------------------


def test_worktrees_default_to_the_wave_home_outside_the_repository(
    repo: pygit2.Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAVE_HOME", str(tmp_path / "home"))
    workdir = Path(repo.workdir)
    ready = GitWorkspaces(workdir).prepare("r1", "main")
    assert Path(ready.path).parent.parent == (tmp_path / "home" / "worktrees").resolve()
    assert Path(ready.path).parent.name.startswith("shop-") and Path(ready.path).name == "r1"
    assert ready.location == str(workdir.resolve())
    assert git("-C", str(workdir), "status", "--porcelain", "--ignored") == ""
    assert not (workdir / ".wave").exists()
    assert "wave/r1" in git("-C", str(workdir), "worktree", "list")


def test_without_wave_home_worktrees_go_to_the_xdg_state_directory(
    repo: pygit2.Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WAVE_HOME", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    ready = GitWorkspaces(repo.workdir).prepare("r1", "main")
    assert Path(ready.path).is_relative_to((tmp_path / "state" / "wave" / "worktrees").resolve())


def test_a_worktree_root_inside_the_repository_stays_out_of_its_status(repo: pygit2.Repository) -> None:
    workdir = Path(repo.workdir)
    GitWorkspaces(workdir, worktree_root=workdir / "trees").prepare("r1", "main")
    assert git("-C", str(workdir), "status", "--porcelain") == ""


def test_a_configured_worktree_root_is_used(repo: pygit2.Repository, tmp_path: Path) -> None:
    ready = GitWorkspaces(repo.workdir, worktree_root=tmp_path / "elsewhere").prepare("r1", "main")
    assert Path(ready.path) == (tmp_path / "elsewhere" / "r1").resolve()
    assert git("-C", ready.path, "rev-parse", "--abbrev-ref", "HEAD").strip() == "wave/r1"


def test_a_bare_repository_serves_runs_too(tmp_path: Path) -> None:
    source = make_repo(tmp_path / "src")
    pygit2.clone_repository(source.workdir, str(tmp_path / "served.git"), bare=True)
    workspaces = GitWorkspaces(tmp_path / "served.git", worktree_root=tmp_path / "trees")
    workspaces.prepare("r1", "main")
    done = workspaces.apply_and_commit("r1", diff_of(source, {"app.py": TAXED}), "developer", change())
    assert workspaces.merge("r1", "main", "ff").merge_commit == done.commit


def test_a_foreign_directory_where_the_worktree_goes_is_left_alone(repo: pygit2.Repository, tmp_path: Path) -> None:
    (tmp_path / "trees" / "r1").mkdir(parents=True)
    (tmp_path / "trees" / "r1" / "precious.txt").write_text("mine")
    with pytest.raises(WorkspaceConflictError, match="is not the worktree of run r1"):
        GitWorkspaces(repo.workdir, worktree_root=tmp_path / "trees").prepare("r1", "main")
    assert (tmp_path / "trees" / "r1" / "precious.txt").read_text() == "mine"


def test_a_run_branch_not_made_by_gitops_is_not_taken_over(repo: pygit2.Repository) -> None:
    repo.branches.local.create("wave/r1", repo.head.peel(pygit2.Commit))
    with pytest.raises(WorkspaceConflictError, match="not made by gitops"):
        GitWorkspaces(repo.workdir).prepare("r1", "main")


# --- validating the repository and the remote ----------------------------------------------------


def test_a_missing_repository_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RepositoryNotFoundError, match="does not exist"):
        GitWorkspaces(tmp_path / "nowhere")


def test_a_directory_that_is_not_a_repository_is_refused_even_inside_one(repo: pygit2.Repository) -> None:
    inside = Path(repo.workdir) / "sub"
    inside.mkdir()
    with pytest.raises(RepositoryNotFoundError, match="is not a git repository"):
        GitWorkspaces(inside)


def test_a_remote_that_is_neither_a_name_a_url_nor_a_repository_is_refused(
    repo: pygit2.Repository, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInputError, match="not a remote of the repository"):
        GitWorkspaces(repo.workdir, remote=str(tmp_path / "no-such-remote"))


# --- publishing to a remote ----------------------------------------------------------------------


def test_the_run_branch_and_the_merge_are_pushed_and_can_be_fetched_back(
    repo: pygit2.Repository, tmp_path: Path
) -> None:
    origin = make_bare(tmp_path / "origin.git")
    workspaces = GitWorkspaces(repo.workdir, worktree_root=tmp_path / "trees", remote=str(tmp_path / "origin.git"))
    ready = workspaces.prepare("r1", "main")
    assert ready.location == str((tmp_path / "origin.git").resolve())
    assert head_of(origin, "wave/r1") == ready.base_commit

    done = workspaces.apply_and_commit("r1", diff_of(repo, {"app.py": TAXED}), "developer", change())
    # What QA does: a scratch clone of the location, at the commit the event names.
    qa = pygit2.clone_repository(ready.location, str(tmp_path / "qa"), checkout_branch="wave/r1")
    assert str(qa.head.target) == done.commit and (tmp_path / "qa" / "app.py").read_text() == TAXED

    merged = workspaces.merge("r1", "main", "ff")
    assert head_of(origin, "main") == merged.merge_commit == done.commit


def test_a_remote_named_in_the_repository_is_used_by_its_url(repo: pygit2.Repository, tmp_path: Path) -> None:
    origin = make_bare(tmp_path / "origin.git")
    repo.remotes.create("origin", str(tmp_path / "origin.git"))
    workspaces = GitWorkspaces(repo.workdir, remote="origin")
    assert workspaces.prepare("r1", "main").location == str(tmp_path / "origin.git")
    assert head_of(origin, "wave/r1") == head_of(repo, "main")


def test_a_remote_that_refuses_the_push_is_reported(repo: pygit2.Repository, tmp_path: Path) -> None:
    origin = make_bare(tmp_path / "origin.git")
    other = make_repo(tmp_path / "other", {"x.txt": "unrelated\n"})
    other.remotes.create("origin", str(tmp_path / "origin.git")).push(["refs/heads/main:refs/heads/wave/r1"])
    workspaces = GitWorkspaces(repo.workdir, remote=str(tmp_path / "origin.git"))
    with pytest.raises(PushError, match="refs/heads/wave/r1"):
        workspaces.prepare("r1", "main")
    assert head_of(origin, "wave/r1") == head_of(other, "main")


# --- the target branch checked out here ----------------------------------------------------------


def test_a_merge_brings_the_checked_out_target_files_along(repo: pygit2.Repository) -> None:
    workspaces = GitWorkspaces(repo.workdir)
    workspaces.prepare("r1", "main")
    workspaces.apply_and_commit("r1", diff_of(repo, {"app.py": TAXED}), "developer", change())
    workspaces.merge("r1", "main")
    assert (Path(repo.workdir) / "app.py").read_text() == TAXED
    assert git("-C", repo.workdir, "status", "--porcelain") == ""


def test_local_edits_in_the_checked_out_target_stop_the_merge_untouched(repo: pygit2.Repository) -> None:
    workspaces = GitWorkspaces(repo.workdir)
    workspaces.prepare("r1", "main")
    workspaces.apply_and_commit("r1", diff_of(repo, {"app.py": TAXED}), "developer", change())
    before = head_of(repo, "main")
    (Path(repo.workdir) / "app.py").write_text("# my unsaved work\n")
    with pytest.raises(TargetCheckoutBusyError, match="local changes"):
        workspaces.merge("r1", "main")
    assert head_of(repo, "main") == before
    assert (Path(repo.workdir) / "app.py").read_text() == "# my unsaved work\n"


# --- diffs as they come --------------------------------------------------------------------------


def test_a_diff_printed_by_git_diff_is_committed(repo: pygit2.Repository, tmp_path: Path) -> None:
    diff = git_cli_diff(
        Path(repo.workdir), {"app.py": TAXED, "README.md": None, "shop/cart.py": "ITEMS = []\n"}, tmp_path / "scratch"
    )
    workspaces = GitWorkspaces(repo.workdir, worktree_root=tmp_path / "trees")
    workspaces.prepare("r1", "main")
    done = workspaces.apply_and_commit("r1", diff, "developer", change())
    assert file_at(repo, done.commit, "app.py") == TAXED
    assert file_at(repo, done.commit, "README.md") is None
    assert file_at(repo, done.commit, "shop/cart.py") == "ITEMS = []\n"


def test_a_plain_unified_diff_without_git_headers_and_with_prose_around_it_is_committed(
    repo: pygit2.Repository, tmp_path: Path
) -> None:
    diff = (
        "Here is the change:\n\n"
        "--- app.py\n+++ app.py\n"
        "@@ -1,2 +1,2 @@\n def price(amount):\n-    return amount\n+    return amount + tax(amount)\n"
        "--- /dev/null\n+++ b/CHANGELOG.md\n@@ -0,0 +1 @@\n+prices include tax\n"
        "\nThat is all.\n"
    )
    workspaces = GitWorkspaces(repo.workdir, worktree_root=tmp_path / "trees")
    workspaces.prepare("r1", "main")
    done = workspaces.apply_and_commit("r1", diff, "developer", change())
    assert file_at(repo, done.commit, "app.py") == TAXED
    assert file_at(repo, done.commit, "CHANGELOG.md") == "prices include tax\n"


def test_a_symlink_pointing_out_of_the_worktree_is_refused(repo: pygit2.Repository, tmp_path: Path) -> None:
    diff = "diff --git a/secrets b/secrets\nnew file mode 120000\n--- /dev/null\n+++ b/secrets\n@@ -0,0 +1 @@\n+../../../etc\n\\ No newline at end of file\n"
    workspaces = GitWorkspaces(repo.workdir, worktree_root=tmp_path / "trees")
    workspaces.prepare("r1", "main")
    with pytest.raises(UnsafePathError, match="points outside the worktree"):
        workspaces.apply_and_commit("r1", diff, "developer", change())


def test_what_a_crashed_apply_left_in_the_worktree_does_not_block_the_retry(
    repo: pygit2.Repository, tmp_path: Path
) -> None:
    workspaces = GitWorkspaces(repo.workdir, worktree_root=tmp_path / "trees")
    ready = workspaces.prepare("r1", "main")
    diff = diff_of(repo, {"app.py": TAXED, "new.txt": "n\n"})
    # A process applied the diff to the worktree and died before committing.
    pygit2.Repository(ready.path).apply(pygit2.Diff.parse_diff(diff), pygit2.enums.ApplyLocation.BOTH)
    (Path(ready.path) / "stray.tmp").write_text("junk")
    done = workspaces.apply_and_commit("r1", diff, "developer", change())
    assert file_at(repo, done.commit, "new.txt") == "n\n" and file_at(repo, done.commit, "stray.tmp") is None
    assert commits_on(repo, "wave/r1") == 2


def test_the_worktree_shows_the_committed_change(repo: pygit2.Repository, tmp_path: Path) -> None:
    workspaces = GitWorkspaces(repo.workdir, worktree_root=tmp_path / "trees")
    ready = workspaces.prepare("r1", "main")
    workspaces.apply_and_commit("r1", diff_of(repo, {"app.py": TAXED}), "developer", change())
    assert (Path(ready.path) / "app.py").read_text() == TAXED
    assert git("-C", ready.path, "status", "--porcelain") == ""


def test_a_worktree_directory_deleted_behind_gits_back_is_made_again(repo: pygit2.Repository, tmp_path: Path) -> None:
    workspaces = GitWorkspaces(repo.workdir, worktree_root=tmp_path / "trees")
    ready = workspaces.prepare("r1", "main")
    shutil.rmtree(ready.path)
    again = workspaces.prepare("r1", "main")
    assert again.path == ready.path and (Path(again.path) / "app.py").read_text() == APP


def test_runs_are_kept_apart(repo: pygit2.Repository, tmp_path: Path) -> None:
    workspaces = GitWorkspaces(repo.workdir, worktree_root=tmp_path / "trees")
    a, b = workspaces.prepare("ra", "main"), workspaces.prepare("rb", "main")
    workspaces.apply_and_commit("ra", diff_of(repo, {"app.py": TAXED}), "developer", change("e", "t1"))
    workspaces.apply_and_commit("rb", diff_of(repo, {"app.py": TAXED}), "developer", change("e", "t1"))
    assert a.path != b.path and commits_on(repo, "wave/ra") == commits_on(repo, "wave/rb") == 2
    assert head_of(repo, "wave/ra") != head_of(repo, "wave/rb")
    assert os.path.isdir(a.path) and os.path.isdir(b.path)


def test_push_publishes_the_run_branch_again(repo: pygit2.Repository, tmp_path: Path) -> None:
    origin = make_bare(tmp_path / "origin.git")
    workspaces = GitWorkspaces(repo.workdir, worktree_root=tmp_path / "trees", remote=str(tmp_path / "origin.git"))
    workspaces.prepare("r1", "main")
    done = workspaces.apply_and_commit("r1", diff_of(repo, {"app.py": TAXED}), "developer", change())
    origin.references.delete("refs/heads/wave/r1")
    workspaces.push("r1")
    assert head_of(origin, "wave/r1") == done.commit


def test_push_without_a_remote_does_nothing_and_an_unprepared_run_cannot_be_pushed(
    repo: pygit2.Repository, tmp_path: Path
) -> None:
    workspaces = GitWorkspaces(repo.workdir, worktree_root=tmp_path / "trees")
    workspaces.prepare("r1", "main")
    workspaces.push("r1")
    assert [r.name for r in repo.remotes] == []
    with pytest.raises(WorkspaceNotPreparedError, match="r2"):
        workspaces.push("r2")

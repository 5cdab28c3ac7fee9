"""The contract of the Workspaces port. An adapter's test module subclasses `WorkspacesContract` (as
`TestSomething`) and says how to build the adapter over a repository; every case here then runs
against it. The class's own name does not start with `Test`, so pytest does not collect it alone."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import pygit2
import pytest
from gitops_repos import APP, commit_files, commits_on, diff_of, file_at, head_of, make_repo, message_of
from wave_gitops import (
    ChangeTrailers,
    DiffDoesNotApplyError,
    InvalidInputError,
    MalformedDiffError,
    MergeConflictError,
    TargetBranchNotFoundError,
    UnsafePathError,
    WorkspaceConflictError,
    WorkspaceNotPreparedError,
    Workspaces,
)

TAXED = APP.replace("return amount\n", "return amount + tax(amount)\n")
UNTAXED_TRY = APP.replace("return amount\n", "return amount + tax\n")  # a first attempt that fails its tests
STRATEGIES = ("squash", "merge", "ff")
ESCAPING_DIFFS = {
    "dot-dot": "diff --git a/../outside.txt b/../outside.txt\nnew file mode 100644\n--- /dev/null\n+++ b/../outside.txt\n@@ -0,0 +1 @@\n+escaped\n",
    "absolute": "--- /dev/null\n+++ /etc/wave-owned\n@@ -0,0 +1 @@\n+escaped\n",
    "git-dir": "diff --git a/.git/hooks/post-commit b/.git/hooks/post-commit\nnew file mode 100644\n--- /dev/null\n+++ b/.git/hooks/post-commit\n@@ -0,0 +1 @@\n+rm -rf /\n",
}


def change(event: str = "ev-1", task: str = "t1", attempt: int = 1) -> ChangeTrailers:
    return ChangeTrailers(event_id=event, task_id=task, attempt=attempt)


class WorkspacesContract(ABC):
    @abstractmethod
    def workspaces_for(self, repo_path: Path, tmp_path: Path) -> Workspaces:
        """The adapter under test, over the repository at `repo_path`."""

    @pytest.fixture
    def repo(self, tmp_path: Path) -> pygit2.Repository:
        return make_repo(tmp_path / "shop")

    @pytest.fixture
    def workspaces(self, repo: pygit2.Repository, tmp_path: Path) -> Workspaces:
        return self.workspaces_for(Path(repo.workdir), tmp_path)

    # --- prepare ---------------------------------------------------------------------------------

    def test_prepare_branches_the_run_from_the_target_head_with_a_worktree(
        self, workspaces: Workspaces, repo: pygit2.Repository
    ) -> None:
        ready = workspaces.prepare("r1", "main")
        assert ready.branch == "wave/r1"
        assert ready.base_commit == head_of(repo, "main") == head_of(repo, "wave/r1")
        assert (Path(ready.path) / "app.py").read_text() == APP
        assert ready.location

    def test_prepare_again_returns_the_same_branch_and_base_even_after_commits(
        self, workspaces: Workspaces, repo: pygit2.Repository
    ) -> None:
        first = workspaces.prepare("r1", "main")
        workspaces.apply_and_commit("r1", diff_of(repo, {"app.py": TAXED}), "developer", change())
        commit_files(repo, {"README.md": "# shop\nmoved on\n"}, "main moves on")
        again = workspaces.prepare("r1", "main")
        assert (again.branch, again.base_commit, again.path) == (first.branch, first.base_commit, first.path)
        assert commits_on(repo, "wave/r1") == 2

    def test_a_fork_gets_its_own_branch_from_the_parents_commit_and_leaves_the_parents_alone(
        self, workspaces: Workspaces, repo: pygit2.Repository
    ) -> None:
        parent = workspaces.prepare("r1", "main")
        first = workspaces.apply_and_commit("r1", diff_of(repo, {"app.py": UNTAXED_TRY}), "developer", change())
        workspaces.apply_and_commit("r1", diff_of(repo, {"app.py": TAXED}, at=first.commit), "developer", change("ev-2", attempt=2))
        parent_head = head_of(repo, "wave/r1")
        forked = workspaces.fork("r2", "r1", first.commit, parent.base_commit)
        assert (forked.branch, forked.base_commit) == ("wave/r2", parent.base_commit)
        assert head_of(repo, "wave/r2") == first.commit and (Path(forked.path) / "app.py").read_text() == UNTAXED_TRY
        assert workspaces.fork("r2", "r1", first.commit, parent.base_commit) == forked
        fix = workspaces.apply_and_commit("r2", diff_of(repo, {"app.py": TAXED}, at=first.commit), "developer", change("ev-3", attempt=2))
        assert fix.parent == first.commit and head_of(repo, "wave/r2") == fix.commit
        assert head_of(repo, "wave/r1") == parent_head
        assert workspaces.prepare("r2", "main").base_commit == parent.base_commit
        with pytest.raises(WorkspaceConflictError, match="not in the repository"):
            workspaces.fork("r3", "r1", "f" * 40, parent.base_commit)

    def test_prepare_branches_from_the_base_recorded_at_submission_when_the_target_moved_since(
        self, workspaces: Workspaces, repo: pygit2.Repository
    ) -> None:
        submitted = head_of(repo, "main")
        commit_files(repo, {"README.md": "# shop\nmoved on after the run was submitted\n"}, "main moves on")
        ready = workspaces.prepare("r1", "main", submitted)
        assert ready.base_commit == submitted == head_of(repo, "wave/r1") != head_of(repo, "main")
        assert "moved on" not in (Path(ready.path) / "README.md").read_text()
        with pytest.raises(WorkspaceConflictError, match="not in the repository"):
            workspaces.prepare("r2", "main", "f" * 40)

    def test_prepare_refuses_a_target_branch_that_does_not_exist(self, workspaces: Workspaces) -> None:
        with pytest.raises(TargetBranchNotFoundError, match="'release'"):
            workspaces.prepare("r1", "release")

    @pytest.mark.parametrize("run_id", ["", "../r1", "r 1", "-r1", "r1/x", "x" * 65])
    def test_an_invalid_run_id_is_refused(self, workspaces: Workspaces, run_id: str) -> None:
        with pytest.raises(InvalidInputError, match="invalid run id"):
            workspaces.prepare(run_id, "main")

    @pytest.mark.parametrize("branch", ["", "main..x", "-main", "ma in", "main.lock", "a//b"])
    def test_an_invalid_target_branch_is_refused(self, workspaces: Workspaces, branch: str) -> None:
        with pytest.raises(InvalidInputError, match="invalid branch name"):
            workspaces.prepare("r1", branch)

    # --- apply and commit ------------------------------------------------------------------------

    def test_a_change_is_committed_by_wave_with_the_run_event_task_and_attempt(
        self, workspaces: Workspaces, repo: pygit2.Repository
    ) -> None:
        ready = workspaces.prepare("r1", "main")
        done = workspaces.apply_and_commit(
            "r1", diff_of(repo, {"app.py": TAXED, "NOTES.md": "tax\n"}), "developer", change("ev-7", "t1", 2)
        )
        assert (done.branch, done.parent, done.reused) == ("wave/r1", ready.base_commit, False)
        assert head_of(repo, "wave/r1") == done.commit
        assert file_at(repo, done.commit, "app.py") == TAXED and file_at(repo, done.commit, "NOTES.md") == "tax\n"
        commit = repo[done.commit]
        assert (commit.author.name, commit.author.email) == ("WAVE developer", "developer@wave.invalid")
        assert (commit.committer.name, commit.committer.email) == ("WAVE developer", "developer@wave.invalid")
        trailers = message_of(repo, done.commit).strip().splitlines()[-4:]
        assert trailers == ["Wave-Run: r1", "Wave-Event: ev-7", "Wave-Task: t1", "Wave-Attempt: 2"]

    def test_a_redelivered_change_returns_the_same_commit_and_commits_nothing(
        self, workspaces: Workspaces, repo: pygit2.Repository
    ) -> None:
        workspaces.prepare("r1", "main")
        diff = diff_of(repo, {"app.py": TAXED})
        first = workspaces.apply_and_commit("r1", diff, "developer", change("ev-1"))
        again = workspaces.apply_and_commit("r1", diff, "developer", change("ev-1"))
        assert again.commit == first.commit and again.parent == first.parent and again.reused
        assert commits_on(repo, "wave/r1") == 2

    def test_a_redelivered_change_is_found_below_later_commits(
        self, workspaces: Workspaces, repo: pygit2.Repository
    ) -> None:
        workspaces.prepare("r1", "main")
        first = workspaces.apply_and_commit("r1", diff_of(repo, {"app.py": TAXED}), "developer", change("ev-1", "t1"))
        workspaces.apply_and_commit("r1", diff_of(repo, {"docs.md": "d\n"}), "developer", change("ev-2", "t2"))
        again = workspaces.apply_and_commit("r1", diff_of(repo, {"app.py": TAXED}), "developer", change("ev-1", "t1"))
        assert again.commit == first.commit
        assert commits_on(repo, "wave/r1") == 3

    def test_tasks_written_against_the_base_commit_land_one_after_another(
        self, workspaces: Workspaces, repo: pygit2.Repository
    ) -> None:
        workspaces.prepare("r1", "main")
        base = head_of(repo, "main")
        first = workspaces.apply_and_commit("r1", diff_of(repo, {"app.py": TAXED}, base), "developer", change("e1", "t1"))
        second = workspaces.apply_and_commit("r1", diff_of(repo, {"README.md": "# shop\n\ntaxed\n"}, base), "developer", change("e2", "t2"))
        assert second.parent == first.commit
        assert file_at(repo, second.commit, "app.py") == TAXED
        assert file_at(repo, second.commit, "README.md") == "# shop\n\ntaxed\n"

    def test_a_diff_that_does_not_fit_names_the_file_and_hunk_and_commits_nothing(
        self, workspaces: Workspaces, repo: pygit2.Repository
    ) -> None:
        workspaces.prepare("r1", "main")
        stale = diff_of(repo, {"app.py": APP.replace("0.2", "0.25")})
        workspaces.apply_and_commit("r1", diff_of(repo, {"app.py": APP.replace("0.2", "0.19")}), "developer", change("e1"))
        with pytest.raises(DiffDoesNotApplyError) as refused:
            workspaces.apply_and_commit("r1", stale, "developer", change("e2"))
        assert "app.py" in refused.value.reason and "hunk 1" in refused.value.reason
        assert "@@ -" in refused.value.reason
        assert commits_on(repo, "wave/r1") == 2

    def test_a_diff_for_a_file_the_branch_lacks_names_that_file(
        self, workspaces: Workspaces, repo: pygit2.Repository
    ) -> None:
        workspaces.prepare("r1", "main")
        diff = "--- a/MISSING.md\n+++ b/MISSING.md\n@@ -1 +1 @@\n-old\n+new\n"
        with pytest.raises(DiffDoesNotApplyError, match="MISSING.md: no such file"):
            workspaces.apply_and_commit("r1", diff, "developer", change())

    def test_a_diff_creating_a_file_that_exists_names_that_file(
        self, workspaces: Workspaces, repo: pygit2.Repository
    ) -> None:
        workspaces.prepare("r1", "main")
        workspaces.apply_and_commit("r1", diff_of(repo, {"NOTES.md": "one\n"}), "developer", change("e1", "t1"))
        with pytest.raises(DiffDoesNotApplyError, match="NOTES.md: the diff creates it, but it already exists"):
            workspaces.apply_and_commit("r1", diff_of(repo, {"NOTES.md": "two\n"}), "developer", change("e2", "t2"))
        assert commits_on(repo, "wave/r1") == 2

    @pytest.mark.parametrize("kind", sorted(ESCAPING_DIFFS))
    def test_a_path_outside_the_worktree_is_refused(
        self, workspaces: Workspaces, repo: pygit2.Repository, tmp_path: Path, kind: str
    ) -> None:
        workspaces.prepare("r1", "main")
        with pytest.raises(UnsafePathError):
            workspaces.apply_and_commit("r1", ESCAPING_DIFFS[kind], "developer", change())
        assert commits_on(repo, "wave/r1") == 1
        assert not (tmp_path / "outside.txt").exists() and not (Path(repo.path) / "hooks" / "post-commit").exists()

    @pytest.mark.parametrize("text", ["", "please add tax", "--- a/app.py\n+++ b/app.py\n@@ -1,3 +1,3 @@\n def price(amount):\n"])
    def test_text_that_is_not_a_whole_diff_is_refused(self, workspaces: Workspaces, text: str) -> None:
        workspaces.prepare("r1", "main")
        with pytest.raises(MalformedDiffError):
            workspaces.apply_and_commit("r1", text, "developer", change())

    def test_a_change_for_a_run_never_prepared_is_refused(self, workspaces: Workspaces, repo: pygit2.Repository) -> None:
        with pytest.raises(WorkspaceNotPreparedError, match="r9"):
            workspaces.apply_and_commit("r9", diff_of(repo, {"app.py": TAXED}), "developer", change())

    @pytest.mark.parametrize("role", ["", "Developer", "dev eloper", "x" * 40])
    def test_an_invalid_role_is_refused(self, workspaces: Workspaces, repo: pygit2.Repository, role: str) -> None:
        workspaces.prepare("r1", "main")
        with pytest.raises(InvalidInputError, match="invalid role"):
            workspaces.apply_and_commit("r1", diff_of(repo, {"app.py": TAXED}), role, change())

    # --- merge -----------------------------------------------------------------------------------

    def test_an_unmoved_target_is_fast_forwarded_to_the_run_branch(
        self, workspaces: Workspaces, repo: pygit2.Repository
    ) -> None:
        workspaces.prepare("r1", "main")
        done = workspaces.apply_and_commit("r1", diff_of(repo, {"app.py": TAXED}), "developer", change())
        check = workspaces.check_merge("r1", "main", "ff")
        assert (check.fast_forward, check.up_to_date, check.conflicts, check.head) == (True, False, (), done.commit)
        merged = workspaces.merge("r1", "main", "ff")
        assert (merged.merge_commit, merged.fast_forward, merged.reused) == (done.commit, True, False)
        assert head_of(repo, "main") == done.commit

    def test_a_moved_target_gets_a_merge_commit_by_wave_gitops(
        self, workspaces: Workspaces, repo: pygit2.Repository
    ) -> None:
        workspaces.prepare("r1", "main")
        done = workspaces.apply_and_commit("r1", diff_of(repo, {"app.py": TAXED}), "developer", change())
        moved = str(commit_files(repo, {"README.md": "# shop\nby hand\n"}, "edit the readme"))
        check = workspaces.check_merge("r1", "main", "ff")
        assert (check.fast_forward, check.conflicts) == (False, ())
        merged = workspaces.merge("r1", "main", "ff")
        assert not merged.fast_forward and head_of(repo, "main") == merged.merge_commit
        commit = repo[merged.merge_commit]
        assert [str(p) for p in commit.parent_ids] == [moved, done.commit]
        assert (commit.author.name, commit.author.email) == ("WAVE gitops", "gitops@wave.invalid")
        assert "Wave-Run: r1" in commit.message
        assert file_at(repo, merged.merge_commit, "app.py") == TAXED
        assert file_at(repo, merged.merge_commit, "README.md") == "# shop\nby hand\n"

    @pytest.mark.parametrize("strategy", STRATEGIES)
    @pytest.mark.parametrize("target_moves", [False, True])
    def test_merging_again_returns_the_earlier_merge(
        self, workspaces: Workspaces, repo: pygit2.Repository, target_moves: bool, strategy: str
    ) -> None:
        workspaces.prepare("r1", "main")
        workspaces.apply_and_commit("r1", diff_of(repo, {"app.py": TAXED}), "developer", change())
        if target_moves:
            commit_files(repo, {"README.md": "# shop\nby hand\n"}, "edit the readme")
        first = workspaces.merge("r1", "main", strategy)
        commits = commits_on(repo, "main")
        again = workspaces.merge("r1", "main", strategy)
        assert (again.merge_commit, again.fast_forward, again.reused) == (first.merge_commit, first.fast_forward, True)
        assert commits_on(repo, "main") == commits and workspaces.check_merge("r1", "main", strategy).up_to_date

    @pytest.mark.parametrize("strategy", STRATEGIES)
    def test_conflicting_edits_are_named_and_the_target_stays(
        self, workspaces: Workspaces, repo: pygit2.Repository, strategy: str
    ) -> None:
        workspaces.prepare("r1", "main")
        workspaces.apply_and_commit(
            "r1", diff_of(repo, {"app.py": TAXED, "README.md": "# shop (wave)\n"}), "developer", change()
        )
        before = str(commit_files(repo, {"app.py": APP.replace("amount\n", "round(amount)\n", 1)}, "round prices"))
        check = workspaces.check_merge("r1", "main", strategy)
        assert check.conflicts == ("app.py",) and not check.clean
        with pytest.raises(MergeConflictError, match="app.py") as conflict:
            workspaces.merge("r1", "main", strategy)
        assert conflict.value.paths == ("app.py",)
        assert head_of(repo, "main") == before

    def _two_attempts(self, workspaces: Workspaces, repo: pygit2.Repository) -> str:
        """A run branch holding a failed first attempt and the fix; returns its head."""
        workspaces.prepare("r1", "main")
        workspaces.apply_and_commit("r1", diff_of(repo, {"app.py": UNTAXED_TRY}), "developer", change("e1", "t1", 1))
        fix = diff_of(repo, {"app.py": TAXED}, "wave/r1")
        return workspaces.apply_and_commit("r1", fix, "developer", change("e2", "t1", 2)).commit

    def test_squash_lands_the_run_as_one_commit_with_the_run_heads_tree(
        self, workspaces: Workspaces, repo: pygit2.Repository
    ) -> None:
        base = head_of(repo, "main")
        head = self._two_attempts(workspaces, repo)
        merged = workspaces.merge("r1", "main", "squash", subject="Make prices include tax")
        assert (merged.merge_commit, merged.fast_forward, merged.reused) == (head_of(repo, "main"), False, False)
        squashed = repo[merged.merge_commit]
        assert [str(p) for p in squashed.parent_ids] == [base]
        assert squashed.tree_id == repo[head].tree_id
        assert squashed.message.splitlines()[0] == "Make prices include tax"
        assert dict(squashed.message_trailers)["Wave-Run"] == "r1"
        assert (squashed.author.name, squashed.author.email) == ("WAVE gitops", "gitops@wave.invalid")
        assert head_of(repo, "wave/r1") == head and commits_on(repo, "wave/r1") == 3  # both attempts kept

    def test_squash_is_the_default_strategy(self, workspaces: Workspaces, repo: pygit2.Repository) -> None:
        base = head_of(repo, "main")
        self._two_attempts(workspaces, repo)
        merged = workspaces.merge("r1", "main")
        assert [str(p) for p in repo[merged.merge_commit].parent_ids] == [base]
        assert commits_on(repo, "main") == 2

    def test_squash_onto_a_moved_target_keeps_both_sides_in_one_commit(
        self, workspaces: Workspaces, repo: pygit2.Repository
    ) -> None:
        self._two_attempts(workspaces, repo)
        moved = str(commit_files(repo, {"README.md": "# shop\nby hand\n"}, "edit the readme"))
        check = workspaces.check_merge("r1", "main", "squash")
        assert (check.up_to_date, check.fast_forward, check.conflicts) == (False, False, ())
        merged = workspaces.merge("r1", "main", "squash", subject="Tax")
        assert [str(p) for p in repo[merged.merge_commit].parent_ids] == [moved]
        assert file_at(repo, merged.merge_commit, "app.py") == TAXED
        assert file_at(repo, merged.merge_commit, "README.md") == "# shop\nby hand\n"

    def test_the_merge_strategy_makes_a_merge_commit_even_when_a_fast_forward_is_possible(
        self, workspaces: Workspaces, repo: pygit2.Repository
    ) -> None:
        base = head_of(repo, "main")
        head = self._two_attempts(workspaces, repo)
        merged = workspaces.merge("r1", "main", "merge")
        assert not merged.fast_forward and head_of(repo, "main") == merged.merge_commit
        assert [str(p) for p in repo[merged.merge_commit].parent_ids] == [base, head]
        assert repo[merged.merge_commit].tree_id == repo[head].tree_id

    def test_an_unknown_strategy_is_refused_and_the_target_stays(
        self, workspaces: Workspaces, repo: pygit2.Repository
    ) -> None:
        before = head_of(repo, "main")
        self._two_attempts(workspaces, repo)
        with pytest.raises(InvalidInputError, match="merge strategy 'rebase'"):
            workspaces.merge("r1", "main", "rebase")
        assert head_of(repo, "main") == before

    # --- cleanup ---------------------------------------------------------------------------------

    def test_cleanup_removes_the_worktree_keeps_the_branch_and_can_be_repeated(
        self, workspaces: Workspaces, repo: pygit2.Repository
    ) -> None:
        ready = workspaces.prepare("r1", "main")
        done = workspaces.apply_and_commit("r1", diff_of(repo, {"app.py": TAXED}), "developer", change())
        workspaces.cleanup("r1")
        assert not Path(ready.path).exists()
        assert head_of(repo, "wave/r1") == done.commit
        workspaces.cleanup("r1")
        workspaces.cleanup("never-prepared")

    def test_prepare_after_cleanup_brings_the_worktree_back_at_the_branch_head(
        self, workspaces: Workspaces, repo: pygit2.Repository
    ) -> None:
        workspaces.prepare("r1", "main")
        workspaces.apply_and_commit("r1", diff_of(repo, {"app.py": TAXED}), "developer", change())
        workspaces.cleanup("r1")
        again = workspaces.prepare("r1", "main")
        assert (Path(again.path) / "app.py").read_text() == TAXED

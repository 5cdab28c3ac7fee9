"""The contract of a scratch checkout: the exact commit an event names, copied from where the run
branch lives (a local working copy, a bare remote by path or by URL) into a directory of its own.

`CheckoutContract` is not collected on its own (its name does not start with Test); each adapter
subclasses it once and provides `check_out`, a callable `(location, commit) -> directory`, and
`checkout_error`, the exception it raises when it cannot.
"""

from __future__ import annotations

import os
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pygit2
import pytest
from gitops_repos import commit_files, make_repo


@dataclass(frozen=True)
class Sources:
    """A working copy (main checked out, with an uncommitted edit and an untracked file) and a bare
    clone of it. `old` is main's first commit, `main` its tip, `branch` a commit only `wave/r1` holds."""

    work: Path
    bare: Path
    old: str
    main: str
    branch: str


def files_of(directory: Path) -> dict[str, bytes]:
    """Every file under `directory` (git's own included) with its content."""
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def worktree_files(directory: Path) -> dict[str, str]:
    return {
        name: content.decode()
        for name, content in files_of(directory).items()
        if not name.startswith(".git/") and name != ".git"
    }


def scribble_over(directory: Path) -> None:
    """Append to every file of a checkout, git's objects included, as a careless tool might."""
    for path in directory.rglob("*"):
        if path.is_file() and not path.is_symlink():
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
            with path.open("ab") as f:
                f.write(b"scribbled")


class CheckoutContract:
    @pytest.fixture
    def sources(self, tmp_path: Path) -> Sources:
        work = tmp_path / "source"
        repo = make_repo(work, {"app.py": "version = 1\n", "README.md": "# app\n"})
        old = str(repo.head.target)
        main = str(commit_files(repo, {"app.py": "version = 2\n", "notes/CHANGES.md": "two\n"}, "version 2"))
        repo.branches.local.create("wave/r1", repo[main].peel(pygit2.Commit))
        repo.checkout(repo.branches.local["wave/r1"])
        branch = str(commit_files(repo, {"app.py": "version = 3\n"}, "version 3 on the run branch"))
        repo.checkout(repo.branches.local["main"])
        bare = tmp_path / "remote.git"
        subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
        (work / "app.py").write_text("version = uncommitted\n")
        (work / "untracked.txt").write_text("not in any commit\n")
        return Sources(work, bare, old, main, branch)

    def assert_checked_out(self, directory: Path, commit: str, files: dict[str, str]) -> None:
        repo = pygit2.Repository(str(directory))
        assert str(repo.head.target) == commit and repo.head_is_detached
        assert worktree_files(directory) == files
        assert not repo.status()  # a clean working copy: exactly the commit's files

    def test_an_older_commit_from_a_local_working_copy(self, check_out, sources: Sources) -> None:
        directory = check_out(str(sources.work), sources.old)
        self.assert_checked_out(directory, sources.old, {"app.py": "version = 1\n", "README.md": "# app\n"})

    def test_a_commit_only_the_run_branch_holds_from_a_bare_remote(self, check_out, sources: Sources) -> None:
        directory = check_out(str(sources.bare), sources.branch)
        files = {"app.py": "version = 3\n", "README.md": "# app\n", "notes/CHANGES.md": "two\n"}
        self.assert_checked_out(directory, sources.branch, files)

    def test_a_commit_from_a_bare_remote_named_by_url(self, check_out, sources: Sources) -> None:
        directory = check_out(sources.bare.as_uri(), sources.main)
        files = {"app.py": "version = 2\n", "README.md": "# app\n", "notes/CHANGES.md": "two\n"}
        self.assert_checked_out(directory, sources.main, files)

    def test_a_missing_commit_is_an_error_naming_it(self, check_out, checkout_error, sources: Sources) -> None:
        missing = "0123456789abcdef0123456789abcdef01234567"
        for location in (str(sources.work), str(sources.bare), sources.bare.as_uri()):
            with pytest.raises(checkout_error, match=missing):
                check_out(location, missing)

    def test_an_unreachable_location_is_an_error_naming_it(self, check_out, checkout_error, tmp_path, sources) -> None:
        nowhere = tmp_path / "nowhere.git"
        with pytest.raises(checkout_error, match=str(nowhere)):
            check_out(str(nowhere), sources.main)

    def test_nothing_of_the_source_repositories_changes(self, check_out, sources: Sources) -> None:
        before = (files_of(sources.work), files_of(sources.bare))
        modes_before = {p: os.stat(p).st_mode for p in sources.work.rglob("*")}
        checkouts = [
            check_out(str(sources.work), sources.old),
            check_out(str(sources.work), sources.branch),
            check_out(str(sources.bare), sources.main),
        ]
        for directory in checkouts:
            scribble_over(directory)  # a copy shares no file with its source: writing to it is harmless

        assert (files_of(sources.work), files_of(sources.bare)) == before
        assert {p: os.stat(p).st_mode for p in sources.work.rglob("*")} == modes_before

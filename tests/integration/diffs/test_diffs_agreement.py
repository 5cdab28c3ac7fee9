"""The developer, safety and gitops read a diff the same way: the same files and paths, and a path
leaving the worktree refused by all three."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest
from gitops_repos import make_repo
from safety_diffs import binary
from wave_constitution import Diff, SafetyPolicy, score
from wave_developer import DiffError, validate_answer
from wave_gitops import ChangeRefusedError, ChangeTrailers, GitWorkspaces

TRAILERS = ChangeTrailers(event_id="e1", task_id="t1", attempt=1)

FILES = {
    "app.py": "a = 1\nb = 2\n",
    "my file é.txt": "old\n",
    "old.py": "x = 1\n",
    "run.sh": "echo hi\n",
    "gone.txt": "bye\n",
    "README.md": "# shop\n```\ncode\n```\n",
}

ACCEPTED = {
    "quoted path with a space and unicode": (
        'diff --git "a/my file \\303\\251.txt" "b/my file \\303\\251.txt"\n'
        '--- "a/my file \\303\\251.txt"\n+++ "b/my file \\303\\251.txt"\n@@ -1 +1 @@\n-old\n+new\n',
        {"my file é.txt"},
    ),
    "rename": ("diff --git a/old.py b/new.py\nsimilarity index 100%\nrename from old.py\nrename to new.py\n", {"old.py", "new.py"}),
    "mode change": ("diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n", {"run.sh"}),
    "binary": (binary("logo.png", 64), {"logo.png"}),
    "CRLF line ends": ("--- a/app.py\r\n+++ b/app.py\r\n@@ -1,2 +1,2 @@\r\n a = 1\r\n-b = 2\r\n+b = 3\r\n", {"app.py"}),
    "add from /dev/null": ("--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+hello\n", {"new.txt"}),
    "delete to /dev/null": ("--- a/gone.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n", {"gone.txt"}),
    "markdown with a fence line": (
        "--- a/README.md\n+++ b/README.md\n@@ -1,4 +1,5 @@\n # shop\n ```\n code\n+more\n ```\n",
        {"README.md"},
    ),
}

ESCAPES = {
    "dot-dot": "--- a/../evil.py\n+++ b/../evil.py\n@@ -1 +1 @@\n-a\n+b\n",
    "absolute": "--- /dev/null\n+++ /etc/evil\n@@ -0,0 +1 @@\n+x\n",
    "inside .git": "--- /dev/null\n+++ b/.git/hooks/pre-commit\n@@ -0,0 +1 @@\n+x\n",
    "quoted dot-dot": '--- /dev/null\n+++ "b/../\\303\\251vil.py"\n@@ -0,0 +1 @@\n+x\n',
}


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    make_repo(tmp_path / "repo", FILES)
    return tmp_path / "repo"


def _developer(checkout: Path, diff: str) -> set[str]:
    return set(validate_answer(diff, checkout).paths)  # an answer that is only a diff is read whole


def _gitops(checkout: Path, tmp_path: Path, diff: str) -> set[str]:
    workspaces = GitWorkspaces(checkout, worktree_root=tmp_path / "trees")
    workspaces.prepare("r1", "main")
    committed = workspaces.apply_and_commit("r1", diff, "developer", TRAILERS)

    repo = pygit2.Repository(str(checkout))
    commit = repo[committed.commit]
    delta = repo.diff(commit.parents[0], commit)
    delta.find_similar()
    return {p for patch in delta for p in (patch.delta.old_file.path, patch.delta.new_file.path)}


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_every_service_reads_the_same_files(name: str, checkout: Path, tmp_path: Path) -> None:
    diff, paths = ACCEPTED[name]
    assert score(Diff(diff), SafetyPolicy()).verdict == "allow"
    assert _developer(checkout, diff) == paths
    assert _gitops(checkout, tmp_path, diff) == paths


@pytest.mark.parametrize("name", list(ESCAPES))
def test_a_path_escape_is_refused_by_every_service(name: str, checkout: Path, tmp_path: Path) -> None:
    diff = ESCAPES[name]
    assert score(Diff(diff), SafetyPolicy()).verdict == "block"
    with pytest.raises(DiffError):
        validate_answer(diff, checkout)
    workspaces = GitWorkspaces(checkout, worktree_root=tmp_path / "trees")
    workspaces.prepare("r1", "main")
    with pytest.raises(ChangeRefusedError):
        workspaces.apply_and_commit("r1", diff, "developer", TRAILERS)

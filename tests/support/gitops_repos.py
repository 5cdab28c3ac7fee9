"""Real git repositories for gitops tests, made with pygit2 in temporary directories, and real diffs
(from libgit2, or from the git command line)."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

import pygit2
from pygit2.enums import FileMode

Changes = Mapping[str, str | None]  # path -> new content, or None to delete it

README = "# shop\n"
APP = "def price(amount):\n    return amount\n\n\ndef tax(amount):\n    return amount * 0.2\n"
PEOPLE = pygit2.Signature("Ana Dev", "ana@example.com")


def make_repo(path: Path, files: Mapping[str, str] | None = None, branch: str = "main") -> pygit2.Repository:
    """A working copy with one commit on `branch`, which is checked out."""
    repo = pygit2.init_repository(str(path), initial_head=branch)
    commit_files(repo, files or {"README.md": README, "app.py": APP}, "initial commit")
    return repo


def make_bare(path: Path) -> pygit2.Repository:
    return pygit2.init_repository(str(path), bare=True)


def commit_files(repo: pygit2.Repository, changes: Changes, message: str) -> pygit2.Oid:
    """Commit on the checked-out branch, through the working copy and the index, as a person would."""
    workdir = Path(repo.workdir)
    for name, content in changes.items():
        file = workdir / name
        if content is None:
            file.unlink()
            repo.index.remove(name)
        else:
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(content, encoding="utf-8")
            repo.index.add(name)
    repo.index.write()
    tree = repo.index.write_tree()
    parents = [] if repo.head_is_unborn else [repo.head.target]
    return repo.create_commit("HEAD", PEOPLE, PEOPLE, message, tree, parents)


def diff_of(repo: pygit2.Repository, changes: Changes, at: str = "HEAD") -> str:
    """The unified diff libgit2 makes for `changes` on top of commit `at`."""
    commit = repo.revparse_single(at).peel(pygit2.Commit)
    index = pygit2.Index()
    index.read_tree(commit.tree)
    for name, content in changes.items():
        if content is None:
            index.remove(name)
        else:
            index.add(pygit2.IndexEntry(name, repo.create_blob(content.encode()), FileMode.BLOB))
    return repo.diff(commit.tree, repo[index.write_tree(repo)]).patch or ""


def git_cli_diff(repo_path: Path, changes: Changes, scratch: Path) -> str:
    """The diff `git diff` prints for `changes` made in a fresh clone of the repository."""
    subprocess.run(["git", "clone", "-q", str(repo_path), str(scratch)], check=True)
    for name, content in changes.items():
        file = scratch / name
        if content is None:
            file.unlink()
        else:
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(content, encoding="utf-8")
    subprocess.run(["git", "-C", str(scratch), "add", "-A"], check=True)
    return subprocess.run(
        ["git", "-C", str(scratch), "diff", "--cached"], check=True, capture_output=True, text=True
    ).stdout


def head_of(repo: pygit2.Repository, branch: str) -> str:
    return str(repo.references[f"refs/heads/{branch}"].peel(pygit2.Commit).id)


def commits_on(repo: pygit2.Repository, branch: str) -> int:
    return sum(1 for _ in repo.walk(repo.references[f"refs/heads/{branch}"].target))


def file_at(repo: pygit2.Repository, commit: str, path: str) -> str | None:
    tree = repo[commit].peel(pygit2.Commit).tree
    return tree[path].data.decode() if path in tree else None


def message_of(repo: pygit2.Repository, commit: str) -> str:
    return repo[commit].peel(pygit2.Commit).message

"""A compact, bounded listing of a repository's files at a branch head, read with pygit2."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import pygit2
from pygit2.enums import RepositoryOpenFlag

log = logging.getLogger("wave.planner")

MAX_ENTRIES_WALKED = 50_000  # a huge repository is counted only this far


@dataclass(frozen=True)
class FileListing:
    branch: str
    commit: str
    paths: tuple[str, ...]  # the shallowest `limit` files, sorted
    total: int  # every file seen (at least this many when `complete` is False)
    complete: bool = True

    def render(self) -> str:
        count = f"{self.total}" if self.complete else f"more than {self.total}"
        shown = f", {len(self.paths)} shown" if len(self.paths) < self.total else ""
        lines = [f"Files in the repository at {self.branch} (commit {self.commit[:12]}): {count} files{shown}"]
        lines += self.paths
        if len(self.paths) < self.total:
            lines.append(f"... and {'more than ' if not self.complete else ''}{self.total - len(self.paths)} more files")
        return "\n".join(lines)


ReadListing = Callable[[str, str, int], "FileListing | None"]  # (repository path, branch, limit)


def read_file_listing(repo: str, branch: str, limit: int) -> FileListing | None:
    """The files of `repo` at the head of `branch` (or of `origin/branch`); None when the repository or
    the branch cannot be read, so planning goes on without a listing. Shallow paths come first, so a
    big repository still shows its layout."""
    try:
        repository = pygit2.Repository(repo, RepositoryOpenFlag.NO_SEARCH)
        commit = _branch_head(repository, branch)
        if commit is None:
            log.info("planner: %s has no branch %s; planning without a file listing", repo, branch)
            return None
        return _walk(repository, commit, branch, limit)
    except (pygit2.GitError, KeyError, OSError, ValueError) as exc:
        log.info("planner: cannot read %s (%s); planning without a file listing", repo, exc)
        return None


def _branch_head(repository: pygit2.Repository, branch: str) -> pygit2.Commit | None:
    for name in (f"refs/heads/{branch}", f"refs/remotes/origin/{branch}"):
        reference = repository.references.get(name)
        if reference is not None:
            return reference.peel(pygit2.Commit)
    return None


def _walk(repository: pygit2.Repository, commit: pygit2.Commit, branch: str, limit: int) -> FileListing:
    paths: list[str] = []
    total = walked = 0
    queue: deque[tuple[str, pygit2.Tree]] = deque([("", commit.tree)])
    while queue and walked < MAX_ENTRIES_WALKED:
        prefix, tree = queue.popleft()
        for entry in tree:
            walked += 1
            path = prefix + (entry.name or "")
            if entry.type_str == "tree":
                queue.append((path + "/", repository[entry.id].peel(pygit2.Tree)))
            else:
                total += 1
                if len(paths) < limit:
                    paths.append(path)
    return FileListing(branch, str(commit.id), tuple(sorted(paths)), total, complete=not queue)

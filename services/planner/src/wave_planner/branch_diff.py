"""The whole change of a run: the run branch's head against its base, read with pygit2 from the
repository where the branch lives. What the merge reviewer judges, rather than each task's last attempt."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pygit2
from pygit2.enums import RepositoryOpenFlag

log = logging.getLogger("wave.planner")

ReadBranchDiff = Callable[[str, str, str], "str | None"]  # (repository path, base commit, head commit) -> patch


def read_branch_diff(repo: str, base: str, head: str) -> str | None:
    """The unified diff from `base` to `head` in the repository at `repo`; None when the repository or
    either commit cannot be read there (a remote URL, a repository elsewhere), so the review falls
    back to each task's proposed change."""
    try:
        repository = pygit2.Repository(repo, RepositoryOpenFlag.NO_SEARCH)
        old, new = repository[base].peel(pygit2.Commit), repository[head].peel(pygit2.Commit)
        return repository.diff(old.tree, new.tree).patch or ""
    except (pygit2.GitError, KeyError, OSError, ValueError) as exc:
        log.info("planner: cannot read the branch diff %s..%s in %s (%s)", base[:12], head[:12], repo, exc)
        return None

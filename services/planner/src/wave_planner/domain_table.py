"""The domain table a run is planned under, read from the target branch with pygit2.

Trusted configuration comes from the target branch's committed `.wave/domains.toml`, never from a
working tree or a run branch: what a run writes cannot change the policy it is judged by."""

from __future__ import annotations

from collections.abc import Callable

import pygit2
from pygit2.enums import RepositoryOpenFlag
from wave_events.domains import DEFAULT_TABLE, DOMAINS_FILE, DomainPolicyError, DomainTable, parse_table

from .listing import _branch_head

ReadDomains = Callable[[str, str, str | None], DomainTable | None]  # (repository path, target branch, base commit)


def read_domain_table(repo: str, branch: str, base_commit: str | None = None) -> DomainTable:
    """The table of `.wave/domains.toml` at the run's base commit (the target branch's head when the run
    was submitted; without one, the head of `branch` now), or the defaults when that commit holds none
    (or the repository cannot be read: planning goes on under the defaults). A file that is there but
    wrong, or a base commit the repository does not have, raises `DomainPolicyError` naming the file,
    the commit and the problem."""
    try:
        repository = pygit2.Repository(repo, RepositoryOpenFlag.NO_SEARCH)
    except (pygit2.GitError, KeyError, OSError, ValueError):
        return DEFAULT_TABLE
    if base_commit is not None:
        try:
            commit = repository.revparse_single(base_commit).peel(pygit2.Commit)
        except (KeyError, ValueError, pygit2.GitError):
            raise DomainPolicyError(f"{DOMAINS_FILE}@{base_commit[:12]}: the run's base commit is not in {repo}") from None
    else:
        try:
            commit = _branch_head(repository, branch)
        except (pygit2.GitError, KeyError, OSError, ValueError):
            return DEFAULT_TABLE
    if commit is None:
        return DEFAULT_TABLE
    try:
        entry = commit.tree[DOMAINS_FILE]
    except KeyError:
        return DEFAULT_TABLE
    source = f"{DOMAINS_FILE}@{str(commit.id)[:12]}"
    blob = repository[entry.id]
    if not isinstance(blob, pygit2.Blob):
        raise DomainPolicyError(f"{source}: is not a file")
    try:
        text = blob.data.decode("utf-8")
    except UnicodeDecodeError:
        raise DomainPolicyError(f"{source}: is not UTF-8 text") from None
    return parse_table(text, source)

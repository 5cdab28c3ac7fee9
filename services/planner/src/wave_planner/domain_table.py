"""The domain table a run is planned under, read from the target branch with pygit2.

Trusted configuration comes from the target branch's committed `.wave/domains.toml`, never from a
working tree or a run branch: what a run writes cannot change the policy it is judged by."""

from __future__ import annotations

from collections.abc import Callable

import pygit2
from pygit2.enums import RepositoryOpenFlag
from wave_events.domains import DEFAULT_TABLE, DOMAINS_FILE, DomainPolicyError, DomainTable, parse_table

from .listing import _branch_head

ReadDomains = Callable[[str, str], DomainTable | None]  # (repository path, target branch)


def read_domain_table(repo: str, branch: str) -> DomainTable:
    """The table of `.wave/domains.toml` at the head of `branch`, or the defaults when the branch holds
    none (or the repository cannot be read: planning goes on under the defaults). A file that is there
    but wrong raises `DomainPolicyError` naming the file, its commit and the problem."""
    try:
        repository = pygit2.Repository(repo, RepositoryOpenFlag.NO_SEARCH)
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

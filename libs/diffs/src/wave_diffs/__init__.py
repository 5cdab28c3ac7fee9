"""WAVE's one reading of a unified diff and its one check of where the diff's paths land.

The developer validates, safety scores and gitops applies the same parse (libgit2's, through
pygit2), so what is scored is what is committed.
"""

from .paths import DiffError, PathProblem, UnsafePathError, check_path, link_escapes, path_problem
from .reading import (
    HUNK_HEADER,
    DiffText,
    FileChange,
    FileText,
    HunkChange,
    HunkText,
    ReadDiff,
    read,
    split,
    unquote,
)

LINK_MODE = 0o120000


def check(diff: ReadDiff) -> None:
    """Raise UnsafePathError for the first path, or link target, that lands outside the worktree's files."""
    for change in diff.files:
        for path in change.paths:
            check_path(path)
        if change.new_mode == LINK_MODE and change.new_path is not None:
            target = change.added_text.strip()
            if link_escapes(change.new_path, target):
                raise UnsafePathError(f"{change.new_path}: symbolic link to {target!r} points outside the worktree")


__all__ = [
    "HUNK_HEADER",
    "LINK_MODE",
    "DiffError",
    "DiffText",
    "FileChange",
    "FileText",
    "HunkChange",
    "HunkText",
    "PathProblem",
    "ReadDiff",
    "UnsafePathError",
    "check",
    "check_path",
    "link_escapes",
    "path_problem",
    "read",
    "split",
    "unquote",
]

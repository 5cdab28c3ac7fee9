"""The one check of where a diff's paths land: relative, inside the worktree, outside `.git`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath


class DiffError(ValueError):
    """The text is not a diff WAVE can use; the message says what is wrong with it."""


class UnsafePathError(DiffError):
    """A path that would land outside the worktree's files (absolute, `..`, inside `.git`)."""


@dataclass(frozen=True)
class PathProblem:
    kind: str  # "outside" (absolute, `..`, home), "git" (the repository's .git), "malformed"
    reason: str


def path_problem(path: str) -> PathProblem | None:
    """What is wrong with a path a change names, or None for a plain relative path among the worktree's files."""
    if not path:
        return PathProblem("malformed", "empty path")
    if any(ord(ch) < 32 for ch in path):
        return PathProblem("malformed", f"{path!r}: control characters in a path")
    if path.startswith(("/", "~")) or "\\" in path or re.match(r"^[A-Za-z]:", path):
        return PathProblem("outside", f"{path!r}: absolute or non-POSIX path; paths must be relative to the worktree")
    segments = path.split("/")
    if ".." in segments:
        return PathProblem("outside", f"{path!r}: '..' leads outside the worktree")
    if "." in segments or "" in segments:
        return PathProblem("malformed", f"{path!r}: '.' and empty segments are not allowed in a path")
    if any(part.lower() == ".git" for part in segments):
        return PathProblem("git", f"{path!r}: the repository's .git is not part of the worktree's files")
    return None


def check_path(path: str) -> None:
    """Raise UnsafePathError for a path that is not a plain relative path among the worktree's files."""
    problem = path_problem(path)
    if problem is not None:
        raise UnsafePathError(problem.reason)


def link_escapes(link: str, target: str) -> bool:
    """Whether a symbolic link at `link` pointing to `target` leads outside the worktree."""
    if not target or target.startswith(("/", "~")) or "\\" in target:
        return True
    base = PurePosixPath(link).parent
    depth = len(base.parts) if str(base) != "." else 0
    for part in PurePosixPath(target).parts:
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part != ".":
            depth += 1
    return False

"""Is a model's answer a change WAVE can propose? Parsed strictly, paths confined, and it must apply.

Every failure is a DiffError whose message is written for the model: it is sent back verbatim when
the model is asked again.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from pathlib import Path

import pygit2
from pygit2.enums import ApplyLocation

from .answer import read_answer
from .diffs import DiffError, UnifiedDiff, UnsafePathError, parse_diff, render, with_old_modes


@dataclass(frozen=True)
class ValidChange:
    diff: str  # canonical git form
    rationale: str
    paths: tuple[str, ...]


def validate_answer(text: str, checkout: Path) -> ValidChange:
    answer = read_answer(text)
    diff = parse_diff(answer.diff_text)
    root = checkout.resolve()
    for f in diff.files:
        _check_inside(root, f.path)
        exists = (root / f.path).is_file()
        if f.kind == "add" and exists:
            raise DiffError(f"{f.path} already exists; change it with '--- a/{f.path}' instead of /dev/null")
        if f.kind != "add" and not exists:
            raise DiffError(f"{f.path} does not exist at this commit; a new file needs '--- /dev/null'")
    repo = pygit2.Repository(str(root))
    diff = _relocated(root, with_old_modes(diff, _modes(repo, diff)))
    return ValidChange(_as_git_writes_it(repo, render(diff)), answer.rationale, diff.paths)


def _check_inside(root: Path, path: str) -> None:
    real = (root / path).resolve()
    if root not in real.parents:
        raise UnsafePathError(f"{path!r} leads outside the repository (through a symbolic link)")
    for parent in Path(path).parents:
        if str(parent) != "." and (root / parent).is_symlink():
            raise UnsafePathError(f"{path!r}: {parent} is a symbolic link; change files through their real path")
    if (root / path).is_symlink():
        raise UnsafePathError(f"{path!r} is a symbolic link; change the file it points to instead")


def _modes(repo: pygit2.Repository, diff: UnifiedDiff) -> dict[str, str]:
    modes: dict[str, str] = {}
    tree = repo.head.peel(pygit2.Commit).tree
    for f in diff.files:
        if f.kind == "delete" and f.path in tree:
            modes[f.path] = f"{tree[f.path].filemode:o}"
    return modes


def _relocated(root: Path, diff: UnifiedDiff) -> UnifiedDiff:
    """Each hunk placed where its old lines are in the file (nearest to where it says), so wrong line
    numbers are forgiven but wrong content is not."""
    files = []
    for f in diff.files:
        if f.kind == "add":
            files.append(f)
            continue
        current = (root / f.path).read_text(encoding="utf-8", errors="replace").splitlines()
        hunks, floor, shift = [], 0, 0
        for hunk in f.hunks:
            old = list(hunk.old_lines)
            if not old:
                hunks.append(hunk)
                continue
            starts = [n for n in range(floor, len(current) - len(old) + 1) if current[n : n + len(old)] == old]
            if not starts:
                raise DiffError(
                    f"{f.path}: hunk '{hunk.header}' does not match the file: its context and '-' lines are not "
                    f"in {f.path} as written{' after the previous hunk' if floor else ''} "
                    "(read the file again and copy the lines exactly)"
                )
            start = min(starts, key=lambda n: abs(n - (hunk.old_start - 1)))
            hunks.append(replace(hunk, old_start=start + 1, new_start=start + 1 + shift))
            floor = start + len(old)
            shift += hunk.new_count - hunk.old_count
        files.append(replace(f, hunks=tuple(hunks)))
    return UnifiedDiff(tuple(files))


_INDEX_LOCK = threading.Lock()  # the checkout's index is borrowed to let libgit2 apply the diff


def _as_git_writes_it(repo: pygit2.Repository, text: str) -> str:
    """The diff applied by libgit2 to the commit, then written back by libgit2 with its usual context:
    what gitops applies and `git apply` accepts."""
    try:
        parsed = pygit2.Diff.parse_diff(text)
    except (pygit2.GitError, KeyError) as exc:
        raise DiffError(f"git cannot read the diff: {exc}") from None
    head = repo.head.peel(pygit2.Commit).tree
    with _INDEX_LOCK:
        try:
            repo.applies(parsed, ApplyLocation.INDEX, raise_error=True)
            repo.apply(parsed, ApplyLocation.INDEX)
            changed = repo.index.write_tree()
        except pygit2.GitError as exc:
            raise DiffError(f"the diff does not apply to the files at this commit: {exc}") from None
        finally:
            repo.index.read_tree(head)
            repo.index.write()
    patch = repo.diff(head, repo[changed]).patch or ""
    if not patch.strip():
        raise DiffError("the diff changes nothing")
    return patch

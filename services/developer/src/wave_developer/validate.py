"""Is a model's answer a change WAVE can propose? Parsed strictly, paths confined, and it must apply.

Every failure is a DiffError whose message is written for the model: it is sent back verbatim when
the model is asked again.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import pygit2
import wave_diffs
from pygit2.enums import ApplyLocation
from wave_diffs import DiffError, UnsafePathError

from .answer import read_answer


@dataclass(frozen=True)
class ValidChange:
    diff: str  # canonical git form
    rationale: str
    paths: tuple[str, ...]


def validate_answer(text: str, checkout: Path) -> ValidChange:
    answer = read_answer(text)
    diff = wave_diffs.read(answer.diff_text)  # the reading safety scores and gitops applies
    wave_diffs.check(diff)
    root = checkout.resolve()
    for f in diff.files:
        for path in dict.fromkeys(p for p in (f.old_path, f.new_path) if p):
            _check_inside(root, path)
        if f.new_path is not None and f.status != "modified" and (root / f.new_path).is_file():
            raise DiffError(f"{f.new_path} already exists; change it with '--- a/{f.new_path}' instead of /dev/null")
        if f.old_path is not None and not (root / f.old_path).is_file():
            raise DiffError(f"{f.old_path} does not exist at this commit; a new file needs '--- /dev/null'")
    repo = pygit2.Repository(str(root))
    return ValidChange(_as_git_writes_it(repo, _relocated(root, repo, diff)), answer.rationale, _paths(diff))


def _paths(diff: wave_diffs.ReadDiff) -> tuple[str, ...]:
    return tuple(dict.fromkeys(p for f in diff.files for p in (f.old_path, f.new_path) if p))


def _check_inside(root: Path, path: str) -> None:
    real = (root / path).resolve()
    if root not in real.parents:
        raise UnsafePathError(f"{path!r} leads outside the repository (through a symbolic link)")
    for parent in Path(path).parents:
        if str(parent) != "." and (root / parent).is_symlink():
            raise UnsafePathError(f"{path!r}: {parent} is a symbolic link; change files through their real path")
    if (root / path).is_symlink():
        raise UnsafePathError(f"{path!r} is a symbolic link; change the file it points to instead")


def _relocated(root: Path, repo: pygit2.Repository, diff: wave_diffs.ReadDiff) -> str:
    """The diff's text with each hunk placed where its old lines are in the file (nearest to where it
    says), so wrong line numbers are forgiven but wrong content is not; a deleted file gets its mode."""
    tree = repo.head.peel(pygit2.Commit).tree
    out: list[str] = []
    for piece, f in zip(diff.pieces.files, diff.files, strict=True):
        header = list(piece.header)
        if f.status == "deleted" and f.old_path in tree:
            mode = f"{tree[f.old_path].filemode:o}"
            header = [f"deleted file mode {mode}\n" if h.startswith("deleted file mode ") else h for h in header]
        out.extend(header)
        if f.old_path is None:
            out.extend(line for hunk in piece.hunks for line in hunk.lines)
            continue
        current = (root / f.old_path).read_text(encoding="utf-8", errors="replace").splitlines()
        floor, shift = 0, 0
        for text, hunk in zip(piece.hunks, f.hunks, strict=True):
            old = list(hunk.old_lines)
            if not old:
                out.extend(text.lines)
                continue
            starts = [n for n in range(floor, len(current) - len(old) + 1) if current[n : n + len(old)] == old]
            if not starts:
                raise DiffError(
                    f"{f.old_path}: hunk '{text.header}' does not match the file: its context and '-' lines are not "
                    f"in {f.old_path} as written{' after the previous hunk' if floor else ''} "
                    "(read the file again and copy the lines exactly)"
                )
            start = min(starts, key=lambda n: abs(n - (hunk.old_start - 1)))
            section = text.header.split("@@", 2)[2]
            out.append(f"@@ -{start + 1},{hunk.old_count} +{start + 1 + shift},{hunk.new_count} @@{section}\n")
            out.extend(text.lines[1:])
            floor = start + len(old)
            shift += hunk.new_count - hunk.old_count
    return "".join(out)


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

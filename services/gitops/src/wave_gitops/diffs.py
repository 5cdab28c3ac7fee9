"""Reading a proposed unified diff before it touches a repository.

Models and people write diffs without the `diff --git` line libgit2 needs, with text around them,
or without the a/ b/ prefixes; `read_diff` turns them into the form libgit2 parses and keeps each
file and hunk apart, so a diff that does not apply can be reported by file and hunk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

import pygit2
from pygit2.enums import FileMode

from .errors import MalformedDiffError, UnsafePathError

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_NULL = "/dev/null"


@dataclass(frozen=True)
class Hunk:
    header: str  # the `@@ -a,b +c,d @@` line, without its line end
    lines: tuple[str, ...]


@dataclass(frozen=True)
class FilePatch:
    path: str
    header: tuple[str, ...]
    hunks: tuple[Hunk, ...]

    @property
    def text(self) -> str:
        return "".join((*self.header, *(line for hunk in self.hunks for line in hunk.lines)))

    def with_hunk(self, index: int) -> str:
        """This file's header and one of its hunks: a patch of its own."""
        return "".join((*self.header, *self.hunks[index].lines))


@dataclass(frozen=True)
class ProposedDiff:
    files: tuple[FilePatch, ...]

    @property
    def text(self) -> str:
        return "".join(f.text for f in self.files)


def read_diff(text: str) -> ProposedDiff:
    """The diff's files and hunks. Raises MalformedDiffError when no file change can be found."""
    if not isinstance(text, str) or not text.strip():
        raise MalformedDiffError("the diff is empty")
    if "\0" in text:
        raise MalformedDiffError("the diff contains a NUL byte")
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    files: list[FilePatch] = []
    header: list[str] | None = None
    hunks: list[Hunk] = []
    hunk: list[str] | None = None
    old_left = new_left = 0
    has_git_line = False

    def finish_file() -> None:
        nonlocal header, hunks
        if header is not None:
            files.append(FilePatch(_path_of(header), tuple(header), tuple(hunks)))
        header, hunks = None, []

    def finish_hunk() -> None:
        nonlocal hunk
        if hunk is not None:
            hunks.append(Hunk(hunk[0].rstrip("\r\n"), tuple(hunk)))
        hunk = None

    i = 0
    while i < len(lines):
        line = lines[i]
        if hunk is not None and (old_left > 0 or new_left > 0):
            kind = line[:1]
            if kind in (" ", "\n", "\r"):
                old_left, new_left = old_left - 1, new_left - 1
            elif kind == "-":
                old_left -= 1
            elif kind == "+":
                new_left -= 1
            elif kind != "\\":
                raise MalformedDiffError(f"hunk {hunk[0].strip()!r} ends early at line {i + 1}: {line.rstrip()!r}")
            hunk.append(line if kind not in ("\n", "\r") else " " + line)
        elif hunk is not None and line.startswith("\\"):
            hunk.append(line)  # "\ No newline at end of file" belongs to the hunk it follows
        elif line.startswith("diff --git "):
            finish_hunk()
            finish_file()
            header, has_git_line = [line], True
        elif line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            finish_hunk()
            old, new = _header_path(line[4:], "a/"), _header_path(lines[i + 1][4:], "b/")
            if header is None or not has_git_line or hunks:
                finish_file()
                header = _git_line(old, new)
            header += [f"--- {old}\n", f"+++ {new}\n"]
            has_git_line = False
            i += 1
        elif (match := _HUNK.match(line)) and header is not None:
            finish_hunk()
            old_left = int(match.group(2) or "1")
            new_left = int(match.group(4) or "1")
            hunk = [line]
        elif header is not None and hunk is None and not hunks:
            header.append(line)  # extended headers: index, modes, renames, binary data
        # anything else is text around the diff, which means nothing to git
        i += 1
    if hunk is not None and (old_left > 0 or new_left > 0):
        raise MalformedDiffError(f"hunk {hunk[0].strip()!r} is cut short at the end of the diff")
    finish_hunk()
    finish_file()
    if not files:
        raise MalformedDiffError("no file change found in the diff (expected '--- a/…' and '+++ b/…' lines)")
    return ProposedDiff(tuple(files))


def parse(proposed: ProposedDiff) -> pygit2.Diff:
    try:
        diff = pygit2.Diff.parse_diff(proposed.text)
    except (pygit2.GitError, KeyError) as exc:
        raise MalformedDiffError(f"the diff cannot be read: {exc}") from None
    if len(diff) == 0:
        raise MalformedDiffError("the diff changes no file")
    return diff


def check_paths(diff: pygit2.Diff) -> None:
    """Refuse a path that would land outside the worktree or inside its .git, and links leading out."""
    for patch in diff:
        delta = patch.delta
        for path in {delta.old_file.path, delta.new_file.path}:
            _check_path(path)
        if delta.new_file.mode == FileMode.LINK:
            target = "".join(line.content for hunk in patch.hunks for line in hunk.lines if line.origin == "+")
            if _escapes(target.strip(), base=PurePosixPath(delta.new_file.path).parent):
                raise UnsafePathError(
                    f"{delta.new_file.path}: symbolic link to {target.strip()!r} points outside the worktree"
                )


def _check_path(path: str) -> None:
    pure = PurePosixPath(path)
    if not path or path.startswith("/") or "\\" in path or re.match(r"^[A-Za-z]:", path):
        raise UnsafePathError(f"{path!r}: absolute or non-POSIX path, outside the worktree")
    if ".." in pure.parts:
        raise UnsafePathError(f"{path!r}: '..' leads outside the worktree")
    if any(part.lower() == ".git" for part in pure.parts):
        raise UnsafePathError(f"{path!r}: the repository's .git is not part of the worktree's files")


def _escapes(target: str, base: PurePosixPath) -> bool:
    if not target or target.startswith("/") or "\\" in target:
        return True
    depth = len(base.parts) if str(base) != "." else 0
    for part in PurePosixPath(target).parts:
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part != ".":
            depth += 1
    return False


def _header_path(raw: str, prefix: str) -> str:
    path = raw.rstrip("\r\n").split("\t", 1)[0].strip()
    if path.startswith('"') and path.endswith('"'):
        return path  # git's quoted form; libgit2 reads it as is
    if path == _NULL or path.startswith(("a/", "b/")):
        return path
    if path.startswith("/"):
        raise UnsafePathError(f"{path!r}: absolute path, outside the worktree")
    return prefix + path


def _git_line(old: str, new: str) -> list[str]:
    if old == _NULL:
        return [f"diff --git a/{new[2:]} {new}\n", "new file mode 100644\n"]
    if new == _NULL:
        return [f"diff --git {old} b/{old[2:]}\n", "deleted file mode 100644\n"]
    return [f"diff --git {old} {new}\n"]


def _path_of(header: list[str]) -> str:
    for line in header:
        if line.startswith("+++ ") and line[4:].strip() != _NULL:
            return line[4:].strip().removeprefix("b/")
    for line in header:
        if line.startswith("--- ") and line[4:].strip() != _NULL:
            return line[4:].strip().removeprefix("a/")
    for line in header:
        if line.startswith("diff --git "):
            return line.split(" b/", 1)[-1].strip()
    return "?"

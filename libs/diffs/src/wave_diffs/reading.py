"""Reading a unified diff, the one way every WAVE service reads it.

Models and people write diffs without the `diff --git` line libgit2 needs, with text around them,
or without the a/ b/ prefixes; `split` turns them into the form libgit2 parses and keeps each file
and hunk apart (so a diff that does not apply can be reported by file and hunk). `read` then has
libgit2 parse that text — the same parse gitops applies — and refuses what libgit2 would read only in
part: its files, paths, modes and lines are what the developer checks, safety scores and gitops commits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pygit2
from pygit2.enums import DeltaStatus

from .paths import DiffError

HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_BINARY_SIZE = re.compile(r"^(?:literal|delta) (\d+)\r?$")
_NULL = "/dev/null"
_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


@dataclass(frozen=True)
class HunkText:
    header: str  # the `@@ -a,b +c,d @@` line, without its line end
    lines: tuple[str, ...]  # the header line, then its body, each with its line end


@dataclass(frozen=True)
class FileText:
    path: str
    header: tuple[str, ...]
    hunks: tuple[HunkText, ...]
    written_paths: tuple[str, ...]  # the paths as the header lines spell them, unquoted, without a/ b/

    @property
    def text(self) -> str:
        return "".join((*self.header, *(line for hunk in self.hunks for line in hunk.lines)))

    def with_hunk(self, index: int) -> str:
        """This file's header and one of its hunks: a patch of its own."""
        return "".join((*self.header, *self.hunks[index].lines))


@dataclass(frozen=True)
class DiffText:
    files: tuple[FileText, ...]

    @property
    def text(self) -> str:
        return "".join(f.text for f in self.files)


@dataclass(frozen=True)
class HunkChange:
    header: str
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    old_lines: tuple[str, ...]  # context and removed lines, without line ends
    removed: tuple[str, ...]
    added: tuple[str, ...]


@dataclass(frozen=True)
class FileChange:
    old_path: str | None  # None for an added file
    new_path: str | None  # None for a deleted file
    status: str  # added, deleted, modified, renamed, copied
    old_mode: int  # 0 when the diff does not say
    new_mode: int
    binary: bool
    binary_size: int | None  # the largest literal or delta a binary patch carries; None without one
    hunks: tuple[HunkChange, ...]
    written_paths: tuple[str, ...]

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or ""

    @property
    def paths(self) -> tuple[str, ...]:
        """Every path the change touches, as libgit2 reads it and as the header lines write it."""
        return tuple(dict.fromkeys(p for p in (self.old_path, self.new_path, *self.written_paths) if p))

    @property
    def added_text(self) -> str:
        return "\n".join(line for hunk in self.hunks for line in hunk.added)


@dataclass(frozen=True)
class ReadDiff:
    text: str  # what libgit2 parsed: the diff in git's form
    pieces: DiffText
    files: tuple[FileChange, ...]

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(f.path for f in self.files)


def read(text: str) -> ReadDiff:
    """The diff's files as libgit2 reads them. Raises DiffError when libgit2 cannot read all of it."""
    pieces = split(text)
    try:
        parsed = pygit2.Diff.parse_diff(pieces.text)
    except (pygit2.GitError, KeyError, ValueError) as exc:
        raise DiffError(f"git cannot read the diff: {exc}") from None
    if len(parsed) != len(pieces.files):
        raise DiffError(f"git reads {len(parsed)} file(s) in the diff, but it has {len(pieces.files)} file sections")
    files = tuple(_change(patch, piece) for patch, piece in zip(parsed, pieces.files, strict=True))
    seen: set[str] = set()
    for f in files:
        if f.path in seen:
            raise DiffError(f"{f.path} appears twice in the diff; give all its hunks in one section")
        seen.add(f.path)
    return ReadDiff(pieces.text, pieces, files)


def _change(patch: pygit2.Patch, piece: FileText) -> FileChange:
    delta = patch.delta
    if len(patch.hunks) != len(piece.hunks):
        raise DiffError(f"{piece.path}: git reads {len(patch.hunks)} hunk(s) where the diff has {len(piece.hunks)}")
    hunks = tuple(
        HunkChange(
            header=text.header,
            old_start=hunk.old_start,
            old_count=hunk.old_lines,
            new_start=hunk.new_start,
            new_count=hunk.new_lines,
            old_lines=tuple(_bare(line.content) for line in hunk.lines if line.origin in (" ", "-")),
            removed=tuple(_bare(line.content) for line in hunk.lines if line.origin == "-"),
            added=tuple(_bare(line.content) for line in hunk.lines if line.origin == "+"),
        )
        for hunk, text in zip(patch.hunks, piece.hunks, strict=True)
    )
    status = {
        DeltaStatus.ADDED: "added",
        DeltaStatus.DELETED: "deleted",
        DeltaStatus.RENAMED: "renamed",
        DeltaStatus.COPIED: "copied",
    }.get(delta.status, "modified")
    sizes = [int(m.group(1)) for line in piece.header if (m := _BINARY_SIZE.match(line.rstrip("\n")))]
    return FileChange(
        old_path=None if status == "added" else delta.old_file.path,
        new_path=None if status == "deleted" else delta.new_file.path,
        status=status,
        old_mode=int(delta.old_file.mode),
        new_mode=int(delta.new_file.mode),
        binary=delta.is_binary,
        binary_size=max(sizes) if sizes else None,
        hunks=hunks,
        written_paths=piece.written_paths,
    )


def _bare(content: str) -> str:
    return content.removesuffix("\n").removesuffix("\r")


def split(text: str) -> DiffText:
    """The diff's files and hunks in git's form. Raises DiffError when no file change can be found."""
    if not isinstance(text, str) or not text.strip():
        raise DiffError("the diff is empty")
    if "\0" in text:
        raise DiffError("the diff contains a NUL byte")
    lines = text.splitlines(keepends=True)
    if all(line.endswith("\r\n") for line in lines[:-1]) and lines[-1].rstrip("\n").endswith("\r"):
        # a diff carried with CRLF line ends (a Windows editor, a mail client): the files have LF
        lines = [line.removesuffix("\r\n").removesuffix("\n") + "\n" for line in lines]
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    files: list[FileText] = []
    header: list[str] | None = None
    hunks: list[HunkText] = []
    hunk: list[str] | None = None
    old_left = new_left = 0
    has_git_line = False

    def finish_file() -> None:
        nonlocal header, hunks
        if header is not None:
            files.append(FileText(_path_of(header), tuple(header), tuple(hunks), _written_paths(header)))
        header, hunks = None, []

    def finish_hunk() -> None:
        nonlocal hunk
        if hunk is not None:
            hunks.append(HunkText(hunk[0].rstrip("\r\n"), tuple(hunk)))
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
                raise DiffError(f"hunk {hunk[0].strip()!r} ends early at line {i + 1}: {line.rstrip()!r}")
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
            if old == new == _NULL:
                raise DiffError(f"line {i + 1}: both sides are /dev/null")
            if header is None or not has_git_line or hunks:
                finish_file()
                header = _git_line(old, new)
            header += [f"--- {old}\n", f"+++ {new}\n"]
            has_git_line = False
            i += 1
        elif (match := HUNK_HEADER.match(line)) and header is not None:
            finish_hunk()
            old_left = int(match.group(2) or "1")
            new_left = int(match.group(4) or "1")
            hunk = [line]
        elif header is not None and hunk is None and not hunks:
            header.append(line)  # extended headers: index, modes, renames, binary data
        # anything else is text around the diff, which means nothing to git
        i += 1
    if hunk is not None and (old_left > 0 or new_left > 0):
        raise DiffError(f"hunk {hunk[0].strip()!r} is cut short at the end of the diff")
    finish_hunk()
    if header is not None and "GIT binary patch\n" in header and header[-1] != "\n":
        header.append("\n")  # the blank line that closes binary data, lost when the text was trimmed
    finish_file()
    if not files:
        raise DiffError("no file change found in the diff (expected '--- a/…' and '+++ b/…' lines)")
    return DiffText(tuple(files))


def _header_path(raw: str, prefix: str) -> str:
    path = raw.rstrip("\r\n").split("\t", 1)[0].strip()
    if path.startswith('"') and path.endswith('"'):
        return path  # git's quoted form; libgit2 reads it as is
    if path == _NULL or path.startswith(("a/", "b/")):
        return path
    # An absolute path gets its prefix too: libgit2 then drops the slash, but the path as written is
    # kept (`written_paths`) and the path check refuses it.
    return prefix + path


def _git_line(old: str, new: str) -> list[str]:
    if old == _NULL:
        return [f"diff --git {_swap_prefix(new, 'a/')} {new}\n", "new file mode 100644\n"]
    if new == _NULL:
        return [f"diff --git {old} {_swap_prefix(old, 'b/')}\n", "deleted file mode 100644\n"]
    return [f"diff --git {old} {new}\n"]


def _swap_prefix(path: str, prefix: str) -> str:
    if path.startswith('"'):
        return '"' + prefix + path[3:]
    return prefix + path[2:]


def _written_paths(header: list[str]) -> tuple[str, ...]:
    paths: list[str] = []
    for line in header:
        raw = line.rstrip("\r\n")
        for lead, prefix in (("--- ", "a/"), ("+++ ", "b/")):
            if raw.startswith(lead):
                path = unquote(raw[4:].split("\t", 1)[0].strip())
                if path != _NULL:
                    paths.append(path.removeprefix(prefix))
        for lead in ("rename from ", "rename to ", "copy from ", "copy to "):
            if raw.startswith(lead):
                paths.append(unquote(raw[len(lead) :]))
    return tuple(dict.fromkeys(paths))


def unquote(path: str) -> str:
    """A path in git's C-style quoting (`"a/caf\\303\\251.txt"`) as text; an unquoted path as it is."""
    if not (len(path) >= 2 and path[0] == path[-1] == '"'):
        return path
    body, out, i = path[1:-1], bytearray(), 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in "0123":
                out.append(int(body[i + 1 : i + 4], 8))
                i += 4
                continue
            out.append(_ESCAPES.get(nxt, ord(nxt)))
            i += 2
            continue
        out += ch.encode()
        i += 1
    return out.decode("utf-8", errors="replace")


def _path_of(header: list[str]) -> str:
    written = _written_paths(header)
    if written:
        plus = [line for line in header if line.startswith("+++ ") and line[4:].strip() != _NULL]
        if plus:
            return unquote(plus[0][4:].rstrip("\r\n").split("\t", 1)[0].strip()).removeprefix("b/")
        return written[-1]
    for line in header:
        if line.startswith("diff --git "):
            return unquote(line.rstrip("\r\n").rsplit(" ", 1)[-1]).removeprefix("b/")
    return "?"

"""Reading a model's unified diff strictly, and writing it back in the one form the rest of WAVE reads.

The model may leave out the `diff --git` line or the a/ b/ prefixes and may drop the space of an empty
context line; anything else that is not a diff is an error the model is told about, so it can answer
again. `render` gives the canonical git form (`diff --git`, file modes, a/ b/ prefixes), which is what
`ChangeProposed.diff` carries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

NULL = "/dev/null"
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$")
_ALLOWED_EXTENDED = ("index ", "new file mode ", "deleted file mode ", "old mode ", "new mode ")
_REFUSED_EXTENDED = {
    "rename from ": "renames are not supported: delete the old file and add the new one",
    "rename to ": "renames are not supported: delete the old file and add the new one",
    "copy from ": "copies are not supported: add the new file",
    "copy to ": "copies are not supported: add the new file",
    "similarity index ": "renames are not supported: delete the old file and add the new one",
    "dissimilarity index ": "renames are not supported: delete the old file and add the new one",
    "Binary files ": "binary changes are not supported",
    "GIT binary patch": "binary changes are not supported",
}


class DiffError(ValueError):
    """The text is not a diff WAVE can use; the message says what to correct."""


class UnsafePathError(DiffError):
    """A path that would land outside the repository's files (absolute, `..`, `.git`)."""


@dataclass(frozen=True)
class Hunk:
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    section: str  # text after the second @@
    lines: tuple[str, ...]  # each starts with ' ', '-', '+' or '\\', without its line end

    @property
    def header(self) -> str:
        return f"@@ -{self.old_start},{self.old_count} +{self.new_start},{self.new_count} @@{self.section}"

    @property
    def old_lines(self) -> tuple[str, ...]:
        return tuple(line[1:] for line in self.lines if line[:1] in (" ", "-"))


@dataclass(frozen=True)
class FilePatch:
    old_path: str | None  # None for a new file
    new_path: str | None  # None for a deleted file
    hunks: tuple[Hunk, ...]
    new_mode: str = "100644"  # for a new file
    old_mode: str | None = None  # for a deleted file, when the diff says it

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or ""

    @property
    def kind(self) -> str:
        return "add" if self.old_path is None else "delete" if self.new_path is None else "modify"


@dataclass(frozen=True)
class UnifiedDiff:
    files: tuple[FilePatch, ...]

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(f.path for f in self.files)


def parse_diff(text: str) -> UnifiedDiff:
    """The diff's files and hunks. Raises DiffError (UnsafePathError for paths) naming the line at fault."""
    if not isinstance(text, str) or not text.strip():
        raise DiffError("the diff is empty")
    if "\0" in text:
        raise DiffError("the diff contains a NUL byte")
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    files: list[FilePatch] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        if line.startswith("diff --git ") or line.startswith("--- "):
            patch, i = _read_file(lines, i)
            if patch.path in {f.path for f in files}:
                raise DiffError(f"{patch.path} appears twice in the diff; give all its hunks in one section")
            files.append(patch)
            continue
        raise DiffError(f"line {i + 1} is not part of a unified diff: {line[:120]!r}")
    if not files:
        raise DiffError("no file change found (expected '--- a/<path>' and '+++ b/<path>' lines)")
    return UnifiedDiff(tuple(files))


def _read_file(lines: list[str], i: int) -> tuple[FilePatch, int]:
    start = i
    new_mode: str | None = None
    old_mode: str | None = None
    if lines[i].startswith("diff --git "):
        i += 1
        while i < len(lines) and not lines[i].startswith(("--- ", "diff --git ", "@@")):
            extended = lines[i]
            for prefix, why in _REFUSED_EXTENDED.items():
                if extended.startswith(prefix):
                    raise DiffError(f"line {i + 1}: {why}")
            if not extended.startswith(_ALLOWED_EXTENDED):
                raise DiffError(f"line {i + 1}: unexpected header line {extended[:120]!r}")
            if extended.startswith("new file mode "):
                new_mode = extended.removeprefix("new file mode ").strip()
            elif extended.startswith("deleted file mode "):
                old_mode = extended.removeprefix("deleted file mode ").strip()
            i += 1
    if i >= len(lines) or not lines[i].startswith("--- "):
        raise DiffError(f"line {start + 1}: a file section needs '--- a/<path>' then '+++ b/<path>'")
    if i + 1 >= len(lines) or not lines[i + 1].startswith("+++ "):
        raise DiffError(f"line {i + 1}: '---' must be followed by a '+++ b/<path>' line")
    old_raw, new_raw = _header_path(lines[i][4:]), _header_path(lines[i + 1][4:])
    old_path, new_path = _strip_prefixes(old_raw, new_raw, i + 1)
    if old_path is None and new_path is None:
        raise DiffError(f"line {i + 1}: both sides are /dev/null")
    if old_path is not None and new_path is not None and old_path != new_path:
        raise DiffError(
            f"line {i + 1}: {old_path} becomes {new_path}; renames are not supported, delete and add instead"
        )
    for path in (old_path, new_path):
        if path is not None:
            check_path(path)
    for mode in (new_mode, old_mode):
        if mode is not None and mode not in ("100644", "100755"):
            raise DiffError(f"file mode {mode} is not supported (only 100644 and 100755)")
    i += 2
    hunks: list[Hunk] = []
    while i < len(lines) and lines[i].startswith("@@"):
        hunk, i = _read_hunk(lines, i)
        hunks.append(hunk)
    if not hunks:
        raise DiffError(f"{new_path or old_path}: the file section has no hunk ('@@ -a,b +c,d @@')")
    return FilePatch(old_path, new_path, tuple(hunks), new_mode=new_mode or "100644", old_mode=old_mode), i


def _read_hunk(lines: list[str], i: int) -> tuple[Hunk, int]:
    match = _HUNK.match(lines[i])
    if match is None:
        raise DiffError(f"line {i + 1}: malformed hunk header {lines[i][:120]!r} (expected '@@ -a,b +c,d @@')")
    old_start, new_start = int(match.group(1)), int(match.group(3))
    old_count = int(match.group(2)) if match.group(2) is not None else 1
    new_count = int(match.group(4)) if match.group(4) is not None else 1
    header_line = i + 1
    old_left, new_left = old_count, new_count
    body: list[str] = []
    i += 1
    while old_left > 0 or new_left > 0:
        if i >= len(lines):
            raise DiffError(
                f"hunk at line {header_line} is cut short: {old_left} old and {new_left} new line(s) missing "
                "(the counts in its @@ header must match its lines)"
            )
        line = lines[i]
        kind = line[:1]
        if line == "":
            line, kind = " ", " "  # an empty context line whose leading space was trimmed
        if kind == " ":
            old_left, new_left = old_left - 1, new_left - 1
        elif kind == "-":
            old_left -= 1
        elif kind == "+":
            new_left -= 1
        elif kind == "\\":
            body.append(line)
            i += 1
            continue
        else:
            raise DiffError(
                f"hunk at line {header_line}: line {i + 1} {line[:80]!r} does not start with ' ', '-' or '+' "
                "(or the counts in the @@ header are wrong)"
            )
        if old_left < 0 or new_left < 0:
            raise DiffError(f"hunk at line {header_line}: it has more lines than its @@ header counts")
        body.append(line)
        i += 1
    while i < len(lines) and lines[i].startswith("\\"):
        body.append(lines[i])  # "\ No newline at end of file" after the last line
        i += 1
    if not any(line[:1] in ("-", "+") for line in body):
        raise DiffError(f"hunk at line {header_line} changes nothing")
    return Hunk(old_start, old_count, new_start, new_count, match.group(5), tuple(body)), i


def _header_path(raw: str) -> str:
    path = raw.split("\t", 1)[0].strip()
    if path.startswith('"'):
        raise DiffError(f"quoted path {path} is not supported; use plain ASCII paths without special characters")
    return path


def _strip_prefixes(old: str, new: str, line_no: int) -> tuple[str | None, str | None]:
    real = [p for p in (old, new) if p != NULL]
    prefixed = (old == NULL or old.startswith("a/")) and (new == NULL or new.startswith("b/"))
    if prefixed:
        return (None if old == NULL else old[2:]), (None if new == NULL else new[2:])
    if any(p.startswith(("a/", "b/")) for p in real) and len(real) == 2:
        raise DiffError(f"line {line_no}: use 'a/<path>' on the --- line and 'b/<path>' on the +++ line")
    return (None if old == NULL else old), (None if new == NULL else new)


def check_path(path: str) -> None:
    """Refuse a path that is not a plain relative path among the repository's files."""
    if not path:
        raise UnsafePathError("empty path")
    if any(ord(ch) < 32 for ch in path):
        raise UnsafePathError(f"{path!r}: control characters in a path")
    if path.startswith("/") or "\\" in path or re.match(r"^[A-Za-z]:", path) or path.startswith("~"):
        raise UnsafePathError(f"{path!r}: absolute or non-POSIX path; paths must be relative to the repository root")
    parts = PurePosixPath(path).parts
    if ".." in parts or "." in path.split("/") or "" in path.split("/"):
        raise UnsafePathError(f"{path!r}: '.' and '..' are not allowed; paths must stay inside the repository")
    if any(part.lower() == ".git" for part in parts):
        raise UnsafePathError(f"{path!r}: files under .git are not part of the repository's files")


def render(diff: UnifiedDiff) -> str:
    """The diff in canonical git form, ending with a newline."""
    out: list[str] = []
    for f in diff.files:
        path = f.path
        out.append(f"diff --git a/{path} b/{path}")
        if f.kind == "add":
            out.append(f"new file mode {f.new_mode}")
        elif f.kind == "delete":
            out.append(f"deleted file mode {f.old_mode or '100644'}")
        out.append(f"--- {'a/' + path if f.old_path is not None else NULL}")
        out.append(f"+++ {'b/' + path if f.new_path is not None else NULL}")
        for hunk in f.hunks:
            out.append(hunk.header)
            out.extend(hunk.lines)
    return "\n".join(out) + "\n"


def with_old_modes(diff: UnifiedDiff, modes: dict[str, str]) -> UnifiedDiff:
    """The diff with each deleted file's mode taken from the repository (`modes`: path -> octal mode)."""
    files = tuple(
        FilePatch(f.old_path, f.new_path, f.hunks, f.new_mode, modes.get(f.path, f.old_mode))
        if f.kind == "delete"
        else f
        for f in diff.files
    )
    return UnifiedDiff(files)

"""Read-only access to a checkout, confined to its files, with bounded output: what the model's tools see.

A path is refused when it is absolute, contains `.` or `..` parts, names anything under `.git`, or
resolves (through a symbolic link) to a place outside the checkout. Symbolic links inside the checkout
are never followed by `search` and `list_directory` shows them as links.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import regex
from wave_diffs import UnsafePathError, check_path


class ToolError(Exception):
    """A tool request that cannot be served; the message goes back to the model."""


@dataclass(frozen=True)
class ViewLimits:
    read_chars: int = 24_000  # per read_file answer
    list_entries: int = 300  # per list_directory answer
    search_matches: int = 60  # per search answer
    search_line_chars: int = 200
    search_file_bytes: int = 1_000_000  # larger files are not searched
    tree_entries: int = 400  # in the prompt's file tree
    pattern_chars: int = 200
    search_seconds: float = 2.0  # a pattern that backtracks for longer is refused, not waited for


class RepositoryView:
    def __init__(self, root: str | os.PathLike[str], limits: ViewLimits | None = None) -> None:
        self.root = Path(root).resolve()
        self.limits = limits or ViewLimits()

    def resolve(self, path: str, *, allow_root: bool = False) -> Path:
        """The real path of `path` inside the checkout; raises ToolError when it is not a path in it."""
        if not isinstance(path, str):
            raise ToolError("path must be a string")
        cleaned = path.strip()
        if allow_root and cleaned in ("", ".", "./"):
            return self.root
        cleaned = cleaned.removeprefix("./").rstrip("/")
        try:
            check_path(cleaned)
        except UnsafePathError as exc:
            raise ToolError(str(exc)) from None
        candidate = self.root / cleaned
        real = candidate.resolve()
        if real != self.root and self.root not in real.parents:
            raise ToolError(f"{path!r} leads outside the repository (through a symbolic link)")
        return real

    def read_file(self, path: str, start_line: int | None = None, end_line: int | None = None) -> str:
        file = self.resolve(path)
        if not file.exists():
            raise ToolError(f"{path}: no such file")
        if not file.is_file():
            raise ToolError(f"{path}: not a file (use list_directory for directories)")
        data = file.read_bytes()
        if b"\0" in data[:8192]:
            raise ToolError(f"{path}: binary file ({len(data)} bytes)")
        lines = data.decode("utf-8", errors="replace").splitlines(keepends=True)
        first = max(1, int(start_line or 1))
        last = min(len(lines), int(end_line or len(lines)))
        if first > max(1, len(lines)):
            raise ToolError(f"{path} has {len(lines)} lines; start_line {first} is past its end")
        text = "".join(lines[first - 1 : last])
        note = ""
        if len(text) > self.limits.read_chars:
            text = text[: self.limits.read_chars]
            shown = text.count("\n")
            note = f"\n[truncated after line {first + shown - 1}; read further with start_line]"
        span = f"lines {first}-{last} of {len(lines)}" if (start_line or end_line) else f"{len(lines)} lines"
        return f"{path} ({span}):\n{text}{note}"

    def list_directory(self, path: str = ".") -> str:
        directory = self.resolve(path, allow_root=True)
        if not directory.is_dir():
            raise ToolError(f"{path}: no such directory")
        entries = []
        for entry in sorted(directory.iterdir(), key=lambda p: p.name):
            if entry.name == ".git":
                continue
            suffix = "@" if entry.is_symlink() else "/" if entry.is_dir() else ""
            entries.append(entry.name + suffix)
        shown = entries[: self.limits.list_entries]
        more = len(entries) - len(shown)
        label = "." if directory == self.root else directory.relative_to(self.root).as_posix()
        tail = f"\n[{more} more entries not shown]" if more else ""
        return f"{label}/ ({len(entries)} entries):\n" + "\n".join(shown) + tail

    def search(self, pattern: str, path: str = ".") -> str:
        if not isinstance(pattern, str) or not pattern:
            raise ToolError("pattern must be a non-empty string")
        if len(pattern) > self.limits.pattern_chars:
            raise ToolError(f"pattern is longer than {self.limits.pattern_chars} characters")
        try:
            compiled = regex.compile(pattern)
        except regex.error as exc:
            raise ToolError(f"pattern is not a valid regular expression: {exc}") from None
        # The model chooses the pattern: one that backtracks catastrophically must not hang the worker.
        deadline = time.monotonic() + self.limits.search_seconds
        base = self.resolve(path, allow_root=True)
        matches: list[str] = []
        total = 0
        for file in self._files(base):
            try:
                if file.stat().st_size > self.limits.search_file_bytes:
                    continue
                data = file.read_bytes()
            except OSError:
                continue
            if b"\0" in data[:8192]:
                continue
            for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
                try:
                    found = compiled.search(line, timeout=max(0.001, deadline - time.monotonic()))
                except TimeoutError:
                    raise ToolError(
                        f"pattern {pattern!r} took longer than {self.limits.search_seconds:g} s to search the "
                        "repository; use a simpler one"
                    ) from None
                if found:
                    total += 1
                    if len(matches) < self.limits.search_matches:
                        text = line.strip()[: self.limits.search_line_chars]
                        matches.append(f"{file.relative_to(self.root).as_posix()}:{number}: {text}")
        if not matches:
            return f"no match for {pattern!r}"
        more = f"\n[{total - len(matches)} more matches not shown]" if total > len(matches) else ""
        return f"{total} match(es) for {pattern!r}:\n" + "\n".join(matches) + more

    def file_tree(self) -> tuple[list[str], int]:
        """Every file's path (up to the limit) and how many there are in all."""
        paths = [f.relative_to(self.root).as_posix() for f in self._files(self.root)]
        return paths[: self.limits.tree_entries], len(paths)

    def exists(self, path: str) -> bool:
        try:
            return self.resolve(path).is_file()
        except ToolError:
            return False

    def _files(self, base: Path) -> Iterator[Path]:
        if base.is_file():
            yield base
            return
        for directory, dirs, files in os.walk(base, followlinks=False):
            dirs[:] = sorted(d for d in dirs if d != ".git" and not (Path(directory) / d).is_symlink())
            for name in sorted(files):
                file = Path(directory) / name
                if not file.is_symlink():
                    yield file

"""Unified diffs (git or plain): where each file lands, what kind of file it is, and what lines it gains."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from ..policy import SafetyPolicy
from ..rules import Finding
from .content import path_findings, text_findings

_DIFF_GIT = re.compile(r'^diff --git (?P<a>"[^"]*"|\S+) (?P<b>"[^"]*"|\S+)$')
_HUNK = re.compile(r"^@@ -\d+(?:,(?P<old>\d+))? \+\d+(?:,(?P<new>\d+))? @@")
_BINARY_LITERAL = re.compile(r"^(?:literal|delta) (\d+)$")
SYMLINK_MODE = "120000"


@dataclass
class FilePatch:
    old_path: str | None = None
    new_path: str | None = None
    new_mode: str | None = None
    binary_sizes: list[int] = field(default_factory=list)
    binary_unknown: bool = False
    added: list[str] = field(default_factory=list)

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or "?"


class MalformedDiff(ValueError):
    pass


def parse_diff(text: str) -> list[FilePatch]:
    """Split a unified diff into per-file patches; raises MalformedDiff when the structure is broken."""
    files: list[FilePatch] = []
    current: FilePatch | None = None
    lines = text.splitlines()
    i = 0
    in_binary = False
    while i < len(lines):
        line = lines[i]
        i += 1
        match = _DIFF_GIT.match(line)
        if match:
            current = FilePatch(
                old_path=_strip_prefix(_unquote(match.group("a")), "a/"),
                new_path=_strip_prefix(_unquote(match.group("b")), "b/"),
            )
            files.append(current)
            in_binary = False
            continue
        if line.startswith("--- ") and i < len(lines) and lines[i].startswith("+++ "):
            old = _header_path(line[4:], "a/")
            new = _header_path(lines[i][4:], "b/")
            i += 1
            if (
                current is None
                or current.added
                or (current.old_path and old and current.old_path != old and current.new_path != new)
            ):
                current = FilePatch()
                files.append(current)
            current.old_path = old if old != "/dev/null" else None
            current.new_path = new if new != "/dev/null" else None
            continue
        if current is None:
            if line.startswith("@@"):
                raise MalformedDiff("a hunk appears before any file header")
            continue
        if line.startswith(("new file mode ", "new mode ")):
            current.new_mode = line.rsplit(" ", 1)[1]
        elif line.startswith("deleted file mode "):
            current.new_path = None
        elif line.startswith(("rename to ", "copy to ")):
            current.new_path = line.split(" ", 2)[2]
        elif line.startswith(("rename from ", "copy from ")):
            current.old_path = line.split(" ", 2)[2]
        elif line == "GIT binary patch":
            in_binary = True
        elif in_binary and _BINARY_LITERAL.match(line):
            current.binary_sizes.append(int(_BINARY_LITERAL.match(line).group(1)))  # type: ignore[union-attr]
        elif line.startswith("Binary files ") and line.endswith(" differ"):
            current.binary_unknown = True
        elif line.startswith("@@"):
            hunk = _HUNK.match(line)
            if not hunk:
                raise MalformedDiff(f"unreadable hunk header {line[:60]!r}")
            old_left = int(hunk.group("old") or 1)
            new_left = int(hunk.group("new") or 1)
            while (old_left > 0 or new_left > 0) and i < len(lines):
                body = lines[i]
                if body.startswith("+"):
                    current.added.append(body[1:])
                    new_left -= 1
                elif body.startswith("-"):
                    old_left -= 1
                elif body.startswith(" ") or body == "":
                    old_left -= 1
                    new_left -= 1
                elif body.startswith("\\"):
                    pass
                else:
                    raise MalformedDiff(f"hunk for {current.path} ends early: {body[:60]!r}")
                i += 1
    if not files:
        raise MalformedDiff("no file headers (diff --git / --- +++) found")
    return files


def analyze_diff(
    text: str, policy: SafetyPolicy, withheld: tuple[tuple[str, int, str], ...] = ()
) -> list[Finding]:
    """Findings on a diff, read as written (secrets are judged on the original text). `withheld` names
    secrets the developer kept out of the proposal: each is a `diff.secret`, and with no diff left
    there is nothing else to read."""
    findings = [
        Finding("diff.secret", f"{path}:{line} gains a {kind}; the developer withheld the change")
        for path, line, kind in withheld
    ]
    if withheld and not text:
        return findings
    if len(text.encode()) > policy.max_diff_bytes:
        findings.append(
            Finding(
                "diff.too_large",
                f"diff is {len(text.encode())} bytes; the policy allows {policy.max_diff_bytes}",
            )
        )
    try:
        files = parse_diff(text)
    except MalformedDiff as exc:
        return [*findings, Finding("diff.malformed", str(exc))]
    for patch in files:
        findings.extend(_file(patch, policy))
    return findings


def _file(patch: FilePatch, policy: SafetyPolicy) -> list[Finding]:
    findings: list[Finding] = []
    paths = [p for p in (patch.old_path, patch.new_path) if p]
    escaped = [p for p in paths if _escapes(p)]
    for path in dict.fromkeys(escaped):
        findings.append(Finding("diff.path_escape", f"{path} is outside the repository"))
    added_text = "\n".join(patch.added)
    for path in dict.fromkeys(p for p in paths if p not in escaped):
        findings.extend(
            path_findings("diff", posixpath.normpath(path), added_text if path == patch.new_path else "")
        )
    if patch.new_path is None:
        return findings  # a deletion adds no content
    if patch.new_mode == SYMLINK_MODE:
        target = patch.added[0] if patch.added else ""
        landing = posixpath.normpath(posixpath.join(posixpath.dirname(patch.new_path), target))
        if target.startswith(("/", "~")) or landing == ".." or landing.startswith("../"):
            findings.append(
                Finding("diff.symlink_escape", f"{patch.new_path} links to {target}, outside the repository")
            )
        else:
            findings.append(Finding("diff.symlink", f"{patch.new_path} is a symbolic link to {target}"))
        return findings
    for size in patch.binary_sizes:
        if size > policy.max_binary_bytes:
            findings.append(
                Finding(
                    "diff.binary_blob",
                    f"{patch.new_path} adds {size} bytes of binary; the policy allows {policy.max_binary_bytes}",
                )
            )
            break
    if patch.binary_unknown:
        findings.append(
            Finding(
                "diff.binary_blob", f"{patch.new_path} is binary of unknown size (no binary patch included)"
            )
        )
    if added_text:
        findings.extend(text_findings("diff", patch.new_path, added_text, policy))
    return findings


def _escapes(path: str) -> bool:
    if path.startswith(("/", "~")) or re.match(r"^[A-Za-z]:[\\/]", path):
        return True
    normed = posixpath.normpath(path.replace("\\", "/"))
    return normed == ".." or normed.startswith("../")


def _unquote(path: str) -> str:
    if len(path) >= 2 and path[0] == path[-1] == '"':
        return path[1:-1].encode().decode("unicode_escape")
    return path


def _strip_prefix(path: str, prefix: str) -> str:
    return path[len(prefix) :] if path.startswith(prefix) else path


def _header_path(raw: str, prefix: str) -> str:
    path = _unquote(raw.split("\t", 1)[0].strip())
    return path if path == "/dev/null" else _strip_prefix(path, prefix)

"""Writing one file: where the path lands relative to the worktree, what kind of file it is, what it holds."""

from __future__ import annotations

import posixpath

from ..policy import SafetyPolicy
from ..rules import Finding
from .content import path_findings, text_findings
from .paths import Place, classify, code_role, resolve, runs_code


def analyze_file_write(path: str, content: str, policy: SafetyPolicy, worktree: str = ".") -> list[Finding]:
    if not path.strip() or any(ord(c) < 32 or ord(c) == 127 for c in path):
        return [Finding("file.invalid_path", f"path {path!r} is empty or holds control characters")]
    resolved = resolve(path)
    place = classify(resolved, worktree)
    findings: list[Finding] = []
    if place is not Place.INSIDE:
        findings.append(Finding("file.outside_worktree", f"{resolved} is {place.value}"))
        if runs_code(resolved):
            findings.append(Finding("file.exec_dotfile", f"{resolved} {_as_clause(code_role(resolved))}"))
        relative = resolved
    else:
        relative = _relative(resolved, worktree)
        findings.extend(path_findings("file", relative, content))
    size = len(content.encode())
    if size > policy.max_diff_bytes:
        findings.append(
            Finding(
                "file.too_large",
                f"{relative} content is {size} bytes; the analyser reads at most {policy.max_diff_bytes}: "
                "too large to analyse",
            )
        )
    elif content:
        findings.extend(text_findings("file", relative, content, policy))
    return findings


def _as_clause(role: str) -> str:
    """`code_role`'s words as a predicate: "shells run automatically" -> "is a file shells run automatically"."""
    return role if role.startswith(("is ", "decides", "starts")) else f"is a file {role}"


def _relative(path: str, worktree: str) -> str:
    if worktree.startswith("/") and path.startswith("/"):
        return posixpath.relpath(path, posixpath.normpath(worktree))
    return posixpath.normpath(path)

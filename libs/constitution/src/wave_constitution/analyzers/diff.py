"""Unified diffs (git or plain), read by the shared reader gitops applies with: where each file lands,
what kind of file it is, and what lines it gains."""

from __future__ import annotations

import wave_diffs

from ..policy import SafetyPolicy
from ..rules import Finding
from .content import path_findings, text_findings
from .weakening import weakening_findings


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
                f"diff is {len(text.encode())} bytes; the policy allows {policy.max_diff_bytes}: "
                "too large to analyse",
            )
        )
        return findings
    try:
        files = wave_diffs.read(text).files
    except wave_diffs.DiffError as exc:
        return [*findings, Finding("diff.malformed", str(exc))]
    for patch in files:
        findings.extend(_file(patch, policy))
    findings.extend(weakening_findings(files, policy))
    return findings


def _file(patch: wave_diffs.FileChange, policy: SafetyPolicy) -> list[Finding]:
    """One file as gitops would apply it: the paths and lines libgit2 reads, judged by the shared check."""
    findings: list[Finding] = []
    escaped = set()
    for path in patch.paths:
        problem = wave_diffs.path_problem(path)
        if problem is not None and problem.kind != "git":  # .git paths are `diff.git_dir`, below
            escaped.add(path)
            findings.append(Finding("diff.path_escape", problem.reason))
    added_text = patch.added_text
    for path in (p for p in (patch.old_path, patch.new_path) if p and p not in escaped):
        findings.extend(path_findings("diff", path, added_text if path == patch.new_path else ""))
    if patch.new_path is None:
        return findings  # a deletion adds no content
    if patch.new_mode == wave_diffs.LINK_MODE:
        target = added_text.strip()
        if wave_diffs.link_escapes(patch.new_path, target):
            findings.append(
                Finding("diff.symlink_escape", f"{patch.new_path} links to {target}, outside the repository")
            )
        else:
            findings.append(Finding("diff.symlink", f"{patch.new_path} is a symbolic link to {target}"))
        return findings
    if patch.binary_size is not None and patch.binary_size > policy.max_binary_bytes:
        findings.append(
            Finding(
                "diff.binary_blob",
                f"{patch.new_path} adds {patch.binary_size} bytes of binary; the policy allows {policy.max_binary_bytes}",
            )
        )
    if patch.binary and patch.binary_size is None:
        findings.append(
            Finding(
                "diff.binary_blob", f"{patch.new_path} is binary of unknown size (no binary patch included)"
            )
        )
    if added_text:
        findings.extend(text_findings("diff", patch.new_path, added_text, policy))
    return findings

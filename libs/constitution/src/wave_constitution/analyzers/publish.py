"""Pushes and merges: where a branch is published, and whether that branch is a shared one."""

from __future__ import annotations

from fnmatch import fnmatch

from ..policy import SafetyPolicy
from ..rules import Finding
from .git import is_shared
from .network import host_of_remote_path, is_loopback


def analyze_push(remote: str, branch: str, policy: SafetyPolicy) -> list[Finding]:
    findings = remote_findings(remote, "push", policy)
    if is_shared(branch, policy):
        findings.append(Finding("git.push_shared", f"push straight to the shared branch {branch!r}"))
    return findings


def analyze_merge(branch: str, target: str, remote: str, policy: SafetyPolicy) -> list[Finding]:
    # The merge itself comes after the merge review, so landing on a shared branch is what was approved;
    # where the result is published is still the policy's to say.
    return remote_findings(remote, "merge", policy) if remote else []


def remote_findings(remote: str, what: str, policy: SafetyPolicy) -> list[Finding]:
    findings: list[Finding] = []
    host = host_of_remote_path(remote)  # None for a path on this machine
    if host and not is_loopback(host) and not policy.host_allowed(host):
        findings.append(Finding("git.remote_egress", f"{what} to {host}, which is not on the egress allowlist"))
    if policy.push_remotes and not any(fnmatch(remote, pattern) for pattern in policy.push_remotes):
        findings.append(Finding("git.push_remote", f"{what} to {remote}, which the policy's push_remotes does not list"))
    return findings

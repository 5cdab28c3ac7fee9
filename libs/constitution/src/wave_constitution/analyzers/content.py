"""Checks on a file's new content, shared by the diff and file_write analyzers: credentials, and the
shell or SQL a script or migration would run once QA executes the repository."""

from __future__ import annotations

import posixpath
import re

from wave_events.redaction import redact

from ..policy import SafetyPolicy
from ..rules import Finding
from .paths import EXEC_DOTFILES, in_git_dir, is_ci_file, is_credential_file, is_package_config
from .secrets import high_entropy_tokens, secret_kinds

LOCKFILES = frozenset(
    {
        "package-lock.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "poetry.lock",
        "Pipfile.lock",
        "uv.lock",
        "Cargo.lock",
        "go.sum",
        "composer.lock",
        "Gemfile.lock",
        "flake.lock",
        "bun.lockb",
        "pdm.lock",
        "mix.lock",
    }
)
_NPMRC_TOKEN = re.compile(r"(?i)(_authToken|_auth|_password)\s*=")
_INDEX_SETTING = re.compile(
    r"(?i)^\s*[\"']?(?:[\w@:/.-]*registry|index-url|extra-index-url|index_url|find-links|trusted-host|url|npmRegistryServer|channels|source|mirror)[\"']?\s*[=:]\s*(.*)$"
)
_URL_HOST = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*)://(?:[^@/\s]*@)?\[?([^/:\]\s\"'?#]+)")
_SCRIPT_SUFFIXES = (".sh", ".bash", ".zsh", ".ksh")
# Findings about the fragment itself, not about what it does: a diff shows pieces of a script.
_FRAGMENT_NOISE = frozenset(
    {"shell.unparseable", "shell.dynamic_command", "shell.too_deep", "sql.unparseable", "sql.unrecognised"}
)


def path_findings(family: str, path: str, added_text: str) -> list[Finding]:
    """Rules on where a file lives; `path` is relative to the repository root."""
    findings: list[Finding] = []
    name = posixpath.basename(path)
    if in_git_dir(path):
        findings.append(Finding(f"{family}.git_dir", f"{path} is inside .git/"))
    if is_ci_file(path):
        findings.append(Finding(f"{family}.ci_file", f"{path} is CI configuration"))
    if is_credential_file(path):
        findings.append(Finding(f"{family}.credential_file", f"{path} is a credential file"))
    elif name == ".npmrc" and _NPMRC_TOKEN.search(added_text):
        findings.append(Finding(f"{family}.credential_file", f"{path} gains a registry token"))
    if name in EXEC_DOTFILES:
        findings.append(Finding(f"{family}.exec_dotfile", f"{path} is run by shells automatically"))
    return findings


def text_findings(family: str, path: str, text: str, policy: SafetyPolicy) -> list[Finding]:
    """Rules on new content: credentials by pattern and entropy, and embedded shell or SQL."""
    findings: list[Finding] = []
    for hit in secret_kinds(text):
        rule = f"{family}.possible_secret" if hit.generic else f"{family}.secret"
        findings.append(Finding(rule, f"{path} gains a {hit.kind}"))
    if posixpath.basename(path) not in LOCKFILES:
        tokens = high_entropy_tokens(redact(text))  # a token a pattern already named is not counted twice
        if tokens:
            length, bits = max(tokens, key=lambda t: t[1])
            more = f" (and {len(tokens) - 1} more)" if len(tokens) > 1 else ""
            findings.append(
                Finding(
                    f"{family}.possible_secret",
                    f"{path} gains a random-looking {length}-character token ({bits} bits/char){more}",
                )
            )
    if is_package_config(path):
        findings.extend(_package_index(family, path, text, policy))
    findings.extend(_embedded(path, text, policy))
    return findings


def _package_index(family: str, path: str, text: str, policy: SafetyPolicy) -> list[Finding]:
    """A package manager's configuration pointed at a host off the allowlist, or at plain http."""
    for line in text.splitlines():
        setting = _INDEX_SETTING.match(line)
        if setting is None:
            continue
        for scheme, host in _URL_HOST.findall(setting.group(1)):
            host = host.lower()
            if host in ("localhost", "127.0.0.1", "::1"):
                continue
            if scheme.lower() == "http" or not policy.host_allowed(host):
                why = "over plain http" if scheme.lower() == "http" else "off the egress allowlist"
                return [Finding(f"{family}.package_index", f"{path} points a package manager at {host} ({why})")]
        if "trusted-host" in line.lower():
            return [Finding(f"{family}.package_index", f"{path} turns off TLS checks for a package index")]
    return []


def _embedded(path: str, text: str, policy: SafetyPolicy) -> list[Finding]:
    from .shell import analyze_shell
    from .sql import analyze_sql

    name = posixpath.basename(path)
    found: list[Finding] = []
    commands: list[str] = []
    if (
        name.endswith(_SCRIPT_SUFFIXES)
        or text.startswith("#!/bin/sh")
        or text.startswith("#!/bin/bash")
        or text.startswith("#!/usr/bin/env bash")
    ):
        commands = [text]
    elif name in ("Makefile", "makefile", "GNUmakefile") or name.endswith(".mk"):
        commands = [line[1:].lstrip("@-+ ") for line in text.splitlines() if line.startswith("\t")]
    elif name == "Dockerfile" or name.endswith(".Dockerfile"):
        commands = [line.strip()[4:] for line in text.splitlines() if line.strip().upper().startswith("RUN ")]
    for command in commands:
        for finding in analyze_shell(command, policy).findings:
            if finding.rule not in _FRAGMENT_NOISE:
                found.append(Finding(finding.rule, f"in {path}: {finding.detail}"))
    if name.endswith(".sql"):
        for finding in analyze_sql(text):
            if finding.rule not in _FRAGMENT_NOISE:
                found.append(Finding(finding.rule, f"in {path}: {finding.detail}"))
    return found

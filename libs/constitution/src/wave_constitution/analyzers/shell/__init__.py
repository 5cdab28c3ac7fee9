"""Shell commands, parsed with bashlex and walked node by node.

Every simple command is found wherever it hides — pipelines, lists, subshells, functions, loops, command
and process substitution — then unwrapped (sudo, env, nohup, timeout, xargs, …) until the program that
really runs is known. Strings that become code (`sh -c`, `bash -c`, `eval`, `echo … | sh`) are parsed
again, recursively. Variables assigned a literal earlier in the script, and `$(echo …)`, are expanded so
spelling a command in pieces does not hide it. What cannot be known statically is reported, not guessed.

`walker.py` walks the syntax tree, `programs.py` holds one checker per program and the registry that
finds it, `options.py` the program families and the options that take a value.
"""

from __future__ import annotations

from ...policy import SafetyPolicy
from ..secrets import secret_kinds
from .programs import checker_for
from .walker import MAX_COMMAND_CHARS, ShellScan, Walker

__all__ = ["ShellScan", "analyze_shell"]


def analyze_shell(command: str, policy: SafetyPolicy, worktree: str = ".") -> ShellScan:
    walker = Walker(policy, worktree, checker_for)
    if len(command) > MAX_COMMAND_CHARS:
        walker.add(
            "shell.too_large",
            f"command is {len(command)} characters long; the analyser reads at most {MAX_COMMAND_CHARS}: "
            "too large to analyse",
        )
        return walker.scan
    for hit in secret_kinds(command):
        walker.add("shell.inline_secret", f"the command line contains a {hit.kind}")
    walker.script(command)
    return walker.scan

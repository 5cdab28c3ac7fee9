"""Rules for one git invocation (its arguments after `git`), shared by the shell and git analyzers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatch

from ..policy import SafetyPolicy
from ..rules import Finding
from .network import host_of_remote_path, host_of_url, is_loopback

Arg = str | None  # None: a word only known at run time

_GLOBAL_OPTIONS_WITH_VALUE = frozenset({"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--exec-path"})
_EXEC_CONFIG_KEYS = (
    "core.hookspath",
    "core.fsmonitor",
    "core.sshcommand",
    "core.pager",
    "core.editor",
    "core.askpass",
    "credential.helper",
    "diff.external",
    "sequence.editor",
    "gpg.program",
    "filter.*",
    "uploadpack.packobjectshook",
)
_NETWORK_SUBCOMMANDS = frozenset({"clone", "fetch", "pull", "push", "ls-remote", "archive"})


@dataclass
class GitContext:
    """What earlier commands in the same script told us: the branch checked out, if it was named."""

    branch: str | None = None


def is_shared(branch: str, policy: SafetyPolicy) -> bool:
    name = branch.removeprefix("refs/heads/").removeprefix("origin/").removeprefix("upstream/")
    return any(fnmatch(name, pattern) for pattern in policy.shared_branches)


def git_findings(args: Sequence[Arg], ctx: GitContext, policy: SafetyPolicy) -> list[Finding]:
    args = list(args)
    i = 0
    while i < len(args) and args[i] is not None and args[i].startswith("-"):  # type: ignore[union-attr]
        i += 2 if args[i] in _GLOBAL_OPTIONS_WITH_VALUE else 1
    if i >= len(args):
        return []
    sub, rest = args[i], args[i + 1 :]
    if sub is None:
        return [Finding("shell.dynamic_command", "git subcommand is only known at run time")]
    check = _SUBCOMMANDS.get(sub)
    findings = check(rest, ctx, policy) if check else []
    if sub in _NETWORK_SUBCOMMANDS or sub in ("remote", "submodule"):
        findings += _egress(sub, rest, policy)
    return findings


def _positionals(args: Sequence[Arg], with_value: frozenset[str] = frozenset()) -> list[Arg]:
    out: list[Arg] = []
    skip = False
    after_dashdash = False
    for arg in args:
        if skip:
            skip = False
            continue
        if after_dashdash or arg is None or not arg.startswith("-") or arg == "-":
            out.append(arg)
        elif arg == "--":
            after_dashdash = True
        elif arg in with_value:
            skip = True
    return out


def _flags(args: Sequence[Arg]) -> set[str]:
    flags: set[str] = set()
    for arg in args:
        if arg is None or not arg.startswith("-") or arg == "--":
            continue
        if arg.startswith("--"):
            flags.add(arg.split("=", 1)[0])
        else:
            flags.update("-" + c for c in arg[1:])
    return flags


def _push(args: Sequence[Arg], ctx: GitContext, policy: SafetyPolicy) -> list[Finding]:
    flags = _flags(args)
    positionals = _positionals(args, frozenset({"-o", "--push-option", "--repo", "--receive-pack", "--exec"}))
    refspecs = positionals[1:]
    forced = bool(flags & {"-f", "--force", "--force-with-lease", "--force-if-includes"})
    findings: list[Finding] = []
    if "--mirror" in flags:
        findings.append(Finding("git.force_push", "push --mirror overwrites every branch on the remote"))
    deleting = bool(flags & {"-d", "--delete"})
    if "--prune" in flags:
        findings.append(
            Finding("git.delete_shared_branch", "push --prune deletes remote branches missing locally")
        )
    targets: list[str] = []
    for spec in refspecs:
        if spec is None:
            targets.append("?")
            continue
        plus = spec.startswith("+")
        spec = spec.lstrip("+")
        src, _, dst = spec.partition(":")
        target = dst or src
        if spec.startswith(":") or deleting:
            if is_shared(target, policy):
                findings.append(
                    Finding("git.delete_shared_branch", f"push deletes the shared branch {target!r}")
                )
            continue
        if target in ("HEAD", "@") and ctx.branch:
            target = ctx.branch
        if plus:
            forced = True
        targets.append(target)
    if deleting:
        return findings
    if not targets:
        targets = [ctx.branch or "?"]
    for target in targets:
        known = target not in ("?", "HEAD", "@", "--all", "--tags")
        if forced:
            if not known or is_shared(target, policy):
                where = f"the shared branch {target!r}" if known else "a branch not named in the command"
                findings.append(Finding("git.force_push", f"force push to {where}"))
            else:
                findings.append(Finding("git.force_push_branch", f"force push to {target!r}"))
        elif known and is_shared(target, policy):
            findings.append(Finding("git.push_shared", f"push straight to the shared branch {target!r}"))
    if "--all" in flags and forced:
        findings.append(Finding("git.force_push", "force push of every branch"))
    return findings


def _rebase(args: Sequence[Arg], ctx: GitContext, policy: SafetyPolicy) -> list[Finding]:
    flags = _flags(args)
    if flags & {"--continue", "--abort", "--skip", "--quit", "--edit-todo"}:
        return []
    positionals = _positionals(
        args, frozenset({"--onto", "-s", "--strategy", "-X", "--strategy-option", "-x", "--exec"})
    )
    if "--root" in flags:
        return [Finding("git.history_rewrite", "rebase --root rewrites every commit of the branch")]
    rebased = positionals[1] if len(positionals) > 1 else ctx.branch
    if rebased is not None and is_shared(rebased, policy):
        return [Finding("git.history_rewrite", f"rebase rewrites the shared branch {rebased!r}")]
    return []


def _reset(args: Sequence[Arg], ctx: GitContext, policy: SafetyPolicy) -> list[Finding]:
    if "--hard" not in _flags(args):
        return []
    positionals = _positionals(args)
    ref = positionals[0] if positionals else "HEAD"
    if ctx.branch and is_shared(ctx.branch, policy):
        return [
            Finding(
                "git.reset_hard_shared", f"reset --hard to {ref!r} while on the shared branch {ctx.branch!r}"
            )
        ]
    return [Finding("git.reset_hard", f"reset --hard to {ref!r} discards work")]


def _branch(args: Sequence[Arg], ctx: GitContext, policy: SafetyPolicy) -> list[Finding]:
    flags = _flags(args)
    names = [
        a for a in _positionals(args, frozenset({"-u", "--set-upstream-to", "--contains", "--merged"})) if a
    ]
    findings: list[Finding] = []
    if flags & {"-d", "-D", "--delete"}:
        for name in names:
            if is_shared(name, policy):
                findings.append(
                    Finding("git.delete_shared_branch", f"branch delete of the shared branch {name!r}")
                )
    elif flags & {"-f", "--force", "-M", "-C"} and names:
        target = names[-1] if flags & {"-M", "-C"} else names[0]
        if is_shared(target, policy):
            findings.append(
                Finding(
                    "git.history_rewrite",
                    f"branch {'-f' if '-f' in flags else '-M'} moves the shared branch {target!r}",
                )
            )
    return findings


def _checkout(args: Sequence[Arg], ctx: GitContext, policy: SafetyPolicy) -> list[Finding]:
    flags = _flags(args)
    if "--" in args and args.index("--") == 0:
        return []
    positionals = _positionals(args, frozenset({"-b", "-B", "-c", "-C", "--orphan"}))
    for flag_with_branch in ("-b", "-B", "-c", "-C", "--orphan"):
        if flag_with_branch in args:
            index = args.index(flag_with_branch)
            if index + 1 < len(args):
                ctx.branch = args[index + 1]
                return []
    if positionals and positionals[0] is not None and not (flags & {"-p", "--patch"}):
        ctx.branch = positionals[0].removeprefix("origin/")
    return []


def _filter(args: Sequence[Arg], ctx: GitContext, policy: SafetyPolicy) -> list[Finding]:
    return [Finding("git.history_rewrite", "filter-branch/filter-repo rewrites the repository's history")]


def _reflog(args: Sequence[Arg], ctx: GitContext, policy: SafetyPolicy) -> list[Finding]:
    if args and args[0] in ("expire", "delete"):
        return [Finding("git.purge_history", f"reflog {args[0]} removes the record of earlier commits")]
    return []


def _gc(args: Sequence[Arg], ctx: GitContext, policy: SafetyPolicy) -> list[Finding]:
    if any(a is not None and a.startswith("--prune=now") for a in args) or "--prune=all" in args:
        return [Finding("git.purge_history", "gc --prune=now deletes unreachable commits at once")]
    return []


def _update_ref(args: Sequence[Arg], ctx: GitContext, policy: SafetyPolicy) -> list[Finding]:
    positionals = _positionals(args, frozenset({"-m"}))
    if positionals and positionals[0] is not None and is_shared(positionals[0], policy):
        verb = "deletes" if "-d" in _flags(args) else "moves"
        rule = "git.delete_shared_branch" if verb == "deletes" else "git.history_rewrite"
        return [Finding(rule, f"update-ref {verb} the shared branch {positionals[0]!r}")]
    return []


def _clean(args: Sequence[Arg], ctx: GitContext, policy: SafetyPolicy) -> list[Finding]:
    flags = _flags(args)
    if flags & {"-f", "--force"} and not flags & {"-n", "--dry-run"}:
        return [Finding("git.clean", "git clean -f deletes untracked files")]
    return []


def _config(args: Sequence[Arg], ctx: GitContext, policy: SafetyPolicy) -> list[Finding]:
    positionals = [
        a for a in _positionals(args, frozenset({"--file", "-f", "--blob", "--type"})) if a is not None
    ]
    if len(positionals) < 2:
        return []
    key, value = positionals[0].lower(), positionals[1]
    if any(fnmatch(key, pattern) for pattern in _EXEC_CONFIG_KEYS) or (
        key.startswith("alias.") and value.startswith("!")
    ):
        return [Finding("git.config_exec", f"git config {key} makes git run a program")]
    return []


def _egress(sub: str, args: Sequence[Arg], policy: SafetyPolicy) -> list[Finding]:
    findings: list[Finding] = []
    for arg in args:
        if arg is None or arg.startswith("-"):
            continue
        if "://" in arg:
            host = host_of_url(arg)
        elif "@" in arg.split(":", 1)[0] or "." in arg.split(":", 1)[0]:
            host = host_of_remote_path(arg)  # git@host:org/repo; a bare `a:b` is a refspec
        else:
            host = None
        if host and not is_loopback(host) and not policy.host_allowed(host):
            findings.append(
                Finding(
                    "git.remote_egress", f"git {sub} talks to {host}, which is not on the egress allowlist"
                )
            )
    return findings


_SUBCOMMANDS = {
    "push": _push,
    "rebase": _rebase,
    "reset": _reset,
    "branch": _branch,
    "checkout": _checkout,
    "switch": _checkout,
    "filter-branch": _filter,
    "filter-repo": _filter,
    "reflog": _reflog,
    "gc": _gc,
    "update-ref": _update_ref,
    "clean": _clean,
    "config": _config,
}

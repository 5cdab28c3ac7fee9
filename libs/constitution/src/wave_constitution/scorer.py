"""Score one action under a policy: pick the analyzer for its kind, combine the findings, and (for the
grey zone only) ask the judge if one is configured."""

from __future__ import annotations

import logging
import shlex

from .actions import Action, Diff, FileWrite, GitCommand, Merge, Push, ShellCommand, Sql
from .analyzers.diff import analyze_diff
from .analyzers.file_write import analyze_file_write
from .analyzers.publish import analyze_merge, analyze_push
from .analyzers.shell import analyze_shell
from .analyzers.sql import analyze_sql
from .judge import Judge, JudgeRuling, NoJudgeAvailable, judged_verdict
from .policy import SafetyPolicy
from .rules import Finding
from .scoring import SafetyVerdict, combine

log = logging.getLogger("wave.safety")


def findings_for(action: Action, policy: SafetyPolicy) -> list[Finding]:
    if isinstance(action, ShellCommand):
        return analyze_shell(action.command, policy, action.worktree).findings
    if isinstance(action, GitCommand):
        return _git_findings(action, policy)
    if isinstance(action, Diff):
        return analyze_diff(action.diff, policy, action.withheld)
    if isinstance(action, Sql):
        return analyze_sql(action.sql)
    if isinstance(action, FileWrite):
        return analyze_file_write(action.path, action.content, policy, action.worktree)
    if isinstance(action, Push):
        return analyze_push(action.remote, action.branch, policy)
    if isinstance(action, Merge):
        return analyze_merge(action.branch, action.target, action.remote, policy)
    raise TypeError(f"not a safety action: {type(action).__name__}")


def score(action: Action, policy: SafetyPolicy | None = None) -> SafetyVerdict:
    """The rule-based verdict: pure, deterministic, the same under the same policy version."""
    policy = policy or SafetyPolicy()
    return combine(findings_for(action, policy), policy)


async def assess(
    action: Action, policy: SafetyPolicy | None = None, judge: Judge | None = None
) -> SafetyVerdict:
    """`score`, then — when the rules escalate and a judge is configured — the judge's ruling combined
    with it (`judge.judged_verdict`)."""
    verdict = score(action, policy)
    if verdict.verdict != "escalate" or judge is None:
        return verdict
    try:
        ruling = await judge.review(action, verdict)
        if not isinstance(ruling, JudgeRuling):
            raise TypeError(f"judge returned {type(ruling).__name__}, not a JudgeRuling")
    except NoJudgeAvailable as exc:
        log.info("no safety judge to ask, the rules decide alone: %s", exc)
        return verdict
    except Exception as exc:  # the judge is advisory: its failure must not decide anything
        log.warning("safety judge failed, keeping escalate: %s", exc)
        return verdict.judged("escalate", f"judge unavailable ({type(exc).__name__}); a human decides")
    return judged_verdict(verdict, ruling, policy or SafetyPolicy())


def _git_findings(action: GitCommand, policy: SafetyPolicy) -> list[Finding]:
    command = action.command.strip()
    try:
        first = shlex.split(command)[0] if command else ""
    except ValueError:
        first = command.split()[0] if command.split() else ""
    if first != "git" and not first.endswith("/git"):
        command = "git " + command
    scan = analyze_shell(command, policy, action.worktree)
    others = sorted(scan.programs - {"git", "sudo", "env", "nohup", "time", "timeout"})
    findings = list(scan.findings)
    if others:
        findings.append(Finding("git.not_git", f"the git action also runs {', '.join(others)}"))
    return findings

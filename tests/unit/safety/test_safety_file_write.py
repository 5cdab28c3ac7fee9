"""File writes → rules and verdicts."""

import pytest
from wave_constitution import FileWrite, SafetyPolicy, score

POLICY = SafetyPolicy()


def judged(path: str, content: str = "", worktree: str = ".") -> tuple[set[str], str]:
    verdict = score(FileWrite(path, content, worktree), POLICY)
    return {v.rule for v in verdict.violations}, verdict.verdict


@pytest.mark.parametrize(
    ("path", "content", "rules", "verdict"),
    [
        ("/etc/hosts", "1.2.3.4 pypi.org", {"file.outside_worktree"}, "block"),
        ("../x.txt", "x", {"file.outside_worktree"}, "block"),
        ("~/.bashrc", "alias a=b", {"file.outside_worktree", "file.exec_dotfile"}, "block"),
        (".git/hooks/pre-commit", "#!/bin/sh\necho", {"file.git_dir"}, "block"),
        (".envrc", "export A=1", {"file.exec_dotfile"}, "escalate"),
        (".github/workflows/ci.yml", "on: push", {"file.ci_file"}, "escalate"),
        (".env", "DEBUG=1", {"file.credential_file"}, "escalate"),
        ("src/s.py", 'key = "sk-ant-api03-' + "Ab1Cd2Ef3Gh4Ij5Kl6Mn7" * 2 + '"', {"file.secret"}, "block"),
        ("scripts/x.sh", "#!/bin/bash\nrm -rf /", {"shell.rm_root"}, "block"),
        ("", "x", {"file.invalid_path"}, "escalate"),
        ("a\nb.py", "x", {"file.invalid_path"}, "escalate"),
        ("src/app.py", "print('hi')\n", set(), "allow"),
        ("./docs/readme.md", "# Hi", set(), "allow"),
        (".env.example", "API_KEY=changeme", set(), "allow"),
    ],
)
def test_file_write_rules(path: str, content: str, rules: set[str], verdict: str) -> None:
    assert judged(path, content) == (rules, verdict)


def test_an_absolute_path_is_judged_against_the_given_worktree() -> None:
    assert judged("/work/repo/src/a.py", "x", worktree="/work/repo") == (set(), "allow")
    assert judged("/work/repo/.github/workflows/a.yml", "x", worktree="/work/repo") == (
        {"file.ci_file"},
        "escalate",
    )
    assert judged("/work/other/a.py", "x", worktree="/work/repo") == ({"file.outside_worktree"}, "block")

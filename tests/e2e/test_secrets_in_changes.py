"""A developer's change as a user runs it (`wave run`, embedded, scripted model): a change holding a real
key is never committed and leaves no trace of the key in the store; a change whose tests use placeholder
tokens and fixture passwords is committed and merged exactly as the developer wrote it."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest
from e2e_stories import run_story
from secret_samples import anthropic_key

STORY = "Add auth_header(token) to textkit/auth.py, returning the Bearer header, with tests.\n"
AUTH = (
    "def auth_header(token: str) -> str:\n"
    '    """The HTTP Authorization header value for `token`."""\n'
    '    return f"Bearer {token}"\n'
)
TEST_AUTH = (
    "from textkit.auth import auth_header\n"
    "\n"
    'password = "hunter2"\n'
    'token = "test-token"\n'
    "\n"
    "\n"
    "def test_auth_header_is_a_bearer_header():\n"
    '    assert auth_header("placeholder-token-1234") == "Bearer placeholder-token-1234"\n'
    "\n"
    "\n"
    "def test_fixture_credentials_pass_through():\n"
    '    assert (password, token) == ("hunter2", "test-token")\n'
)


def _new_file(path: str, content: str) -> str:
    lines = content.splitlines()
    added = "".join(f"+{line}\n" for line in lines)
    return (
        f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n"
        f"@@ -0,0 +1,{len(lines)} @@\n{added}"
    )


def _stored_files(home: Path) -> list[Path]:
    """The event store and the blobs its events point to."""
    return [p for p in home.rglob("*") if p.is_file() and (p.name.startswith("wave.db") or "blob" in str(p))]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_change_holding_a_real_key_is_blocked_never_committed_and_not_stored(tmp_path):
    key = anthropic_key(7)
    diff = _new_file("textkit/config.py", f'import os\n\nAPI_KEY = "{key}"\n')
    run = run_story(tmp_path, STORY, diff)
    home, repo = run.home, run.repo
    assert run.done.returncode == 1, run.output
    assert "diff.secret" in run.output

    events = run.events()
    proposal = next(e["payload"] for e in events if e["type"] == "ChangeProposed")
    assert proposal["diff"] == ""
    assert proposal["withheld"] == [{"path": "textkit/config.py", "line": 3, "kind": "anthropic-key"}]
    scored = next(e["payload"] for e in events if e["type"] == "ActionScored")
    assert scored["verdict"] == "block"
    assert [(v["rule"], v["principle"]) for v in scored["violations"]] == [("diff.secret", "never_expose_secrets")]
    assert not [e for e in events if e["type"] == "ChangeCommitted"]
    ended, summarized = events[-2:]
    assert ended["type"] == "RunBlocked" and "diff.secret" in ended["payload"]["reason"]
    assert summarized["type"] == "RunSummarized" and summarized["payload"]["outcome"] == "blocked"

    stored = _stored_files(home)
    assert any(p.name == "wave.db" for p in stored)
    for path in stored:
        data = path.read_bytes()
        assert key.encode() not in data and key[13:60].encode() not in data, path
    for commit in repo.walk(repo.head.target):
        assert "config.py" not in [entry.name for entry in commit.tree / "textkit"]
    for branch in repo.branches.local:
        tree = repo.revparse_single(branch).peel(pygit2.Tree)
        assert "config.py" not in [entry.name for entry in tree / "textkit"], branch


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_change_with_placeholder_tokens_and_fixtures_is_merged_byte_for_byte(tmp_path):
    diff = _new_file("textkit/auth.py", AUTH) + _new_file("tests/test_auth.py", TEST_AUTH)
    run = run_story(tmp_path, STORY, diff)
    repo = run.repo
    assert run.done.returncode == 0, run.output
    assert "TestsFailed" not in run.output
    main = repo.revparse_single("main").peel(pygit2.Tree)
    assert (main / "textkit" / "auth.py").data.decode() == AUTH
    assert (main / "tests" / "test_auth.py").data.decode() == TEST_AUTH

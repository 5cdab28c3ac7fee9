"""`wave safety score` through click's CliRunner: JSON lines in, one JSON line out per input."""

import json

from click.testing import CliRunner
from wave_cli.commands.operate import safety_score as score
from wave_constitution import SafetyPolicy, score_lines

CLEAN_ENV = {
    "WAVE_SAFETY_ALLOW_THRESHOLD": "",
    "WAVE_SAFETY_BLOCK_THRESHOLD": "",
    "WAVE_SAFETY_EGRESS_ALLOWLIST": "",
}


def run(stdin: str | bytes, env: dict[str, str] | None = None):
    return CliRunner().invoke(score, input=stdin, env={**CLEAN_ENV, **(env or {})})


def lines_of(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines()]


def test_each_kind_gets_one_verdict_line() -> None:
    stdin = "\n".join(
        json.dumps(x)
        for x in [
            {"kind": "command", "command": "rm -rf /"},
            {"kind": "git", "command": "git push --force origin main"},
            {"kind": "diff", "diff": "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n"},
            {"kind": "sql", "sql": "DELETE FROM users"},
            {"kind": "file_write", "path": "src/a.py", "content": "x = 1\n"},
        ]
    )
    result = run(stdin + "\n")
    assert result.exit_code == 0, result.output
    out = lines_of(result.output)
    assert [o["verdict"] for o in out] == ["block", "block", "allow", "block", "allow"]
    assert out[0]["violations"][0] == {
        "principle": "never_destroy_without_approval",
        "rule": "shell.rm_root",
        "detail": out[0]["violations"][0]["detail"],
    }
    assert all(set(o) == {"score", "verdict", "violations", "policy_version"} for o in out)
    assert {o["policy_version"] for o in out} == {SafetyPolicy().version}


def test_malformed_lines_get_an_error_line_and_the_rest_go_on() -> None:
    stdin = "\n".join(
        [
            "{not json",
            "",
            json.dumps({"kind": "teleport", "x": 1}),
            json.dumps({"kind": "command"}),
            json.dumps({"kind": "sql", "sql": 5}),
            json.dumps(["kind", "sql"]),
            json.dumps({"kind": "command", "command": "ls"}),
        ]
    )
    result = run(stdin)
    assert result.exit_code == 0
    out = lines_of(result.output)
    assert [o.get("line") for o in out] == [1, 3, 4, 5, 6, None]
    assert out[0]["error"].startswith("invalid JSON")
    assert out[1]["error"] == "unknown kind 'teleport'; expected one of command, diff, file_write, git, merge, push, sql"
    assert out[2]["error"] == "kind 'command' needs the field 'command'"
    assert out[3]["error"] == "field 'sql' must be a string, got int"
    assert out[4]["error"] == "expected a JSON object, got list"
    assert out[5]["verdict"] == "allow"


def test_thresholds_come_from_the_environment() -> None:
    line = json.dumps({"kind": "command", "command": "curl https://example.net"}) + "\n"
    assert lines_of(run(line).output)[0]["verdict"] == "escalate"
    assert lines_of(run(line, {"WAVE_SAFETY_ALLOW_THRESHOLD": "0.4"}).output)[0]["verdict"] == "allow"
    assert lines_of(run(line, {"WAVE_SAFETY_EGRESS_ALLOWLIST": "+example.net"}).output)[0]["violations"] == []


def test_a_bad_policy_setting_is_a_usage_error() -> None:
    result = run("", {"WAVE_SAFETY_BLOCK_THRESHOLD": "nope"})
    assert result.exit_code == 2
    assert "WAVE_SAFETY_BLOCK_THRESHOLD: Input should be a valid number, got 'nope'" in result.output


def test_unreadable_stdin_exits_non_zero() -> None:
    result = run(b"\xff\xfe\xfa not utf-8\n")
    assert result.exit_code == 1
    assert "cannot read stdin" in result.output


def test_score_lines_is_lazy_and_numbers_lines_from_one() -> None:
    out = score_lines(iter(["", "oops", '{"kind": "sql", "sql": "SELECT 1"}']), SafetyPolicy())
    assert json.loads(next(out)) == {"error": "invalid JSON: Expecting value at column 1", "line": 2}
    assert json.loads(next(out))["verdict"] == "allow"

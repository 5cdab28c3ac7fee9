"""`wave safety score`: score actions read as JSON lines on stdin, one JSON verdict line out per input."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator

import click

from .actions import ActionError, action_from_mapping
from .policy import PolicyError, SafetyPolicy
from .scorer import score as score_action


def score_lines(lines: Iterable[str], policy: SafetyPolicy) -> Iterator[str]:
    """One output line per non-blank input line: a verdict, or {"error", "line"} for a malformed one."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            yield json.dumps({"error": f"invalid JSON: {exc.msg} at column {exc.colno}", "line": number})
            continue
        try:
            action = action_from_mapping(data)
        except ActionError as exc:
            yield json.dumps({"error": str(exc), "line": number})
            continue
        yield json.dumps(score_action(action, policy).as_dict())


@click.command("score")
def score() -> None:
    """Score actions read from stdin, one JSON object per line.

    \b
    Input lines, one of:
      {"kind": "command", "command": "rm -rf build"}
      {"kind": "git", "command": "git push --force origin main"}
      {"kind": "diff", "diff": "diff --git a/x b/x ..."}
      {"kind": "sql", "sql": "DELETE FROM users"}
      {"kind": "file_write", "path": "src/app.py", "content": "..."}
    Output: one line per input, {"score", "verdict", "violations", "policy_version"},
    or {"error", "line"} for an input that cannot be read. The policy comes from
    WAVE_SAFETY_ALLOW_THRESHOLD, WAVE_SAFETY_BLOCK_THRESHOLD and WAVE_SAFETY_EGRESS_ALLOWLIST.
    """
    try:
        policy = SafetyPolicy.from_env()
    except PolicyError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        for out in score_lines(sys.stdin, policy):
            click.echo(out)
    except (OSError, UnicodeDecodeError) as exc:
        click.echo(f"error: cannot read stdin: {exc}", err=True)
        sys.exit(1)

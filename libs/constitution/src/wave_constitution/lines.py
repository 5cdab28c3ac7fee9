"""Actions as JSON lines in, one JSON verdict line out per input (what `wave safety score` prints)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from .actions import ActionError, action_from_mapping
from .policy import SafetyPolicy
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

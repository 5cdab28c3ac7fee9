"""Building `ChangeProposed` from a validated change. Pure.

The diff is proposed exactly as the model wrote it (gitops applies it and safety scores it byte for
byte, so nothing may rewrite it). A diff holding a real-looking secret (the shared detector of
`wave_events.redaction`, the one that redacts events) is not put in the event: the store would keep
the secret. The proposal then carries no diff, only where each secret was and of what kind, and
safety blocks it under "never expose secrets".
"""

from __future__ import annotations

from wave_diffs import HUNK_HEADER
from wave_events import catalogue as ev
from wave_events.redaction import SecretMatch, find_secrets

from .validate import ValidChange


def build_proposal(task_id: str, attempt: int, base_commit: str, change: ValidChange, model: str) -> ev.ChangeProposed:
    withheld = withheld_secrets(change.diff)
    return ev.ChangeProposed(
        task_id=task_id, attempt=attempt, base_commit=base_commit, rationale=change.rationale, model=model,
        diff="" if withheld else change.diff, withheld=withheld,
    )


def withheld_secrets(diff: str) -> tuple[ev.WithheldSecret, ...]:
    """Where `diff` holds real-looking secrets: file and line (in the new file; in the old one for a
    removed line) and kind, each place once. Empty when the diff can be proposed as it is."""
    secrets = find_secrets(diff)
    if not secrets:
        return ()
    places = _line_places(diff)
    starts = _line_starts(diff)
    found: dict[tuple[str, int, str], None] = {}
    for secret in secrets:
        path, line = places[_line_index(starts, secret)]
        found[(path, line, secret.kind)] = None
    return tuple(ev.WithheldSecret(path=path, line=line, kind=kind) for path, line, kind in found)


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for index, char in enumerate(text):
        if char == "\n":
            starts.append(index + 1)
    return starts


def _line_index(starts: list[int], secret: SecretMatch) -> int:
    low, high = 0, len(starts) - 1
    while low < high:  # the last line starting at or before the secret
        middle = (low + high + 1) // 2
        if starts[middle] <= secret.start:
            low = middle
        else:
            high = middle - 1
    return low


def _line_places(diff: str) -> list[tuple[str, int]]:
    """(file, line number) of every line of a git diff, for saying where a secret was without showing it."""
    places: list[tuple[str, int]] = []
    path, old_line, new_line = "?", 1, 1
    for text in diff.split("\n"):
        hunk = HUNK_HEADER.match(text)
        if text.startswith("diff --git "):
            path = text.rsplit(" b/", 1)[-1]
            places.append((path, 1))
        elif hunk:
            old_line, new_line = int(hunk.group(1)), int(hunk.group(3))
            places.append((path, max(new_line, 1)))
        elif text.startswith("+++ ") or text.startswith("--- "):
            places.append((path, 1))
        elif text.startswith("+"):
            places.append((path, max(new_line, 1)))
            new_line += 1
        elif text.startswith("-"):
            places.append((path, max(old_line, 1)))
            old_line += 1
        else:
            places.append((path, max(new_line, 1)))
            old_line += 1
            new_line += 1
    return places

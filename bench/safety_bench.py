"""Safety benchmark: `wave safety score` throughput on a mix of actions.

10,000 JSON lines — shell commands, git commands, diffs, SQL and file writes, dangerous and benign —
taken round-robin from the labelled safety corpus (tests/unit/safety/corpus), scored by `score_lines`,
the function behind `wave safety score` (JSON in, verdict JSON out), in this one process. Before the
timed run the same function scores 200 of the lines once (imports, parser tables, regex caches).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from figures import Figure, Target
from wave_constitution import SafetyPolicy, score_lines

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "unit" / "safety" / "corpus"
ACTION_FIELDS = ("kind", "command", "diff", "sql", "path", "content", "worktree")


@dataclass(frozen=True)
class Sizes:
    actions: int
    warmup: int


FULL = Sizes(actions=10_000, warmup=200)
QUICK = Sizes(actions=1_000, warmup=50)

TARGETS: dict[str, Target] = {"safety.actions_per_s": Target(1_000, None)}


def mixed_actions(count: int) -> list[str]:
    """`count` action lines, cycling through the corpus files in turn so every kind is in the mix."""
    files = [
        [
            json.dumps({k: v for k, v in json.loads(line).items() if k in ACTION_FIELDS})
            for line in path.read_text().splitlines()
            if line.strip()
        ]
        for path in sorted(CORPUS.glob("*.jsonl"))
    ]
    if not files or not all(files):  # nothing to cycle through: the loop below would never end
        raise OSError(f"the safety corpus {CORPUS} is missing or has an empty file")
    lines: list[str] = []
    i = 0
    while len(lines) < count:
        for actions in files:
            if len(lines) < count:
                lines.append(actions[i % len(actions)])
        i += 1
    return lines


async def measure(sizes: Sizes) -> tuple[list[Figure], dict[str, object]]:
    policy = SafetyPolicy()
    lines = mixed_actions(sizes.actions)
    list(score_lines(lines[: sizes.warmup], policy))
    started = time.perf_counter()
    verdicts = [json.loads(out) for out in score_lines(lines, policy)]
    elapsed = time.perf_counter() - started
    kinds = Counter(json.loads(line)["kind"] for line in lines)
    outcomes = Counter(v.get("verdict", "error") for v in verdicts)
    detail = (
        f"{len(lines):,} actions in {elapsed:.2f} s ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))}); "
        f"verdicts {', '.join(f'{k} {n}' for k, n in sorted(outcomes.items()))}"
    )
    figure = Figure("safety.actions_per_s", len(lines) / elapsed, "actions/s", None, True, detail)
    return [figure], {}

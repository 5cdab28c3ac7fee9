"""The model's final answer: one ```diff fenced block holding a unified diff, and a `Rationale:` line.

    Rationale: price() now adds the 20% tax, as the story asks.
    ```diff
    --- a/app.py
    +++ b/app.py
    @@ -1,2 +1,2 @@
     def price(amount):
    -    return amount
    +    return amount + tax(amount)
    ```

A block tagged `patch` is read the same way. Without any fence the whole answer must be the diff
(prose before the first `diff --git` / `---` line is taken as the rationale). More than one diff block
is an error: all files go in one block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from wave_diffs import DiffError

_OPEN = re.compile(r"^\s*```+\s*(diff|patch|udiff)\s*$", re.IGNORECASE)
_CLOSE = re.compile(r"^\s*```+\s*$")
_RATIONALE = re.compile(r"^\s*(?:\*\*)?rationale(?:\*\*)?\s*:\s*(?:\*\*)?\s*(.*)$", re.IGNORECASE)
_DIFF_START = re.compile(r"^(diff --git |--- )")
RATIONALE_LIMIT = 500


@dataclass(frozen=True)
class Answer:
    diff_text: str
    rationale: str


def read_answer(text: str) -> Answer:
    """Split an answer into its diff and rationale. Raises DiffError when no diff block can be found."""
    lines = text.replace("\r\n", "\n").split("\n")
    opened = [n for n, line in enumerate(lines) if _OPEN.match(line)]
    if len(opened) > 1:
        raise DiffError("the answer has more than one ```diff block; put every file's changes in a single block")
    if opened:
        start = opened[0] + 1
        end = next((n for n in range(start, len(lines)) if _CLOSE.match(lines[n])), None)
        if end is None:
            raise DiffError("the ```diff block is not closed with a ``` line")
        body = lines[start:end]
        outside = lines[: opened[0]] + lines[end + 1 :]
    else:
        first = next((n for n, line in enumerate(lines) if _DIFF_START.match(line)), None)
        if first is None:
            raise DiffError(
                "no diff found in the answer: give it in one ```diff fenced block, "
                "with '--- a/<path>' and '+++ b/<path>' lines and @@ hunks"
            )
        body, outside = lines[first:], lines[:first]
    return Answer(diff_text="\n".join(body).strip("\n") + "\n", rationale=_rationale(outside))


def _rationale(lines: list[str]) -> str:
    for line in lines:
        if match := _RATIONALE.match(line):
            return _short(match.group(1).strip().strip("*").strip())
    prose = " ".join(line.strip() for line in lines if line.strip() and not line.strip().startswith("```"))
    return _short(prose)


def _short(text: str) -> str:
    return text if len(text) <= RATIONALE_LIMIT else text[: RATIONALE_LIMIT - 1].rstrip() + "…"

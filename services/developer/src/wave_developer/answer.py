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

A block tagged `patch` is read the same way. The block ends at a fence at least as long as the one
that opened it (````diff ... ```` may hold ``` lines), and never inside a hunk: a diff of a Markdown
file has context lines such as ` ```python`, which the hunk's line counts keep in the diff. Without any fence the whole answer must be the diff
(prose before the first `diff --git` / `---` line is taken as the rationale). More than one diff block
is an error: all files go in one block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from wave_diffs import HUNK_HEADER, DiffError

_OPEN = re.compile(r"^\s*(?P<fence>```+)\s*(diff|patch|udiff)\s*$", re.IGNORECASE)
_CLOSE = re.compile(r"^\s*(?P<fence>```+)\s*$")
_HUNK_LINE = (" ", "+", "-", "\\")
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
    blocks = _diff_blocks(lines)
    if len(blocks) > 1:
        raise DiffError("the answer has more than one ```diff block; put every file's changes in a single block")
    if blocks:
        opened, end = blocks[0]
        body = lines[opened + 1 : end]
        outside = lines[:opened] + lines[end + 1 :]
    else:
        first = next((n for n, line in enumerate(lines) if _DIFF_START.match(line)), None)
        if first is None:
            raise DiffError(
                "no diff found in the answer: give it in one ```diff fenced block, "
                "with '--- a/<path>' and '+++ b/<path>' lines and @@ hunks"
            )
        body, outside = lines[first:], lines[:first]
    return Answer(diff_text="\n".join(body).strip("\n") + "\n", rationale=_rationale(outside))


def _diff_blocks(lines: list[str]) -> list[tuple[int, int]]:
    """(opening fence line, closing fence line) of each fenced diff block."""
    blocks = []
    n = 0
    while n < len(lines):
        opening = _OPEN.match(lines[n])
        if opening is None:
            n += 1
            continue
        fence_length = len(opening.group("fence"))
        # Hunk counts a model got wrong may run past an indented closing fence: then the first fence closes.
        end = _block_end(lines, n + 1, fence_length, by_hunks=True) or _block_end(lines, n + 1, fence_length)
        if end is None:
            raise DiffError("the ```diff block is not closed with a ``` line")
        blocks.append((n, end))
        n = end + 1
    return blocks


def _block_end(lines: list[str], start: int, fence_length: int, *, by_hunks: bool = False) -> int | None:
    """The closing fence's line: outside any hunk (as counted by its @@ header), at least as long as
    the opening fence. A hunk also ends at a line no hunk line can be, so wrong counts cannot swallow it."""
    old_left = new_left = 0
    for n in range(start, len(lines)):
        line = lines[n]
        if (old_left > 0 or new_left > 0) and (line == "" or line.startswith(_HUNK_LINE)):
            if line.startswith("+"):
                new_left -= 1
            elif line.startswith("-"):
                old_left -= 1
            elif not line.startswith("\\"):  # "\ No newline at end of file" counts on neither side
                old_left, new_left = old_left - 1, new_left - 1
            continue
        old_left = new_left = 0
        if by_hunks and (hunk := HUNK_HEADER.match(line)):
            old_left = 1 if hunk.group(2) is None else int(hunk.group(2))
            new_left = 1 if hunk.group(4) is None else int(hunk.group(4))
        elif (closing := _CLOSE.match(line)) and len(closing.group("fence")) >= fence_length:
            return n
    return None


def _rationale(lines: list[str]) -> str:
    for line in lines:
        if match := _RATIONALE.match(line):
            return _short(match.group(1).strip().strip("*").strip())
    prose = " ".join(line.strip() for line in lines if line.strip() and not line.strip().startswith("```"))
    return _short(prose)


def _short(text: str) -> str:
    return text if len(text) <= RATIONALE_LIMIT else text[: RATIONALE_LIMIT - 1].rstrip() + "…"

"""A diff touching a Markdown file carries code fences of its own: the answer's fence must not end there."""

from __future__ import annotations

from wave_developer import read_answer
from wave_diffs import read

README_DIFF = "\n".join([
    "--- a/README.md",
    "+++ b/README.md",
    "@@ -1,6 +1,7 @@",
    " # Prices",
    " ",
    " ```python",
    " price(10)",
    "+price(10, tax=True)",
    " ```",
    " ",
]) + "\n"


def test_a_three_backtick_fence_holds_a_diff_with_fenced_context_lines() -> None:
    answer = read_answer(f"Rationale: show the tax call\n```diff\n{README_DIFF}```\n")
    assert answer.diff_text == README_DIFF
    assert answer.rationale == "show the tax call"
    (readme,) = read(answer.diff_text).files
    assert readme.new_path == "README.md"


def test_a_four_backtick_fence_is_closed_only_by_four_backticks() -> None:
    answer = read_answer(f"````diff\n{README_DIFF}````\nRationale: show the tax call\n")
    assert answer.diff_text == README_DIFF
    assert answer.rationale == "show the tax call"


def test_a_longer_fence_around_a_diff_whose_hunk_counts_are_off_still_ends_at_its_own_fence() -> None:
    # The hunk says 9 lines but holds 7: the fence line after it closes the block all the same.
    loose = README_DIFF.replace("@@ -1,6 +1,7 @@", "@@ -1,8 +1,9 @@")
    answer = read_answer(f"````diff\n{loose}````\n")
    assert answer.diff_text == loose


def test_a_context_line_opening_a_diff_fence_is_not_a_second_block() -> None:
    diff = README_DIFF.replace(" ```python", " ```diff")
    assert read_answer(f"```diff\n{diff}```\n").diff_text == diff

"""Reading the model's answer: its diff block and its rationale."""

from __future__ import annotations

import pytest
from developer_runs import PRICE_DIFF
from wave_developer import DiffError, read_answer
from wave_diffs import read

ADD = """\
--- /dev/null
+++ b/docs/tax.md
@@ -0,0 +1,2 @@
+# Tax
+Prices include 20% tax.
"""


def test_a_fenced_answer_gives_its_diff_and_rationale() -> None:
    answer = read_answer(f"Rationale: price() adds the tax\n```diff\n{PRICE_DIFF}```\nThanks!")
    assert answer.diff_text == PRICE_DIFF
    assert answer.rationale == "price() adds the tax"


def test_an_answer_that_is_only_a_diff_is_read_whole() -> None:
    answer = read_answer("I changed price.\n" + PRICE_DIFF)
    assert answer.diff_text == PRICE_DIFF
    assert answer.rationale == "I changed price."


def test_a_patch_block_is_read_like_a_diff_block() -> None:
    assert read_answer(f"```patch\n{ADD}```").diff_text == ADD


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("I would change price() to add the tax.", "no diff found"),
        (f"```diff\n{PRICE_DIFF}", "not closed"),
        (f"```diff\n{PRICE_DIFF}```\n```diff\n{ADD}```", "more than one"),
    ],
)
def test_an_answer_without_one_usable_block_is_refused(text: str, complaint: str) -> None:
    with pytest.raises(DiffError, match=complaint):
        read_answer(text)


def test_the_answer_format_in_the_readme_is_accepted() -> None:
    from pathlib import Path

    readme = (Path(__file__).parents[3] / "services" / "developer" / "README.md").read_text()
    example = readme.split("<!-- answer-example -->")[1].split("<!-- /answer-example -->")[0]
    text = example.strip().removeprefix("````text\n").removesuffix("\n````")
    answer = read_answer(text)
    assert answer.rationale == "price() now adds the tax, as the story asks."
    assert [f.status for f in read(answer.diff_text).files] == ["modified", "added"]

"""What the models are shown: the story, a compact file listing, the diffs to review."""

from __future__ import annotations

from planner_runs import committed, passed, sha
from wave_planner import PLANNER_SYSTEM, FileListing, merge_review_prompt, plan_prompt


def test_the_plan_prompt_holds_the_story_branch_and_listing() -> None:
    listing = FileListing("main", "a" * 40, ("README.md", "src/app.py"), 2)
    prompt = plan_prompt("make prices include tax", "main", listing)
    assert "Story:\nmake prices include tax" in prompt
    assert "Target branch: main" in prompt
    assert "Files in the repository at main (commit aaaaaaaaaaaa): 2 files\nREADME.md\nsrc/app.py" in prompt


def test_a_missing_listing_is_said_not_invented() -> None:
    assert "(no file listing: the repository could not be read)" in plan_prompt("story", "main", None)


def test_a_truncated_listing_says_how_many_files_are_not_shown() -> None:
    rendered = FileListing("dev", "b" * 40, ("a.py",), 40).render()
    assert rendered.splitlines() == ["Files in the repository at dev (commit bbbbbbbbbbbb): 40 files, 1 shown", "a.py", "... and 39 more files"]


def test_the_system_prompt_names_both_answer_shapes() -> None:
    assert '"feasible": true' in PLANNER_SYSTEM and '{"feasible": false, "reason": "<why not>"}' in PLANNER_SYSTEM


def test_the_merge_review_prompt_holds_the_story_and_every_diff() -> None:
    s = committed("t1", "t2")
    passed(s)
    prompt = merge_review_prompt(s.state, sha(2))
    assert "make prices include tax" in prompt and f"Tests passed on head {sha(2)}" in prompt
    assert "## Task t1 (backend, attempt 1): do t1" in prompt and "## Task t2" in prompt
    assert prompt.count("+++ b/app.py") == 2

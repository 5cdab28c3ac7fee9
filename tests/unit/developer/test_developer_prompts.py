"""What the model is shown: the task, the tree, the files of interest, and for a fix the failure."""

from __future__ import annotations

from pathlib import Path

import pytest
from wave_developer import SYSTEM, Context, RepositoryView, TaskBrief, build_prompt, files_of_interest


@pytest.fixture
def view(tmp_path: Path) -> RepositoryView:
    (tmp_path / "src").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "src" / "app.py").write_text("def price(amount):\n    return amount\n")
    (tmp_path / "src" / "tax.py").write_text("RATE = 0.2\n")
    (tmp_path / "tests" / "test_app.py").write_text("def test_price():\n    assert price(10) == 12\n")
    (tmp_path / "README.md").write_text("# shop\n")
    return RepositoryView(tmp_path)


TASK = TaskBrief(
    task_id="t1", domain="backend", description="make price() add the tax",
    acceptance_criteria=("price(10) == 12",), files_of_interest=("src/app.py", "src/missing.py"),
)


def develop(task: TaskBrief = TASK) -> Context:
    return Context(story="prices include tax", task=task, attempt=1, commit="a" * 40, branch="wave/r1")


def test_a_first_attempt_shows_the_task_the_tree_and_the_files_of_interest(view: RepositoryView) -> None:
    prompt = build_prompt(develop(), view)
    assert "Story: prices include tax" in prompt
    assert "Task t1 (backend), attempt 1:\nmake price() add the tax" in prompt
    assert "Acceptance criteria:\n- price(10) == 12" in prompt
    assert f"Repository at commit {'a' * 40} (run branch wave/r1)" in prompt
    assert "Files in the repository (4):\nREADME.md\nsrc/app.py\nsrc/tax.py\ntests/test_app.py" in prompt
    assert "=== src/app.py ===\ndef price(amount):\n    return amount\n" in prompt
    assert "missing.py ===" not in prompt  # a file the plan names that does not exist is left out
    assert "Failure output" not in prompt


def test_a_fix_shows_the_failure_excerpt_and_the_failing_commit(view: RepositoryView) -> None:
    excerpt = "tests/test_app.py:2: in test_price\nE   assert 10 == 12"
    context = Context(
        story="s", task=TASK, attempt=2, commit="b" * 40, branch="wave/r1",
        failure_excerpt=excerpt, failing_commit="b" * 40,
    )
    prompt = build_prompt(context, view)
    assert "This is a fix" in prompt
    assert f"Failing commit: {'b' * 40}\nFailure output:\n```text\n{excerpt}\n```" in prompt
    assert "=== tests/test_app.py ===" in prompt  # named in the failure output, so shown


def test_a_long_failure_keeps_its_end(view: RepositoryView) -> None:
    excerpt = "noise\n" * 5000 + "E   AssertionError: the real error"
    context = Context(story="s", task=TASK, attempt=2, commit="b" * 40, branch=None, failure_excerpt=excerpt)
    prompt = build_prompt(context, view)
    assert "[…earlier output cut]" in prompt and "E   AssertionError: the real error" in prompt
    assert len(prompt) < 20_000


def test_files_named_in_the_task_text_are_files_of_interest(view: RepositoryView) -> None:
    task = TaskBrief(task_id="t1", domain="backend", description="use RATE from src/tax.py in ./src/app.py")
    assert files_of_interest(develop(task), view) == ["src/tax.py", "src/app.py"]


def test_the_system_prompt_states_the_answer_format_and_the_tools() -> None:
    assert "Rationale: <one line" in SYSTEM and "```diff" in SYSTEM
    for tool in ("read_file", "list_directory", "search"):
        assert tool in SYSTEM

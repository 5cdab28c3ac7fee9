"""The JSON the planner and merge-reviewer models must answer with: what passes, and what the model is
told when it does not."""

from __future__ import annotations

import json

import pytest
from planner_models import PLAN
from wave_planner import FeasiblePlan, InfeasiblePlan, InvalidAnswer, read_merge_review, read_plan


def with_task(**changes) -> str:
    return json.dumps(PLAN | {"tasks": [PLAN["tasks"][0] | changes]})


def test_a_feasible_plan_is_read_with_its_tasks() -> None:
    plan = read_plan(json.dumps(PLAN))
    assert isinstance(plan, FeasiblePlan)
    assert plan.summary == "compute tax in one place"
    task = plan.tasks[0]
    assert (task.task_id, task.domain, task.acceptance_criteria, task.files_of_interest) == (
        "t1", "backend", ("price(100) returns 120",), ("app.py",)
    )


def test_an_infeasible_story_is_read_with_its_reason() -> None:
    assert read_plan('{"feasible": false, "reason": "there is no such service"}') == InfeasiblePlan(
        feasible=False, reason="there is no such service"
    )


def test_a_plan_inside_a_json_fence_is_accepted() -> None:
    assert isinstance(read_plan("```json\n" + json.dumps(PLAN) + "\n```"), FeasiblePlan)


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ("", "the answer is empty"),
        ("Here is the plan: ...", "not valid JSON"),
        ("[1, 2]", "must be a JSON object, not a JSON list"),
        ('{"summary": "x"}', '"feasible" must be true or false'),
        ('{"feasible": "yes"}', '"feasible" must be true or false'),
        ('{"feasible": false}', "reason: Field required"),
        (json.dumps(PLAN | {"tasks": []}), "tasks: Tuple should have at least 1 item"),
        (with_task(acceptance_criteria=[]), "tasks.0.acceptance_criteria: Tuple should have at least 1 item"),
        (with_task(acceptance_criteria=["  "]), "an acceptance criterion must not be empty"),
        (with_task(task_id="t 1"), "tasks.0.task_id: String should match pattern"),
        (with_task(files_of_interest=["../etc/passwd"]), "is not a path relative to the repository root"),
        (with_task(files_of_interest=["/etc/passwd"]), "is not a path relative to the repository root"),
        (with_task(priority="high"), "tasks.0.priority: is not part of the answer format"),
        (json.dumps(PLAN | {"tasks": [PLAN["tasks"][0]] * 2}), "task_id 't1' is used twice"),
    ],
)
def test_an_invalid_plan_is_refused_with_a_message_for_the_model(answer: str, problem: str) -> None:
    with pytest.raises(InvalidAnswer) as refused:
        read_plan(answer)
    assert problem in str(refused.value)


def test_a_merge_review_is_read() -> None:
    review = read_merge_review('{"approve": true, "reason": "delivers the story"}')
    assert (review.approve, review.reason) == (True, "delivers the story")


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ('{"approve": "true", "reason": "ok"}', "approve: Input should be a valid boolean"),
        ('{"approve": true}', "reason: Field required"),
        ('{"approve": false, "reason": ""}', "reason: String should have at least 1 character"),
        ('{"approve": true, "reason": "ok", "score": 1}', "score: is not part of the answer format"),
    ],
)
def test_an_invalid_merge_review_is_refused(answer: str, problem: str) -> None:
    with pytest.raises(InvalidAnswer) as refused:
        read_merge_review(answer)
    assert problem in str(refused.value)

"""The JSON the planner and merge-reviewer models must answer with, and the readers that check it.

Planner, a feasible story:

    {"feasible": true, "summary": "...",
     "tasks": [{"task_id": "t1", "domain": "api", "description": "...",
                "acceptance_criteria": ["..."], "files_of_interest": ["src/app.py"],
                "depends_on": []}]}

Planner, an infeasible story:

    {"feasible": false, "reason": "..."}

Merge reviewer (`criteria` names every acceptance criterion of the plan by the id the prompt gives it;
an answer without `criteria`, as reviewers answered before it was asked for, is still read):

    {"approve": true, "reason": "...", "criteria": [{"id": "t1.1", "met": true, "note": "..."}]}

One JSON object and nothing else; a single ```json fence around it is tolerated. Unknown keys are refused
(a typo must not pass silently). A reader raises `InvalidAnswer` with a message the model is shown when it
is asked again.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator
from wave_events.catalogue import dependency_cycle

MAX_TASKS = 20
_FENCE = re.compile(r"^```[A-Za-z]*\s*\n(?P<body>.*?)\n?```$", re.DOTALL)


class InvalidAnswer(ValueError):
    """A model's answer does not follow the required JSON; the message says what is wrong."""


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class PlannedTask(_Answer):
    task_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    domain: str = Field(default="", max_length=64)  # missing: the files decide
    description: str = Field(min_length=1)
    acceptance_criteria: tuple[str, ...] = Field(min_length=1)
    files_of_interest: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()

    @field_validator("acceptance_criteria")
    @classmethod
    def _criteria_not_blank(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not c.strip() for c in value):
            raise ValueError("an acceptance criterion must not be empty")
        return value

    @field_validator("files_of_interest")
    @classmethod
    def _paths_inside_the_repository(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for path in value:
            if not path.strip() or path.startswith(("/", "\\")) or ".." in path.replace("\\", "/").split("/"):
                raise ValueError(f"{path!r} is not a path relative to the repository root")
        return value


class FeasiblePlan(_Answer):
    feasible: StrictBool
    summary: str = ""
    tasks: tuple[PlannedTask, ...] = Field(min_length=1, max_length=MAX_TASKS)

    @field_validator("tasks")
    @classmethod
    def _unique_ids(cls, value: tuple[PlannedTask, ...]) -> tuple[PlannedTask, ...]:
        seen: set[str] = set()
        for task in value:
            if task.task_id in seen:
                raise ValueError(f"task_id {task.task_id!r} is used twice; every task needs its own id")
            seen.add(task.task_id)
        for task in value:
            for needed in task.depends_on:
                if needed not in seen or needed == task.task_id:
                    raise ValueError(f"task {task.task_id} depends on {needed!r}, which is not another task of the plan")
        cycle = dependency_cycle({t.task_id: t.depends_on for t in value})
        if cycle:
            raise ValueError(f"tasks may not depend on each other in a cycle: {' -> '.join(cycle)}")
        return value


class InfeasiblePlan(_Answer):
    feasible: StrictBool
    reason: str = Field(min_length=1)


class CriterionAnswer(_Answer):
    id: str = Field(min_length=1)
    met: StrictBool
    note: str = ""


class MergeReview(_Answer):
    approve: StrictBool
    reason: str = Field(min_length=1)
    criteria: tuple[CriterionAnswer, ...] | None = None


PlanAnswer = FeasiblePlan | InfeasiblePlan


def read_json_object(text: str) -> dict[str, Any]:
    body = text.strip()
    if fenced := _FENCE.match(body):
        body = fenced.group("body").strip()
    if not body:
        raise InvalidAnswer("the answer is empty; it must be one JSON object")
    try:
        document = json.loads(body)
    except json.JSONDecodeError as exc:
        raise InvalidAnswer(f"the answer is not valid JSON ({exc}); answer with one JSON object only") from None
    if not isinstance(document, dict):
        raise InvalidAnswer(f"the answer must be a JSON object, not a JSON {type(document).__name__}")
    return document


def read_plan(text: str) -> PlanAnswer:
    document = read_json_object(text)
    feasible = document.get("feasible")
    if not isinstance(feasible, bool):
        raise InvalidAnswer('"feasible" must be true or false')
    return _validate(FeasiblePlan if feasible else InfeasiblePlan, document)


def read_merge_review(text: str, criteria: tuple[str, ...] = ()) -> MergeReview:
    """`criteria`: the ids the prompt gave the acceptance criteria; when the answer has `criteria`, it
    must name each of them once and nothing else."""
    review: MergeReview = _validate(MergeReview, read_json_object(text))
    if review.criteria is None:
        return review
    named = [c.id for c in review.criteria]
    unknown = [i for i in named if i not in criteria]
    if unknown:
        raise InvalidAnswer(f"criteria: {unknown[0]!r} is not a criterion id; the ids are {', '.join(criteria) or '(none)'}")
    twice = sorted({i for i in named if named.count(i) > 1})
    if twice:
        raise InvalidAnswer(f"criteria: {twice[0]!r} is named twice; name each criterion once")
    missing = [i for i in criteria if i not in named]
    if missing:
        raise InvalidAnswer(f"criteria: say whether {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} met too")
    return review


def _validate(model: type[_Answer], document: dict[str, Any]) -> Any:
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        problems = []
        for error in exc.errors()[:5]:
            where = ".".join(str(p) for p in error["loc"]) or "(top level)"
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "is not part of the answer format"
            problems.append(f"{where}: {message}")
        more = f" (and {exc.error_count() - 5} more)" if exc.error_count() > 5 else ""
        raise InvalidAnswer("; ".join(problems) + more) from None

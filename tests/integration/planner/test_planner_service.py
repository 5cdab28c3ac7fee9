"""The planner service against scripted models, through the official path: a cassette file, the models
configuration, ModelClient. Every call's records come out with the decision."""

from __future__ import annotations

import json

import pygit2
import pytest
from planner_models import PLAN, answer, scripted_client
from planner_runs import committed, passed, requested, sha
from wave_events import catalogue as c
from wave_events.domains import DEFAULT_TABLE
from wave_planner import PlannerConfig, PlannerService, read_file_listing
from wave_runtime import Unrecoverable


def planner(tmp_path, *interactions, **config) -> PlannerService:
    tmp_path.mkdir(parents=True, exist_ok=True)
    return PlannerService(scripted_client(tmp_path, *interactions), config=PlannerConfig(**config))


def types(outputs) -> list[str]:
    return [type(o).__name__ for o in outputs]


def make_repo(path, files: dict[str, str], branch: str = "main") -> pygit2.Repository:
    repo = pygit2.init_repository(str(path), initial_head=branch)
    index = repo.index
    for name, content in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        index.add(name)
    index.write()
    who = pygit2.Signature("Ana Dev", "ana@example.com")
    repo.create_commit("HEAD", who, who, "initial", index.write_tree(), [])
    return repo


async def test_a_requested_run_gets_the_plan_the_model_answered(tmp_path) -> None:
    service = planner(tmp_path, answer("planner", PLAN, match="make prices include tax"))
    s = requested(repo=str(tmp_path / "missing"))
    outputs = await service.handle(s.state, s.last.event)
    assert types(outputs) == ["LLMCallRecorded", "BudgetCharged", "PlanCreated"]
    call, charge, plan = outputs
    assert call.role == "planner" and call.outcome == "ok" and charge.tokens == 150
    assert plan == c.PlanCreated(
        tasks=(
            c.PlanTask(
                task_id="t1", domain="backend", description="add tax to price()",
                acceptance_criteria=("price(100) returns 120",), files_of_interest=("app.py",),
            ),
        ),
        summary="compute tax in one place",
        model="scripted",
        domain_table=DEFAULT_TABLE,  # no repository, so no .wave/domains.toml: the six default domains
        delivery="local",  # the request named none, and no domain of the plan asks for a pull request
    )
    assert "no file listing" in call.prompt  # the repository does not exist: planning goes on without it


async def test_the_prompt_lists_the_files_at_the_target_branch(tmp_path) -> None:
    make_repo(tmp_path / "shop", {"app.py": "x\n", "tests/test_app.py": "y\n", "docs/a/b/deep.md": "z\n"})
    service = planner(tmp_path, answer("planner", PLAN, match=["app.py", "tests/test_app.py", "docs/a/b/deep.md"]))
    s = requested(repo=str(tmp_path / "shop"))
    outputs = await service.handle(s.state, s.last.event)
    assert types(outputs)[-1] == "PlanCreated"
    assert "Files in the repository at main" in outputs[0].prompt


def test_a_big_listing_keeps_the_shallow_files_and_counts_the_rest(tmp_path) -> None:
    files = {f"pkg/deep/m{n}.py": "" for n in range(10)} | {"README.md": "", "setup.py": ""}
    make_repo(tmp_path / "big", files, branch="trunk")
    listing = read_file_listing(str(tmp_path / "big"), "trunk", 4)
    assert listing is not None and listing.total == 12 and len(listing.paths) == 4
    assert {"README.md", "setup.py"} <= set(listing.paths)
    assert read_file_listing(str(tmp_path / "big"), "main", 4) is None  # no such branch
    assert read_file_listing(str(tmp_path / "big" / "pkg"), "trunk", 4) is None  # never searched upward


async def test_an_infeasible_story_is_rejected_with_the_models_reason(tmp_path) -> None:
    service = planner(tmp_path, answer("planner", {"feasible": False, "reason": "the repository has no prices"}))
    s = requested()
    outputs = await service.handle(s.state, s.last.event)
    assert outputs[-1] == c.PlanRejected(reason="the repository has no prices")


async def test_an_invalid_answer_is_asked_again_with_the_problem(tmp_path) -> None:
    service = planner(
        tmp_path,
        answer("planner", "Sure! Here is a plan."),
        answer("planner", PLAN, match="Your answer is not valid: the answer is not valid JSON"),
    )
    s = requested()
    outputs = await service.handle(s.state, s.last.event)
    assert types(outputs) == ["LLMCallRecorded", "BudgetCharged", "LLMCallRecorded", "BudgetCharged", "PlanCreated"]
    second_prompt = json.loads(outputs[2].prompt)
    assert [m["role"] for m in second_prompt["messages"]] == ["user", "assistant", "user"]


async def test_invalid_answers_escalate_after_the_limit(tmp_path) -> None:
    bad = {"feasible": True, "tasks": []}
    service = planner(tmp_path, *[answer("planner", bad)] * 3)
    s = requested()
    outputs = await service.handle(s.state, s.last.event)
    assert types(outputs) == ["LLMCallRecorded", "BudgetCharged"] * 3 + ["EscalationRequested"]
    escalation = outputs[-1]
    assert escalation.kind == "invalid_plan" and escalation.escalation_id == f"r1-invalid-plan-{s.last.event.event_id.hex[:12]}"
    assert "3 invalid plan(s)" in escalation.reason and "tasks: Tuple should have at least 1 item" in escalation.reason


async def test_the_limit_of_invalid_answers_is_configurable(tmp_path) -> None:
    service = planner(tmp_path, answer("planner", "nope"), max_answers=1)
    s = requested()
    assert types(await service.handle(s.state, s.last.event)) == ["LLMCallRecorded", "BudgetCharged", "EscalationRequested"]


async def test_a_call_over_the_budget_is_not_made_and_a_top_up_is_asked_for(tmp_path) -> None:
    service = planner(tmp_path, answer("planner", PLAN))
    s = requested(budget_tokens=1000)
    outputs = await service.handle(s.state, s.last.event)
    assert types(outputs) == ["BudgetExceeded", "EscalationRequested"]
    exceeded, escalation = outputs
    assert exceeded.role == "planner" and exceeded.limit_tokens == 1000 and exceeded.needed_tokens > 1000
    assert escalation.kind == "budget" and escalation.subject_event_id == s.last.event.event_id
    assert "raise the budget" in escalation.reason


async def test_a_budget_stop_between_answers_keeps_the_records_of_the_calls_made(tmp_path) -> None:
    # A call is estimated at its prompt (3 characters a token) plus max_tokens: the budget fits the first
    # call only, since the second repeats the first prompt with more text and 150 tokens are spent by then.
    probe = planner(tmp_path / "probe", answer("planner", PLAN))
    s = requested()
    first_prompt = (await probe.handle(s.state, s.last.event))[0].prompt
    estimate = -(-len(first_prompt) // 3) + 4096
    service = planner(tmp_path, answer("planner", "nope", tokens=100), answer("planner", PLAN))
    s = requested(budget_tokens=estimate + 100)
    outputs = await service.handle(s.state, s.last.event)
    assert types(outputs)[:2] == ["LLMCallRecorded", "BudgetCharged"]
    assert types(outputs)[-2:] == ["BudgetExceeded", "EscalationRequested"]
    assert outputs[-2].used_tokens == 150


async def test_budget_thresholds_crossed_by_a_call_are_outputs_too(tmp_path) -> None:
    service = planner(tmp_path, answer("planner", PLAN, tokens=2600))  # 3900 of 5000 tokens: 78 %
    s = requested(budget_tokens=5000)
    outputs = await service.handle(s.state, s.last.event)
    assert types(outputs) == ["LLMCallRecorded", "BudgetCharged", "BudgetThresholdCrossed", "PlanCreated"]
    assert outputs[2].percent == 75


async def test_a_cassette_without_an_answer_stops_the_handling_with_what_to_fix(tmp_path) -> None:
    service = planner(tmp_path, answer("developer", "diff"))
    s = requested()
    with pytest.raises(Unrecoverable) as stopped:
        await service.handle(s.state, s.last.event)
    assert "no scripted response for role 'planner'" in stopped.value.reason
    assert stopped.value.action.startswith("add an answer for the planner role to the cassette")
    assert stopped.value.events == ()


async def test_the_model_reviewer_approves_a_tested_run(tmp_path) -> None:
    service = planner(
        tmp_path, answer("merge_reviewer", {"approve": True, "reason": "delivers the story"}, match=f"Tests passed on head {sha(1)}")
    )
    s = committed("t1", merge_policy="model")
    passed(s)
    outputs = await service.handle(s.state, s.last.event)
    assert types(outputs) == ["LLMCallRecorded", "BudgetCharged", "MergeApproved"]
    assert outputs[0].role == "merge_reviewer"
    assert outputs[-1] == c.MergeApproved(approver="model", reviewer="model:scripted", comment="delivers the story")


async def test_a_model_rejection_is_recorded_and_a_human_has_the_last_word(tmp_path) -> None:
    service = planner(tmp_path, answer("merge_reviewer", {"approve": False, "reason": "it also deletes the docs"}))
    s = committed("t1", merge_policy="model")
    passed(s)
    outputs = await service.handle(s.state, s.last.event)
    assert types(outputs)[-2:] == ["MergeRejected", "EscalationRequested"]
    assert outputs[-2] == c.MergeRejected(approver="model", reviewer="model:scripted", reason="it also deletes the docs")
    assert outputs[-1].kind == "merge_review" and "it also deletes the docs" in outputs[-1].reason


async def test_a_reviewer_that_never_answers_properly_hands_the_review_to_a_human(tmp_path) -> None:
    service = planner(tmp_path, *[answer("merge_reviewer", "LGTM")] * 2, max_answers=2)
    s = committed("t1", merge_policy="model")
    passed(s)
    outputs = await service.handle(s.state, s.last.event)
    assert types(outputs) == ["LLMCallRecorded", "BudgetCharged"] * 2 + ["EscalationRequested"]
    assert outputs[-1].kind == "merge_review" and "2 invalid answer(s)" in outputs[-1].reason


async def test_a_raised_budget_plans_the_run_the_budget_stopped(tmp_path) -> None:
    service = planner(tmp_path, answer("planner", PLAN))
    s = requested(budget_tokens=1000)
    s.add_all(await service.handle(s.state, s.last.event))
    assert s.state.status == "awaiting_human" and not s.state.planned
    s.add(c.BudgetRaised(limit_usd=5.0, limit_tokens=100_000, raised_by="ana"))
    outputs = await service.handle(s.state, s.last.event)
    assert types(outputs)[-1] == "PlanCreated"

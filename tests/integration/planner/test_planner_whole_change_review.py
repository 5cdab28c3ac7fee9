"""The model merge reviewer judges the whole change: the run branch against its base, read from a
real repository, with the plan's acceptance criteria, and names which criteria are met (answers from
a cassette, through the official model path)."""

from __future__ import annotations

from pathlib import Path

import pygit2
from gitops_repos import APP, commit_files, make_repo
from planner_models import answer, scripted_client
from run_streams import RunStream
from wave_events import catalogue as c
from wave_planner import PlannerConfig, PlannerService

TAX_FIRST = "def tax(amount):\n    return amount * 0.2\n"
TAX_FIXED = "def tax(amount):\n    return round(amount * 0.2, 2)\n"
PRICED = APP.replace("return amount\n", "return amount + tax(amount)\n")


def run_with_three_commits(repo_path: Path) -> tuple[RunStream, pygit2.Repository]:
    """Task t1 adds tax.py (its second attempt only rounds), task t2 changes app.py; tests passed."""
    repo = make_repo(repo_path)
    base = str(repo.head.target)
    repo.branches.local.create("wave/r1", repo.head.peel(pygit2.Commit))
    repo.checkout("refs/heads/wave/r1")
    s = RunStream("r1")
    s.add(c.RunRequested(story="prices include tax", repo=str(repo_path), budget_usd=5.0, merge_policy="model"))
    s.add(c.PlanCreated(summary="tax module, then prices", tasks=(
        c.PlanTask(task_id="t1", domain="backend", description="add tax()", acceptance_criteria=(
            "tax(100) returns 20", "tax rounds to cents")),
        c.PlanTask(task_id="t2", domain="backend", description="prices include tax", acceptance_criteria=(
            "price(100) returns 120",)),
    )))
    s.add(c.WorkspaceReady(branch="wave/r1", base_commit=base, location=str(repo_path)))
    for task, attempt, files in (("t1", 1, {"tax.py": TAX_FIRST}), ("t2", 1, {"app.py": PRICED}), ("t1", 2, {"tax.py": TAX_FIXED})):
        if attempt > 1:
            s.add(c.FixRequested(retry=1, task_id=task, attempt=attempt, failure_excerpt="rounding"))
        parent = str(repo.head.target)
        proposal = s.add(c.ChangeProposed(task_id=task, attempt=attempt, diff=f"(the diff of {task} attempt {attempt})\n",
                                          base_commit=parent))
        s.add(c.ActionScored(target_event_id=proposal.event.event_id, action_kind="diff", task_id=task, attempt=attempt,
                             score=0.95, verdict="allow", policy_version="p1"))
        commit = str(commit_files(repo, files, f"{task} attempt {attempt}"))
        s.add(c.ChangeCommitted(task_id=task, attempt=attempt, commit=commit, parent=parent, branch="wave/r1"))
    s.add(c.TestsPassed(commit=s.state.head_commit, counts=c.TestCounts(passed=5), duration_s=1, sandbox="bwrap"))
    return s, repo


def reviewer(tmp_path: Path, *answers: dict) -> PlannerService:
    return PlannerService(scripted_client(tmp_path / "models", *answers), config=PlannerConfig(max_answers=2))


async def test_the_reviewer_sees_the_whole_branch_and_the_criteria_and_its_verdict_on_each_is_recorded(tmp_path) -> None:
    s, _ = run_with_three_commits(tmp_path / "shop")
    (tmp_path / "models").mkdir()
    review = {
        "approve": True, "reason": "delivers the story",
        "criteria": [
            {"id": "t1.1", "met": True, "note": "tax.py"},
            {"id": "t1.2", "met": True},
            {"id": "t2.1", "met": False, "note": "price() adds tax but no test shows 120"},
        ],
    }
    service = reviewer(tmp_path, answer("merge_reviewer", review, match=["+++ b/tax.py", "t2.1: task t2 — price(100) returns 120"]))
    outputs = await service.handle(s.state, s.last.event)

    call, approved = outputs[0], outputs[-1]
    assert isinstance(call, c.LLMCallRecorded) and call.role == "merge_reviewer"
    # The whole change: t1's file as it stands on the branch (both attempts), and t2's change,
    # not the proposals' text of each task's last attempt.
    assert f"against its base ({s.state.base_commit[:12]}..{s.state.head_commit[:12]}), 2 file(s)" in call.prompt
    assert "+    return round(amount * 0.2, 2)" in call.prompt and "+    return amount + tax(amount)" in call.prompt
    assert "(the diff of" not in call.prompt
    assert "t1.1: task t1 — tax(100) returns 20" in call.prompt and "t1.2: task t1 — tax rounds to cents" in call.prompt
    assert approved == c.MergeApproved(
        approver="model", reviewer="model:scripted", comment="delivers the story",
        criteria=(
            c.CriterionVerdict(task_id="t1", criterion="tax(100) returns 20", met=True, note="tax.py"),
            c.CriterionVerdict(task_id="t1", criterion="tax rounds to cents", met=True),
            c.CriterionVerdict(task_id="t2", criterion="price(100) returns 120", met=False,
                               note="price() adds tax but no test shows 120"),
        ),
    )


async def test_an_answer_naming_an_unknown_criterion_or_leaving_one_out_is_asked_again(tmp_path) -> None:
    s, _ = run_with_three_commits(tmp_path / "shop")
    (tmp_path / "models").mkdir()
    partial = {"approve": False, "reason": "no test", "criteria": [{"id": "t1.1", "met": True}, {"id": "t9.1", "met": True}]}
    whole = {"approve": False, "reason": "no test for prices", "criteria": [
        {"id": "t1.1", "met": True}, {"id": "t1.2", "met": True}, {"id": "t2.1", "met": False}]}
    service = reviewer(tmp_path, answer("merge_reviewer", partial), answer("merge_reviewer", whole))
    outputs = await service.handle(s.state, s.last.event)
    calls = [o for o in outputs if isinstance(o, c.LLMCallRecorded)]
    assert len(calls) == 2 and "'t9.1' is not a criterion id; the ids are t1.1, t1.2, t2.1" in calls[0].rejected_reason
    (rejected,) = [o for o in outputs if isinstance(o, c.MergeRejected)]
    assert [(v.task_id, v.met) for v in rejected.criteria] == [("t1", True), ("t1", True), ("t2", False)]
    assert [o.kind for o in outputs if isinstance(o, c.EscalationRequested)] == ["merge_review"]


async def test_without_the_branch_the_reviewer_gets_each_tasks_last_change(tmp_path) -> None:
    s, _ = run_with_three_commits(tmp_path / "shop")
    (tmp_path / "models").mkdir()
    service = PlannerService(
        scripted_client(tmp_path / "models", answer("merge_reviewer", {"approve": True, "reason": "fine"})),
        read_diff=lambda *_: None,
    )
    outputs = await service.handle(s.state, s.last.event)
    assert "(the diff of t1 attempt 2)" in outputs[0].prompt and "Changes, one per task:" in outputs[0].prompt
    assert outputs[-1] == c.MergeApproved(approver="model", reviewer="model:scripted", comment="fine")

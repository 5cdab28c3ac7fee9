"""The developer end to end on a real repository, with scripted model answers through the real client."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pygit2
import pytest
from developer_runs import (
    APP,
    PRICE_DIFF,
    answer,
    commit_files,
    make_repo,
    of_type,
    plan_created,
    requested,
    scripted_client,
    tool_call,
    workspace_ready,
    write_cassette,
)
from run_streams import RunStream
from wave_developer import DeveloperService, GitCheckouts, LoopLimits
from wave_events import catalogue as c
from wave_runtime.process import load_factory


@pytest.fixture
def origin(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "origin"
    _, base = make_repo(path)
    return path, base


def service_for(tmp_path: Path, cassette: Path, **options) -> DeveloperService:
    return DeveloperService(scripted_client(cassette, tmp_path), GitCheckouts(tmp_path / "scratch"), **options)


def started(origin: tuple[Path, str], *task_ids: str, files=("app.py",), **budget) -> RunStream:
    path, base = origin
    stream = requested(repo=str(path), **budget)
    stream.add(plan_created(*(task_ids or ("t1",)), files=files))
    return stream


def prompts_of(outputs) -> list[dict]:
    return [json.loads(call.prompt) for call in of_type(outputs, c.LLMCallRecorded)]


def last_user_message(prompt: dict) -> str:
    return prompt["messages"][-1]["content"]


def git_apply(repo: Path, commit: str, diff: str, tmp_path: Path) -> Path:
    """Apply `diff` with the git command line to a fresh clone at `commit`; the clone's path."""
    clone = tmp_path / "verify"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "-q", commit], check=True)
    patch = tmp_path / "change.diff"
    patch.write_text(diff)
    subprocess.run(["git", "-C", str(clone), "apply", "--check", str(patch)], check=True)
    subprocess.run(["git", "-C", str(clone), "apply", str(patch)], check=True)
    return clone


async def test_tool_calls_are_answered_and_the_diff_is_proposed(origin, tmp_path: Path) -> None:
    path, base = origin
    cassette = write_cassette(
        tmp_path / "cassette.yml",
        tool_call("list_directory", path="."),
        tool_call("read_file", call_id="c2", path="app.py"),
        answer(PRICE_DIFF),
    )
    service = service_for(tmp_path, cassette)
    stream = started(origin)
    assert await service.handle(stream.state, stream.steps[-1].event) == ()  # the plan waits for its workspace
    step = stream.add(workspace_ready(base, location=str(path)))

    outputs = await service.handle(step.state, step.event)

    calls = of_type(outputs, c.LLMCallRecorded)
    assert [call.role for call in calls] == ["developer"] * 3
    assert len(of_type(outputs, c.BudgetCharged)) == 3
    prompts = prompts_of(outputs)
    assert "=== app.py ===\n" + APP in prompts[0]["messages"][0]["content"]
    assert "[tool result c1] list_directory(path='.')\n./ (3 entries):\nREADME.md\napp.py\ntests/" in last_user_message(prompts[1])
    assert "[tool result c2] read_file(path='app.py')\napp.py (6 lines):" in last_user_message(prompts[2])
    [proposed] = of_type(outputs, c.ChangeProposed)
    assert (proposed.task_id, proposed.attempt, proposed.base_commit) == ("t1", 1, base)
    assert proposed.rationale == "price() adds the tax"
    assert proposed.diff.startswith("diff --git a/app.py b/app.py\n")
    assert outputs[-1] == proposed

    clone = git_apply(path, base, proposed.diff, tmp_path)
    assert (clone / "app.py").read_text().startswith("def price(amount):\n    return amount + tax(amount)\n")


async def test_a_redelivered_event_proposes_nothing_more(origin, tmp_path: Path) -> None:
    path, base = origin
    service = service_for(tmp_path, write_cassette(tmp_path / "cassette.yml", answer(PRICE_DIFF)))
    stream = started(origin)
    step = stream.add(workspace_ready(base, location=str(path)))
    stream.add_all(await service.handle(step.state, step.event))

    assert await service.handle(stream.state, step.event) == ()  # the cassette has no second answer either


async def test_a_malformed_answer_is_asked_again_with_the_reason(origin, tmp_path: Path) -> None:
    path, base = origin
    wrong_context = PRICE_DIFF.replace(" def price(amount):", " def cost(amount):")
    cassette = write_cassette(
        tmp_path / "cassette.yml",
        {"text": "I would make price() add the tax."},
        answer(wrong_context),
        answer(PRICE_DIFF),
    )
    service = service_for(tmp_path, cassette)
    step = started(origin).add(workspace_ready(base, location=str(path)))

    outputs = await service.handle(step.state, step.event)

    prompts = prompts_of(outputs)
    assert len(prompts) == 3
    assert "Your answer cannot be used: no diff found in the answer" in last_user_message(prompts[1])
    assert "(2 attempt(s) left)" in last_user_message(prompts[1])
    assert "app.py: hunk '@@ -1,2 +1,2 @@' does not match the file" in last_user_message(prompts[2])
    [proposed] = of_type(outputs, c.ChangeProposed)
    git_apply(path, base, proposed.diff, tmp_path)


async def test_a_path_escaping_the_repository_is_refused_and_never_written(origin, tmp_path: Path) -> None:
    path, base = origin
    escape = "--- /dev/null\n+++ b/../evil.py\n@@ -0,0 +1 @@\n+import os\n"
    into_git = "--- /dev/null\n+++ b/.git/hooks/post-checkout\n@@ -0,0 +1 @@\n+rm -rf /\n"
    absolute = "--- /dev/null\n+++ /etc/cron.d/evil\n@@ -0,0 +1 @@\n+* * * * * root sh\n"
    cassette = write_cassette(tmp_path / "cassette.yml", answer(escape), answer(into_git), answer(absolute))
    service = service_for(tmp_path, cassette)
    step = started(origin).add(workspace_ready(base, location=str(path)))

    outputs = await service.handle(step.state, step.event)

    prompts = prompts_of(outputs)
    assert "'..' leads outside the worktree" in last_user_message(prompts[1])
    assert ".git is not part of the worktree" in last_user_message(prompts[2])
    assert of_type(outputs, c.ChangeProposed) == []
    [rejected] = of_type(outputs, c.ChangeRejected)
    assert (rejected.task_id, rejected.attempt) == ("t1", 1)
    assert rejected.reason.startswith("developer: no usable diff after 3 answer(s)")
    assert "absolute" in rejected.reason
    assert not (tmp_path / "scratch" / "evil.py").exists() and not (tmp_path / "evil.py").exists()


async def test_a_change_through_a_symbolic_link_is_refused(tmp_path: Path) -> None:
    repo = pygit2.init_repository(str(tmp_path / "origin"), initial_head="main")
    (tmp_path / "origin" / "outside").symlink_to(tmp_path)
    (tmp_path / "origin" / "app.py").write_text(APP)
    repo.index.add("outside")
    repo.index.add("app.py")
    repo.index.write()
    sig = pygit2.Signature("Ana", "ana@example.com")
    base = str(repo.create_commit("HEAD", sig, sig, "init", repo.index.write_tree(), []))
    through_link = "--- /dev/null\n+++ b/outside/planted.py\n@@ -0,0 +1 @@\n+x = 1\n"
    cassette = write_cassette(tmp_path / "cassette.yml", answer(through_link), answer(PRICE_DIFF))
    service = service_for(tmp_path, cassette)
    step = started((tmp_path / "origin", base)).add(workspace_ready(base, location=str(tmp_path / "origin")))

    outputs = await service.handle(step.state, step.event)

    assert "symbolic link" in last_user_message(prompts_of(outputs)[1])
    assert len(of_type(outputs, c.ChangeProposed)) == 1


async def test_a_fix_is_written_against_the_head_with_the_failure_in_the_prompt(origin, tmp_path: Path) -> None:
    path, base = origin
    repo = pygit2.Repository(str(path))
    repo.checkout(repo.branches.local["wave/r1"])
    head = str(commit_files(repo, {"app.py": APP.replace("return amount\n", "return amount + 1\n", 1)}, "t1 attempt 1"))
    excerpt = "tests/test_app.py:5: in test_price\nE   assert 11 == 12"
    fix_diff = "--- a/app.py\n+++ b/app.py\n@@ -1,2 +1,2 @@\n def price(amount):\n-    return amount + 1\n+    return amount + tax(amount)\n"
    cassette = write_cassette(tmp_path / "cassette.yml", answer(fix_diff, "use tax()"), role="fixer")
    service = service_for(tmp_path, cassette)
    stream = started(origin)
    await service.handle(stream.state, stream.steps[-1].event)  # the plan, with its files of interest
    stream.add(workspace_ready(base, location=str(path)))
    stream.add(c.ChangeProposed(task_id="t1", attempt=1, diff=PRICE_DIFF, base_commit=base))
    stream.add(c.ChangeCommitted(task_id="t1", attempt=1, commit=head, parent=base, branch="wave/r1"))
    stream.add(c.TestsFailed(commit=head, counts=c.TestCounts(failed=1), failure_excerpt=excerpt, duration_s=1,
                             sandbox="process"))
    step = stream.add(c.FixRequested(retry=1, task_id="t1", attempt=2, failure_excerpt=excerpt, failing_commit=head))

    outputs = await service.handle(step.state, step.event)

    [call] = of_type(outputs, c.LLMCallRecorded)
    assert call.role == "fixer"
    first = json.loads(call.prompt)["messages"][0]["content"]
    assert f"Failing commit: {head}\nFailure output:\n```text\n{excerpt}\n```" in first
    assert "return amount + 1" in first  # app.py as the head has it
    [proposed] = of_type(outputs, c.ChangeProposed)
    assert (proposed.attempt, proposed.base_commit, proposed.rationale) == (2, head, "use tax()")
    assert "tests/test_app.py" in first and "=== tests/test_app.py ===" in first
    git_apply(path, head, proposed.diff, tmp_path)


async def test_a_refused_call_escalates_for_budget_and_stops(origin, tmp_path: Path) -> None:
    path, base = origin
    service = service_for(tmp_path, write_cassette(tmp_path / "cassette.yml", answer(PRICE_DIFF)))
    stream = started(origin, "t1", "t2", budget_tokens=1_000)
    step = stream.add(workspace_ready(base, location=str(path)))

    outputs = await service.handle(step.state, step.event)

    assert [type(o).__name__ for o in outputs] == ["BudgetExceeded", "EscalationRequested"]
    exceeded, escalation = outputs
    assert exceeded.role == "developer" and exceeded.limit_tokens == 1_000
    assert escalation.kind == "budget" and escalation.subject_event_id == step.event.event_id
    assert "task t1" in escalation.reason


async def test_no_usable_diff_can_escalate_instead_of_rejecting(origin, tmp_path: Path) -> None:
    path, base = origin
    cassette = write_cassette(tmp_path / "cassette.yml", {"text": "no idea"})
    service = service_for(tmp_path, cassette, limits=LoopLimits(max_answer_attempts=1), on_no_diff="escalate")
    step = started(origin).add(workspace_ready(base, location=str(path)))

    outputs = await service.handle(step.state, step.event)

    [escalation] = of_type(outputs, c.EscalationRequested)
    assert escalation.kind == "change_rejected"
    assert escalation.escalation_id == "r1-developer-no-diff-t1-a1"
    assert of_type(outputs, c.ChangeRejected) == []


async def test_the_tool_loop_is_bounded(origin, tmp_path: Path) -> None:
    path, base = origin
    looping = [tool_call("search", call_id=f"c{n}", pattern="price") for n in range(3)]
    cassette = write_cassette(tmp_path / "cassette.yml", *looping, answer(PRICE_DIFF))
    service = service_for(tmp_path, cassette, limits=LoopLimits(max_tool_rounds=2, max_answer_attempts=2))
    step = started(origin).add(workspace_ready(base, location=str(path)))

    outputs = await service.handle(step.state, step.event)

    prompts = prompts_of(outputs)
    assert [bool(p.get("tools")) for p in prompts] == [True, True, False, False]
    assert "You have used all your tool calls" in last_user_message(prompts[2])
    assert "tools are no longer available" in last_user_message(prompts[3])
    assert len(of_type(outputs, c.ChangeProposed)) == 1


async def test_every_task_gets_a_proposal_and_the_run_end_drops_the_checkouts(origin, tmp_path: Path) -> None:
    path, base = origin
    readme = "--- a/README.md\n+++ b/README.md\n@@ -1 +1,2 @@\n # shop\n+Prices include tax.\n"
    cassette = write_cassette(tmp_path / "cassette.yml", answer(PRICE_DIFF), answer(readme, "document it"))
    # One task at a time: the cassette answers the role's calls in the order they are made.
    service = service_for(tmp_path, cassette, concurrency=1)
    stream = started(origin, "t1", "t2")
    step = stream.add(workspace_ready(base, location=str(path)))

    outputs = await service.handle(step.state, step.event)

    assert [(p.task_id, p.rationale) for p in of_type(outputs, c.ChangeProposed)] == [
        ("t1", "price() adds the tax"), ("t2", "document it")]
    assert (tmp_path / "scratch" / "r1" / base / "app.py").read_text() == APP
    end = stream.add(c.RunCancelled(cancelled_by="ana"))
    assert await service.handle(end.state, end.event) == ()
    assert not (tmp_path / "scratch" / "r1").exists()


async def test_the_readme_cassette_drives_a_proposal(origin, tmp_path: Path) -> None:
    path, base = origin
    readme = (Path(__file__).parents[3] / "services" / "developer" / "README.md").read_text()
    cassette = tmp_path / "demo.yml"
    cassette.write_text(readme.split("```yaml\n")[1].split("\n```")[0])
    service = service_for(tmp_path, cassette)
    step = started(origin).add(workspace_ready(base, location=str(path)))

    outputs = await service.handle(step.state, step.event)

    prompts = prompts_of(outputs)
    assert len(prompts) == 2  # the tool turn, then the answer
    assert "[tool result c1] read_file(path='app.py')\napp.py (6 lines):" in last_user_message(prompts[1])
    [proposed] = of_type(outputs, c.ChangeProposed)
    assert (proposed.task_id, proposed.rationale) == ("t1", "price() adds the tax")
    assert [charge.tokens for charge in of_type(outputs, c.BudgetCharged)][-1] == 900 + 120
    clone = git_apply(path, base, proposed.diff, tmp_path)
    assert (clone / "app.py").read_text().startswith("def price(amount):\n    return amount + tax(amount)\n")


async def test_the_factory_the_runtime_loads_builds_a_service_that_proposes_a_change(
    origin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, base = origin
    monkeypatch.chdir(tmp_path)
    for variable in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "XAI_API_KEY", "WAVE_MODELS_CONFIG"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("WAVE_SCRIPTED_CASSETTE", str(write_cassette(tmp_path / "cassette.yml", answer(PRICE_DIFF))))
    monkeypatch.setenv("WAVE_DEVELOPER_SCRATCH_ROOT", str(tmp_path / "scratch"))
    service = load_factory("wave_developer:create_service")
    step = started(origin).add(workspace_ready(base, location=str(path)))

    outputs = await service.handle(step.state, step.event)

    [proposed] = of_type(outputs, c.ChangeProposed)
    clone = git_apply(path, base, proposed.diff, tmp_path)
    assert (clone / "app.py").read_text().startswith("def price(amount):\n    return amount + tax(amount)\n")


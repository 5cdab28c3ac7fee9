"""A failure on the integrated head goes to every task whose files the failing tests live in: a story of
two tasks, each adding a function and its test file, both first attempts wrong. QA's failure names a
test of each task; one retry fixes both side by side, and the run merges."""

from __future__ import annotations

import json

import pytest
from e2e_stories import example_repo
from two_task_story import STORY, git, two_task_cassette, wave


@pytest.mark.timeout(300)
def test_a_failure_traced_to_two_tasks_fixes_both_and_the_run_merges(tmp_path):
    home, repo = tmp_path / "home", tmp_path / "shop"
    example_repo("shop-repo", repo)
    run = wave(home, "run", STORY, "--repo", str(repo), "--cassette", str(two_task_cassette(tmp_path)), "--json")
    assert run.returncode == 0, run.stdout + run.stderr
    run_id = json.loads(run.stdout)["run_id"]
    events = json.loads(wave(home, "events", run_id, "--json").stdout)

    (failed,) = [e["payload"] for e in events if e["type"] == "TestsFailed"]
    assert sorted(t.split("::")[0] for t in failed["failing_tests"]) == ["tests/test_display_name.py", "tests/test_health.py"]
    # One retry for the failure, naming both tasks.
    (retry,) = [e["payload"] for e in events if e["type"] == "RetryScheduled"]
    assert retry["retry"] == 1 and retry["reason"].endswith("fixing tasks display-name, health")
    (fix,) = [e["payload"] for e in events if e["type"] == "FixRequested"]
    assert (fix["task_id"], fix["attempt"], fix["also"]) == ("display-name", 2, [{"task_id": "health", "attempt": 2}])
    # Both tasks were written again by the fixer, side by side (from the one fix request), and integrated.
    fixes = [e for e in events if e["type"] == "ChangeProposed" and e["payload"]["attempt"] == 2]
    assert sorted(e["payload"]["task_id"] for e in fixes) == ["display-name", "health"]
    assert len({e["causation_id"] for e in fixes}) == 1
    committed = {e["payload"]["task_id"] for e in events if e["type"] == "ChangeCommitted" and e["payload"]["attempt"] == 2}
    assert committed == {"display-name", "health"}
    assert [e["type"] for e in events].count("TestsPassed") == 1 and events[-2]["type"] == "RunCompleted"

    # What landed on main holds both fixes.
    assert "capitalize()" in git(repo, "show", "main:shop/profile/names.py")
    assert "return 200, {\"status\": \"ok\"}" in git(repo, "show", "main:shop/api/routes.py")
    # The decisions replay as recorded.
    replay = wave(home, "replay", run_id, "--execute")
    assert replay.returncode == 0, replay.stdout + replay.stderr

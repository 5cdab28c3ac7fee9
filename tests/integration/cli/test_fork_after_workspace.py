"""`wave fork RUN --at N` where N lies after the run's workspace was made (its `WorkspaceReady`, or a
`ChangeCommitted`): the fork gets a branch of its own that starts from the commit the parent's branch
had at N, goes on live from there and reaches the merge. The parent waits for a person's merge review
meanwhile, so the target branch is still where both runs started."""

from __future__ import annotations

import json

import pytest
from e2e_stories import example_repo
from two_task_story import STORY, git, two_task_cassette, wave


def _events(home, run_id: str) -> list[dict]:
    return json.loads(wave(home, "events", run_id, "--json").stdout)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("position", ["WorkspaceReady", "ChangeCommitted"])
def test_a_fork_after_the_workspace_starts_from_the_parents_commit_and_merges(tmp_path, position):
    home, repo = tmp_path / "home", tmp_path / "shop"
    example_repo("shop-repo", repo)
    base = git(repo, "rev-parse", "main").strip()
    run = wave(home, "run", STORY, "--repo", str(repo), "--cassette", str(two_task_cassette(tmp_path)),
               "--merge-policy", "human")
    assert run.returncode == 3, run.stdout + run.stderr  # the tested branch waits for a person's review
    (parent,) = [r["run_id"] for r in json.loads(wave(home, "runs", "--json").stdout)]
    history = _events(home, parent)
    at_event = next(e for e in history if e["type"] == position)
    at = at_event["stream_version"]
    head_at = at_event["payload"].get("commit") or at_event["payload"]["base_commit"]

    forked = wave(home, "fork", parent, "--at", str(at), "--merge-policy", "auto")
    assert forked.returncode == 0, forked.stdout + forked.stderr
    child = forked.stdout.split("run ", 1)[1].split(" ", 1)[0]
    events = _events(home, child)
    live = events[at:]
    # Its own branch, made from where the parent's branch was at the fork point, on the same base.
    (own,) = [e["payload"] for e in live if e["type"] == "WorkspaceReady"]
    assert own["branch"] == f"wave/{child}" and own["base_commit"] == base
    first_commit = next(e["payload"] for e in live if e["type"] == "ChangeCommitted")
    assert first_commit["parent"] == head_at and first_commit["branch"] == f"wave/{child}"
    assert git(repo, "merge-base", "--is-ancestor", head_at, f"wave/{child}") == ""
    # Live after the fork point: the tests failed, both tasks were fixed, and the run merged.
    types = [e["type"] for e in live]
    assert "FixRequested" in types and types[-2:] == ["RunCompleted", "RunSummarized"]
    merged = next(e["payload"] for e in live if e["type"] == "Merged")
    assert git(repo, "rev-parse", "main").strip() == merged["merge_commit"] != base
    assert "capitalize()" in git(repo, "show", "main:shop/profile/names.py")
    # The parent still waits for its review, on its own branch.
    status = json.loads(wave(home, "status", parent, "--json").stdout)
    assert status["status"] == "awaiting_human" and status["branch"] == f"wave/{parent}"

"""`wave fork`: a new run from another's history up to a stream version, going on with other settings."""

from __future__ import annotations

import json
import subprocess

import pytest
from cli_process import wave
from histories import demo_history, store_history


def _events(home, run_id: str) -> list[dict]:
    listed = wave(home, "events", run_id, "--json")
    assert listed.returncode == 0, listed.stderr
    return json.loads(listed.stdout)


def _trace_id(event: dict) -> str:
    return event["traceparent"].split("-")[1]


def _status(home, run_id: str) -> dict:
    shown = wave(home, "status", run_id, "--json")
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


@pytest.mark.timeout(400)
def test_a_fork_before_the_merge_review_with_a_human_policy_waits_while_the_parent_stays_merged(tmp_path):
    demo = wave(tmp_path, "demo")
    assert demo.returncode == 0, demo.stdout + demo.stderr
    (parent,) = [run["run_id"] for run in json.loads(wave(tmp_path, "runs", "--json").stdout)]
    history = _events(tmp_path, parent)
    review = next(e for e in history if e["type"] == "MergeApproved")
    at = review["stream_version"] - 1  # the last event before the merge review: the tests passed
    repo = tmp_path / "demo" / "sample-repo"
    main_before = subprocess.run(["git", "-C", str(repo), "rev-parse", "main"], capture_output=True, text=True).stdout

    forked = wave(tmp_path, "fork", parent, "--at", str(at), "--merge-policy", "human")
    assert forked.returncode == 3, forked.stdout + forked.stderr
    child = forked.stdout.split("run ", 1)[1].split(" ", 1)[0]
    assert f"forked from {parent} at #{at}" in forked.stdout

    state = _status(tmp_path, child)
    assert (state["status"], state["merge_policy"], state["parent_run_id"], state["forked_at"]) == (
        "awaiting_human", "human", parent, at,
    )
    assert [e["kind"] for e in state["pending_escalations"].values()] == ["merge_review"]
    events = _events(tmp_path, child)
    copies = events[1:at]
    assert [e["type"] for e in copies] == [e["type"] for e in history[1:at]]
    assert {e["event_id"] for e in copies}.isdisjoint(e["event_id"] for e in history)
    assert all(e["producer"].endswith(f"@copied-from-{parent}") for e in copies)
    # Only the merge review was decided again: no model asked, no test run, no commit after the fork point.
    assert [(e["type"], e["producer"].split("@")[0]) for e in events[at:]] == [("EscalationRequested", "planner")]
    shown = wave(tmp_path, "status", child)
    assert f"forked from run {parent} at #{at}" in shown.stdout

    assert _status(tmp_path, parent)["status"] == "completed"
    assert _events(tmp_path, parent)[-1]["type"] == "RunForked"
    # The fork is a run, so a trace of its own; the parent's RunForked stays in the parent's trace.
    parent_traces = {_trace_id(e) for e in _events(tmp_path, parent)}
    assert len(parent_traces) == 1 and len({_trace_id(e) for e in events}) == 1
    assert _trace_id(events[0]) not in parent_traces
    main_after = subprocess.run(["git", "-C", str(repo), "rev-parse", "main"], capture_output=True, text=True).stdout
    assert main_after == main_before


def test_a_fork_point_outside_the_run_or_after_its_end_is_refused(tmp_path):
    parent = store_history(tmp_path, demo_history())
    too_far = wave(tmp_path, "fork", parent, "--at", "999")
    assert too_far.returncode == 1
    assert too_far.stderr.strip().startswith(f"wave: error: --at 999: run {parent} has events 1 to ")
    ended = wave(tmp_path, "fork", parent, "--at", str(len(_events(tmp_path, parent))))
    assert ended.returncode == 1 and "was already completed there; fork it before it ended" in ended.stderr
    assert _events(tmp_path, parent)[-1]["type"] == "RunSummarized"


def test_a_models_file_that_does_not_exist_is_refused_before_anything_is_stored(tmp_path):
    parent = store_history(tmp_path, demo_history())
    refused = wave(tmp_path, "fork", parent, "--at", "5", "--models", str(tmp_path / "nope.yml"))
    assert refused.returncode == 1
    assert refused.stderr.strip() == f"wave: error: --models {tmp_path / 'nope.yml'}: no such file"
    assert [run["run_id"] for run in json.loads(wave(tmp_path, "runs", "--json").stdout)] == [parent]


@pytest.mark.timeout(400)
def test_a_fork_before_a_commit_gets_a_branch_of_its_own_from_the_parents_head_and_goes_on(tmp_path):
    demo = wave(tmp_path, "demo")
    assert demo.returncode == 0, demo.stdout + demo.stderr
    (parent,) = [run["run_id"] for run in json.loads(wave(tmp_path, "runs", "--json").stdout)]
    history = _events(tmp_path, parent)
    commits = [e for e in history if e["type"] == "ChangeCommitted"]
    fix = commits[-1]  # the fixer's commit, after the first attempt failed its tests
    at = fix["stream_version"] - 1  # the fix was scored allow; gitops has yet to commit it
    repo = tmp_path / "demo" / "sample-repo"

    forked = wave(tmp_path, "fork", parent, "--at", str(at), "--merge-policy", "human")
    assert forked.returncode == 3, forked.stdout + forked.stderr  # it waits for the merge review, not stalled
    child = forked.stdout.split("run ", 1)[1].split(" ", 1)[0]
    state = _status(tmp_path, child)
    assert state["status"] == "awaiting_human", state
    assert [e["kind"] for e in state["pending_escalations"].values()] == ["merge_review"]
    assert state["branch"] == f"wave/{child}"

    events = _events(tmp_path, child)
    after = [(e["type"], e["producer"].split("@")[0]) for e in events[at:]]
    assert after[:2] == [("WorkspaceReady", "gitops"), ("ChangeCommitted", "gitops")]
    assert ("TestsPassed", "qa") in after
    # The fork's branch starts at the parent's head at the fork point (the first attempt) and holds the
    # fix again; the parent's branch is as it was.
    first_attempt = commits[0]["payload"]["commit"]
    ready = next(e["payload"] for e in events[at:] if e["type"] == "WorkspaceReady")
    assert ready["base_commit"] == state["base_commit"] == _status(tmp_path, parent)["base_commit"]
    fork_commits = subprocess.run(
        ["git", "-C", str(repo), "rev-list", f"wave/{child}", f"^{ready['base_commit']}"],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    assert fork_commits[1:] == [first_attempt] and fork_commits[0] == state["head_commit"] != fix["payload"]["commit"]
    parent_head = subprocess.run(["git", "-C", str(repo), "rev-parse", f"wave/{parent}"], capture_output=True, text=True).stdout
    assert parent_head.strip() == fix["payload"]["commit"]

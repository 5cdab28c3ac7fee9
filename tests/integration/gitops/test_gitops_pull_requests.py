"""Delivery `pr`: gitops pushes the run branch to a git host (the local fake, over a real bare
repository), opens a pull request, posts a commit status per gate, waits for the host's required
checks (a failing one is a failed test run the planner answers with a fix) and merges through the API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pygit2
import pytest
from fake_git_host import FakeGitHost
from gitops_repos import APP, commit_files, diff_of, file_at, head_of, make_bare, make_repo
from gitops_runs import plan, propose, requested, score
from gitops_workspaces_contract import TAXED
from run_streams import RunStream, Step
from wave_app.replaying import reexecute
from wave_cli import replaying
from wave_events import catalogue as c
from wave_gitops import GitOpsConfig, GitOpsService, create_service
from wave_gitops.host_config import HostConfig
from wave_planner.decide import decide as planner_decide
from wave_runtime import ScheduleTimer, Unrecoverable

FIXED = TAXED.replace("amount * 0.2", "round(amount * 0.2, 2)")


@pytest.fixture
def repo(tmp_path: Path) -> pygit2.Repository:
    repo = make_repo(tmp_path / "shop")
    make_bare(tmp_path / "host.git")
    repo.remotes.create("origin", str(tmp_path / "host.git")).push(["refs/heads/main:refs/heads/main"])
    return repo


@pytest.fixture(params=["github", "gitea"])
def fake(request: pytest.FixtureRequest, repo: pygit2.Repository, tmp_path: Path) -> Iterator[FakeGitHost]:
    host = FakeGitHost(tmp_path / "host.git", flavour=request.param, token="tok-" + "s3cr3t" * 4).start()
    yield host
    host.stop()


def service_for(
    repo: pygit2.Repository, tmp_path: Path, fake: FakeGitHost, env: dict[str, str] | None = None
) -> GitOpsService:
    return create_service(
        env or {},
        config=GitOpsConfig(repo=repo.workdir, worktree_root=str(tmp_path / "trees"), remote="origin"),
        host=HostConfig(fake.flavour, fake.api_url, repository=fake.repository, token=fake.token, poll_s=5),
    )


async def run_through(service: GitOpsService, stream: RunStream, step: Step) -> list:
    outputs = list(await service.handle(step.state, step.event))
    stream.add_all(outputs, producer=service.name, causation=step.event)  # as the runtime records them
    return outputs


async def replay_differences(stream: RunStream) -> list:
    """What `wave replay --execute` finds different when gitops decides the recorded run again."""
    report = await reexecute(stream.run_id, stream.events, [replaying.gitops()])
    assert report.decisions > 0
    return report.divergences


async def committed(service: GitOpsService, stream: RunStream, repo: pygit2.Repository, content: str, attempt: int = 1) -> Step:
    base = stream.state.head_commit
    proposal = propose(stream, "t1", diff_of(repo, {"app.py": content}, at=base), base, attempt=attempt)
    [commit] = await run_through(service, stream, score(stream, proposal))
    assert isinstance(commit, c.ChangeCommitted), commit
    return stream.last


async def test_a_run_goes_through_a_pull_request_whose_failing_required_check_is_fixed_before_the_merge(
    repo: pygit2.Repository, tmp_path: Path, fake: FakeGitHost
) -> None:
    service = service_for(repo, tmp_path, fake)
    stream = requested("r1", repo.workdir, delivery="pr")
    [pushing, ready] = await run_through(service, stream, plan(stream, "t1"))
    assert isinstance(pushing, c.ActionScored) and isinstance(ready, c.WorkspaceReady)
    assert (pushing.action_kind, pushing.verdict) == ("push", "allow")
    assert pushing.action == {"kind": "push", "remote": str(tmp_path / "host.git"), "branch": "wave/r1"}
    main_before = head_of(repo, "main")

    first = await committed(service, stream, repo, TAXED)
    head = first.event.payload.commit
    [opened] = await run_through(service, stream, first)
    assert isinstance(opened, c.PullRequestOpened)
    (pull,) = fake.pulls.values()
    assert (opened.number, opened.head_branch, opened.base_branch, opened.repository) == (pull["number"], "wave/r1", "main", "acme/shop")
    assert (pull["head"], pull["title"]) == ("wave/r1", "make prices include tax") and "Wave-Run: r1" in pull["body"]
    assert fake.branch_head("wave/r1") == head
    assert fake.statuses_of(head) == {"wave/G3-safe": "success", "wave/G4-committed": "success", "wave/G5-tested": "pending"}

    # The sandbox's tests pass; the host's CI has not reported yet: look again later.
    fake.required["main"] = ["ci/test"]
    verdicts = {head: ("pending", "running")}
    fake.ci = lambda commit: {"ci/test": verdicts[commit]} if commit in verdicts else {}
    passed = stream.add(c.TestsPassed(commit=head, counts=c.TestCounts(passed=4), duration_s=1, sandbox="bwrap"))
    [later] = await service.handle(passed.state, passed.event)
    assert isinstance(later, ScheduleTimer) and later.event == c.HostChecksDue(commit=head, poll=2, timer_id=later.timer_id)
    assert (later.due_at - passed.event.occurred_at).total_seconds() == 5
    assert fake.statuses_of(head)["wave/G5-tested"] == "success"
    assert not stream.state.gates["G5 tested"]

    # The CI fails: a failed test run, which the planner answers with a fix of the task.
    verdicts[head] = ("failure", "test_price_rounding failed")
    [failed] = await run_through(service, stream, stream.add(later.event))
    assert isinstance(failed, c.TestsFailed)
    assert (failed.commit, failed.failing_tests, failed.sandbox) == (head, ("ci/test",), "host-checks")
    assert "test_price_rounding failed" in failed.failure_excerpt
    retry = [s for s in planner_decide(stream.state, stream.last.event) if isinstance(s, c.RetryScheduled)]
    assert len(retry) == 1 and "fixing task t1" in retry[0].reason

    stream.add(c.FixRequested(retry=1, task_id="t1", attempt=2, failure_excerpt=failed.failure_excerpt))
    second = await committed(service, stream, repo, FIXED, attempt=2)
    fixed = second.event.payload.commit
    assert await run_through(service, stream, second) == []  # the pull request is open already
    assert len(fake.pulls) == 1 and fake.branch_head("wave/r1") == fixed

    verdicts[fixed] = ("success", "13 passed")
    passed = stream.add(c.TestsPassed(commit=fixed, counts=c.TestCounts(passed=5), duration_s=1, sandbox="bwrap"))
    [checks] = await run_through(service, stream, passed)
    assert checks == c.HostChecksPassed(commit=fixed, checks=("ci/test",))
    assert stream.state.gates["G5 tested"]

    [merging, merged] = await run_through(service, stream, stream.add(c.MergeApproved(approver="policy", reviewer="policy:auto")))
    assert isinstance(merging, c.ActionScored) and (merging.action_kind, merging.verdict) == ("merge", "allow")
    assert merging.action == {
        "kind": "merge", "branch": "wave/r1", "target": "main", "strategy": "squash", "remote": str(tmp_path / "host.git")
    }
    assert isinstance(merged, c.Merged) and merged.target_branch == "main"
    # The history holds each verdict ahead of what it let happen.
    types = [e.type for e in stream.events]
    push_verdict, merge_verdict = (i for i, e in enumerate(stream.events) if e.type == "ActionScored"
                                   and e.payload.action_kind in ("push", "merge"))
    assert push_verdict < types.index("WorkspaceReady") < types.index("PullRequestOpened")
    assert types.index("PullRequestOpened") < merge_verdict < types.index("Merged")
    host_repo = pygit2.Repository(str(fake.repo_path))
    assert fake.branch_head("main") == merged.merge_commit
    assert file_at(host_repo, merged.merge_commit, "app.py") == FIXED
    assert fake.pulls[opened.number]["merged"] is True
    assert fake.statuses_of(fixed)["wave/G6-approved"] == "success"
    assert head_of(repo, "main") == main_before  # the merge happened on the host
    assert ready.location == str(tmp_path / "host.git")

    # Every call carried the token; no event says it.
    assert fake.requests and all(fake.token in r.headers["Authorization"] for r in fake.requests)
    assert not any(fake.token in e.payload.model_dump_json() for e in stream.events)


async def test_a_pull_request_the_host_will_not_merge_asks_a_person(
    repo: pygit2.Repository, tmp_path: Path, fake: FakeGitHost
) -> None:
    service = service_for(repo, tmp_path, fake)
    stream = requested("r1", repo.workdir, delivery="pr")
    await run_through(service, stream, plan(stream, "t1"))
    first = await committed(service, stream, repo, TAXED)
    await run_through(service, stream, first)
    head = stream.state.head_commit
    # Someone changed the same line on the host's main meanwhile.
    other = make_repo(tmp_path / "elsewhere")
    other.remotes.create("origin", str(fake.repo_path))
    other.remotes["origin"].fetch()
    other.reset(other.revparse_single("origin/main").id, pygit2.enums.ResetMode.HARD)
    commit_files(other, {"app.py": APP.replace("return amount\n", "return amount * 2\n")}, "double")
    other.remotes["origin"].push(["+refs/heads/main:refs/heads/main"])
    moved = fake.branch_head("main")

    stream.add(c.TestsPassed(commit=head, counts=c.TestCounts(passed=4), duration_s=1, sandbox="bwrap"))
    await run_through(service, stream, stream.last)
    [scored, asked] = await run_through(service, stream, stream.add(c.MergeApproved(approver="policy", reviewer="policy:auto")))
    assert isinstance(scored, c.ActionScored) and scored.verdict == "allow"
    assert isinstance(asked, c.EscalationRequested) and asked.kind == "merge_conflict" and asked.head == head
    assert "not mergeable" in asked.reason and f"#{stream.state.pull_request.number}" in asked.reason
    assert fake.branch_head("main") == moved


async def test_a_run_delivered_as_a_pull_request_without_a_host_waits_for_a_person(
    repo: pygit2.Repository, tmp_path: Path
) -> None:
    service = create_service(config=GitOpsConfig(repo=repo.workdir, worktree_root=str(tmp_path / "trees"), remote="origin"), env={})
    stream = requested("r1", repo.workdir, delivery="pr")
    await run_through(service, stream, plan(stream, "t1"))
    first = await committed(service, stream, repo, TAXED)
    with pytest.raises(Unrecoverable) as stopped:
        await service.handle(first.state, first.event)
    assert "no git host configured" in stopped.value.reason and "WAVE_GIT_HOST" in stopped.value.action


async def escalated_and_approved(service: GitOpsService, stream: RunStream, verdict: c.ActionScored) -> list:
    """The planner asks a person about `verdict`; the person approves; gitops carries the action out."""
    [asked] = [s for s in planner_decide(stream.state, stream.last.event) if isinstance(s, c.EscalationRequested)]
    assert asked.kind == "unsafe_action" and asked.subject_event_id == verdict.target_event_id
    stream.add(asked)
    return await run_through(service, stream, stream.add(c.HumanDecisionRecorded(
        escalation_id=asked.escalation_id, decision="approve", decided_by="ana")))


async def test_a_host_the_policy_does_not_list_waits_for_a_person_before_the_push_and_before_the_merge(
    repo: pygit2.Repository, tmp_path: Path, fake: FakeGitHost
) -> None:
    service = service_for(repo, tmp_path, fake, env={"WAVE_SAFETY_PUSH_REMOTES": "https://git.example.com/*"})
    stream = requested("r1", repo.workdir, delivery="pr")
    [pushing] = await run_through(service, stream, plan(stream, "t1"))
    assert isinstance(pushing, c.ActionScored) and (pushing.action_kind, pushing.verdict) == ("push", "escalate")
    assert "git.push_remote" in {v.rule for v in pushing.violations}
    assert fake.branch_head("wave/r1") is None and not fake.requests  # nothing pushed, the host not asked

    [ready] = await escalated_and_approved(service, stream, pushing)
    assert isinstance(ready, c.WorkspaceReady) and fake.branch_head("wave/r1") == ready.base_commit
    first = await committed(service, stream, repo, TAXED)
    [opened] = await run_through(service, stream, first)
    assert isinstance(opened, c.PullRequestOpened) and fake.branch_head("wave/r1") == first.event.payload.commit

    stream.add(c.TestsPassed(commit=stream.state.head_commit, counts=c.TestCounts(passed=4), duration_s=1, sandbox="bwrap"))
    assert await run_through(service, stream, stream.last) == [c.HostChecksPassed(commit=stream.state.head_commit, checks=())]
    main_before = fake.branch_head("main")
    [merging] = await run_through(service, stream, stream.add(c.MergeApproved(approver="policy", reviewer="policy:auto")))
    assert isinstance(merging, c.ActionScored) and (merging.action_kind, merging.verdict) == ("merge", "escalate")
    assert fake.branch_head("main") == main_before and fake.pulls[opened.number]["merged"] is False

    [merged] = await escalated_and_approved(service, stream, merging)
    assert isinstance(merged, c.Merged) and fake.branch_head("main") == merged.merge_commit
    assert fake.pulls[opened.number]["merged"] is True
    # Replayed, each escalated verdict is the outcome of the decision it was recorded for.
    assert await replay_differences(stream) == []


async def test_a_remote_with_a_credential_in_its_url_is_scored_and_recorded_without_it(
    repo: pygit2.Repository, tmp_path: Path, fake: FakeGitHost
) -> None:
    secret = "hunter2" + "x" * 12
    repo.remotes.create("hosted", f"https://ana:{secret}@git.example.com/acme/shop.git")
    service = create_service(
        {"WAVE_SAFETY_PUSH_REMOTES": "https://git.example.com/other/*"},
        config=GitOpsConfig(repo=repo.workdir, worktree_root=str(tmp_path / "trees"), remote="hosted"),
        host=HostConfig(fake.flavour, fake.api_url, repository=fake.repository, token=fake.token, poll_s=5),
    )
    stream = requested("r1", repo.workdir, delivery="pr")
    [pushing] = await run_through(service, stream, plan(stream, "t1"))
    assert isinstance(pushing, c.ActionScored) and pushing.verdict != "allow"
    assert pushing.action == {"kind": "push", "remote": "https://git.example.com/acme/shop.git", "branch": "wave/r1"}
    assert secret not in pushing.model_dump_json()

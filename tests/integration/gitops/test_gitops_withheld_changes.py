"""A proposal that withheld its diff (it held a secret) is never committed, even when a person approves
it; a diff with placeholder tokens is committed exactly as proposed."""

from __future__ import annotations

from pathlib import Path

import pygit2
from gitops_repos import commits_on, diff_of, file_at, head_of, make_repo
from gitops_runs import decide_escalation, escalate_unsafe, plan, requested, score
from run_streams import RunStream
from wave_events import catalogue as c
from wave_gitops import GitOpsConfig, create_service

PLACEHOLDER_TEST = (
    "from app import auth_header\n\n\ndef test_header():\n"
    '    assert auth_header("placeholder-token-1234") == "Bearer placeholder-token-1234"\n'
    'password = "hunter2"\ntoken = "test-token"\n'
)


async def _run_through(service, stream: RunStream, step) -> list:
    outputs = list(await service.handle(step.state, step.event))
    for output in outputs:
        stream.add(output)
    return outputs


async def _prepared(tmp_path: Path) -> tuple[pygit2.Repository, object, RunStream]:
    repo = make_repo(tmp_path / "shop")
    service = create_service(config=GitOpsConfig(worktree_root=str(tmp_path / "trees")))
    stream = requested("r1", repo.workdir)
    await _run_through(service, stream, plan(stream, "t1"))
    return repo, service, stream


async def test_an_approved_withheld_proposal_is_rejected_and_nothing_is_committed(tmp_path: Path) -> None:
    repo, service, stream = await _prepared(tmp_path)
    proposal = stream.add(c.ChangeProposed(
        task_id="t1", attempt=1, base_commit=head_of(repo, "main"),
        withheld=(c.WithheldSecret(path="app.py", line=3, kind="anthropic-key"),),
    ))
    assert await _run_through(service, stream, score(stream, proposal, "escalate")) == []
    escalate_unsafe(stream, proposal)
    [rejected] = await _run_through(service, stream, decide_escalation(stream))
    assert isinstance(rejected, c.ChangeRejected)
    assert "withheld its diff because it held a secret" in rejected.reason
    assert commits_on(repo, "wave/r1") == 1


async def test_a_diff_with_placeholder_tokens_is_committed_byte_for_byte(tmp_path: Path) -> None:
    repo, service, stream = await _prepared(tmp_path)
    diff = diff_of(repo, {"tests/test_auth.py": PLACEHOLDER_TEST})
    proposal = stream.add(c.ChangeProposed(task_id="t1", attempt=1, diff=diff, base_commit=head_of(repo, "main")))
    [committed] = await _run_through(service, stream, score(stream, proposal))
    assert isinstance(committed, c.ChangeCommitted)
    assert file_at(repo, committed.commit, "tests/test_auth.py") == PLACEHOLDER_TEST

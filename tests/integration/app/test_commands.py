"""The application layer's commands and queries on a real SQLite store: what they record, in whose
name, and how they refuse (the kind of refusal is what an HTTP API answers with)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid

import pytest
from gitops_repos import make_repo
from wave_app import commands, queries
from wave_app.errors import Conflict, InvalidRequest, NotFound, Unreadable
from wave_events import catalogue as ev
from wave_events.envelope import new_envelope
from wave_store import open_store


@pytest.fixture
async def store(tmp_path):
    opened = await open_store(f"sqlite:///{tmp_path / 'wave.db'}")
    yield opened
    await opened.close()


@pytest.fixture
def repo(tmp_path):
    path = tmp_path / "repo"
    make_repo(path)
    return path


async def _escalated_run(store, repo, kind: str = "unsafe_action") -> str:
    run_id = await commands.submit_run(store, actor="ana", story="Add slugify", repo=str(repo), budget_usd=2.0)
    stream = f"run-{run_id}"
    escalation = ev.EscalationRequested(escalation_id="e1", kind=kind, reason="why", options=("approve", "reject"))
    await store.append(stream, [new_envelope(stream, escalation, producer="test")], 1)
    return run_id


async def test_a_submitted_run_names_the_person_who_asked_for_it(store, repo):
    run_id = await commands.submit_run(store, actor="ana", story="Add slugify", repo=str(repo))
    events, state = await queries.load_run(store, run_id)
    assert [e.type for e in events] == ["RunRequested"]
    assert events[0].payload.requested_by == "ana"
    assert state.target_branch == "main" and state.status == "running"


async def test_a_submitted_run_records_the_target_branch_head_as_its_base(store, repo):
    import pygit2

    head = str(pygit2.Repository(str(repo)).lookup_branch("main").peel(pygit2.Commit).id)
    run_id = await commands.submit_run(store, actor="ana", story="Add slugify", repo=str(repo))
    events, state = await queries.load_run(store, run_id)
    assert events[0].payload.base_commit == head and state.requested_base_commit == head


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"story": "   "}, "the story is empty"),
        ({"budget_usd": float("nan")}, "^budget_usd nan: give a finite amount"),
        ({"target_branch": "nope"}, "^target_branch nope: no such branch"),
    ],
)
async def test_a_bad_submission_is_an_invalid_request_and_stores_nothing(store, repo, fields, problem):
    request = {"story": "Add slugify", "repo": str(repo), **fields}
    with pytest.raises(InvalidRequest, match=problem) as refused:
        await commands.submit_run(store, actor="ana", **request)
    assert refused.value.status == 400
    assert await queries.list_runs(store) == []


async def test_a_missing_repository_is_an_invalid_request(store, tmp_path):
    with pytest.raises(InvalidRequest, match="no such directory"):
        await commands.submit_run(store, actor="ana", story="x", repo=str(tmp_path / "absent"))


@pytest.mark.parametrize("racers", [8])
async def test_racing_approvers_record_exactly_one_decision(store, repo, racers):
    run_id = await _escalated_run(store, repo)
    outcomes = await asyncio.gather(
        *(commands.record_decision(store, run_id, actor=f"p{i}", decision="approve", escalation_id="e1")
          for i in range(racers)),
        return_exceptions=True,
    )
    recorded = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(recorded) == 1
    assert all(isinstance(r, Conflict) and "already answered" in str(r) for r in refused)
    events = await store.read_stream(f"run-{run_id}")
    assert [e.type for e in events].count("HumanDecisionRecorded") == 1


async def test_a_decision_names_who_made_it_and_a_second_is_a_conflict(store, repo):
    run_id = await _escalated_run(store, repo)
    _, envelope = await commands.record_decision(store, run_id, actor="ana", decision="reject", escalation_id=None)
    assert envelope.payload.decided_by == "ana" and envelope.payload.decision == "reject"
    with pytest.raises(Conflict, match="escalation e1 was already answered: reject by ana") as refused:
        await commands.record_decision(store, run_id, actor="bo", decision="approve", escalation_id="e1")
    assert refused.value.status == 409


async def test_an_unknown_run_or_escalation_is_not_found(store, repo):
    with pytest.raises(NotFound, match="no run r-none") as refused:
        await commands.cancel_run(store, "r-none", actor="ana", reason="")
    assert refused.value.status == 404
    run_id = await _escalated_run(store, repo)
    with pytest.raises(NotFound, match="no pending escalation e9"):
        await commands.record_decision(store, run_id, actor="ana", decision="approve", escalation_id="e9")


async def test_budget_and_cancel_are_recorded_in_the_actors_name_and_refused_once_finished(store, repo):
    run_id = await _escalated_run(store, repo, kind="budget")
    _, raised = await commands.raise_budget(store, run_id, actor="ana", usd=9.0, tokens=None)
    assert raised.payload.raised_by == "ana" and raised.payload.limit_usd == 9.0
    _, cancelled = await commands.cancel_run(store, run_id, actor="bo", reason="enough")
    assert cancelled.payload.cancelled_by == "bo"
    with pytest.raises(Conflict, match=f"run {run_id} is already cancelled"):
        await commands.cancel_run(store, run_id, actor="bo", reason="again")
    with pytest.raises(Conflict, match="its budget cannot change"):
        await commands.raise_budget(store, run_id, actor="ana", usd=10.0, tokens=None)
    _, state = await queries.load_run(store, run_id)
    assert state.status == "cancelled"


async def test_a_redrive_is_recorded_on_its_run_and_a_letter_of_no_run_is_skipped(store, repo):
    run_id = await commands.submit_run(store, actor="ana", story="Add slugify", repo=str(repo))
    letter = str(uuid.uuid4())
    await commands.record_redrive(store, f"run-{run_id}", actor="ana", service="qa", event_id=letter)
    await commands.record_redrive(store, "not-a-run", actor="ana", service="qa", event_id=str(uuid.uuid4()))
    events, _ = await queries.load_run(store, run_id)
    assert events[-1].type == "DeadLetterRedriven"
    assert (events[-1].payload.service, str(events[-1].payload.event_id), events[-1].payload.redriven_by) == ("qa", letter, "ana")
    assert await store.stream_ids("not-a-run") == []


async def test_an_undecodable_event_makes_its_run_unreadable_and_raw_reading_still_works(store, tmp_path):
    # a record an older version wrote, with a budget today's RunRequested cannot hold
    with sqlite3.connect(tmp_path / "wave.db") as db:
        db.execute(
            "INSERT INTO events (stream_id, stream_version, event_id, event_type, event_version, occurred_at, "
            "correlation_id, producer, payload) VALUES ('run-broken1', 1, ?, 'RunRequested', 2, "
            "'2024-05-01T10:00:00+00:00', 'broken1', 'cli', ?)",
            (str(uuid.uuid4()), json.dumps({"story": "s", "repo": "/r", "budget_usd": "Infinity"})),
        )
    with pytest.raises(Unreadable, match="run broken1 is unreadable") as refused:
        await queries.load_run(store, "broken1")
    assert refused.value.status == 409
    (listing,) = await queries.list_runs(store)
    assert (listing.run_id, listing.status) == ("broken1", "unreadable")
    assert [record.event_type for record in await queries.read_raw(store, "broken1")] == ["RunRequested"]


@pytest.mark.parametrize("repo", ["r" * 5000, "~no-such-user-anywhere/repo", "bad\x00path"])
async def test_a_repository_path_the_system_cannot_look_at_is_an_invalid_request(store, repo):
    with pytest.raises(InvalidRequest, match="^repo ") as refused:
        await commands.submit_run(store, actor="ana", story="x", repo=repo)
    assert refused.value.field == "repo"  # each edge names it its own way (--repo, "repo")
    assert await queries.list_runs(store) == []


async def test_only_a_domains_approvers_may_approve_its_task_review(store, repo):
    from wave_events.domains import parse_table

    table = parse_table("[[domain]]\nname = 'payments'\nmerge_policy = 'human'\napprovers = ['ana']\n", "t")
    run_id = await commands.submit_run(store, actor="ana", story="Charge cards", repo=str(repo), domain_table=table)
    stream = f"run-{run_id}"
    plan = ev.PlanCreated(tasks=(ev.PlanTask(task_id="pay", domain="payments", description="d", acceptance_criteria=("a",)),))
    review = ev.EscalationRequested(escalation_id="e1", kind="task_review", reason="review", task_id="pay", attempt=1)
    await store.append(stream, [new_envelope(stream, plan, producer="test"), new_envelope(stream, review, producer="test")], 1)
    with pytest.raises(InvalidRequest, match=r"the payments domain, which only ana may approve \(you are bo \(approver\)\)"):
        await commands.record_decision(store, run_id, actor="bo (approver)", decision="approve", escalation_id="e1")
    # Anyone may say no; the domain's approver may say yes.
    _, envelope = await commands.record_decision(store, run_id, actor="ana (approver)", decision="approve", escalation_id="e1")
    assert envelope.payload.decided_by == "ana (approver)"
    _, state = await queries.load_run(store, run_id)
    assert state.tasks["pay"].reviewed_by == "ana (approver)"


async def test_a_refusal_names_no_edge_and_each_edge_phrases_the_remedy_its_own_way(store, repo):
    from wave_api.app import api_line
    from wave_cli.errors import cli_line

    run_id = await _escalated_run(store, repo)
    with pytest.raises(Conflict) as unforced:
        await commands.raise_budget(store, run_id, actor="ana", usd=9, tokens=None)
    with pytest.raises(InvalidRequest) as below:
        await commands.raise_budget(store, run_id, actor="ana", usd=-1, tokens=None, force=True)
    for refusal in (unforced.value, below.value):
        assert "--" not in str(refusal) and "wave " not in str(refusal)
    assert cli_line(unforced.value) == f"run {run_id} is awaiting_human, not stopped for budget; --force changes its budget anyway"
    assert api_line(unforced.value) == f'run {run_id} is awaiting_human, not stopped for budget; send "force": true to change its budget anyway'
    assert cli_line(below.value).startswith("--usd -1: give a finite amount")
    assert api_line(below.value).startswith("usd -1: give a finite amount")
    # The command line's events say so; the API passes its own producer (tests/integration/api/test_api.py).
    events, _ = await queries.load_run(store, run_id)
    assert events[0].producer == commands.PRODUCER == "cli"

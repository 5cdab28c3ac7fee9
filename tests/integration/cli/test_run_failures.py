"""Runs that cannot go on say why, as a user sees it through `wave`: failures no retry can fix escalate at
once with what to fix, a dead-lettered event shows the run as stalled with the command that re-drives
it, `wave run` refuses what it can check before the first model call, and a refused model answer
stays in the audit trail. Real git repositories, the scripted cassette provider, the embedded runtime."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from gitops_repos import make_repo
from notifier_fake_slack import FakeSlack
from planner_models import answer
from wave_app import commands
from wave_events import catalogue as c
from wave_events import new_envelope
from wave_runtime import FileDeadLetters
from wave_store import open_store
from wave_store.port import Handling

WAVE = [sys.executable, "-m", "wave_cli"]


def wave(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("WAVE_", "ANTHROPIC_", "OPENAI_", "XAI_"))}
    environment.update(WAVE_HOME=str(home / "home"), COLUMNS="250", **(env or {}))
    # The working directory has no .wave/cassette.yml: the default cassette does not exist.
    return subprocess.run([*WAVE, *args], capture_output=True, text=True, env=environment, timeout=110, cwd=home)


def cassette(path: Path, *interactions: dict) -> dict[str, str]:
    path.write_text(yaml.safe_dump({"version": 1, "interactions": list(interactions)}, sort_keys=False))
    return {"WAVE_SCRIPTED_CASSETTE": str(path)}


def run_id_of(output: str) -> str:
    for line in output.splitlines():
        if line.startswith("run ") and "submitted" in line:
            return line.split()[1]
    raise AssertionError(f"no run id in:\n{output}")


def status_of(tmp_path: Path, run_id: str, env: dict[str, str] | None = None) -> dict:
    shown = wave(tmp_path, "status", run_id, "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def events_of(tmp_path: Path, run_id: str) -> list[dict]:
    return json.loads(wave(tmp_path, "events", run_id, "--json").stdout)


def dead_letters(tmp_path: Path) -> list[dict]:
    return json.loads(wave(tmp_path, "dlq", "list", "--json").stdout)


def stored_runs(tmp_path: Path) -> list:
    return json.loads(wave(tmp_path, "runs", "--json").stdout)


def test_a_run_with_no_model_source_is_refused_before_anything_is_stored(tmp_path):
    make_repo(tmp_path / "repo", branch="master")
    refused = wave(tmp_path, "run", "add a health check", "--repo", str(tmp_path / "repo"))
    assert refused.returncode == 1
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert lines[0].startswith("wave: error: no model source for planner")
    assert f"the cassette {tmp_path / '.wave' / 'cassette.yml'} does not exist" in lines[0]
    assert "--cassette FILE" in lines[0]
    assert stored_runs(tmp_path) == []


def test_a_target_branch_the_repository_does_not_have_is_refused(tmp_path):
    make_repo(tmp_path / "repo", branch="master")
    env = cassette(tmp_path / "c.yml", answer("planner", {"feasible": False, "reason": "no"}))
    refused = wave(tmp_path, "run", "a story", "--repo", str(tmp_path / "repo"), "--target-branch", "main", env=env)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        f"wave: error: --target-branch main: no such branch in {tmp_path / 'repo'} (branches: master)"
    )
    assert stored_runs(tmp_path) == []


def test_a_cassette_without_the_planner_answer_escalates_at_once_and_approve_tries_again(tmp_path):
    make_repo(tmp_path / "repo", branch="master")  # no --target-branch: the current branch, master
    env = cassette(tmp_path / "c.yml", answer("developer", "no diff"))

    run = wave(tmp_path, "run", "add a health check", "--repo", str(tmp_path / "repo"), env=env)
    assert run.returncode == 3, run.stdout + run.stderr
    run_id = run_id_of(run.stdout)
    assert "environment" in run.stdout
    assert "no scripted response for role 'planner'" in run.stdout
    assert f"add an answer for the planner role to the cassette {tmp_path / 'c.yml'}" in run.stdout
    assert f"wave approve {run_id} --decision approve|reject" in run.stdout

    status = status_of(tmp_path, run_id)
    assert status["status"] == "awaiting_human", status["abandoned"]
    assert status["target_branch"] == "master"
    [escalation] = status["pending_escalations"].values()
    assert escalation["kind"] == "environment"
    assert dead_letters(tmp_path) == []  # not retried into the dead-letter store
    types = [e["type"] for e in events_of(tmp_path, run_id)]
    assert types[:3] == ["RunRequested", "HandlingAbandoned", "EscalationRequested"]

    # Fixed: the cassette now answers the planner; approving hands RunRequested to the planner again.
    cassette(tmp_path / "c.yml", answer("planner", {"feasible": False, "reason": "the repository has no web server"}))
    approved = wave(tmp_path, "approve", run_id, "--decision", "approve", env=env)
    assert approved.returncode == 1, approved.stdout + approved.stderr
    assert "the repository has no web server" in approved.stdout
    status = status_of(tmp_path, run_id)
    assert status["status"] == "rejected"
    assert status["abandoned"] == {}
    assert "HandlingRetryRequested" in [e["type"] for e in events_of(tmp_path, run_id)]


def test_a_refused_planner_answer_is_recorded_charged_and_named(tmp_path):
    make_repo(tmp_path / "repo")
    env = cassette(tmp_path / "c.yml", answer("planner", "not json at all", tokens=100))

    run = wave(tmp_path, "run", "add a health check", "--repo", str(tmp_path / "repo"), env=env)
    assert run.returncode == 3, run.stdout + run.stderr
    run_id = run_id_of(run.stdout)

    events = events_of(tmp_path, run_id)
    [call] = [e["payload"] for e in events if e["type"] == "LLMCallRecorded"]
    assert call["response"] == "not json at all"
    assert call["rejected_reason"].startswith("the planner model's answer was refused: the answer is not valid JSON")
    [charge] = [e["payload"] for e in events if e["type"] == "BudgetCharged"]
    assert charge["tokens"] == 150
    [escalation] = status_of(tmp_path, run_id)["pending_escalations"].values()
    # The real reason first, then why the planner could not ask again.
    assert escalation["reason"].startswith(
        "planner cannot handle RunRequested: the planner model's answer was refused: the answer is not valid JSON"
    )
    assert "all 1 interactions for this role were already played" in escalation["reason"]
    assert status_of(tmp_path, run_id)["budget_used_tokens"] == 150


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks/alerts"


@pytest.mark.timeout(400)  # Slack is retried by the notifier and by the runtime before a dead letter
def test_a_dead_lettered_event_stalls_the_run_until_a_redrive_succeeds(tmp_path):
    make_repo(tmp_path / "repo")
    invalid = answer("planner", {"feasible": True})  # no tasks: refused three times, then a person is asked
    env = {**cassette(tmp_path / "c.yml", invalid, invalid, invalid), "WAVE_SLACK_WEBHOOK_URL": _closed_port_url()}

    run = wave(tmp_path, "run", "add a health check", "--repo", str(tmp_path / "repo"), env=env)
    assert run.returncode == 1, run.stdout + run.stderr
    run_id = run_id_of(run.stdout)
    [letter] = [d for d in dead_letters(tmp_path) if d["event_type"] == "EscalationRequested"]
    assert letter["consumer"] == "notifier"
    assert f"run {run_id} stalled" in run.stdout
    assert f"wave dlq redrive --event {letter['event_id']}" in run.stdout

    shown = wave(tmp_path, "status", run_id)
    assert f"run {run_id}: stalled" in shown.stdout
    assert f"notifier gave up on EscalationRequested {letter['event_id']}" in shown.stdout
    assert f"wave dlq redrive --event {letter['event_id']}" in shown.stdout
    assert [r["status"] for r in stored_runs(tmp_path) if r["run_id"] == run_id] == ["stalled"]

    # Slack is still unreachable: the re-driven event fails again and the command says so.
    again = wave(tmp_path, "dlq", "redrive", "--event", letter["event_id"], env=env)
    assert again.returncode == 1, again.stdout + again.stderr
    assert "1 failed again and were dead-lettered again" in again.stdout
    assert status_of(tmp_path, run_id)["status"] == "stalled"

    slack = FakeSlack().start()
    try:
        fixed = wave(tmp_path, "dlq", "redrive", env={**env, "WAVE_SLACK_WEBHOOK_URL": slack.hook_url("alerts")})
    finally:
        slack.stop()
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    # The escalation's letter and the one of RunRequested (its #wave-updates post failed the same way).
    assert fixed.stdout.strip() == "re-drove 2 dead letter(s); handled"
    status = status_of(tmp_path, run_id)
    assert status["status"] == "awaiting_human", status["abandoned"]
    assert status["abandoned"] == {}
    assert [e["type"] for e in events_of(tmp_path, run_id)].count("DeadLetterRedriven") == 3


async def _dead_lettered_then_handled(home: Path, repo: Path) -> tuple[str, str]:
    """A run whose EscalationRequested the notifier dead-lettered (the dead letter, and the run's
    HandlingAbandoned) and then handled after all, delivered again after the letter was written.
    Returns the run id and the event id."""
    store = await open_store(f"sqlite:///{home / 'wave.db'}")
    try:
        run_id = await commands.submit_run(store, actor="ana", story="add a health check", repo=str(repo))
        stream = f"run-{run_id}"
        (request,) = await store.read_stream(stream)
        question = new_envelope(stream, c.EscalationRequested(escalation_id="e1", kind="merge_review", reason="review it",
                                                              options=("approve", "reject")),
                                producer="planner@1", causation=request)
        await store.append(stream, [question], 1)
        await FileDeadLetters(home / "dead-letters.jsonl").add("notifier", question, None, "SlackApiError", "no Slack", 5)
        abandoned = new_envelope(stream, c.HandlingAbandoned(
            service="notifier", event_id=question.event_id, subject_type=question.type, reason="SlackApiError: no Slack",
            action=f"fix the cause, then re-drive it: wave dlq redrive --event {question.event_id}", attempts=5,
            dead_lettered=True), producer="notifier@1", causation=question)
        await store.append(stream, [abandoned], 2)
        await store.record_handling(Handling("notifier", question.event_id, stream))
    finally:
        await store.close()
    return run_id, str(question.event_id)


def test_a_dead_letter_whose_event_was_handled_after_all_is_reported_and_settled_not_redriven(tmp_path):
    make_repo(tmp_path / "repo")
    (tmp_path / "home").mkdir()
    run_id, event_id = asyncio.run(_dead_lettered_then_handled(tmp_path / "home", tmp_path / "repo"))
    assert status_of(tmp_path, run_id)["status"] == "stalled"

    redrive = wave(tmp_path, "dlq", "redrive")
    assert redrive.returncode == 0, redrive.stdout + redrive.stderr
    assert redrive.stdout.strip() == (
        f"already handled: notifier had handled EscalationRequested {event_id} (run {run_id}); not re-driven"
    )
    [letter] = dead_letters(tmp_path)
    assert (letter["event_id"], letter["redriven"], letter["handled"]) == (event_id, False, True)
    assert "already handled" in wave(tmp_path, "dlq", "list").stdout
    status = status_of(tmp_path, run_id)
    assert (status["status"], status["abandoned"]) == ("awaiting_human", {})  # no longer stalled on it
    assert events_of(tmp_path, run_id)[-1]["type"] == "DeadLetterFoundHandled"
    assert wave(tmp_path, "dlq", "redrive").stdout.strip() == "nothing to re-drive"  # it is no longer pending

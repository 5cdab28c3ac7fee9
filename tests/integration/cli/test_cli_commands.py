"""The `wave` command as a user types it: the real entry point in a subprocess, the embedded store."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path

from cli_process import WAVE, wave
from gitops_repos import make_repo
from wave_app import commands
from wave_events import catalogue as ev
from wave_events.envelope import new_envelope
from wave_store import open_store


def _store_url(home: Path) -> str:
    return f"sqlite:///{home / 'wave.db'}"


async def _seed(home: Path, *payloads) -> str:
    """A run stored with the given events after its RunRequested."""
    repo = home / "repo"
    if not repo.exists():
        make_repo(repo)
    store = await open_store(_store_url(home))
    try:
        run_id = await commands.submit_run(store, actor="test", story="Add slugify", repo=str(repo), budget_usd=2.0)
        stream = f"run-{run_id}"
        if payloads:
            envelopes = [new_envelope(stream, p, producer="test") for p in payloads]
            await store.append(stream, envelopes, 1)
        return run_id
    finally:
        await store.close()


async def _append(home: Path, run_id: str, payload) -> None:
    store = await open_store(_store_url(home))
    try:
        stream = f"run-{run_id}"
        await store.append(stream, [new_envelope(stream, payload, producer="test")], await store.stream_version(stream))
    finally:
        await store.close()


def _escalated() -> ev.EscalationRequested:
    return ev.EscalationRequested(escalation_id="e1", kind="retries_exhausted", reason="3 retries failed")


def test_mistakes_are_one_line_on_stderr_and_a_non_zero_exit(tmp_path):
    unknown = wave(tmp_path, "status", "nosuchrun")
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "wave: error: no run nosuchrun; `wave runs` lists the runs"
    assert "Traceback" not in unknown.stderr

    bad_url = wave(tmp_path, "runs", env={"WAVE_DATABASE_URL": "mysql://x"})
    assert bad_url.returncode == 1
    assert "WAVE_DATABASE_URL='mysql://x' is not supported" in bad_url.stderr
    assert len(bad_url.stderr.strip().splitlines()) == 1

    no_repo = wave(tmp_path, "run", "a story", "--repo", str(tmp_path / "missing"))
    assert no_repo.returncode == 1
    assert no_repo.stderr.strip().endswith("no such directory")

    bad_option = wave(tmp_path, "run", "a story", "--repo", ".", "--max-retries", "99")
    assert bad_option.returncode == 2
    assert "--max-retries" in bad_option.stderr


def test_runs_status_events_and_replay_show_a_stored_run(tmp_path):
    run_id = asyncio.run(_seed(tmp_path, _escalated()))

    listed = wave(tmp_path, "runs", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [r["run_id"] for r in json.loads(listed.stdout)] == [run_id]

    status = json.loads(wave(tmp_path, "status", run_id, "--json").stdout)
    assert status["status"] == "awaiting_human"
    assert status["pending_escalations"]["e1"]["kind"] == "retries_exhausted"
    assert status["gates"]["G0 planned"] is False

    text = wave(tmp_path, "status", run_id).stdout
    assert f"wave approve {run_id} --decision approve|reject" in text

    events = json.loads(wave(tmp_path, "events", run_id, "--json").stdout)
    assert [e["type"] for e in events] == ["RunRequested", "EscalationRequested"]
    assert events[0]["payload"]["story"] == "Add slugify"

    replay = wave(tmp_path, "replay", run_id)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "replay matches the global-order fold" in replay.stdout


def test_replay_exits_non_zero_when_the_live_projection_differs(tmp_path):
    run_id = asyncio.run(_seed(tmp_path))
    snapshot = tmp_path / "projections" / f"{run_id}.json"
    snapshot.parent.mkdir(parents=True)
    live = json.loads(wave(tmp_path, "status", run_id, "--json").stdout)
    snapshot.write_text(json.dumps({**live, "status": "completed"}))

    replay = wave(tmp_path, "replay", run_id)
    assert replay.returncode == 1
    assert "replay differs from the live projection (its first 1 events) in 1 field(s)" in replay.stdout
    assert "status: live 'completed' != replay 'running'" in replay.stdout


def test_replay_compares_a_stale_live_projection_with_as_many_events(tmp_path):
    run_id = asyncio.run(_seed(tmp_path))
    snapshot = tmp_path / "projections" / f"{run_id}.json"
    snapshot.parent.mkdir(parents=True)
    snapshot.write_text(wave(tmp_path, "status", run_id, "--json").stdout)
    asyncio.run(_append(tmp_path, run_id, _escalated()))

    replay = wave(tmp_path, "replay", run_id)
    assert replay.returncode == 0, replay.stdout
    assert "replayed 2 events" in replay.stdout and "awaiting_human" in replay.stdout
    assert "replay matches the live projection (its first 1 events)" in replay.stdout
    assert "replay matches the global-order fold (all 2 events)" in replay.stdout  # the rest is checked too


def test_approve_records_one_decision_and_refuses_a_second(tmp_path):
    run_id = asyncio.run(_seed(tmp_path, _escalated()))
    first = wave(tmp_path, "approve", run_id, "--decision", "reject", "--comment", "enough", "--no-wait")
    assert first.returncode == 0, first.stderr
    assert "recorded HumanDecisionRecorded: e1: reject by" in first.stdout

    second = wave(tmp_path, "approve", run_id, "--decision", "approve", "--escalation", "e1", "--no-wait")
    assert second.returncode == 1
    assert "escalation e1 was already answered: reject by" in second.stderr


def test_a_budget_stop_is_answered_by_wave_budget_not_by_approving_it(tmp_path):
    stop = ev.EscalationRequested(escalation_id="b1", kind="budget", reason="the next call needs $0.30")
    run_id = asyncio.run(_seed(tmp_path, stop))
    approving = wave(tmp_path, "approve", run_id, "--decision", "approve", "--no-wait")
    assert approving.returncode == 1
    assert f"raise it with `wave budget {run_id} --usd NEW_LIMIT`" in approving.stderr
    raised = wave(tmp_path, "budget", run_id, "--usd", "5", "--no-wait")
    assert raised.returncode == 0, raised.stderr
    status = json.loads(wave(tmp_path, "status", run_id, "--json").stdout)
    assert (status["status"], status["pending_escalations"], status["budget_limit_usd"]) == ("running", {}, 5.0)


def test_budget_and_cancel_are_recorded(tmp_path):
    run_id = asyncio.run(_seed(tmp_path))
    raised = wave(tmp_path, "budget", run_id, "--usd", "9", "--force", "--no-wait")
    assert raised.returncode == 0, raised.stderr
    cancelled = wave(tmp_path, "cancel", run_id, "--reason", "not needed")
    assert cancelled.returncode == 0, cancelled.stderr
    status = json.loads(wave(tmp_path, "status", run_id, "--json").stdout)
    assert status["budget_limit_usd"] == 9.0
    assert status["status"] == "cancelled"
    again = wave(tmp_path, "cancel", run_id)
    assert again.returncode == 1 and "already cancelled" in again.stderr


def test_config_masks_secrets(tmp_path):
    shown = wave(tmp_path, "config", "--json", env={"ANTHROPIC_API_KEY": "sk-ant-api03-abcdefghijklmnop1234"})
    assert shown.returncode == 0, shown.stderr
    assert "abcdefghijklmnop" not in shown.stdout
    document = json.loads(shown.stdout)
    assert document["mode"] == "embedded"
    planner = [r for r in document["models"]["routes"] if r["role"] == "planner"]
    assert planner[0]["provider"] == "anthropic" and planner[0]["api_key"] == "****1234"


def test_safety_score_is_mounted(tmp_path):
    lines = '{"kind": "command", "command": "rm -rf /"}\n{"kind": "command", "command": "ls -la"}\nnot json\n'
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WAVE_")}
    scored = subprocess.run([*WAVE, "safety", "score"], input=lines, capture_output=True, text=True, env=environment)
    verdicts = [json.loads(line) for line in scored.stdout.splitlines()]
    assert [v.get("verdict") for v in verdicts] == ["block", "allow", None]
    assert verdicts[2]["line"] == 3


def test_distributed_settings_are_checked_before_anything_runs(tmp_path):
    no_pg = wave(tmp_path, "runs", env={"WAVE_KAFKA_BOOTSTRAP": "127.0.0.1:19092"})
    assert no_pg.returncode == 1
    assert "WAVE_KAFKA_BOOTSTRAP is set but WAVE_DATABASE_URL is not a postgresql:// URL" in no_pg.stderr
    bad_bootstrap = wave(tmp_path, "runs", env={"WAVE_KAFKA_BOOTSTRAP": "nohostport",
                                               "WAVE_DATABASE_URL": "postgresql://x@127.0.0.1:1/db"})
    assert "WAVE_KAFKA_BOOTSTRAP='nohostport' must look like host:port" in bad_bootstrap.stderr
    unknown = wave(tmp_path, "service", "tester")
    assert unknown.returncode == 1
    assert "no service named 'tester'; the services are: planner, gitops, developer, safety, qa, notifier" in unknown.stderr


def test_a_service_that_cannot_start_refuses_before_the_run_is_stored(tmp_path):
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    refused = wave(tmp_path, "run", "a story", "--repo", str(repo), env={"WAVE_QA_TIMEOUT_S": "soon"})
    assert refused.returncode == 1
    assert refused.stderr.strip() == "wave: error: service qa cannot start: WAVE_QA_TIMEOUT_S: Input should be a valid number, got 'soon'"
    assert json.loads(wave(tmp_path, "runs", "--json").stdout) == []

"""What a new user runs into: bad numbers, a damaged or read-only store, bad input. Each is one line
on stderr and a non-zero exit, and nothing already stored stops being readable."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import uuid
from pathlib import Path

import pytest
from cli_process import wave
from gitops_repos import make_repo
from wave_app import commands
from wave_events import catalogue as ev
from wave_events.envelope import new_envelope
from wave_store import open_store

# What an older version stored for `--budget-usd inf`: pydantic wrote the infinity as null.
OLD_INFINITE_BUDGET = {
    "story": "add a health endpoint", "repo": "/srv/repo", "target_branch": "main", "budget_usd": None,
    "budget_tokens": 2000000, "max_retries": 3, "merge_policy": "auto", "requested_by": "someone",
}


def _repo(home: Path) -> Path:
    repo = home / "repo"
    if not (repo / ".git").exists():
        make_repo(repo)
    return repo


async def _seed(home: Path, *payloads) -> str:
    store = await open_store(f"sqlite:///{home / 'wave.db'}")
    try:
        run_id = await commands.submit_run(store, actor="test", story="Add slugify", repo=str(_repo(home)), budget_usd=2.0)
        if payloads:
            stream = f"run-{run_id}"
            await store.append(stream, [new_envelope(stream, p, producer="test") for p in payloads], 1)
        return run_id
    finally:
        await store.close()


def _write_old_row(home: Path, run_id: str, payload: dict) -> str:
    """Store a record the way an older version did, straight into the SQLite file."""
    event_id = str(uuid.uuid4())
    connection = sqlite3.connect(home / "wave.db", isolation_level=None)
    try:
        (last,) = connection.execute("SELECT coalesce(max(global_position), 0) FROM events").fetchone()
        connection.execute(
            "INSERT INTO events (global_position, stream_id, stream_version, event_id, event_type, event_version, "
            "occurred_at, correlation_id, producer, payload) VALUES (?, ?, 1, ?, 'RunRequested', 2, ?, ?, 'cli', ?)",
            (last + 1, f"run-{run_id}", event_id, "2024-05-01T10:00:00+00:00", run_id, json.dumps(payload)),
        )
    finally:
        connection.close()
    return event_id


def _one_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0, result.stdout
    assert len(lines) == 1 and lines[0].startswith("wave: error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


# --- non-finite numbers -------------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["inf", "nan", "-1"])
def test_a_non_finite_or_negative_budget_is_refused_and_nothing_is_stored(tmp_path, amount):
    refused = wave(tmp_path, "run", "add a health endpoint", "--repo", str(_repo(tmp_path)), "--budget-usd", amount)
    assert "budget-usd" in _one_error_line(refused)
    listed = wave(tmp_path, "runs", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []


@pytest.mark.parametrize("amount", ["inf", "nan"])
def test_budget_refuses_a_non_finite_limit_and_the_run_stays_readable(tmp_path, amount):
    run_id = asyncio.run(_seed(tmp_path, ev.EscalationRequested(escalation_id="b1", kind="budget", reason="out")))
    refused = wave(tmp_path, "budget", run_id, "--usd", amount, "--no-wait")
    assert "--usd" in _one_error_line(refused)
    status = wave(tmp_path, "status", run_id, "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["budget_limit_usd"] == 2.0


# --- one undecodable event --------------------------------------------------------------------


def test_an_undecodable_event_makes_only_its_run_unreadable(tmp_path):
    good = asyncio.run(_seed(tmp_path))
    bad_event = _write_old_row(tmp_path, "broken1", OLD_INFINITE_BUDGET)

    listed = wave(tmp_path, "runs")
    assert listed.returncode == 0, listed.stderr
    assert good in listed.stdout and "broken1" in listed.stdout and "unreadable" in listed.stdout
    assert bad_event in listed.stdout
    documents = {d["run_id"]: d for d in json.loads(wave(tmp_path, "runs", "--json").stdout)}
    assert documents[good]["status"] == "running"
    assert documents["broken1"]["status"] == "unreadable"
    assert documents["broken1"]["event_id"] == bad_event
    assert "budget_usd" in documents["broken1"]["error"]

    line = _one_error_line(wave(tmp_path, "status", "broken1"))
    assert "unreadable" in line and bad_event in line and "budget_usd" in line and "--raw" in line
    assert bad_event in _one_error_line(wave(tmp_path, "events", "broken1"))
    assert bad_event in _one_error_line(wave(tmp_path, "cancel", "broken1"))

    raw = wave(tmp_path, "events", "broken1", "--raw")
    assert raw.returncode == 0, raw.stderr
    (stored,) = json.loads(raw.stdout)
    assert (stored["event_id"], stored["type"], stored["version"]) == (bad_event, "RunRequested", 2)
    assert stored["payload"] == OLD_INFINITE_BUDGET

    assert wave(tmp_path, "status", good).returncode == 0
    assert wave(tmp_path, "replay", good).returncode == 0
    cancelled = wave(tmp_path, "cancel", good, "--reason", "done")
    assert cancelled.returncode == 0, cancelled.stderr
    again = asyncio.run(_seed(tmp_path))  # a new run is stored and listed
    assert again in wave(tmp_path, "runs").stdout


# --- store faults ----------------------------------------------------------------------------


def test_a_corrupt_database_is_one_line_naming_the_file(tmp_path):
    (tmp_path / "wave.db").write_bytes(b"this is not a database, it is a note\n" * 200)
    line = _one_error_line(wave(tmp_path, "runs"))
    assert str(tmp_path / "wave.db") in line and "move it aside" in line


def test_a_database_url_in_a_missing_directory_is_refused_without_creating_it(tmp_path):
    missing = tmp_path / "nonexistent" / "dir"
    result = wave(tmp_path / "home", "runs", env={"WAVE_DATABASE_URL": f"sqlite:///{missing / 'x.db'}"})
    line = _one_error_line(result)
    assert str(missing) in line
    assert not (tmp_path / "nonexistent").exists()


def test_a_wave_home_below_a_file_is_one_line(tmp_path):
    (tmp_path / "afile").write_text("")
    line = _one_error_line(wave(tmp_path / "afile" / "home", "runs"))
    assert "WAVE_HOME" in line


def test_reading_commands_work_on_a_read_only_store_and_writing_ones_say_why_not(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    run_id = asyncio.run(_seed(home))
    read_only = (shutil.which("bwrap") or "bwrap", "--bind", "/", "/", "--ro-bind", str(home), str(home),
                 "--dev", "/dev", "--proc", "/proc")
    for command in (["runs"], ["status", run_id], ["events", run_id], ["replay", run_id], ["config"], ["dlq", "list"]):
        result = wave(home, *command, prefix=read_only)
        assert result.returncode == 0, (command, result.stderr)
        assert "Traceback" not in result.stderr
    assert run_id in wave(home, "runs", prefix=read_only).stdout
    line = _one_error_line(wave(home, "cancel", run_id, prefix=read_only))
    assert "read-only" in line and str(home / "wave.db") in line
    assert json.loads(wave(home, "status", run_id, "--json").stdout)["status"] == "running"


# --- input checks ----------------------------------------------------------------------------


def test_a_blank_story_and_a_story_file_that_is_not_text_are_refused(tmp_path):
    repo = str(_repo(tmp_path))
    assert "story is empty" in _one_error_line(wave(tmp_path, "run", "  \n\t ", "--repo", repo))
    blank = tmp_path / "blank.md"
    blank.write_text("\n   \n")
    assert "story is empty" in _one_error_line(wave(tmp_path, "run", f"@{blank}", "--repo", repo))
    binary = tmp_path / "story.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00\x00")
    line = _one_error_line(wave(tmp_path, "run", f"@{binary}", "--repo", repo))
    assert str(binary) in line and "UTF-8" in line
    assert json.loads(wave(tmp_path, "runs", "--json").stdout) == []


def test_budget_changes_only_a_run_stopped_for_budget_unless_forced(tmp_path):
    run_id = asyncio.run(_seed(tmp_path))
    line = _one_error_line(wave(tmp_path, "budget", run_id, "--usd", "9", "--no-wait"))
    assert "not stopped for budget" in line and "--force" in line
    forced = wave(tmp_path, "budget", run_id, "--usd", "9", "--force", "--no-wait")
    assert forced.returncode == 0, forced.stderr
    assert json.loads(wave(tmp_path, "status", run_id, "--json").stdout)["budget_limit_usd"] == 9.0


def test_budget_never_sets_a_limit_below_what_was_spent(tmp_path):
    run_id = asyncio.run(_seed(
        tmp_path,
        ev.BudgetCharged(tokens=1200, cost_usd=1.5),
        ev.EscalationRequested(escalation_id="b1", kind="budget", reason="the next call needs $0.80"),
    ))
    assert "already spent" in _one_error_line(wave(tmp_path, "budget", run_id, "--usd", "1", "--no-wait"))
    assert "already used" in _one_error_line(
        wave(tmp_path, "budget", run_id, "--tokens", "100", "--force", "--no-wait")
    )
    raised = wave(tmp_path, "budget", run_id, "--usd", "3", "--no-wait")
    assert raised.returncode == 0, raised.stderr
    assert json.loads(wave(tmp_path, "status", run_id, "--json").stdout)["budget_limit_usd"] == 3.0


@pytest.mark.parametrize(
    "args",
    [["runs", "--bogus"], ["run", "a story"], ["budget"], ["approve", "r1", "--decision", "maybe"], ["nosuchcommand"]],
)
def test_a_bad_option_is_one_line_and_exit_status_2(tmp_path, args):
    result = wave(tmp_path, *args)
    _one_error_line(result)
    assert result.returncode == 2

"""A pending retry timer survives the death of every process and fires exactly once.

The distributed stack (the relay and the six services, each its own process) runs the demo story,
whose cassette fails QA on the first attempt: the planner schedules the developer's retry on a
durable timer with backoff (`WAVE_RETRY_BASE_S`). As soon as `RetryScheduled` is stored, every
process is killed (-9); the test waits until the timer is overdue and starts them all again. Each of
the six service processes polls the timers, so six pollers race for the overdue one: the
`FixRequested` it carries must be stored once, the developer must retry once, and the run merges."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import pygit2
import pytest
from fault_procs import until
from wave_app import commands
from wave_cli.demo import demo_files, fresh_repository
from wave_events import run_stream_id
from wave_events.projections import fold
from wave_llm import cassette_document, load_cassette

pytestmark = [pytest.mark.postgres, pytest.mark.kafka, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
SERVICES = ("planner", "gitops", "developer", "safety", "qa", "notifier")


async def _types(store, run_id: str) -> list[str]:
    return [e.type for e in await store.read_stream(run_stream_id(run_id))]


@pytest.mark.timeout(420)
async def test_a_pending_retry_timer_fires_once_after_every_process_is_killed_and_restarted(
    deployment, store, tmp_path, figures
):
    extra = {"WAVE_HOME": str(tmp_path / "home"), "WAVE_RETRY_BASE_S": "4", "WAVE_RETRY_CAP_S": "8",
             "WAVE_QA_SCRATCH_ROOT": str(tmp_path / "qa")}  # fmt: skip
    files = demo_files(ROOT / "examples")
    repo = fresh_repository(files.repo, tmp_path / "repo")
    story = files.story.read_text(encoding="utf-8").strip()
    cassette = cassette_document(load_cassette(files.cassette))

    def start_all():
        return [deployment.relay().start(**extra)] + [
            deployment.service(f"wave_{name}:create_service", name).start(**extra) for name in SERVICES
        ]

    children = start_all()
    run_id = await commands.submit_run(
        store, actor="fault-test", story=story, repo=str(repo), budget_usd=1.0, cassette=cassette
    )
    await until(lambda: _has(store, run_id, "RetryScheduled"), timeout=240, interval=0.05)
    for child in children:
        child.kill9()
    killed_at = time.monotonic()

    scheduled = next(e for e in await store.read_stream(run_stream_id(run_id)) if e.type == "RetryScheduled")
    timer_id, due_at = scheduled.payload.timer_id, scheduled.payload.due_at
    assert await store.timer_status(timer_id) == "pending"
    assert "FixRequested" not in await _types(store, run_id)
    # Everything is down when the timer comes due; start again once it is overdue.
    await asyncio.sleep(max(0.0, (due_at - datetime.now(UTC)).total_seconds()) + 1.0)
    overdue_s = (datetime.now(UTC) - due_at).total_seconds()
    restarted_at = time.monotonic()
    start_all()

    await until(lambda: _has(store, run_id, "FixRequested"), timeout=60, interval=0.05)
    fired_s = time.monotonic() - restarted_at
    await until(lambda: _finished(store, run_id), timeout=240, interval=0.25)
    merged_s = time.monotonic() - restarted_at

    events = await store.read_stream(run_stream_id(run_id))
    types = [e.type for e in events]
    proposals = [(e.payload.task_id, e.payload.attempt) for e in events if e.type == "ChangeProposed"]
    figures.report(
        retry_delay_s=scheduled.payload.delay_s, down_s=restarted_at - killed_at, overdue_at_restart_s=overdue_s,
        fired_after_restart_s=fired_s, merged_after_restart_s=merged_s, fix_requested=types.count("FixRequested"),
    )  # fmt: skip
    assert types.count("RetryScheduled") == 1
    assert types.count("FixRequested") == 1
    assert await store.timer_status(timer_id) == "fired"
    assert len(proposals) == len(set(proposals)) and max(a for _, a in proposals) == 2  # one retry, once
    assert fold(events).status == "completed"
    assert "Wave-Run:" in pygit2.Repository(str(repo)).revparse_single("main").message


async def _has(store, run_id: str, event_type: str) -> bool:
    return event_type in await _types(store, run_id)


async def _finished(store, run_id: str) -> bool:
    return fold(await store.read_stream(run_stream_id(run_id))).status not in ("running", "unknown")

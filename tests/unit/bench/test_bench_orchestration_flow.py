"""bench/orchestration_flow.py: the race's 8-gate workflow with no-op effects runs to completion with
the services as they are (not timed). The race measures nothing when a service's port or a method
the flow replaces has changed under it."""

from __future__ import annotations

import asyncio
import time

from bench_modules import load_bench
from wave_app.commands import submit_run
from wave_runtime import EmbeddedRuntime, FileDeadLetters
from wave_store.sqlite import SqliteEventStore

flow = load_bench("orchestration_flow")


async def test_one_run_of_the_race_s_workflow_completes_with_its_one_retry(tmp_path):
    flow.models_file(tmp_path)
    repo = flow.repository(tmp_path)
    store = SqliteEventStore(tmp_path / "wave.db")
    letters = FileDeadLetters(tmp_path / "dead-letters.jsonl")
    try:
        async with EmbeddedRuntime(store, flow.services(tmp_path), letters):
            run_id = await submit_run(store, actor="bench", story="bench story", repo=str(repo), target_branch="main")
            deadline = time.monotonic() + 60
            types: list[str] = []
            while "RunCompleted" not in types and "HandlingAbandoned" not in types and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
                types = [e.type for e in await store.read_stream(f"run-{run_id}")]
    finally:
        await store.close()
    assert "RunCompleted" in types, types
    assert (types.count("TestsFailed"), types.count("TestsPassed"), types.count("ChangeCommitted")) == (1, 1, 2)
    assert not (tmp_path / "dead-letters.jsonl").exists() or not (tmp_path / "dead-letters.jsonl").read_text().strip()

"""A model answer paid for is not paid for again when the process that asked dies before storing it.

The planner runs as its own process (`python -m wave_runtime service`), its model the official OpenAI
SDK pointed at the local fake API (tests/support/llm_fake_server.py). The kill point is made exact:
the test holds the planner's "handled" mark for the run's RunRequested in an open transaction, so
the planner's handling, once the model has answered and the plan is decided, waits to commit; the
fake API says when it has sent the answer, PostgreSQL shows the handling waiting, and the planner is
killed (-9) there. Restarted, it handles the redelivered event again: the provider has still seen one
request, the run holds one call record and one charge, and the run goes on (gitops makes the
workspace for the plan)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import asyncpg
import pytest
from fault_flow import count_of
from fault_procs import until
from llm_fake_server import FakeModelServer, Reply
from planner_models import PLAN
from wave_app import commands
from wave_cli.demo import demo_files, fresh_repository
from wave_events import run_stream_id
from wave_events.projections import fold

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def fake_api():
    server = FakeModelServer().start()
    yield server
    server.stop()


async def _handling_waits(pool: asyncpg.Pool) -> bool:
    """A session of this database is waiting for a lock (the planner's commit, behind the test's)."""
    return bool(
        await pool.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
    )


@pytest.mark.timeout(240)
async def test_a_model_answer_is_paid_once_when_the_planner_is_killed_before_storing_it(
    deployment, store, pg_database_url, fake_api, tmp_path, figures
):
    models = tmp_path / "models.yml"
    models.write_text("version: 1\nroutes:\n  planner:\n    - {provider: openai, model: gpt-4.1}\n")
    env = {
        "WAVE_MODELS_CONFIG": str(models), "OPENAI_API_KEY": "sk-test-paid-work-0001", "OPENAI_BASE_URL": fake_api.openai_url,
        "WAVE_HOME": str(tmp_path / "home"), "WAVE_LOG_LEVEL": "INFO",
    }  # fmt: skip
    # A second plan, should the planner ask again: the run then goes on, and the count tells.
    plan = Reply(text=json.dumps(PLAN), input_tokens=1200, output_tokens=300)
    fake_api.enqueue("openai", plan, plan)
    files = demo_files(ROOT / "examples")
    repo = fresh_repository(files.repo, tmp_path / "repo")
    run_id = await commands.submit_run(store, actor="fault-test", story="add tax to price()", repo=str(repo), budget_usd=1.0)
    requested = (await store.read_stream(run_stream_id(run_id)))[0]

    # The test's own "planner handled it" mark, uncommitted: the planner's commit queues behind it.
    holder = await asyncpg.connect(pg_database_url)
    hold = holder.transaction()
    await hold.start()
    await holder.execute("INSERT INTO wave_handled (consumer, event_id) VALUES ('planner', $1)", requested.event_id)

    deployment.relay().start(**env)
    planner = deployment.service("wave_planner:create_service", "planner").start(**env)
    answered = await asyncio.to_thread(fake_api.wait_answered, 1, 90)
    assert answered, f"the planner never got its answer:\n{deployment.logs()}"
    await until(lambda: _handling_waits(store.pool), timeout=30)
    planner.kill9()
    killed_at = time.monotonic()
    # The server learns of a killed client only when it next talks to it: the planner's handling, one
    # statement waiting on the lock, would run to its end once the lock goes. End that session as the
    # server does for a client it finds gone, so the handling is not stored.
    await holder.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    await hold.rollback()
    await holder.close()
    assert await count_of(store.pool, "PlanCreated") == 0  # the kill came before the plan was stored

    deployment.service("wave_planner:create_service", "planner").start(**env)
    deployment.service("wave_gitops:create_service", "gitops").start(**env)
    await until(lambda: _count_in(store, run_id, "WorkspaceReady"), timeout=120, interval=0.2)
    recovered_s = time.monotonic() - killed_at

    events = await store.read_stream(run_stream_id(run_id))
    types = [e.type for e in events]
    state = fold(events)
    figures.report(provider_requests=len(fake_api.received("openai")), recovery_s=recovered_s)
    assert len(fake_api.received("openai")) == 1
    assert types.count("LLMCallRecorded") == 1 and types.count("BudgetCharged") == 1
    assert types.count("PlanCreated") == 1
    assert state.budget_used_usd == pytest.approx(1200 * 2.0 / 1e6 + 300 * 8.0 / 1e6)  # gpt-4.1, charged once
    assert state.status == "running" and state.workspace_location
    assert await store.pool.fetchval("SELECT count(*) FROM wave_paid_results") == 0  # the handling is stored


async def _count_in(store, run_id: str, event_type: str) -> int:
    return sum(1 for e in await store.read_stream(run_stream_id(run_id)) if e.type == event_type)

"""The whole distributed stack (outbox relay and the six services, each its own process) through
database and broker outages, as an operator meets them.

20 runs of the demo story, each playing the demo cassette it carries, are submitted at once; then
PostgreSQL is stopped for 10 s, killed (-9) once, and the broker is stopped for 10 s. No process is
restarted by the test. Every run must merge with no person and no re-drive, no process may exit, no
dead letter may be written, and the logs hold one line per outage and component, no tracebacks.

Both servers are private (tests/support/fault_postgres.py, fault_broker.py): the shared ones serve
everyone else and are never stopped."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pygit2
import pytest
from fault_broker import PrivateBroker
from fault_postgres import PrivatePostgres
from fault_procs import Deployment
from wave_app import commands
from wave_cli.demo import demo_files, fresh_repository
from wave_events import run_stream_id
from wave_events.projections import fold
from wave_llm import cassette_document, load_cassette
from wave_runtime.kafka import Topics, ensure_topics, read_topic
from wave_store.postgres import PostgresEventStore

pytestmark = [pytest.mark.postgres, pytest.mark.kafka, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
RUNS = 20
OUTAGE_S = 10.0
SERVICES = ("planner", "gitops", "developer", "safety", "qa", "notifier")


@pytest.fixture
def servers(tmp_path):
    postgres, broker = PrivatePostgres(), PrivateBroker(tmp_path / "kafka")
    try:
        postgres.start()
        broker.start()
        yield postgres, broker
    finally:
        broker.close()
        postgres.close()


async def _statuses(store, run_ids: list[str]) -> dict[str, str]:
    """Each run's status from its events; {} while the database is away."""
    try:
        return {r: fold(await store.read_stream(run_stream_id(r))).status for r in run_ids}
    except Exception:  # noqa: BLE001 - the database is restarting
        return {}


async def _count(store, event_type: str) -> int:
    try:
        return await store.pool.fetchval("SELECT count(*) FROM events WHERE event_type = $1", event_type)
    except Exception:  # noqa: BLE001 - the database is restarting
        return -1


async def _until(check, timeout: float) -> float:  # noqa: ASYNC109
    started = time.monotonic()
    async with asyncio.timeout(timeout):
        while not await check():  # noqa: ASYNC110 - polling the database
            await asyncio.sleep(0.25)
    return time.monotonic() - started


@pytest.mark.timeout(900)
async def test_twenty_demo_runs_merge_through_database_and_broker_outages(servers, tmp_path, figures):
    postgres, broker = servers
    topics = Topics(f"wavestack.{uuid.uuid4().hex[:10]}")
    await ensure_topics(broker.bootstrap, topics)
    store = await PostgresEventStore.connect(postgres.url, max_size=4)
    deployment = Deployment(postgres.url, broker.bootstrap, topics.prefix, tmp_path / "logs")
    deployment.log_dir.mkdir()
    home = tmp_path / "home"
    extra = {"WAVE_HOME": str(home), "WAVE_RETRY_BASE_S": "0.2", "WAVE_RETRY_CAP_S": "2",
             "WAVE_QA_SCRATCH_ROOT": str(tmp_path / "qa")}
    files = demo_files(ROOT / "examples")
    story = files.story.read_text(encoding="utf-8").strip()
    cassette = cassette_document(load_cassette(files.cassette))
    try:
        children = [deployment.relay().start(**extra)]
        children += [deployment.service(f"wave_{name}:create_service", name).start(**extra) for name in SERVICES]
        repos = [fresh_repository(files.repo, tmp_path / "repos" / f"sample-{i}") for i in range(RUNS)]
        started = time.monotonic()
        run_ids = await asyncio.gather(*(
            commands.submit_run(store, actor="fault-test", story=story, repo=str(repo), budget_usd=1.0, cassette=cassette) for repo in repos
        ))  # fmt: skip

        recoveries: dict[str, float] = {}
        faults = [
            ("postgres stopped 10 s", "PlanCreated", postgres.stop, postgres.start, OUTAGE_S),
            ("postgres killed -9", "ChangeCommitted", postgres.kill9, postgres.start, 2.0),
            ("broker stopped 10 s", "TestsFailed", broker.stop, broker.start, OUTAGE_S),
        ]
        for name, mid_stream, down, up, outage_s in faults:
            await _until(lambda event_type=mid_stream: _at_least(store, event_type, RUNS // 4), timeout=300)
            await asyncio.to_thread(down)
            await asyncio.sleep(outage_s)
            assert all(c.alive for c in children), f"died during '{name}': {[c.name for c in children if not c.alive]}"
            await asyncio.to_thread(up)
            events_at = await _until_value(lambda: _count_all(store), timeout=60)
            recoveries[name] = await _until(lambda at=events_at: _more_than(store, at), timeout=120)

        await _until(lambda: _all_finished(store, run_ids), timeout=600)
        minutes = (time.monotonic() - started) / 60
        statuses = await _statuses(store, run_ids)
        abandoned = await _count(store, "HandlingAbandoned")
        escalations = await _count(store, "EscalationRequested")
        dead_letters = await read_topic(broker.bootstrap, topics.dlq)
        logs = {c.name: c.log_path.read_text(errors="replace") for c in children}
        tracebacks = {n: text.count("Traceback") for n, text in logs.items()}
        lines = {n: len(text.splitlines()) for n, text in logs.items()}
        merged = sum(
            1 for repo in repos if "Wave-Run:" in pygit2.Repository(str(repo)).revparse_single("main").message
        )
        figures.report(
            runs=RUNS, merged=merged, runs_per_minute=RUNS / minutes, minutes=minutes,
            **{f"recovery_{k.split()[0]}_{k.split()[1]}_s": v for k, v in recoveries.items()},
            dead_letters=len(dead_letters), abandoned=abandoned, tracebacks=sum(tracebacks.values()),
            log_lines=sum(lines.values()),
        )  # fmt: skip
        assert all(c.alive for c in children), f"these processes exited: {[c.name for c in children if not c.alive]}"
        assert set(statuses.values()) == {"completed"}, statuses
        assert merged == RUNS
        assert dead_letters == [] and abandoned == 0 and escalations == 0
        assert tracebacks == {c.name: 0 for c in children}, tracebacks
        assert max(lines.values()) < 150, f"the outages flooded the logs: {lines}"
    except BaseException:
        print(deployment.logs())
        raise
    finally:
        deployment.stop_all()
        await store.close()


async def _at_least(store, event_type: str, count: int) -> bool:
    return await _count(store, event_type) >= count


async def _count_all(store) -> int:
    try:
        return await store.last_position()
    except Exception:  # noqa: BLE001 - the database is restarting
        return 0


async def _until_value(get, timeout: float) -> int:  # noqa: ASYNC109
    async with asyncio.timeout(timeout):
        while not (value := await get()):  # noqa: ASYNC110 - polling the database
            await asyncio.sleep(0.1)
        return value


async def _more_than(store, position: int) -> bool:
    return await _count_all(store) > position


async def _all_finished(store, run_ids: list[str]) -> bool:
    statuses = await _statuses(store, run_ids)
    return bool(statuses) and all(s not in ("running", "unknown") for s in statuses.values())

"""Guarantee 1 against a database outage: stop the (private) PostgreSQL in the middle of a stream for
10 s, start it again, then kill it (-9) and start it again. The services and the relay are never
restarted: they wait the outage out, say so once in their logs, and go on. Nothing may be lost, done
twice or dead-lettered.

The shared PostgreSQL serves everyone else, so this test runs its own (tests/support/fault_postgres.py)."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from fault_flow import LEDGER_DDL, OUTPUT, outcome, request_run
from fault_postgres import PrivatePostgres
from fault_procs import Deployment, delete_topics
from wave_runtime.kafka import Topics, ensure_topics, read_topic
from wave_store.postgres import PostgresEventStore

pytestmark = [pytest.mark.postgres, pytest.mark.kafka, pytest.mark.slow]

BURST = 150
OUTAGE_S = 10.0


@pytest.fixture
def postgres():
    server = PrivatePostgres()
    server.start()
    yield server
    server.close()


async def _count(pool, event_type: str) -> int:
    """The stored events of a type; waits while the database is away (the test's own pool loses its
    sessions too)."""
    while True:
        try:
            return await pool.fetchval("SELECT count(*) FROM events WHERE event_type = $1", event_type)
        except Exception:  # noqa: BLE001 - the database is restarting
            await asyncio.sleep(0.2)


async def _wait_for(pool, event_type: str, count: int, timeout: float) -> None:  # noqa: ASYNC109
    async with asyncio.timeout(timeout):
        while await _count(pool, event_type) < count:  # noqa: ASYNC110 - polling the database
            await asyncio.sleep(0.1)


async def _burst(store, count: int) -> list[str]:
    return list(await asyncio.gather(*(request_run(store) for _ in range(count))))


def _tracebacks(deployment: Deployment) -> dict[str, int]:
    return {c.name: c.log_path.read_text(errors="replace").count("Traceback") for c in deployment.children}


@pytest.mark.timeout(600)
async def test_database_stopped_and_killed_mid_stream(postgres, kafka_bootstrap, tmp_path, figures):
    topics = Topics(f"wavefault.{uuid.uuid4().hex[:10]}")
    await ensure_topics(kafka_bootstrap, topics, partitions=3)
    store = await PostgresEventStore.connect(postgres.url, max_size=4)
    await store.pool.execute(LEDGER_DDL)
    deployment = Deployment(postgres.url, kafka_bootstrap, topics.prefix, tmp_path)
    pool = store.pool
    try:
        children = [
            deployment.relay().start(),
            deployment.service("fault_flow:create_a").start(),
            deployment.service("fault_flow:create_b").start(),
        ]
        runs = await _burst(store, 20)
        await _wait_for(pool, OUTPUT, 20, timeout=120)

        recoveries = []
        for fault in ("stop", "kill -9"):
            done = await _count(pool, OUTPUT)
            runs += await _burst(store, BURST)  # in flight when the database goes
            await _wait_for(pool, OUTPUT, done + 5, timeout=60)
            if fault == "stop":
                await asyncio.to_thread(postgres.stop)
                await asyncio.sleep(OUTAGE_S)
            else:
                await asyncio.to_thread(postgres.kill9)
                await asyncio.sleep(2.0)
            assert all(c.alive for c in children), f"died during the outage: {[c.name for c in children if not c.alive]}"
            await asyncio.to_thread(postgres.start)
            up_at = time.monotonic()
            stalled_at = await _count(pool, OUTPUT)
            await _wait_for(pool, OUTPUT, stalled_at + 1, timeout=120)
            recoveries.append(time.monotonic() - up_at)
            await _wait_for(pool, OUTPUT, len(runs), timeout=180)

        await asyncio.sleep(1.0)
        result = await outcome(pool, runs)
        abandoned = await pool.fetchval("SELECT count(*) FROM events WHERE event_type = 'HandlingAbandoned'")
        dead_letters = await read_topic(kafka_bootstrap, topics.dlq)
        tracebacks = _tracebacks(deployment)
        log_lines = {c.name: len(c.log_path.read_text(errors="replace").splitlines()) for c in deployment.children}
        figures.report(
            inputs=len(runs), lost=result.lost, duplicates_applied=result.duplicates_applied,
            recovery_after_stop_s=recoveries[0], recovery_after_kill_s=recoveries[1],
            dead_letters=len(dead_letters), tracebacks=sum(tracebacks.values()), log_lines=sum(log_lines.values()),
        )  # fmt: skip
        assert all(c.alive for c in children), f"these processes died: {[c.name for c in children if not c.alive]}"
        assert result.lost == 0 and result.duplicates_applied == 0
        assert result.wrong_order == 0 and result.wrong_cause == 0
        assert dead_letters == [] and abandoned == 0, "an outage of the database is not the event's fault"
        assert tracebacks == {c.name: 0 for c in children}, f"the outage was logged with tracebacks: {tracebacks}"
        assert max(log_lines.values()) < 40, f"the outage flooded the logs: {log_lines}"
    except BaseException:
        print(deployment.logs())
        print(postgres.tail())
        raise
    finally:
        deployment.stop_all()
        await store.close()
        await delete_topics(kafka_bootstrap, [topics.events, topics.dlq, topics.work])

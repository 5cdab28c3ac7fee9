"""Guarantee 1 against a broker outage: kill the (private) Kafka broker in the middle of a stream,
keep it down 10 s while inputs keep being accepted, start it again on the same data. The services
and the relay are never restarted: they must reconnect on their own, and nothing may be lost.

The shared broker serves everyone else, so this test runs its own (tests/support/fault_broker.py)."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from fault_broker import PrivateBroker
from fault_flow import LEDGER_DDL, OUTPUT, count_of, feed, tally, wait_for_count
from fault_procs import Deployment
from wave_runtime.kafka import Topics, ensure_topics
from wave_store.postgres import PostgresEventStore

pytestmark = [pytest.mark.postgres, pytest.mark.kafka, pytest.mark.slow]

INPUTS = 600
OUTAGE_S = 10.0


@pytest.fixture
def broker(tmp_path):
    broker = PrivateBroker(tmp_path / "kafka")
    yield broker
    broker.close()


async def test_broker_down_for_10_seconds(broker, pg_database_url, tmp_path, figures):
    broker.start()
    topics = Topics(f"wavefault.{uuid.uuid4().hex[:10]}")
    await ensure_topics(broker.bootstrap, topics, partitions=3)
    store = await PostgresEventStore.connect(pg_database_url, max_size=4)
    await store.pool.execute(LEDGER_DDL)
    deployment = Deployment(pg_database_url, broker.bootstrap, topics.prefix, tmp_path)
    try:
        pool = store.pool
        children = deployment.start_flow()
        feeding = asyncio.create_task(feed(store, INPUTS, seconds=15))
        await wait_for_count(pool, OUTPUT, INPUTS // 6, timeout=90)

        broker.kill9()
        down_at = time.monotonic()
        at_outage = await count_of(pool, OUTPUT)
        inputs_at_outage = await count_of(pool, "RunRequested")
        await asyncio.sleep(OUTAGE_S)
        restart_s = await asyncio.to_thread(broker.start)
        accepted_while_down = await count_of(pool, "RunRequested") - inputs_at_outage
        up_at = time.monotonic()
        # The first output handled after the outage (the relay and both services are back).
        await wait_for_count(pool, OUTPUT, max(at_outage, await count_of(pool, OUTPUT)) + 1, timeout=120)
        recovered_at = time.monotonic()
        runs = await feeding
        await wait_for_count(pool, OUTPUT, INPUTS, timeout=120)
        caught_up_at = time.monotonic()
        await asyncio.sleep(1.0)

        left = await tally(pool, broker.bootstrap, topics.events, runs, children)
        stored, audit, result, restarts = left.stored, left.audit, left.result, left.died
        figures.report(
            inputs=INPUTS, outage_s=up_at - down_at, broker_restart_s=restart_s, accepted_while_down=accepted_while_down,
            lost=result.lost + (stored - audit.events), duplicates_applied=result.duplicates_applied,
            topic_duplicates=audit.duplicates, recovery_s=recovered_at - up_at, catch_up_s=caught_up_at - up_at,
        )  # fmt: skip
        assert not restarts, f"these processes died instead of reconnecting: {restarts}"
        assert audit.events == stored and audit.gaps == 0 and audit.conflicts == 0
        assert result.lost == 0
        assert result.duplicates_applied == 0
        assert result.wrong_order == 0 and result.wrong_cause == 0
    except BaseException:
        print(deployment.logs())
        print(broker.tail())
        raise
    finally:
        deployment.stop_all()
        await store.close()

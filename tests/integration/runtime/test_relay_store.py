"""The outbox relay publishes what the PostgreSQL store holds; given the embedded SQLite store it
refuses with one line that says which store it needs, instead of waiting for a lock for ever."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid

import asyncpg
import pytest
from wave_runtime.kafka import OutboxRelay, Topics
from wave_store import UnsupportedByStoreError
from wave_store.sqlite import SqliteEventStore


async def test_the_relay_refuses_the_sqlite_store(tmp_path):
    store = SqliteEventStore(tmp_path / "wave.db")
    relay = OutboxRelay(store, "127.0.0.1:1", Topics(prefix="unused"))
    try:
        with pytest.raises(UnsupportedByStoreError, match=r"needs the PostgreSQL event store \(WAVE_DATABASE_URL"):
            await asyncio.wait_for(relay.run(asyncio.Event()), 10)
        assert not relay.active and relay.published == 0
    finally:
        await store.close()


@pytest.mark.kafka
def test_the_relay_process_over_sqlite_says_it_needs_postgresql(tmp_path, kafka_bootstrap):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WAVE_")}
    environment.update(
        WAVE_DATABASE_URL=f"sqlite:///{tmp_path / 'wave.db'}",
        WAVE_KAFKA_BOOTSTRAP=kafka_bootstrap,
        WAVE_TOPIC_PREFIX=f"wavetest.{uuid.uuid4().hex[:10]}",
    )
    result = subprocess.run(
        [sys.executable, "-m", "wave_runtime", "relay"], capture_output=True, text=True, env=environment, timeout=60
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "the relay cannot start: the outbox relay needs the PostgreSQL event store "
        "(WAVE_DATABASE_URL=postgresql://…); the SQLite store serves the embedded transport only, which needs no relay"
    )


@pytest.mark.postgres
async def test_one_relay_holds_the_lock_and_a_standby_takes_it_over(pg_database_url):
    from wave_events import catalogue as c
    from wave_events import new_envelope, run_stream_id
    from wave_store.postgres import PostgresEventStore

    active, standby = await PostgresEventStore.connect(pg_database_url), await PostgresEventStore.connect(pg_database_url)
    try:
        lock = await active.try_relay_lock()
        assert lock is not None
        assert await standby.try_relay_lock() is None  # held elsewhere: no waiting, no second holder
        await lock.confirm()
        await lock.release()
        taken = await standby.try_relay_lock()
        assert taken is not None
        await active.pool.execute(  # this database's holder only: pg_locks lists every database's locks
            "SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
            "WHERE l.locktype = 'advisory' AND l.objid = 7462 AND d.datname = current_database()"
        )
        with pytest.raises((asyncpg.InterfaceError, asyncpg.PostgresConnectionError)):  # the session is gone
            await taken.confirm()
        await taken.release()  # the session is gone, and the lock with it: nothing to raise
        relock = await active.try_relay_lock()
        assert relock is not None  # the standby's lost session freed it
        await relock.release()

        stream = run_stream_id("r-publish")
        events = [new_envelope(stream, c.RunFailed(reason=f"r{n}"), producer="test") for n in range(3)]
        positions = (await active.append(stream, events, 0)).positions
        rows = await standby.read_publishable(positions[0], 10)
        assert [(r["global_position"], r["event_id"]) for r in rows] == [
            (positions[1], events[1].event_id),
            (positions[2], events[2].event_id),
        ]
        assert json.loads(rows[-1]["payload"])["reason"] == "r2"  # the stored text, not decoded
    finally:
        await active.close()
        await standby.close()

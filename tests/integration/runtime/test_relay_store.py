"""The outbox relay publishes what the PostgreSQL store holds; given the embedded SQLite store it
refuses with one line that says which store it needs, instead of waiting for a lock for ever."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid

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

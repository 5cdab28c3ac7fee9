"""Services following the global order go past a stored record that cannot be decoded: the other
runs are handled, the damaged run's later events are dead-lettered naming the record."""

from __future__ import annotations

import sqlite3
import uuid

import pytest
from wave_events import catalogue as ev
from wave_events import new_envelope
from wave_runtime import EmbeddedRuntime, FileDeadLetters, RetryPolicy
from wave_store.sqlite import SqliteEventStore


class Finisher:
    name = "finisher"
    handles = frozenset({"RunRequested", "BudgetCharged"})

    async def handle(self, state, event):
        return [] if state.finished else [ev.RunFailed(reason="handled")]


def _write_old_row(path, stream_id: str) -> str:
    event_id = str(uuid.uuid4())
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        (last,) = connection.execute("SELECT coalesce(max(global_position), 0) FROM events").fetchone()
        connection.execute(
            "INSERT INTO events (global_position, stream_id, stream_version, event_id, event_type, event_version, "
            "occurred_at, correlation_id, producer, payload) VALUES (?, ?, 1, ?, 'RunRequested', 2, "
            "'2024-05-01T10:00:00+00:00', 'bad', 'cli', '{\"story\": \"s\", \"repo\": \"/r\", \"budget_usd\": null}')",
            (last + 1, stream_id, event_id),
        )
    finally:
        connection.close()
    return event_id


async def test_followers_skip_an_undecodable_record_and_handle_every_other_run(tmp_path):
    path = tmp_path / "wave.db"
    store = SqliteEventStore(path)
    try:
        def request(stream):
            return new_envelope(stream, ev.RunRequested(story="s", repo="/r", budget_usd=1), producer="t")

        await store.append("run-before", [request("run-before")], 0)
        bad_id = _write_old_row(path, "run-bad")
        charged = ev.BudgetCharged(tokens=1, cost_usd=0.1)
        await store.append("run-bad", [new_envelope("run-bad", charged, producer="t")], 1)
        await store.append("run-after", [request("run-after")], 0)
        letters = FileDeadLetters(tmp_path / "dead-letters.jsonl")
        retry = RetryPolicy(max_attempts=2, base_delay_s=0.001)
        async with EmbeddedRuntime(store, [Finisher()], letters, retry=retry) as runtime:
            await runtime.drain(timeout=30)

        for handled in ("run-before", "run-after"):
            assert [e.type for e in await store.read_stream(handled)] == ["RunRequested", "RunFailed"]
        (letter,) = await letters.list("finisher")
        assert letter.stream_id == "run-bad" and bad_id in letter.error and "budget_usd" in letter.error
    finally:
        await store.close()


def test_the_outbox_relay_publishes_an_undecodable_old_record_as_stored():
    """The relay upcasts old versions; one it cannot decode is published as stored (each consumer then
    dead-letters it) instead of stopping the relay on it for ever."""
    from datetime import UTC, datetime

    from wave_events import MalformedEventError, decode_envelope
    from wave_runtime.kafka import message_of_stored

    row = {
        "global_position": 7, "stream_id": "run-bad", "stream_version": 1, "event_id": uuid.uuid4(),
        "event_type": "RunRequested", "event_version": 2, "occurred_at": datetime(2024, 5, 1, tzinfo=UTC),
        "correlation_id": "bad", "causation_id": None, "producer": "cli", "traceparent": None,
        "payload": '{"story": "s", "repo": "/r", "budget_usd": null}',
    }
    key, value, headers = message_of_stored(row, clean=False)
    assert key == b"bad" and b'"budget_usd": null' in value
    with pytest.raises(MalformedEventError, match="budget_usd"):  # the consumer refuses it and dead-letters it
        decode_envelope(value)

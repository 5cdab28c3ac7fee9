"""The relay builds Kafka records straight from stored rows; a consumer must read exactly the event
the store holds — the same envelope, the same headers — whatever the payload's text, and old
versions arrive upcast like every other reader sees them."""

from __future__ import annotations

import pytest
from wave_events import catalogue as c
from wave_events import decode_envelope, new_envelope, registry, run_stream_id
from wave_runtime.kafka import OutboxRelay, Topics, message_of, message_of_stored
from wave_store.postgres import PostgresEventStore

pytestmark = pytest.mark.postgres

AWKWARD = [
    'quotes " and \\" and backslashes \\\\ and \\n escapes',
    "control characters \x01\x07\x1f, a tab\tand lines\nand\r\nreturns",
    "unicode: ünïcødé, 中文, emoji 🚀, a lone surrogate-safe \u2028 line separator",
    "a secret-looking sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123 is redacted",
]


async def test_records_from_rows_equal_records_from_envelopes(pg_database_url):
    store = await PostgresEventStore.connect(pg_database_url)
    try:
        stream = run_stream_id("r-awkward")
        events = [
            new_envelope(stream, c.RunRequestedV1(task=AWKWARD[0], repo="/srv/r", budget=1.5), producer="cli"),
            *(
                new_envelope(stream, c.RunFailed(reason=text), producer="svc/1", traceparent=f"00-{'a' * 32}-{'b' * 16}-01")
                for text in AWKWARD
            ),
        ]
        await store.append(stream, events, 0)
        stored = await store.read_stream(stream)
        rows = await OutboxRelay(store, "unused:9092", Topics(prefix="unused"))._read(0)
        assert len(rows) == len(stored) == 5
        for row, envelope in zip(rows, stored, strict=True):
            key, value, headers = message_of_stored(row, clean=False)
            expected_key, expected_value, expected_headers = message_of(envelope)
            assert key == expected_key
            assert sorted(headers) == sorted(expected_headers)
            assert decode_envelope(value) == decode_envelope(expected_value) == envelope
        first = decode_envelope(message_of_stored(rows[0], clean=False)[1])
        # v1 arrives as the newest version
        assert first.version == registry.latest_version("RunRequested") > 1 and first.payload.story == AWKWARD[0]
        assert "sk-ant-api03" not in message_of_stored(rows[-1], clean=False)[1].decode()
    finally:
        await store.close()

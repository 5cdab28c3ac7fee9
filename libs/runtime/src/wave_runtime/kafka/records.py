"""The record codec: a stored event as a Kafka record (key, value, headers), with its trace context.

The key is the run id (correlation id), so a run's events share one partition and keep their order;
the value is the envelope's JSON; the headers name the event (type, version, id, content type) and
carry the W3C `traceparent` so a consumer continues the producer's trace without decoding the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from json.encoder import encode_basestring as _quote

from wave_events import Envelope, EventError, encode_envelope, envelope_from_columns, redact, registry

CONTENT_TYPE = "application/vnd.wave.envelope+json"

KafkaRecord = tuple[bytes, bytes, list[tuple[str, bytes]]]


def message_of(envelope: Envelope) -> KafkaRecord:
    """(key, value, headers) of the Kafka record for a stored event."""
    headers = [
        ("event-type", envelope.type.encode()),
        ("event-version", str(envelope.version).encode()),
        ("event-id", str(envelope.event_id).encode()),
        ("content-type", CONTENT_TYPE.encode()),
    ]
    if envelope.traceparent:
        headers.append(("traceparent", envelope.traceparent.encode()))
    return envelope.correlation_id.encode(), encode_envelope(envelope).encode(), headers


_HEADER_CONTENT_TYPE = ("content-type", CONTENT_TYPE.encode())


def message_of_row(row: Mapping, *, clean: bool = False) -> KafkaRecord:
    """`message_of` for a stored row, without decoding the payload into its model and encoding it again.

    Only for rows whose payload is at the newest version of its type (older ones must be upcast:
    `message_of(envelope)`). The payload text is the stored one (validated and redacted on append,
    redacted again here unless the caller checked it `clean` already); the record says the same as
    `message_of` of the row's envelope, in JSON that differs only in spacing and key order."""
    event_id = str(row["event_id"])
    event_type = row["event_type"]
    version = row["event_version"]
    traceparent = row["traceparent"]
    causation_id = row["causation_id"]
    payload = row["payload"] if clean else redact(row["payload"])
    # The metadata object by hand: the same JSON json.dumps(..., ensure_ascii=False) writes, at a
    # quarter of the cost. Ids, versions and positions are typed columns; text goes through _quote.
    value = (
        f'{{"event_id":"{event_id}","type":{_quote(event_type)},"version":{int(version)},'
        f'"stream_id":{_quote(row["stream_id"])},"stream_version":{int(row["stream_version"])},'
        f'"global_position":{int(row["global_position"])},"occurred_at":"{row["occurred_at"].isoformat()}",'
        f'"correlation_id":{_quote(row["correlation_id"])},'
        f'"causation_id":{_quote(str(causation_id)) if causation_id else "null"},'
        f'"producer":{_quote(row["producer"])},"traceparent":{_quote(traceparent) if traceparent else "null"},'
        f'"payload":{payload}}}'
    )
    headers = [
        ("event-type", event_type.encode()),
        ("event-version", str(version).encode()),
        ("event-id", event_id.encode()),
        _HEADER_CONTENT_TYPE,
    ]
    if traceparent:
        headers.append(("traceparent", traceparent.encode()))
    return row["correlation_id"].encode(), value.encode(), headers


def message_of_stored(row: Mapping, clean: bool) -> KafkaRecord:
    """The record of a stored row (`EventStore.read_publishable`) at whatever version it was stored."""
    if row["event_version"] == registry.latest_version(row["event_type"]):
        return message_of_row(row, clean=clean)
    # An older version: upcast it, as every reader of the store does.
    try:
        payload = registry.decode(row["event_type"], row["event_version"], row["payload"])
    except EventError:
        # Undecodable: published as stored, so the relay goes on and each consumer dead-letters it.
        return message_of_row(row, clean=clean)
    return message_of(envelope_from_columns(dict(row.items()), payload))


__all__ = ["CONTENT_TYPE", "KafkaRecord", "message_of", "message_of_row", "message_of_stored"]

"""The AsyncAPI 3.0 document of WAVE's Kafka topics, made from the event catalogue.

It describes what a consumer of the topics sees: one message per registered (type, version) on the
events topic, each an envelope whose payload schema is the catalogue model's; the record key, the
headers and the topic settings the relay and `ensure_topics` use; and the dead letters topic.

Regenerate the checked-in file with `python -m wave_runtime.kafka.asyncapi docs/api/asyncapi.json`
(`make schemas`); `--check` (`make lint`) and a unit test fail when it drifts from the code.
Pure: builds a dict, touches no broker.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

from wave_events import DomainEvent, EventRegistry, registry
from wave_events.envelope import RUN_ID_PATTERN, STREAM_ID_PATTERN
from wave_events.schemas import payload_schema

from .deadletters import DLQ_ERROR_LIMIT
from .records import CONTENT_TYPE
from .topics import (
    DLQ_PARTITIONS,
    DLQ_TOPIC_CONFIG,
    EVENTS_PARTITIONS,
    EVENTS_TOPIC_CONFIG,
    WORK_EVENT_TYPES,
    WORK_PARTITIONS,
    WORK_TOPIC_CONFIG,
)

DEFAULT_PATH = Path("docs/api/asyncapi.json")
KAFKA_BINDING_VERSION = "0.5.0"
EVENTS_CHANNEL = "events"
DLQ_CHANNEL = "deadLetters"
WORK_CHANNEL = "work"
_SCHEMAS = "#/components/schemas/"

_DESCRIPTION = """\
Every event WAVE stores is published, in the store's global order, to the events topic by the outbox
relay. A record's key is the run id, so a run's events share one partition and arrive in stream
order; its value is the event envelope (JSON, content type `{content_type}`); its headers name the
event without decoding the value.

There is one message per event type and version. The relay publishes the newest version of each type
(older stored payloads are upcast first), but records written before a new version existed stay on the
topic until retention removes them, and a stored event that cannot be decoded is published as stored.
A consumer therefore dispatches on the value's `type` and `version` (or the `event-type` and
`event-version` headers), reads each version it knows with its own schema, and lifts older versions to
the newest one the way `wave_events.registry.decode` does (one upcaster per version step). A type or
version it does not know is skipped or dead-lettered, never guessed at.

Delivery is at least once: after a relay crash records may be published again. `event_id` is unique
per event; deduplicate on it. Order holds within a run (one partition), not across runs; the envelope's
`global_position` gives the store's order across runs and `stream_version` the order within one.

Made from the event catalogue (`wave_events.catalogue`) by `python -m wave_runtime.kafka.asyncapi`;
docs/events.md describes each event."""


def _kafka(binding: dict[str, Any]) -> dict[str, Any]:
    return {"kafka": {**binding, "bindingVersion": KAFKA_BINDING_VERSION}}


def _topic_configuration(config: dict[str, str]) -> dict[str, Any]:
    return {"cleanup.policy": config["cleanup.policy"].split(","), "retention.ms": int(config["retention.ms"])}


def _run_id_key() -> dict[str, Any]:
    # Inline, not a $ref: a reference object matches both alternatives of the `oneOf` that the
    # specification's JSON Schema gives the Kafka binding's key, so that schema refuses it.
    return {
        "type": "string",
        "pattern": RUN_ID_PATTERN.pattern,
        "description": "The run id (the envelope's `correlation_id`), UTF-8.",
    }


def _message_id(model: type[DomainEvent]) -> str:
    return f"{model.event_type}.v{model.event_version}"


def _add_component(schemas: dict[str, Any], name: str, schema: dict[str, Any]) -> None:
    if name in schemas and schemas[name] != schema:
        raise ValueError(f"two different schemas are both named {name!r}; rename one of the models")
    schemas[name] = schema


def _shared_schemas() -> dict[str, Any]:
    nullable = [{"type": "null"}]
    return {
        "Envelope": {
            "title": "Envelope",
            "description": "An event as published: identity, position, causality and trace context around its payload.",
            "type": "object",
            "additionalProperties": False,
            "required": [
                "event_id", "type", "version", "stream_id", "stream_version", "global_position", "occurred_at",
                "correlation_id", "causation_id", "producer", "traceparent", "payload",
            ],
            "properties": {
                "event_id": {
                    "type": "string", "format": "uuid",
                    "description": "Unique per event; the same on a redelivery, so consumers deduplicate on it.",
                },
                "type": {"type": "string", "description": "The event type: with `version`, the catalogue key."},
                "version": {"type": "integer", "minimum": 1, "description": "The payload's schema version."},
                "stream_id": {
                    "type": "string", "pattern": STREAM_ID_PATTERN.pattern,
                    "description": "The run's stream, `run-<run id>`.",
                },
                "stream_version": {
                    "type": "integer", "minimum": 1, "description": "1, 2, 3 … within the stream: the run's order.",
                },
                "global_position": {
                    "type": "integer", "minimum": 1, "description": "The store's order across all runs.",
                },
                "occurred_at": {"type": "string", "format": "date-time", "description": "When it happened, with a timezone."},
                "correlation_id": {
                    "type": "string", "pattern": RUN_ID_PATTERN.pattern, "description": "The run id; also the record key.",
                },
                "causation_id": {
                    "anyOf": [{"type": "string", "format": "uuid"}, *nullable],
                    "description": "The `event_id` of the event this one answers; null for a command.",
                },
                "producer": {"type": "string", "description": "`service/instance`, or `cli` for a person's command."},
                "traceparent": {
                    "anyOf": [{"type": "string"}, *nullable],
                    "description": "W3C trace context: one run is one trace across services.",
                },
                "payload": {"type": "object", "description": "The event itself; its schema depends on `type` and `version`."},
            },
        },
        "EventHeaders": {
            "title": "EventHeaders",
            "description": "Kafka headers of an event record (UTF-8 text).",
            "type": "object",
            "required": ["event-type", "event-version", "event-id", "content-type"],
            "properties": {
                "event-type": {"type": "string", "description": "The envelope's `type`."},
                "event-version": {
                    "type": "string", "pattern": "^[1-9][0-9]*$", "description": "The envelope's `version`, in decimal.",
                },
                "event-id": {"type": "string", "format": "uuid", "description": "The envelope's `event_id`."},
                "content-type": {"type": "string", "const": CONTENT_TYPE},
                "traceparent": {
                    "type": "string", "description": "The envelope's `traceparent`; absent when it has none.",
                },
                "redriven": {
                    "type": "string", "const": "1",
                    "description": "Present on a record `wave dlq redrive` published again from the dead letters topic.",
                },
            },
        },
        "DeadLetterHeaders": {
            "title": "DeadLetterHeaders",
            "description": "Headers a dead letter adds to those of the record given up on.",
            "type": "object",
            "required": ["dlq-consumer", "dlq-error-type", "dlq-error", "dlq-attempts", "dlq-dead-at"],
            "properties": {
                "dlq-consumer": {"type": "string", "description": "The service that gave up on the record."},
                "dlq-error-type": {"type": "string", "description": "The error's class name."},
                "dlq-error": {
                    "type": "string", "maxLength": DLQ_ERROR_LIMIT, "description": "The error message, cut to its first characters.",
                },
                "dlq-attempts": {"type": "string", "pattern": "^[0-9]+$", "description": "Handling attempts, in decimal."},
                "dlq-dead-at": {"type": "string", "format": "date-time", "description": "When the service gave up."},
            },
        },
    }


def _event_message(model: type[DomainEvent], latest: int, payload: dict[str, Any]) -> dict[str, Any]:
    event_type, event_version = model.event_type, model.event_version
    summary = (payload.get("description") or f"{event_type} version {event_version}.").split("\n\n")[0]
    if event_version == latest:
        status = f"The newest version of `{event_type}`."
    else:
        status = (
            f"Superseded by `{event_type}` v{latest}: the relay publishes v{latest}, but a record written before "
            f"v{event_version + 1} existed, or one that could not be upcast, may still carry v{event_version}. "
            f"Read it with this schema, then upcast it one version at a time to v{latest} "
            "(the upcasters in `wave_events.catalogue`)."
        )
    return {
        "name": event_type,
        "title": f"{event_type} v{event_version}",
        "summary": " ".join(summary.split()),
        "description": status,
        "contentType": CONTENT_TYPE,
        "headers": {
            "allOf": [
                {"$ref": _SCHEMAS + "EventHeaders"},
                {"properties": {"event-type": {"const": event_type}, "event-version": {"const": str(event_version)}}},
            ],
        },
        "payload": {
            "allOf": [
                {"$ref": _SCHEMAS + "Envelope"},
                {
                    "properties": {
                        "type": {"const": event_type},
                        "version": {"const": event_version},
                        "payload": {"$ref": _SCHEMAS + _message_id(model)},
                    },
                },
            ],
        },
        "correlationId": {
            "description": "The run id: the envelope's `correlation_id`, also the record key.",
            "location": "$message.payload#/correlation_id",
        },
        "bindings": _kafka({"key": _run_id_key()}),
        "x-event-type": event_type,
        "x-event-version": event_version,
    }


def _marker_message(name: str, title: str, summary: str, header: str, names: str) -> dict[str, Any]:
    """A record on the dead letters topic that settles one letter, named in its one header."""
    return {
        "name": name,
        "title": title,
        "summary": summary,
        "headers": {
            "type": "object",
            "required": [header],
            "properties": {
                header: {
                    "type": "string",
                    "description": f"`<consumer>/<event id>/<offset of the dead letter>`: {names}.",
                },
            },
        },
        "payload": {"type": "null"},
        "bindings": _kafka({"key": _run_id_key()}),
    }


def _dead_letter_messages(event_messages: list[str]) -> dict[str, Any]:
    return {
        "DeadLetter": {
            "name": "DeadLetter",
            "title": "Dead-lettered event",
            "summary": "An event a service gave up on: the record as it was on the events topic, with why.",
            "description": (
                "Key, value and headers are those of the original record; `wave dlq redrive` publishes it to the "
                "events topic again (with a `redriven` header) and leaves a `DeadLetterRedriveMarker`."
            ),
            "contentType": CONTENT_TYPE,
            "headers": {"allOf": [{"$ref": _SCHEMAS + "EventHeaders"}, {"$ref": _SCHEMAS + "DeadLetterHeaders"}]},
            "payload": {"oneOf": [{"$ref": f"#/components/messages/{m}/payload"} for m in event_messages]},
            "bindings": _kafka({"key": _run_id_key()}),
        },
        "UndecodableDeadLetter": {
            "name": "UndecodableDeadLetter",
            "title": "Undecodable record",
            "summary": "A record no service could decode: its value as it was, without a key or event headers.",
            "description": "It cannot be re-driven; `dlq-error` says what was wrong with it.",
            "contentType": "application/octet-stream",
            "headers": {"$ref": _SCHEMAS + "DeadLetterHeaders"},
            "payload": {"type": "string", "description": "The undecodable value's bytes."},
            "bindings": _kafka({"key": {"type": "null"}}),
        },
        "DeadLetterRedriveMarker": _marker_message(
            "DeadLetterRedriveMarker", "Re-drive marker",
            "Left by `wave dlq redrive` after it published a dead letter again; its value is empty.",
            "dlq-redriven", "the letter that was re-driven",
        ),
        "DeadLetterHandledMarker": _marker_message(
            "DeadLetterHandledMarker", "Handled-after-all marker",
            "Left by `wave dlq redrive` instead of publishing a dead letter again, when the service had handled its "
            "event after all (delivered again after the letter was written); its value is empty.",
            "dlq-handled", "the letter that is settled",
        ),
    }


def asyncapi_document(events: EventRegistry = registry) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the events and dead letters topics for the catalogue `events`."""
    schemas = _shared_schemas()
    messages: dict[str, Any] = {}
    for model in events.all_models():
        payload = payload_schema(model, ref_template=_SCHEMAS + "{model}")
        for name, definition in payload.pop("$defs", {}).items():
            _add_component(schemas, name, definition)
        _add_component(schemas, _message_id(model), payload)
        messages[_message_id(model)] = _event_message(model, events.latest_version(model.event_type), payload)
    event_messages = list(messages)
    messages.update(_dead_letter_messages(event_messages))
    prefix = {
        "prefix": {
            "default": "wave",
            "description": "WAVE_TOPIC_PREFIX: lets several installations share one cluster.",
            "examples": ["wave"],
        },
    }
    channel_refs = {name: {"$ref": f"#/components/messages/{name}"} for name in messages}
    dead_letters = [name for name in messages if name not in event_messages]
    return {
        "asyncapi": "3.0.0",
        "id": "urn:wave:events",
        "info": {
            "title": "WAVE events",
            "version": package_version("wave-events"),
            "description": _DESCRIPTION.format(content_type=CONTENT_TYPE),
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "kafka": {
                "host": "{bootstrap}",
                "protocol": "kafka",
                "description": "The cluster WAVE_KAFKA_BOOTSTRAP names.",
                "variables": {"bootstrap": {"description": "host:port of a broker", "examples": ["127.0.0.1:9092"]}},
            },
        },
        "channels": {
            EVENTS_CHANNEL: {
                "address": "{prefix}.events.v1",
                "title": "Events",
                "description": (
                    "Every stored event, in the store's global order, keyed by run id. Partitioned by the key "
                    "(the Kafka default partitioner, murmur2 of the key), so a run's events are in one partition, "
                    "in stream order."
                ),
                "messages": {name: channel_refs[name] for name in event_messages},
                "parameters": prefix,
                "bindings": _kafka({
                    "partitions": EVENTS_PARTITIONS,
                    "topicConfiguration": _topic_configuration(EVENTS_TOPIC_CONFIG),
                }),
            },
            WORK_CHANNEL: {
                "address": "{prefix}.work.v1",
                "title": "Work",
                "description": (
                    "Work requests (one task's work each, handed off by the developer in distributed mode), "
                    "published by the relay besides the events topic, keyed `<run id>/<task id>`. A run's "
                    "requests are on consecutive partitions, from one chosen by a hash of the run id, so the work "
                    "group's round-robin assignment gives them to different instances."
                ),
                "messages": {name: channel_refs[name] for name in event_messages if name.split(".v")[0] in WORK_EVENT_TYPES},
                "parameters": prefix,
                "bindings": _kafka({
                    "partitions": WORK_PARTITIONS,
                    "topicConfiguration": _topic_configuration(WORK_TOPIC_CONFIG),
                }),
            },
            DLQ_CHANNEL: {
                "address": "{prefix}.events.dlq.v1",
                "title": "Dead letters",
                "description": "Records a service gave up on, with why, kept until they are re-driven and beyond.",
                "messages": {name: channel_refs[name] for name in dead_letters},
                "parameters": prefix,
                "bindings": _kafka({
                    "partitions": DLQ_PARTITIONS,
                    "topicConfiguration": _topic_configuration(DLQ_TOPIC_CONFIG),
                }),
            },
        },
        "operations": {
            "publishEvents": {
                "action": "send",
                "channel": {"$ref": f"#/channels/{EVENTS_CHANNEL}"},
                "title": "The outbox relay publishes stored events",
                "description": (
                    "One relay is active at a time; it saves its position only after Kafka acknowledged every "
                    "record up to it, so a crash may publish records again but never skips one."
                ),
                "messages": [{"$ref": f"#/channels/{EVENTS_CHANNEL}/messages/{name}"} for name in event_messages],
            },
            "consumeEvents": {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{EVENTS_CHANNEL}"},
                "title": "Services consume events",
                "description": (
                    "Each WAVE service reads the topic in its consumer group `<prefix>.<service>`. A consumer of "
                    "its own uses a group id of its own, outside that namespace."
                ),
                "messages": [{"$ref": f"#/channels/{EVENTS_CHANNEL}/messages/{name}"} for name in event_messages],
                "bindings": _kafka({"groupId": {"type": "string", "description": "`<prefix>.<service>`, e.g. `wave.planner`"}}),
            },
            "consumeWork": {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{WORK_CHANNEL}"},
                "title": "The developer takes one task's work",
                "description": (
                    "Each developer instance reads the topic in the work group `<prefix>.developer.work` "
                    "(round-robin assignment) and writes the task a request names, up to its concurrency at once."
                ),
                "messages": [
                    {"$ref": f"#/channels/{WORK_CHANNEL}/messages/{name}"}
                    for name in event_messages if name.split(".v")[0] in WORK_EVENT_TYPES
                ],
                "bindings": _kafka({"groupId": {"type": "string", "description": "`<prefix>.<service>.work`, e.g. `wave.developer.work`"}}),
            },
            "publishDeadLetters": {
                "action": "send",
                "channel": {"$ref": f"#/channels/{DLQ_CHANNEL}"},
                "title": "Services dead-letter the events they give up on",
                "messages": [{"$ref": f"#/channels/{DLQ_CHANNEL}/messages/{name}"} for name in dead_letters],
            },
        },
        "components": {"schemas": schemas, "messages": messages},
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    arguments = [a for a in argv if a != "--check"]
    if any(a.startswith("-") for a in arguments) or len(arguments) > 1:
        print("usage: python -m wave_runtime.kafka.asyncapi [--check] [FILE]", file=sys.stderr)
        return 2
    target = Path(arguments[0]) if arguments else DEFAULT_PATH
    expected = render(asyncapi_document())
    if check:
        if not target.is_file() or target.read_text() != expected:
            state = "missing" if not target.is_file() else "differs from the event catalogue"
            print(f"{target}: {state}; run `make schemas`", file=sys.stderr)
            return 1
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(expected)
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""docs/api/asyncapi.json: made from the event catalogue, valid AsyncAPI 3.0, and true to the records
the relay publishes and the dead letters the services write. Regenerate it with `make schemas`."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel
from wave_events import DomainEvent, EventRegistry, new_envelope, registry, run_stream_id
from wave_events import catalogue as c
from wave_runtime.kafka.asyncapi import asyncapi_document, main, render
from wave_runtime.kafka.deadletters import dead_letter_headers
from wave_runtime.kafka.records import message_of, message_of_row

ROOT = Path(__file__).resolve().parents[3]
DOCUMENT_PATH = ROOT / "docs" / "api" / "asyncapi.json"
# The AsyncAPI Initiative's JSON Schema of the 3.0.0 specification (see data/NOTICE).
SPEC_SCHEMA = json.loads((Path(__file__).parent / "data" / "asyncapi-3.0.0.schema.json").read_text())
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return json.loads(DOCUMENT_PATH.read_text())


def _validator(document: dict[str, Any], pointer: str) -> jsonschema.Draft7Validator:
    """A validator for the schema at `pointer`, whose references resolve inside the document."""
    return jsonschema.Draft7Validator(
        {"$ref": pointer, "components": document["components"]}, format_checker=jsonschema.FormatChecker()
    )


def _errors(document: dict[str, Any], pointer: str, instance: Any) -> list[str]:
    return [error.message for error in _validator(document, pointer).iter_errors(instance)]


def _record_view(record) -> tuple[str | None, Any, dict[str, str]]:
    key, value, headers = record
    return (key.decode() if key is not None else None), json.loads(value), {k: v.decode() for k, v in headers}


def _assert_matches_message(document, message: str, record) -> None:
    key, value, headers = _record_view(record)
    base = f"#/components/messages/{message}"
    assert _errors(document, f"{base}/payload", value) == []
    assert _errors(document, f"{base}/headers", headers) == []
    assert _errors(document, f"{base}/bindings/kafka/key", key) == []


def _stored(event: DomainEvent, *, traceparent: str | None = TRACEPARENT):
    envelope = new_envelope(run_stream_id("r7a2"), event, producer="qa/1", traceparent=traceparent)
    return envelope.positioned(stream_version=4, global_position=91)


def _tests_failed() -> c.TestsFailed:
    return c.TestsFailed(
        commit="a" * 40, counts=c.TestCounts(passed=3, failed=1), failing_tests=("tests/test_a.py::test_b",),
        failure_excerpt="assert 1 == 2", duration_s=1.5, sandbox="bubblewrap",
    )


def test_checked_in_document_matches_the_catalogue(document):
    assert DOCUMENT_PATH.read_text() == render(asyncapi_document()), (
        "docs/api/asyncapi.json is out of date: run `make schemas`"
    )


def test_the_check_fails_on_a_stale_document_and_names_the_command(tmp_path, capsys):
    target = tmp_path / "asyncapi.json"
    assert main(["--check", str(target)]) == 1
    assert "missing; run `make schemas`" in capsys.readouterr().err
    assert main([str(target)]) == 0
    assert main(["--check", str(target)]) == 0
    target.write_text(target.read_text().replace('"TestsFailed v2"', '"TestsFailed v9"'))
    assert main(["--check", str(target)]) == 1
    assert f"{target}: differs from the event catalogue; run `make schemas`" in capsys.readouterr().err


def test_the_document_is_valid_asyncapi_3(document):
    assert document["asyncapi"] == "3.0.0"
    problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                for e in jsonschema.Draft7Validator(SPEC_SCHEMA).iter_errors(document)]
    assert problems == []


def test_the_specification_schema_refuses_a_broken_document(document):
    broken = json.loads(json.dumps(document))
    broken["operations"]["publishEvents"]["action"] = "publish"  # AsyncAPI 2 wording
    del broken["channels"]["events"]["address"]
    broken["channels"]["events"]["adress"] = "{prefix}.events.v1"
    assert not jsonschema.Draft7Validator(SPEC_SCHEMA).is_valid(broken)


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"{ref}: not a reference inside the document"
    node = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"{ref}: {part!r} does not exist"
        node = node[part]
    return node


def test_every_reference_resolves_and_operations_use_their_channels_messages(document):
    refs = _refs(document)
    assert refs
    for ref in refs:
        _resolve(document, ref)
    for channel in document["channels"].values():
        for message in channel["messages"].values():
            assert message["$ref"].startswith("#/components/messages/")
    for name, operation in document["operations"].items():
        channel_ref = operation["channel"]["$ref"]
        for message in operation["messages"]:
            assert message["$ref"].startswith(f"{channel_ref}/messages/"), (name, message)


def test_every_schema_is_a_valid_json_schema(document):
    schemas = list(document["components"]["schemas"].values())
    for message in document["components"]["messages"].values():
        schemas += [message["payload"], message["headers"], message["bindings"]["kafka"]["key"]]
    for schema in schemas:
        jsonschema.Draft7Validator.check_schema(schema)
        jsonschema.Draft202012Validator.check_schema(schema)
    bad = {"type": "strnig"}
    with pytest.raises(jsonschema.SchemaError):
        jsonschema.Draft7Validator.check_schema(bad)


def test_every_event_version_of_the_catalogue_has_its_message(document):
    channel = document["channels"]["events"]["messages"]
    registered = {f"{m.event_type}.v{m.event_version}" for m in registry.all_models()}
    assert set(channel) == registered
    for model in registry.all_models():
        message = document["components"]["messages"][f"{model.event_type}.v{model.event_version}"]
        assert (message["name"], message["x-event-version"]) == (model.event_type, model.event_version)
        payload = document["components"]["schemas"][f"{model.event_type}.v{model.event_version}"]
        assert payload["x-event-type"] == model.event_type
    assert set(document["channels"]["deadLetters"]["messages"]) == {
        "DeadLetter", "UndecodableDeadLetter", "DeadLetterRedriveMarker", "DeadLetterHandledMarker",
    }
    assert document["channels"]["events"]["address"] == "{prefix}.events.v1"
    assert document["channels"]["deadLetters"]["address"] == "{prefix}.events.dlq.v1"


def test_records_the_relay_publishes_match_their_messages(document):
    # The newest version of each type, whichever it is.
    _assert_matches_message(document, f"TestsFailed.v{c.TestsFailed.event_version}", message_of(_stored(_tests_failed())))
    requested = c.RunRequested(story="Add slugify", repo="/srv/repo", budget_usd=2.5)
    _assert_matches_message(
        document, f"RunRequested.v{c.RunRequested.event_version}", message_of(_stored(requested, traceparent=None))
    )


def test_an_old_version_published_as_stored_matches_its_own_message_and_not_the_newest(document):
    stored = _stored(_tests_failed())
    old_payload = {"commit": "b" * 40, "counts": {"passed": 1, "failed": 2}, "failure_excerpt": "FAILED t::x",
                   "duration_s": 0.5, "sandbox": "bubblewrap", "command": "pytest", "timed_out": False}
    row = {**stored.metadata(), "event_type": "TestsFailed", "event_version": 1, "payload": json.dumps(old_payload),
           "occurred_at": stored.occurred_at, "causation_id": None}
    record = message_of_row(row, clean=True)
    _assert_matches_message(document, "TestsFailed.v1", record)
    _, value, headers = _record_view(record)
    assert _errors(document, f"#/components/messages/TestsFailed.v{c.TestsFailed.event_version}/payload", value)
    assert _errors(document, f"#/components/messages/TestsFailed.v{c.TestsFailed.event_version}/headers", headers)


def test_a_record_that_breaks_the_catalogue_fails_its_message(document):
    _, value, headers = _record_view(message_of(_stored(_tests_failed())))
    pointer = f"#/components/messages/TestsFailed.v{c.TestsFailed.event_version}"
    assert _errors(document, f"{pointer}/payload", {**value, "payload": {**value["payload"], "commit": "xyz"}})
    assert _errors(document, f"{pointer}/payload", {**value, "stream_id": "Run 7"})
    assert _errors(document, f"{pointer}/payload", {**value, "schema": 2})  # not an envelope field
    assert _errors(document, f"{pointer}/headers", {k: v for k, v in headers.items() if k != "event-id"})
    assert _errors(document, f"{pointer}/bindings/kafka/key", "run id with spaces")


def test_dead_letters_match_the_dead_letter_messages(document):
    key, value, headers = message_of(_stored(_tests_failed()))
    dead_at = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    letter = (key, value, [*headers, *dead_letter_headers("qa", "HandlingFailed", "boom " * 2000, 3, dead_at)])
    _assert_matches_message(document, "DeadLetter", letter)
    _, _, letter_headers = _record_view(letter)
    assert len(letter_headers["dlq-error"]) == 4000
    undecodable = dict(dead_letter_headers("qa", "MalformedEventError", "not JSON", 1, dead_at))
    assert _errors(document, "#/components/messages/UndecodableDeadLetter/headers",
                   {k: v.decode() for k, v in undecodable.items()}) == []
    assert _errors(document, "#/components/messages/DeadLetter/headers",
                   {k: v.decode() for k, v in undecodable.items()})  # an undecodable one has no event headers


def test_two_value_objects_of_one_name_are_refused_with_the_name():
    events = EventRegistry()

    class Detail(BaseModel):
        text: str

    @events.register("First")
    class First(DomainEvent):
        detail: Detail

    class Detail(BaseModel):  # noqa: F811 - a second class of the same name, as a careless edit would make
        count: int

    @events.register("Second")
    class Second(DomainEvent):
        detail: Detail

    with pytest.raises(ValueError, match="two different schemas are both named 'Detail'"):
        asyncapi_document(events)

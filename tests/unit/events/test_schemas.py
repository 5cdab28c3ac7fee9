"""The checked-in JSON Schemas must match the models; regenerate with `make schemas`."""

import json
from pathlib import Path

import jsonschema

from wave_events import catalogue as c
from wave_events.schemas import render, schema_documents

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "libs" / "events" / "schemas"


def test_checked_in_schemas_match_the_models():
    expected = schema_documents()
    on_disk = {p.name: p.read_text() for p in SCHEMA_DIR.glob("*.json")}
    missing = sorted(set(expected) - set(on_disk))
    stale = sorted(set(on_disk) - set(expected))
    drifted = sorted(name for name in set(expected) & set(on_disk) if render(expected[name]) != on_disk[name])
    assert not (missing or stale or drifted), (
        f"schemas out of date (run `make schemas`): missing={missing} stale={stale} drifted={drifted}"
    )


def test_schemas_validate_real_payloads_and_reject_bad_ones():
    schema = json.loads((SCHEMA_DIR / "TestsFailed.v1.json").read_text())
    good = c.TestsFailed(
        commit="a" * 40, counts=c.TestCounts(passed=3, failed=1), failure_excerpt="assert 1 == 2",
        duration_s=1.5, sandbox="bubblewrap",
    ).model_dump(mode="json")
    jsonschema.validate(good, schema)
    bad = {**good, "commit": "not-a-sha"}
    try:
        jsonschema.validate(bad, schema)
    except jsonschema.ValidationError as exc:
        assert "does not match" in exc.message
    else:
        raise AssertionError("a malformed commit id passed the schema")

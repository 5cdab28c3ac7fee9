"""The checked-in JSON Schemas must match the models; regenerate with `make schemas`."""

import json
from pathlib import Path

import jsonschema
from wave_events import catalogue as c
from wave_events.schemas import drift, main, write

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "libs" / "events" / "schemas"


def test_checked_in_schemas_match_the_models():
    assert drift(SCHEMA_DIR) == [], "schemas out of date: run `make schemas`"


def test_the_check_names_each_drifted_file_and_fails(tmp_path, capsys):
    write(tmp_path)
    (tmp_path / "Merged.v1.json").write_text("{}")
    (tmp_path / "RunFailed.v1.json").unlink()
    (tmp_path / "Gone.v1.json").write_text("{}")
    assert drift(tmp_path) == [
        "RunFailed.v1.json: missing", "Gone.v1.json: no model registers it", "Merged.v1.json: differs from the model",
    ]
    assert main(["--check", str(tmp_path)]) == 1
    assert "run `make schemas`" in capsys.readouterr().err
    write(tmp_path)
    (tmp_path / "Gone.v1.json").unlink()
    assert main(["--check", str(tmp_path)]) == 0


def test_schemas_validate_real_payloads_and_reject_bad_ones():
    schema = json.loads((SCHEMA_DIR / "TestsFailed.v3.json").read_text())
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

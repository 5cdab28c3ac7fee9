"""The checked-in OpenAPI document is the one the code serves, and the API survives a fuzzer driven by
it: no request gets a server error, every response matches its documented schema."""

from __future__ import annotations

from pathlib import Path

from wave_api import openapi

CHECKED_IN = Path(__file__).resolve().parents[3] / "docs" / "api" / "openapi.json"


def test_the_checked_in_openapi_document_is_current():
    assert CHECKED_IN.is_file(), f"missing {CHECKED_IN}: python -m wave_api.openapi {CHECKED_IN}"
    assert CHECKED_IN.read_text(encoding="utf-8") == openapi.text(), (
        "docs/api/openapi.json drifted from the code: python -m wave_api.openapi docs/api/openapi.json"
    )


def test_the_check_command_fails_on_drift(tmp_path):
    stale = tmp_path / "openapi.json"
    stale.write_text("{}\n")
    assert openapi.main(["--check", str(stale)]) == 1
    assert openapi.main([str(stale)]) == 0
    assert openapi.main(["--check", str(stale)]) == 0


def test_every_request_body_and_response_is_a_named_model():
    document = openapi.document()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                content = response.get("content", {}).get("application/json")
                if content is not None:
                    assert "$ref" in content["schema"] or content["schema"].get("anyOf"), (method, path, status)

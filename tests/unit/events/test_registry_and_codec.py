import json
import uuid

import pytest
from wave_events import (
    MalformedEventError,
    UnknownEventTypeError,
    UnknownEventVersionError,
    decode_envelope,
    derived_event_id,
    encode_envelope,
    new_envelope,
    registry,
)
from wave_events import (
    catalogue as c,
)


def envelope_json(**overrides) -> str:
    document = json.loads(
        encode_envelope(new_envelope("run-r1", c.RunFailed(reason="tests never ran"), producer="planner/0"))
    )
    document.update(overrides)
    return json.dumps(document)


def test_an_envelope_survives_encoding_and_decoding():
    original = new_envelope("run-r1", c.RunRequested(story="add /health", repo="/srv/app", budget_usd=3), producer="cli")
    decoded = decode_envelope(encode_envelope(original))
    assert decoded == original
    assert (decoded.type, decoded.version, decoded.run_id) == ("RunRequested", c.RunRequested.event_version, "r1")


def test_unknown_type_names_the_type_and_version():
    with pytest.raises(UnknownEventTypeError, match="unknown event type 'RunExploded' version 1"):
        decode_envelope(envelope_json(type="RunExploded"))


def test_unknown_version_names_the_type_version_and_known_versions():
    with pytest.raises(UnknownEventVersionError, match=r"unknown version 7 of event type 'RunFailed' \(known versions: 1\)"):
        decode_envelope(envelope_json(version=7))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        (json.dumps({"type": "RunFailed"}), "missing field(s) event_id, version, stream_id"),
        (None, "malformed RunFailed v1: reason: Field required"),
        ("stream", "invalid stream id"),
    ],
)
def test_malformed_input_is_a_specific_error_naming_the_problem(data, message):
    if data is None:
        data = envelope_json(payload={})
    elif data == "stream":
        data = envelope_json(stream_id="not a stream")
    with pytest.raises(MalformedEventError) as info:
        decode_envelope(data)
    assert message in str(info.value)


def test_payloads_refuse_unknown_fields_and_are_frozen():
    with pytest.raises(MalformedEventError, match="reasn: Extra inputs are not permitted"):
        registry.decode("RunFailed", 1, {"reason": "x", "reasn": "typo"})
    event = c.RunFailed(reason="x")
    with pytest.raises(Exception, match="frozen"):
        event.reason = "y"  # type: ignore[misc]


def test_version_one_of_run_requested_reads_as_the_newest_version():
    old = {"task": "fix the login bug", "repo": "git@example.com:app.git", "budget": 4.0, "max_retries": 2}
    event = registry.decode("RunRequested", 1, old)
    assert isinstance(event, c.RunRequested)
    assert event == c.RunRequested(
        story="fix the login bug", repo="git@example.com:app.git", target_branch="main", budget_usd=4.0,
        max_retries=2, merge_policy="auto", merge_strategy="ff", model_source="", requested_by="unknown",
        delivery="local",  # runs before domains could choose were merged in the repository
    )


def test_a_version_two_run_request_keeps_landing_by_fast_forward():
    old = {"story": "add /health", "repo": "/srv/app", "budget_usd": 1.0, "merge_policy": "human", "requested_by": "ana"}
    event = registry.decode("RunRequested", 2, old)
    assert (event.merge_strategy, event.model_source, event.merge_policy, event.requested_by) == ("ff", "", "human", "ana")


def test_a_version_one_tests_failed_names_the_failing_tests_of_its_excerpt():
    old = {
        "commit": "a" * 40, "counts": {"passed": 3, "failed": 2}, "duration_s": 1.0, "sandbox": "bubblewrap",
        "failure_excerpt": "2 failed, 0 errors, 3 passed, 0 skipped (from junit; exit code 1)\n"
                           "FAILED tests/test_a.py::test_bad - assert 1 == 2\nFAILED tests/test_b.py::test_worse\n\n"
                           "--- tests/test_a.py::test_bad\nE assert 1 == 2",
    }
    event = registry.decode("TestsFailed", 1, old)
    assert isinstance(event, c.TestsFailed)
    assert event.failing_tests == ("tests/test_a.py::test_bad", "tests/test_b.py::test_worse")
    assert event.failure_excerpt == old["failure_excerpt"]


def test_test_results_stored_before_environments_were_prepared_read_as_prepared_by_nothing():
    result = {"commit": "a" * 40, "counts": {"passed": 3}, "duration_s": 1.0, "sandbox": "bubblewrap", "command": "make test"}
    passed = registry.decode("TestsPassed", 1, result)
    failed = registry.decode("TestsFailed", 2, {**result, "failing_tests": ["t::x"], "failure_excerpt": "boom"})
    assert isinstance(passed, c.TestsPassed) and (passed.environment, passed.command) == ("", "make test")
    assert isinstance(failed, c.TestsFailed) and (failed.environment, failed.failing_tests) == ("", ("t::x",))


def test_a_malformed_old_version_is_reported_against_its_own_version():
    with pytest.raises(MalformedEventError, match="malformed RunRequested v1: budget"):
        registry.decode("RunRequested", 1, {"task": "x", "repo": "r", "budget": -1})


def test_derived_event_ids_are_deterministic_per_cause_producer_and_index():
    cause = uuid.uuid4()
    assert derived_event_id(cause, "qa", 0) == derived_event_id(cause, "qa", 0)
    assert len({derived_event_id(cause, "qa", 0), derived_event_id(cause, "qa", 1), derived_event_id(cause, "gitops", 0)}) == 3


def test_every_catalogue_event_of_the_design_is_registered():
    names = {m.event_type for m in registry.latest_models()}
    assert {
        "RunRequested", "PlanCreated", "PlanRejected", "WorkspaceReady", "ChangeProposed", "LLMCallRecorded",
        "ActionScored", "ChangeCommitted", "ChangeRejected", "TestsPassed", "TestsFailed", "RetryScheduled",
        "FixRequested", "EscalationRequested", "HumanDecisionRecorded", "BudgetCharged", "BudgetExceeded",
        "BudgetRaised", "MergeApproved", "MergeRejected", "Merged", "RunCompleted", "RunFailed", "RunBlocked",
        "RunCancelled", "NotificationSent",
    } <= names

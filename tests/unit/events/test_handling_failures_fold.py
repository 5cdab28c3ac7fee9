"""A service giving up on an event, as the run's projection shows it."""

from __future__ import annotations

import uuid

from run_streams import RunStream as Stream
from wave_events import catalogue as c
from wave_events import registry
from wave_events.projections import fold

FAILED = uuid.UUID(int=99)


def _requested() -> Stream:
    s = Stream()
    s.add(c.RunRequested(story="add /health", repo="/srv/app", budget_usd=2.0))
    return s


def _dead_lettered() -> c.HandlingAbandoned:
    return c.HandlingAbandoned(
        service="notifier", event_id=FAILED, subject_type="RunRequested", reason="TransientError: Slack is down",
        action=f"wave dlq redrive --event {FAILED}", attempts=5, dead_lettered=True,
    )


def test_a_dead_letter_stalls_the_run_until_it_is_redriven_even_while_a_question_waits():
    s = _requested()
    s.add(c.EscalationRequested(escalation_id="e1", kind="invalid_plan", reason="bad plans"))
    s.add(_dead_lettered())
    state = fold(s.events)
    assert state.status == "stalled"
    assert [(d.service, d.reason) for d in state.dead_letters] == [("notifier", "TransientError: Slack is down")]

    s.add(c.DeadLetterRedriven(service="notifier", event_id=FAILED, redriven_by="ana"))
    state = fold(s.events)
    assert state.status == "awaiting_human"
    assert state.dead_letters == []


def test_an_environment_stop_waits_for_a_person_and_a_retry_request_clears_it():
    s = _requested()
    s.add(c.HandlingAbandoned(
        service="planner", event_id=FAILED, subject_type="RunRequested", reason="no cassette", action="add one",
        attempts=1, dead_lettered=False, escalation_id="r1-environment-planner-x",
    ))
    s.add(c.EscalationRequested(escalation_id="r1-environment-planner-x", kind="environment", reason="no cassette"))
    assert fold(s.events).status == "awaiting_human"
    s.add(c.HumanDecisionRecorded(escalation_id="r1-environment-planner-x", decision="approve", decided_by="ana"))
    s.add(c.HandlingRetryRequested(service="planner", event_id=FAILED, escalation_id="r1-environment-planner-x"))
    state = fold(s.events)
    assert state.status == "running"
    assert state.abandoned == {}


def test_a_v1_call_record_is_read_with_no_refusal():
    payload = {"role": "planner", "provider": "scripted", "model": "m", "input_tokens": 1, "output_tokens": 1,
               "cost_usd": 0.0, "latency_ms": 0.0}
    record = registry.decode("LLMCallRecorded", 1, payload)
    assert isinstance(record, c.LLMCallRecorded)
    assert record.rejected_reason is None

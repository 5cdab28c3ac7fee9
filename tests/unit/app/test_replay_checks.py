"""The replay check: a run's stream folded again, compared field by field with the global-order fold
and the live projection."""

from __future__ import annotations

from dataclasses import replace

from run_streams import RunStream
from wave_app.queries import differences, replay_checks, state_document
from wave_events import catalogue as ev
from wave_events.projections import fold


def _events(*payloads):
    stream = RunStream("r1")
    for payload in payloads:
        stream.add(payload)
    return stream.events


def _request():
    return ev.RunRequested(story="Add slugify", repo="/tmp/repo", budget_usd=1.0)


def _plan():
    task = ev.PlanTask(task_id="t1", domain="code", description="add it", acceptance_criteria=("works",))
    return ev.PlanCreated(tasks=(task,))


def test_replay_reports_each_differing_field():
    events = _events(_request(), _plan())
    live = state_document(fold(events))
    drifted = state_document(replace(fold(events), status="completed", retries=2))
    found = differences(live, drifted)
    assert found == ["retries: live 0 != replay 2", "status: live 'running' != replay 'completed'"]
    assert differences(live, state_document(fold(events))) == []


def test_replay_checks_the_whole_stream_even_when_the_live_projection_covers_part_of_it():
    events = _events(_request(), _plan(), ev.RunFailed(reason="no workspace"))
    live = state_document(fold(events[:1]))
    mixed_up = [events[0], events[2], events[1]]  # a global order that would fold to another state
    checks = replay_checks(events, mixed_up, live)
    assert [check.against for check in checks] == [
        "global-order fold (all 3 events)", "live projection (its first 1 events)",
    ]
    assert checks[0].differences and not checks[1].differences
    assert not replay_checks(events, events, live)[0].differences

"""The replay check: a run's stream folded again, compared field by field with the global-order fold
and the live projection."""

from __future__ import annotations

from dataclasses import replace

from run_stories import happy_run
from wave_app.queries import differences, replay_checks, state_document
from wave_events.projections import fold


def test_replay_reports_each_differing_field():
    events = happy_run().events[:2]  # requested, planned
    live = state_document(fold(events))
    drifted = state_document(replace(fold(events), status="completed", retries=2))
    found = differences(live, drifted)
    assert found == ["retries: live 0 != replay 2", "status: live 'running' != replay 'completed'"]
    assert differences(live, state_document(fold(events))) == []


def test_replay_checks_the_whole_stream_even_when_the_live_projection_covers_part_of_it():
    events = happy_run().events[:3]  # requested, planned, workspace ready
    live = state_document(fold(events[:1]))
    mixed_up = [events[0], events[2], events[1]]  # a global order that would fold to another state
    checks = replay_checks(events, mixed_up, live)
    assert [check.against for check in checks] == [
        "global-order fold (all 3 events)", "live projection (its first 1 events)",
    ]
    assert checks[0].differences and not checks[1].differences
    assert not replay_checks(events, events, live)[0].differences

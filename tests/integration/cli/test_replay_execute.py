"""`wave replay RUN --execute`: every service decides again over a recorded run and any output that
differs from the record is reported. The history is the demo run's, checked in: a change to a
service's decisions that would decide old runs differently fails here."""

from __future__ import annotations

import asyncio
from importlib import import_module

from cli_process import wave
from histories import demo_history, store_history
from wave_app.replaying import reexecute
from wave_cli.replaying import every_service
from wave_events import catalogue as ev


def test_the_demo_history_decides_the_same_today():
    events = demo_history()
    report = asyncio.run(reexecute(events[0].run_id, events, every_service({})))
    assert report.divergences == []
    # Every service had its say: the planner, gitops, the developer, safety and qa.
    assert report.decisions >= 15


def test_a_changed_decision_is_reported_with_its_cause_and_outputs(monkeypatch):
    planning = import_module("wave_planner.decide")
    decide = planning.decide

    def stricter(state, event, backoff=None):
        steps = decide(state, event, backoff)
        if event.type == "TestsPassed":
            # Someone changed the review: every merge now waits for a person.
            return planning.merge_review_escalation(state, event.payload.commit, "a person reviews every merge")
        return steps

    monkeypatch.setattr(planning, "decide", stricter)
    events = demo_history()
    report = asyncio.run(reexecute(events[0].run_id, events, every_service({})))
    assert [(d.service, d.cause_type) for d in report.divergences] == [("planner", "TestsPassed")]
    (divergence,) = report.divergences
    assert [line.split(" ", 1)[0] for line in divergence.expected] == ["MergeApproved"]
    assert [line.split(" ", 1)[0] for line in divergence.got] == ["EscalationRequested"]
    assert "a person reviews every merge" in divergence.got[0]


def test_a_test_run_the_record_does_not_answer_is_reported(monkeypatch):
    testing = import_module("wave_qa.decide")
    monkeypatch.setattr(testing, "decide", lambda state, event: None)
    events = demo_history()
    report = asyncio.run(reexecute(events[0].run_id, events, every_service({})))
    assert {(d.service, d.cause_type) for d in report.divergences} == {("qa", "ChangeCommitted")}
    assert all(d.got == [] and d.expected for d in report.divergences)


def test_wave_replay_execute_says_every_decision_matches(tmp_path):
    run_id = store_history(tmp_path, demo_history())
    result = wave(tmp_path, "replay", run_id, "--execute")
    assert result.returncode == 0, result.stderr
    assert f"decision(s) of run {run_id} made again: every output matches the record" in result.stdout
    summary = [e for e in demo_history() if isinstance(e.payload, ev.RunSummarized)]
    assert len(summary) == 1 and summary[0].payload.outcome == "completed"


def test_the_planner_reads_the_recorded_answers_again(monkeypatch):
    from wave_planner.answers import InvalidAnswer

    service = import_module("wave_planner.service")

    def stricter(text: str):
        raise InvalidAnswer("plans must now name an owner")

    monkeypatch.setattr(service, "read_plan", stricter)
    events = demo_history()
    report = asyncio.run(reexecute(events[0].run_id, events, every_service({})))
    (divergence,) = report.divergences
    assert (divergence.service, divergence.cause_type) == ("planner", "RunRequested")
    assert any(line.startswith("PlanCreated ") for line in divergence.expected)
    assert not any(line.startswith("PlanCreated ") for line in divergence.got)
    # The recorded answer was read (and refused) again; only one was recorded, so asking again finds none.
    assert any("plans must now name an owner" in line for line in divergence.got)

"""What a person following a run reads, and the live projection kept for replay."""

from __future__ import annotations

from datetime import UTC, datetime

from wave_app.queries import state_document
from wave_cli.progress import approve_command, progress_lines, summarize
from wave_cli.snapshots import Snapshots
from wave_events import catalogue as ev
from wave_events.envelope import new_envelope
from wave_events.projections import evolve, fold

RUN = "run-r1"


def _events(*payloads):
    envelopes = []
    for version, payload in enumerate(payloads, start=1):
        envelopes.append(new_envelope(RUN, payload, producer="test").positioned(version, version))
    return envelopes


def _request():
    return ev.RunRequested(story="Add slugify", repo="/tmp/repo", budget_usd=1.0)


def _plan():
    task = ev.PlanTask(task_id="t1", domain="code", description="add it", acceptance_criteria=("works",))
    return ev.PlanCreated(tasks=(task,))


def test_a_plan_opens_gate_g0_and_names_its_tasks():
    request, plan = _events(_request(), _plan())
    before = fold([request])
    lines = progress_lines(before, evolve(before, plan), plan)
    texts = [line.text for line in lines]
    assert "t1 (code)" in texts[0]
    assert "✓ G0 planned" in texts


def test_failed_tests_show_their_excerpt_in_red():
    failed = ev.TestsFailed(
        commit="a" * 40, counts=ev.TestCounts(passed=3, failed=1), failure_excerpt="FAILED test_x\nassert 1 == 2",
        duration_s=0.5, sandbox="bubblewrap",
    )
    (envelope,) = _events(failed)
    lines = progress_lines(fold([]), fold([envelope]), envelope)
    assert "1 failed, 0 errors, 3 passed" in lines[0].text
    assert lines[0].style == "red"
    assert [line.text.strip() for line in lines[1:]] == ["FAILED test_x", "assert 1 == 2"]


def test_failed_tests_name_the_failing_tests_and_show_the_first_assertion_in_full():
    assertion = [f"E       assert slugify('Hello, World!') == 'hello-world'  # line {n} " + "x" * 130 for n in range(1, 13)]
    excerpt = "\n".join([
        "2 failed, 0 errors, 3 passed, 0 skipped (from junit; exit code 1)",
        "FAILED tests/test_slugify.py::test_punctuation - AssertionError",
        "FAILED tests/test_slugify.py::test_ends - AssertionError",
        "",
        "--- tests/test_slugify.py::test_punctuation ---",
        *assertion,
        "",
        "--- tests/test_slugify.py::test_ends ---",
        "E       assert '-x-' == 'x'",
    ])
    failed = ev.TestsFailed(
        commit="a" * 40, counts=ev.TestCounts(passed=3, failed=2), failure_excerpt=excerpt, duration_s=0.5,
        sandbox="bubblewrap", failing_tests=("tests/test_slugify.py::test_punctuation", "tests/test_slugify.py::test_ends"),
    )
    (envelope,) = _events(failed)
    assert "failing: tests/test_slugify.py::test_punctuation, tests/test_slugify.py::test_ends" in summarize(envelope)
    texts = [line.text.strip() for line in progress_lines(fold([]), fold([envelope]), envelope)]
    for line in assertion:  # the whole first assertion, however long its lines are
        assert line in texts
    assert "E       assert '-x-' == 'x'" not in texts  # the second failure is in `wave events --json`


def test_an_escalation_says_which_command_answers_it():
    request, escalation = _events(
        _request(), ev.EscalationRequested(escalation_id="e1", kind="retries_exhausted", reason="3 retries failed")
    )
    before = fold([request])
    after = evolve(before, escalation)
    texts = [line.text for line in progress_lines(before, after, escalation)]
    assert any("wave approve r1 --decision approve|reject" in t for t in texts)


def test_approve_command_names_the_escalation_when_several_wait():
    events = _events(
        _request(),
        ev.EscalationRequested(escalation_id="e1", kind="budget", reason="top up"),
        ev.EscalationRequested(escalation_id="e2", kind="merge_review", reason="review"),
    )
    state = fold(events)
    assert approve_command("r1", "e2", state) == "wave approve r1 --escalation e2 --decision approve|reject"


def test_a_budget_stop_is_answered_with_a_top_up():
    events = _events(_request(), ev.EscalationRequested(escalation_id="b1", kind="budget", reason="top up"))
    assert approve_command("r1", "b1", fold(events)) == (
        "wave budget r1 --usd NEW_LIMIT (or stop it: wave approve r1 --decision reject)"
    )


def test_a_scheduled_retry_says_when():
    retry = ev.RetryScheduled(retry=1, due_at=datetime.now(UTC), delay_s=2.0, timer_id="t")
    (envelope,) = _events(retry)
    assert summarize(envelope) == "retry 1 in 2.0 s"


def test_snapshots_round_trip(tmp_path):
    state = fold(_events(_request(), _plan()))
    snapshots = Snapshots(tmp_path / "projections")
    assert snapshots.load("r1") is None
    snapshots.save(state)
    assert snapshots.load("r1") == state_document(state)

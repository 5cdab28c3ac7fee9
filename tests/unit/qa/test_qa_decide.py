"""When QA tests, and which commit: a table over run states."""

from __future__ import annotations

from gitops_runs import plan, propose, requested, score
from qa_runs import commit_task, committed_run, refix
from run_streams import sha
from wave_events import catalogue as c
from wave_qa import RunTests, decide

LOCATION = "/srv/repos/shop"


def test_tests_the_head_once_every_task_is_committed() -> None:
    _, (first, second) = committed_run(LOCATION, sha(1), {"t1": sha(2), "t2": sha(3)})
    assert decide(first.state, first.event) is None  # t2 is not committed yet: G4 does not pass
    assert decide(second.state, second.event) == RunTests(commit=sha(3), location=LOCATION)


def test_an_earlier_event_handled_late_tests_the_current_head() -> None:
    _, (first, second) = committed_run(LOCATION, sha(1), {"t1": sha(2), "t2": sha(3)})
    assert decide(second.state, first.event) == RunTests(commit=sha(3), location=LOCATION)


def test_a_tested_head_is_not_tested_again() -> None:
    stream, (committed,) = committed_run(LOCATION, sha(1), {"t1": sha(2)})
    stream.add(c.TestsPassed(commit=sha(2), counts=c.TestCounts(passed=1), duration_s=1, sandbox="bubblewrap"))
    assert decide(stream.state, committed.event) is None


def test_a_failed_head_is_not_tested_again_but_its_fix_is() -> None:
    stream, (committed,) = committed_run(LOCATION, sha(1), {"t1": sha(2)})
    stream.add(c.TestsFailed(commit=sha(2), counts=c.TestCounts(failed=1), duration_s=1, sandbox="bubblewrap"))
    assert decide(stream.state, committed.event) is None
    fixed = refix(stream, "t1", sha(3), sha(2))
    assert decide(fixed.state, fixed.event) == RunTests(commit=sha(3), location=LOCATION)


def test_a_change_not_yet_safe_blocks_testing() -> None:
    stream = requested("r1", LOCATION)
    plan(stream, "t1", "t2")
    stream.add(c.WorkspaceReady(branch="wave/r1", base_commit=sha(1), location=LOCATION))
    score(stream, propose(stream, "t1", "d", sha(1)))
    propose(stream, "t2", "d", sha(1))  # never scored
    step = commit_task(stream, "t1", sha(2), sha(1))
    assert decide(step.state, step.event) is None


def test_a_finished_run_is_not_tested() -> None:
    stream, (committed,) = committed_run(LOCATION, sha(1), {"t1": sha(2)})
    stream.add(c.RunCancelled(cancelled_by="ana"))
    assert decide(stream.state, committed.event) is None


def test_other_events_are_ignored() -> None:
    stream, _ = committed_run(LOCATION, sha(1), {"t1": sha(2)})
    step = stream.add(c.BudgetCharged(tokens=1, cost_usd=0.01))
    assert decide(step.state, step.event) is None

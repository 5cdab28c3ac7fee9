"""QAService with a fake checkout and a fake sandbox: the events a run gets for what happened."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from qa_fakes import FakeCheckout, FakeSandbox, result, service
from qa_runs import committed_run
from run_streams import sha
from wave_events import catalogue as c
from wave_runtime import Service, TransientError, Unrecoverable

JUNIT_FAILED = (
    '<testsuite tests="2" failures="1"><testcase classname="tests.test_a" name="test_ok"/>'
    '<testcase classname="tests.test_a" name="test_bad"><failure message="assert 1 == 2">E assert 1 == 2</failure>'
    "</testcase></testsuite>"
)


async def test_is_a_runtime_service(tmp_path: Path) -> None:
    qa = service(FakeSandbox(result()), FakeCheckout(), tmp_path)
    assert isinstance(qa, Service) and qa.name == "qa" and qa.handles == {"ChangeCommitted"}


async def test_checks_out_the_head_from_the_workspace_location(tmp_path: Path) -> None:
    checkout = FakeCheckout()
    sandbox = FakeSandbox(result(stdout="2 passed in 0.1s"))
    _, (committed,) = committed_run("/srv/shop", sha(1), {"t1": sha(2)})
    (verdict, outcome) = await service(sandbox, checkout, tmp_path).handle(committed.state, committed.event)
    assert checkout.calls == [("/srv/shop", sha(2))]
    assert (verdict.action_kind, verdict.verdict, verdict.target_event_id) == ("test_command", "allow", committed.event.event_id)
    assert verdict.action["command"] == "python -m pytest -q --junitxml=.wave-qa/junit.xml"  # scored before it ran
    assert outcome == c.TestsPassed(
        commit=sha(2), counts=c.TestCounts(passed=2), duration_s=1.5, sandbox="fake",
        command="python -m pytest -q --junitxml=.wave-qa/junit.xml",
    )
    assert os.listdir(tmp_path) == []  # the scratch copy is gone


async def test_junit_failures_make_tests_failed(tmp_path: Path) -> None:
    sandbox = FakeSandbox(result(exit_code=1), junit=JUNIT_FAILED)
    _, (committed,) = committed_run("/srv/shop", sha(1), {"t1": sha(2)})
    (*_, outcome) = await service(sandbox, FakeCheckout(), tmp_path).handle(committed.state, committed.event)
    assert isinstance(outcome, c.TestsFailed)
    assert outcome.counts == c.TestCounts(passed=1, failed=1)
    assert "FAILED tests/test_a.py::test_bad - assert 1 == 2" in outcome.failure_excerpt
    assert outcome.failing_tests == ("tests/test_a.py::test_bad",)


async def test_a_zero_exit_with_failures_in_the_report_still_fails(tmp_path: Path) -> None:
    sandbox = FakeSandbox(result(exit_code=0), junit=JUNIT_FAILED)
    _, (committed,) = committed_run("/srv/shop", sha(1), {"t1": sha(2)})
    (*_, outcome) = await service(sandbox, FakeCheckout(), tmp_path).handle(committed.state, committed.event)
    assert isinstance(outcome, c.TestsFailed)


async def test_a_timeout_is_reported_as_such(tmp_path: Path) -> None:
    sandbox = FakeSandbox(result(exit_code=-9, stdout="tests/test_a.py::test_slow", timed_out=True))
    _, (committed,) = committed_run("/srv/shop", sha(1), {"t1": sha(2)})
    (*_, outcome) = await service(sandbox, FakeCheckout(), tmp_path).handle(committed.state, committed.event)
    assert isinstance(outcome, c.TestsFailed) and outcome.timed_out
    assert outcome.failure_excerpt.startswith("timed out after 30s")


async def test_a_report_planted_as_a_link_is_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "host-secret.xml"
    secret.write_text('<testsuite tests="1"><testcase name="host_only_secret"/></testsuite>')

    class LinkingSandbox(FakeSandbox):
        def run(self, command, workdir, limits, env, *, stop=None, mounts=None):
            (workdir / ".wave-qa" / "junit.xml").symlink_to(secret)
            return result(exit_code=1, stdout="boom")

    _, (committed,) = committed_run("/srv/shop", sha(1), {"t1": sha(2)})
    qa = service(LinkingSandbox(result()), FakeCheckout(), tmp_path / "scratch")
    (*_, outcome) = await qa.handle(committed.state, committed.event)
    assert isinstance(outcome, c.TestsFailed) and "host_only_secret" not in outcome.failure_excerpt


async def test_a_checkout_failure_is_transient(tmp_path: Path) -> None:
    _, (committed,) = committed_run("/srv/shop", sha(1), {"t1": sha(2)})
    with pytest.raises(TransientError):
        await service(FakeSandbox(result()), FakeCheckout(fail=True), tmp_path).handle(committed.state, committed.event)
    assert os.listdir(tmp_path) == []


async def test_a_sandbox_that_cannot_run_is_not_retried_and_says_what_to_fix(tmp_path: Path) -> None:
    _, (committed,) = committed_run("/srv/shop", sha(1), {"t1": sha(2)})
    with pytest.raises(Unrecoverable) as stopped:
        await service(FakeSandbox(result(), error=True), FakeCheckout(), tmp_path).handle(committed.state, committed.event)
    assert stopped.value.reason == "the fake sandbox cannot run the tests: bwrap: cannot mount"
    assert "WAVE_QA_SANDBOX" in stopped.value.action
    assert os.listdir(tmp_path) == []


async def test_nothing_to_do_touches_nothing(tmp_path: Path) -> None:
    sandbox, checkout = FakeSandbox(result()), FakeCheckout()
    _, (first, _second) = committed_run("/srv/shop", sha(1), {"t1": sha(2), "t2": sha(3)})
    assert await service(sandbox, checkout, tmp_path).handle(first.state, first.event) == ()
    assert checkout.calls == [] and sandbox.runs == []

"""What QA says about a test run, decided without running anything: a hand-written sandbox result and
report in, TestsPassed, TestsFailed or an environment escalation out."""

from __future__ import annotations

from wave_events import catalogue as c
from wave_qa import (
    Failure,
    SandboxResult,
    TestReport,
    read_report,
    run_outcome,
    sandbox_unusable,
    untested,
)

COMMIT = "c" * 40


def ran(exit_code: int = 0, stdout: str = "", stderr: str = "", timed_out: bool = False, duration_s: float = 2.5):
    return SandboxResult(exit_code=exit_code, stdout=stdout, stderr=stderr, timed_out=timed_out, duration_s=duration_s)


def outcome(result: SandboxResult, report: TestReport):
    return run_outcome(COMMIT, command="pytest -q", sandbox="bubblewrap", result=result, report=report, timeout_s=30)


def test_a_clean_exit_with_no_failure_counted_passes() -> None:
    report = TestReport(c.TestCounts(passed=3, skipped=1), (), "junit")
    assert outcome(ran(), report) == c.TestsPassed(
        commit=COMMIT, counts=c.TestCounts(passed=3, skipped=1), duration_s=2.5, sandbox="bubblewrap",
        command="pytest -q",
    )


def test_a_failure_in_the_report_fails_the_commit_even_when_the_command_exited_zero() -> None:
    report = TestReport(c.TestCounts(passed=1, failed=1), (Failure("tests/test_calc.py::test_big", "assert 3 == 4"),))
    failed = outcome(ran(exit_code=0), report)
    assert isinstance(failed, c.TestsFailed)
    assert failed.failing_tests == ("tests/test_calc.py::test_big",)
    assert failed.counts == c.TestCounts(passed=1, failed=1)
    assert "FAILED tests/test_calc.py::test_big - assert 3 == 4" in failed.failure_excerpt
    assert (failed.command, failed.sandbox, failed.duration_s, failed.timed_out) == ("pytest -q", "bubblewrap", 2.5, False)


def test_a_nonzero_exit_fails_the_commit_though_every_counted_test_passed() -> None:
    failed = outcome(ran(exit_code=2, stderr="conftest.py: ImportError"), TestReport(c.TestCounts(passed=4)))
    assert isinstance(failed, c.TestsFailed) and failed.failing_tests == ()
    assert "exit code 2" in failed.failure_excerpt and "ImportError" in failed.failure_excerpt


def test_a_run_that_timed_out_fails_and_says_so() -> None:
    failed = outcome(ran(exit_code=-9, timed_out=True, duration_s=30.2), TestReport(c.TestCounts(passed=2)))
    assert isinstance(failed, c.TestsFailed) and failed.timed_out
    assert failed.failure_excerpt.startswith("timed out after 30s")


def test_a_negative_duration_from_a_clock_step_is_recorded_as_zero() -> None:
    assert outcome(ran(duration_s=-0.5), TestReport(c.TestCounts(passed=1))).duration_s == 0.0


def test_no_test_command_fails_the_commit_with_the_reason_and_nothing_counted() -> None:
    assert untested(COMMIT, reason="no test command: set WAVE_QA_TEST_COMMAND", sandbox="process") == c.TestsFailed(
        commit=COMMIT, counts=c.TestCounts(), failure_excerpt="no test command: set WAVE_QA_TEST_COMMAND",
        duration_s=0.0, sandbox="process",
    )


def test_a_sandbox_that_cannot_run_is_an_environment_problem_naming_the_fix() -> None:
    problem = sandbox_unusable("bubblewrap", "bwrap: cannot mount proc")
    assert problem.reason == "the bubblewrap sandbox cannot run the tests: bwrap: cannot mount proc"
    assert "WAVE_QA_SANDBOX" in problem.action and problem.events == ()


JUNIT_ONE_FAILED = (
    '<testsuite><testcase classname="tests.test_a" name="test_x"><failure message="boom"/></testcase></testsuite>'
)


def test_the_junit_report_is_the_account_of_the_run_when_it_counts_tests() -> None:
    report = read_report(JUNIT_ONE_FAILED, exit_code=1, output="1 passed in 0.1s", known_files={"tests/test_a.py"})
    assert report.source == "junit" and report.counts == c.TestCounts(failed=1)
    assert report.failures[0].name == "tests/test_a.py::test_x"


def test_an_empty_or_broken_report_of_a_failed_run_gives_way_to_the_output() -> None:
    output = "FAILED tests/test_a.py::test_y - boom\n1 failed, 2 passed in 0.3s\n"
    for junit in ("<testsuite/>", "not xml", None):
        report = read_report(junit, exit_code=1, output=output)
        assert report.source == "pytest summary", junit
        assert report.counts == c.TestCounts(passed=2, failed=1)


def test_the_output_a_run_printed_is_stdout_then_stderr() -> None:
    assert ran(stdout="out", stderr="err").output == "out\nerr"
    assert ran(stdout="out").output == "out"

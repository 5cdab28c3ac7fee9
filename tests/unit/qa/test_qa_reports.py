"""Reading what a test run said, and the failure excerpt a fixer gets."""

from __future__ import annotations

import pytest
from wave_events import catalogue as c
from wave_qa import Failure, TestReport, failure_excerpt, parse_junit, parse_output
from wave_qa.reports import ReportError

PYTEST_JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="1" skipped="1" tests="5" time="0.1">
<testcase classname="tests.test_calc" name="test_add" time="0.001" />
<testcase classname="tests.test_calc.TestMul" name="test_big" time="0.001">
  <failure message="assert 7 == 12">def test_big():
&gt;       assert mul(3, 4) == 12
E       assert 7 == 12</failure></testcase>
<testcase classname="tests.test_calc" name="test_db" time="0"><error message="fixture 'db' not found">E  fixture 'db' not found</error></testcase>
<testcase classname="tests.test_calc" name="test_later" time="0"><skipped message="later" /></testcase>
<testcase classname="tests.test_calc" name="test_sub" time="0.001" />
</testsuite></testsuites>"""

GENERIC_JUNIT = '<testsuite name="go" tests="4" failures="1" errors="0" skipped="1"></testsuite>'


def test_pytest_junit_gives_counts_and_test_ids() -> None:
    report = parse_junit(PYTEST_JUNIT, known_files={"tests/test_calc.py", "calc.py"})
    assert report.counts == c.TestCounts(passed=2, failed=1, errors=1, skipped=1)
    assert [f.name for f in report.failures] == ["tests/test_calc.py::TestMul::test_big", "tests/test_calc.py::test_db"]
    assert report.failures[0].message == "assert 7 == 12"
    assert "assert mul(3, 4) == 12" in report.failures[0].detail


def test_without_the_files_the_classname_is_kept() -> None:
    report = parse_junit(PYTEST_JUNIT)
    assert report.failures[0].name == "tests.test_calc.TestMul::test_big"


def test_a_suite_without_cases_gives_its_totals() -> None:
    assert parse_junit(GENERIC_JUNIT).counts == c.TestCounts(passed=2, failed=1, errors=0, skipped=1)


@pytest.mark.parametrize("text", ["not xml", "<html><body/></html>"])
def test_a_file_that_is_not_junit_is_refused(text: str) -> None:
    with pytest.raises(ReportError):
        parse_junit(text)


def test_the_pytest_summary_line_without_a_report() -> None:
    output = (
        "..F.s\n=========================== short test summary info ============================\n"
        "FAILED tests/test_calc.py::test_mul - assert 7 == 12\n1 failed, 3 passed, 1 skipped, 2 warnings in 0.12s\n"
    )
    report = parse_output(1, output)
    assert report.counts == c.TestCounts(passed=3, failed=1, skipped=1)
    assert report.failures == (Failure("tests/test_calc.py::test_mul", "assert 7 == 12"),)


def test_go_test_output() -> None:
    output = "--- FAIL: TestTax (0.00s)\n    tax_test.go:9: got 7 want 12\nFAIL\nFAIL\texample.com/shop\t0.01s\n"
    report = parse_output(1, output)
    assert report.counts.failed == 1 and report.failures[0].name == "TestTax"


def test_nothing_recognisable_falls_back_to_the_exit_code() -> None:
    assert parse_output(2, "segfault\n").counts == c.TestCounts(errors=1)
    assert parse_output(0, "all good\n").counts == c.TestCounts()


def test_the_excerpt_names_every_failure_first_and_stays_bounded() -> None:
    failures = tuple(Failure(f"tests/test_big.py::test_{i}", f"assert {i} == 0", "E   assert ...\n" * 200) for i in range(30))
    report = TestReport(c.TestCounts(failed=30), failures, "junit")
    excerpt = failure_excerpt(report, exit_code=1, output="x" * 100_000, timed_out=False, timeout_s=600)
    assert len(excerpt) <= 4000
    assert excerpt.startswith("30 failed, 0 errors, 0 passed, 0 skipped")
    assert all(f"FAILED tests/test_big.py::test_{i} - assert {i} == 0" in excerpt for i in range(30))


def test_a_timeout_says_so_and_shows_the_end_of_the_output() -> None:
    report = parse_output(-9, "collecting ...\ntest_slow.py::test_forever")
    excerpt = failure_excerpt(report, exit_code=-9, output="collecting ...\ntest_slow.py::test_forever",
                              timed_out=True, timeout_s=5)
    assert excerpt.startswith("timed out after 5s")
    assert excerpt.endswith("test_slow.py::test_forever")

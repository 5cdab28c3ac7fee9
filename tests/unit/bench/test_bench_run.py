"""bench/run.py: every suite's share of make bench's time, and how the time each took is printed (not timed)."""

from __future__ import annotations

from bench_modules import BENCH, load_bench

load_bench("results")
load_bench("figures")
load_bench("machine")
run = load_bench("run")


def test_the_suites_budgets_add_up_to_no_more_than_ten_minutes():
    assert run.TOTAL_BUDGET_S == 600
    assert all(suite.budget_s > 0 for suite in run.SUITES.values())
    assert sum(suite.budget_s for suite in run.SUITES.values()) <= run.TOTAL_BUDGET_S


def test_each_suite_names_a_bench_module_with_sizes_and_targets():
    for name, suite in run.SUITES.items():
        assert (BENCH / f"{suite.module}.py").is_file(), name
        assert set(suite.servers) <= {"database", "broker"}, name


def test_a_suite_over_its_budget_is_flagged_and_the_total_is_given():
    store = run.SUITES["store"].budget_s
    line = run.duration_line("store", store + 5, 42.4, (1.0, 2.5), quick=False)
    assert line.startswith(f"store: took {run.minutes(store + 5)} (CPU 42 s in its processes), load 1.0 -> 2.5")
    assert line.endswith("OVER BUDGET")
    assert "OVER" not in run.duration_line("store", store - 5, 1.0, (1.0, 1.0), quick=False)

    report = run.durations_report({"store": 50.0, "safety": 10.0}, quick=False)
    assert report.splitlines()[0].split() == ["suite", "took", "budget"]
    assert report.splitlines()[-1].split()[:3] == ["total", "1", "min"]
    assert "over budget" not in report
    late = run.durations_report({"store": store + 90, "safety": 10.0}, quick=False)
    assert late.splitlines()[-1].startswith("over budget by ")


def test_a_quick_run_prints_its_times_without_budgets():
    assert "budget" not in run.duration_line("api", 9999, 1.0, (0.5, 0.5), quick=True)
    report = run.durations_report({"api": 9999.0}, quick=True)
    assert "over budget" not in report
    assert report.splitlines()[-1].split() == ["total", "166", "min", "39", "s", "-"]


def test_minutes_read_as_minutes_and_seconds():
    assert run.minutes(42.4) == "42 s"
    assert run.minutes(61) == "1 min 1 s"
    assert run.minutes(599.6) == "10 min 0 s"

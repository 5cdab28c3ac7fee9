"""bench/idle_bench.py: the arithmetic behind the idle figures and how they are judged (not timed)."""

from __future__ import annotations

import pytest
from bench_modules import load_bench

load_bench("results")
figures = load_bench("figures")
idle_bench = load_bench("idle_bench")


def test_cpu_time_is_a_percentage_of_one_core():
    assert idle_bench.cpu_percent(0.05, 5.0) == pytest.approx(1.0)
    assert idle_bench.cpu_percent(9.0, 10.0) == pytest.approx(90.0)
    with pytest.raises(ValueError, match="CPU share"):
        idle_bench.cpu_percent(1.0, 0.0)


def test_qa_overhead_leaves_out_the_tests_own_time():
    assert idle_bench.qa_overhead_s(100.0, 106.5, 6.0) == pytest.approx(0.5)
    assert idle_bench.qa_overhead_s(100.0, 105.0, 5.2) == 0.0  # the clocks differ by a hair: never negative
    with pytest.raises(ValueError, match="before its ChangeCommitted"):
        idle_bench.qa_overhead_s(100.0, 99.0, 0.0)


def test_the_idle_figures_are_judged_against_their_goals_lower_is_better():
    def figure(name: str, value: float, unit: str):
        return figures.Figure(name, value, unit, None, False, "detail")

    table = figures.report(
        [figure("runtime.idle_cpu_percent", 85.0, "%"), figure("qa.overhead_s", 0.4, "s")],
        idle_bench.TARGETS, quick=False,
    )
    rows = {line.split()[0]: line for line in table.splitlines() if line.startswith(("runtime.", "qa."))}
    assert "<= 2 %" in rows["runtime.idle_cpu_percent"] and rows["runtime.idle_cpu_percent"].endswith("NOT MET")
    assert "<= 1 s" in rows["qa.overhead_s"] and rows["qa.overhead_s"].endswith("met")

"""bench/fanout_bench.py: how the fan-out's and the run's wall times are read from a run's events (not timed)."""

from __future__ import annotations

import pytest
from bench_modules import load_bench

load_bench("results")
load_bench("figures")
fanout = load_bench("fanout_bench")


def event(kind: str, second: float) -> dict:
    return {"type": kind, "occurred_at": f"2030-01-01T00:00:{second:06.3f}+00:00"}


def test_the_fanout_runs_from_the_workspace_to_the_last_task_written_and_integrated():
    events = [event("RunRequested", 0), event("WorkspaceReady", 1), event("ChangeProposed", 2.5), event("ChangeProposed", 3),
              event("ChangeCommitted", 3.5), event("ChangeCommitted", 4.25), event("TestsPassed", 9), event("RunCompleted", 10)]
    timing = fanout.spans(events)
    assert timing.fanout_s == pytest.approx(2) and timing.integrated_s == pytest.approx(3.25)
    assert timing.run_s == pytest.approx(10)
    slower = fanout.Timing(fanout_s=8.0, integrated_s=9.0, run_s=20.0)
    assert fanout.speedup(timing, slower) == pytest.approx(25)


def test_a_run_that_did_not_finish_is_not_a_figure():
    with pytest.raises(ValueError, match="did not get from its workspace to completion"):
        fanout.spans([event("RunRequested", 0), event("WorkspaceReady", 1)])

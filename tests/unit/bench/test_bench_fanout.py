"""bench/fanout_bench.py: how the fan-out's and the run's wall times are read from a run's events (not timed)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_BENCH = Path(__file__).resolve().parents[3] / "bench"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, _BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # the bench modules import each other by their plain names, as run.py does
    spec.loader.exec_module(module)
    return module


_load("results")
_load("figures")
fanout = _load("fanout_bench")


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

"""bench/results.py: how figures are merged into the shared results file and what a ratio means."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[3] / "bench" / "results.py"
_spec = importlib.util.spec_from_file_location("bench_results", _PATH)
results = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(results)


def test_ratio_above_one_means_wave_did_better_for_throughput_and_latency():
    assert results.ratio(300.0, 100.0, higher_is_better=True) == 3.0
    assert results.ratio(50.0, 100.0, higher_is_better=True) == 0.5
    assert results.ratio(20.0, 80.0, higher_is_better=False) == 4.0
    assert results.ratio(80.0, 20.0, higher_is_better=False) == 0.25
    assert results.ratio(80.0, None) is None


def test_saving_merges_by_name_and_keeps_other_benchmarks(tmp_path):
    path = tmp_path / "latest.json"
    path.write_text(
        json.dumps(
            {
                "benchmarks": [
                    {
                        "name": "runtime.latency",
                        "value": 4.0,
                        "unit": "ms",
                        "peer": None,
                        "peer_value": None,
                        "ratio": None,
                    },
                    {
                        "name": "store.read_all",
                        "value": 1.0,
                        "unit": "events/s",
                        "peer": "p",
                        "peer_value": 2.0,
                        "ratio": 0.5,
                    },
                ],
                "machine": {"cores": 2, "kafka": "4.1"},
            }
        )
    )

    run = results.Results(path)
    run.record("store.read_all", 900.0, "events/s", peer="eventsourcing", peer_value=300.0)
    run.record("store.rebuild_10k_run", 80.0, "ms", higher_is_better=False)
    run.save(machine={"cores": 2, "postgres": "15.18"})

    saved = json.loads(path.read_text())
    by_name = {b["name"]: b for b in saved["benchmarks"]}
    assert [b["name"] for b in saved["benchmarks"]] == [
        "runtime.latency",
        "store.read_all",
        "store.rebuild_10k_run",
    ]
    assert by_name["runtime.latency"]["value"] == 4.0
    assert by_name["store.read_all"] == {
        "name": "store.read_all",
        "value": 900.0,
        "unit": "events/s",
        "peer": "eventsourcing",
        "peer_value": 300.0,
        "ratio": 3.0,
    }
    assert (
        by_name["store.rebuild_10k_run"]["peer"] is None and by_name["store.rebuild_10k_run"]["ratio"] is None
    )
    assert saved["machine"] == {"cores": 2, "kafka": "4.1", "postgres": "15.18"}


def test_saving_creates_the_file_when_there_is_none(tmp_path):
    path = tmp_path / "results" / "latest.json"
    run = results.Results(path)
    run.record("store.append_batched", 60_000, "events/s", peer="eventsourcing", peer_value=20_000)
    run.save()
    assert json.loads(path.read_text())["benchmarks"][0]["ratio"] == 3.0


@pytest.mark.parametrize(
    "kwargs, problem",
    [
        ({"name": "", "value": 1.0, "unit": "ms"}, "needs a name"),
        ({"name": "x", "value": float("nan"), "unit": "ms"}, "finite number"),
        ({"name": "x", "value": -1.0, "unit": "ms"}, "finite number"),
        ({"name": "x", "value": 1.0, "unit": ""}, "needs a unit"),
        ({"name": "x", "value": 1.0, "unit": "ms", "peer_value": 2.0}, "no peer name"),
    ],
)
def test_a_bad_figure_is_refused_with_a_message_naming_the_problem(kwargs, problem):
    with pytest.raises(ValueError, match=problem):
        results.Results(Path("unused.json")).record(**kwargs)


def test_a_corrupt_results_file_is_reported_not_overwritten(tmp_path):
    path = tmp_path / "latest.json"
    path.write_text("{not json")
    run = results.Results(path)
    run.record("store.read_all", 1.0, "events/s")
    with pytest.raises(ValueError, match="not valid JSON"):
        run.save()
    assert path.read_text() == "{not json"

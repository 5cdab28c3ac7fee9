"""bench/figures.py: the statistics behind the runtime figures and the table run.py prints (not timed)."""

from __future__ import annotations

import pytest
from bench_modules import load_bench

load_bench("results")
figures = load_bench("figures")


def test_percentiles_interpolate_between_closest_ranks_like_numpy():
    values = [5.0, 1.0, 4.0, 2.0, 3.0]  # unsorted on purpose
    assert figures.percentile(values, 0) == 1.0
    assert figures.percentile(values, 50) == 3.0
    assert figures.percentile(values, 100) == 5.0
    assert figures.percentile(values, 25) == 2.0
    assert figures.percentile([1.0, 2.0], 50) == 1.5
    assert figures.percentile(list(range(1, 101)), 99) == pytest.approx(99.01)
    assert figures.percentile([7.0], 99) == 7.0


@pytest.mark.parametrize("q", [-1, 101])
def test_a_percentile_outside_0_to_100_is_refused(q):
    with pytest.raises(ValueError, match="0-100"):
        figures.percentile([1.0], q)


def test_no_samples_is_an_error_not_a_zero():
    with pytest.raises(ValueError, match="no values"):
        figures.percentile([], 50)
    with pytest.raises(ValueError):
        figures.Latencies.of_seconds([])


def test_latencies_are_summarised_in_milliseconds():
    # 100 hops of 1..100 ms, given in seconds as the benchmark measures them
    summary = figures.Latencies.of_seconds([n / 1000 for n in range(100, 0, -1)])
    assert summary.count == 100
    assert summary.p50 == pytest.approx(50.5)
    assert summary.p90 == pytest.approx(90.1)
    assert summary.p99 == pytest.approx(99.01)
    assert summary.max == pytest.approx(100.0)
    assert summary.describe() == "n=100 p50 50.50 p90 90.10 p99 99.01 max 100.00 ms"


def test_a_rate_is_events_over_seconds_and_refuses_an_empty_measurement():
    assert figures.rate(50_000, 2.5) == 20_000
    with pytest.raises(ValueError):
        figures.rate(0, 1.0)
    with pytest.raises(ValueError):
        figures.rate(10, 0.0)


def test_targets_are_met_on_the_right_side_of_the_bound():
    latency = figures.Target(10, None)
    throughput = figures.Target(20_000, None)
    assert figures.met(_figure("runtime.hop_p50", 9.9, higher_is_better=False), latency)
    assert figures.met(_figure("runtime.hop_p50", 10.0, higher_is_better=False), latency)
    assert not figures.met(_figure("runtime.hop_p50", 10.1, higher_is_better=False), latency)
    assert figures.met(_figure("runtime.relay_throughput", 20_000, higher_is_better=True), throughput)
    assert not figures.met(_figure("runtime.relay_throughput", 19_999, higher_is_better=True), throughput)
    # a peer ratio required: 2x the peer's throughput
    store = figures.Target(1_000)
    assert figures.met(_figure("x", 3_000, peer_value=1_000), store)
    assert not figures.met(_figure("x", 3_000, peer_value=2_000), store)
    assert not figures.met(_figure("x", 3_000), store)  # no peer figure: the ratio cannot be shown


def test_a_target_without_a_bound_asks_only_for_the_ratio_to_the_peer():
    race = figures.Target(None, 1.5)
    assert figures.met(_figure("orchestration.steps_per_s", 15, peer_value=10), race)
    assert not figures.met(_figure("orchestration.steps_per_s", 14, peer_value=10), race)
    assert figures.met(_figure("orchestration.ms_per_step", 4, peer_value=4, higher_is_better=False), figures.Target(None, 1.0))
    text = figures.report([_figure("orchestration.steps_per_s", 14, peer_value=10)], {"orchestration.steps_per_s": race}, quick=False)
    assert ">= 1.5x peer" in text and "<=" not in text and text.splitlines()[2].endswith("NOT MET")


def test_the_report_shows_values_peers_ratios_and_targets():
    found = [
        _figure("runtime.hop_p50", 8.0, peer_value=4.0, higher_is_better=False, peer="bare round trip"),
        _figure("runtime.relay_throughput", 15_000, peer_value=30_000, peer="bare producer"),
        _figure("runtime.two_hop_throughput", 150),
    ]
    targets = {"runtime.hop_p50": figures.Target(10, None), "runtime.relay_throughput": figures.Target(20_000, None)}
    text = figures.report(found, targets, quick=True)
    rows = {line.split()[0]: line for line in text.splitlines()[2:5]}
    assert "8.0 ms" in rows["runtime.hop_p50"] and "4.0 ms" in rows["runtime.hop_p50"]
    assert "0.50x" in rows["runtime.hop_p50"]  # a latency: peer/WAVE
    assert "<= 10 ms" in rows["runtime.hop_p50"] and rows["runtime.hop_p50"].endswith("met")
    assert "15,000.0 events/s" in rows["runtime.relay_throughput"] and "0.50x" in rows["runtime.relay_throughput"]
    assert rows["runtime.relay_throughput"].endswith("NOT MET")
    assert rows["runtime.two_hop_throughput"].split()[-4:] == ["-", "-", "-", "-"]
    assert "  runtime.hop_p50: bare round trip" in text and "  runtime.relay_throughput: bare producer" in text
    assert "--quick" in text


def test_a_figure_without_a_peer_value_names_no_peer():
    assert _figure("x", 1.0, peer="someone").peer is None
    assert _figure("x", 1.0, peer_value=2.0, peer="someone").peer == "someone"


def _figure(name, value, *, peer_value=None, higher_is_better=True, peer="peer"):
    return figures.Figure(name, value, "ms" if not higher_is_better else "events/s", peer_value, higher_is_better, "d", peer)

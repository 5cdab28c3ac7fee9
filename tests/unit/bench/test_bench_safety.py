"""bench/safety_bench.py: the action mix it scores (not timed)."""

from __future__ import annotations

import json

import pytest
from bench_modules import load_bench

load_bench("results")
load_bench("figures")
safety_bench = load_bench("safety_bench")


def test_the_mix_cycles_through_every_corpus_file():
    lines = safety_bench.mixed_actions(100)
    assert len(lines) == 100
    assert {json.loads(line)["kind"] for line in lines} >= {"command", "diff"}


def test_a_missing_corpus_is_an_error_not_an_endless_loop(tmp_path, monkeypatch):
    monkeypatch.setattr(safety_bench, "CORPUS", tmp_path)
    with pytest.raises(OSError, match="safety corpus"):
        safety_bench.mixed_actions(10)
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(OSError, match="empty file"):
        safety_bench.mixed_actions(10)

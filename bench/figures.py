"""What every suite hands back — figures with their peer and target — the statistics behind them, and
the table `run.py` prints. Pure code: no I/O, so tests/unit/bench can check it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import results


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    peer_value: float | None
    higher_is_better: bool
    detail: str
    peer_name: str | None = None  # what the peer figure measured; None when there is no peer

    @property
    def peer(self) -> str | None:
        return self.peer_name if self.peer_value is not None else None


@dataclass(frozen=True)
class Target:
    """What a figure must reach: a bound on the value (None: no bound) and a minimum ratio to the peer."""

    bound: float | None
    min_ratio: float | None = 2.0


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between closest ranks (numpy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0-100, got {q}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Latencies:
    """A latency sample summarised, in milliseconds."""

    count: int
    p50: float
    p90: float
    p99: float
    max: float

    @classmethod
    def of_seconds(cls, samples: Sequence[float]) -> Latencies:
        ms = [s * 1000 for s in samples]
        return cls(len(ms), percentile(ms, 50), percentile(ms, 90), percentile(ms, 99), max(ms))

    def describe(self) -> str:
        return f"n={self.count} p50 {self.p50:.2f} p90 {self.p90:.2f} p99 {self.p99:.2f} max {self.max:.2f} ms"


def rate(count: int, seconds: float) -> float:
    """Events per second; refuses an empty or instant measurement instead of dividing by zero."""
    if count <= 0 or seconds <= 0:
        raise ValueError(f"cannot make a rate of {count} events in {seconds} s")
    return count / seconds


def met(f: Figure, target: Target) -> bool:
    r = results.ratio(f.value, f.peer_value, higher_is_better=f.higher_is_better)
    if target.bound is None:
        within = True
    else:
        within = f.value >= target.bound if f.higher_is_better else f.value <= target.bound
    beats_peer = target.min_ratio is None or (r is not None and r >= target.min_ratio)
    return within and beats_peer


def report(figures: Sequence[Figure], targets: dict[str, Target], *, quick: bool) -> str:
    """The table of figures, peers, ratios and targets, then one line of detail per figure."""
    rows = [("benchmark", "WAVE", "peer", "ratio", "target", "met")]
    for f in figures:
        r = results.ratio(f.value, f.peer_value, higher_is_better=f.higher_is_better)
        target = targets.get(f.name)
        rows.append(
            (
                f.name,
                f"{f.value:,.1f} {f.unit}",
                "-" if f.peer_value is None else f"{f.peer_value:,.1f} {f.unit}",
                "-" if r is None else f"{r:.2f}x",
                _describe(target, f.higher_is_better, f.unit),
                "-" if target is None else ("met" if met(f, target) else "NOT MET"),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    lines.extend(f"{f.name}: {f.detail}" for f in figures)
    peers = list(dict.fromkeys(f"{f.name}: {f.peer}" for f in figures if f.peer is not None))
    if peers:
        lines.append("peers (ratio > 1 means WAVE did better):")
        lines.extend(f"  {p}" for p in peers)
    if quick:
        lines.append("--quick: small sizes, figures are a smoke test, not a measurement")
    return "\n".join(lines)


def _describe(target: Target | None, higher_is_better: bool, unit: str) -> str:
    if target is None:
        return "-"
    ratio = None if target.min_ratio is None else f">= {target.min_ratio:g}x peer"
    if target.bound is None:
        return ratio or "-"
    bound = f"{'>=' if higher_is_better else '<='} {target.bound:,.0f} {unit}"
    return bound if ratio is None else f"{bound}, {ratio}"

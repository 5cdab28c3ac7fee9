"""The benchmark results file, bench/results/latest.json, shared by every benchmark.

Each benchmark records its figures by name; saving merges them into the file, so a run of one
benchmark keeps the figures of the others. `ratio > 1` always means WAVE did better than the peer:
wave/peer for throughputs, peer/wave for latencies.

    from results import record, save
    record("store.read_all", 41_000.0, "events/s", peer="eventsourcing", peer_value=90_000.0)
    save(machine={"cores": 2})
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path(__file__).resolve().parent / "results" / "latest.json"


def ratio(value: float, peer_value: float | None, *, higher_is_better: bool = True) -> float | None:
    """How many times better WAVE did than the peer (> 1 means better); None without a peer figure."""
    if peer_value is None:
        return None
    if higher_is_better:
        return value / peer_value if peer_value > 0 else None
    return peer_value / value if value > 0 else None


def entry(
    name: str,
    value: float,
    unit: str,
    peer: str | None = None,
    peer_value: float | None = None,
    higher_is_better: bool = True,
) -> dict[str, Any]:
    """One benchmark's line in the results file, checked."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a benchmark needs a name, got {name!r}")
    if not isinstance(unit, str) or not unit.strip():
        raise ValueError(f"benchmark {name!r} needs a unit, got {unit!r}")
    _check_figure(name, "value", value)
    if peer_value is not None:
        _check_figure(name, "peer_value", peer_value)
        if peer is None:
            raise ValueError(f"benchmark {name!r} has a peer_value but no peer name")
    value = float(value)
    peer_value = None if peer_value is None else float(peer_value)
    return {
        "name": name,
        "value": value,
        "unit": unit,
        "peer": peer,
        "peer_value": peer_value,
        "ratio": ratio(value, peer_value, higher_is_better=higher_is_better),
    }


def merge(document: dict[str, Any], entries: list[dict[str, Any]], machine: dict[str, Any]) -> dict[str, Any]:
    """`document` with `entries` replacing the benchmarks of the same name (others kept, new ones appended)
    and `machine` updated key by key."""
    benchmarks = [dict(b) for b in document.get("benchmarks", [])]
    index = {b["name"]: i for i, b in enumerate(benchmarks)}
    for new in entries:
        if new["name"] in index:
            benchmarks[index[new["name"]]] = new
        else:
            index[new["name"]] = len(benchmarks)
            benchmarks.append(new)
    return {**document, "benchmarks": benchmarks, "machine": {**document.get("machine", {}), **machine}}


class Results:
    """Figures recorded in this process, waiting to be merged into the file at `path`."""

    def __init__(self, path: Path = DEFAULT_PATH) -> None:
        self.path = Path(path)
        self.entries: list[dict[str, Any]] = []

    def record(
        self,
        name: str,
        value: float,
        unit: str,
        peer: str | None = None,
        peer_value: float | None = None,
        higher_is_better: bool = True,
    ) -> dict[str, Any]:
        new = entry(name, value, unit, peer, peer_value, higher_is_better)
        self.entries = [e for e in self.entries if e["name"] != name] + [new]
        return new

    def save(self, machine: dict[str, Any] | None = None) -> Path:
        document = load(self.path)
        merged = merge(document, self.entries, machine or {})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Write beside the file and rename, so a crash never leaves half a results file.
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_text(json.dumps(merged, indent=2) + "\n")
        partial.replace(self.path)
        return self.path


def load(path: Path) -> dict[str, Any]:
    """The results file's content; an empty document when there is none yet."""
    path = Path(path)
    if not path.exists():
        return {"benchmarks": [], "machine": {}}
    try:
        document = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{path} is not valid JSON ({exc}); move it aside to start a new results file"
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("benchmarks", []), list):
        raise ValueError(f"{path} is not a results file: expected an object with a 'benchmarks' list")
    return document


def _check_figure(name: str, field: str, figure: object) -> None:
    if (
        isinstance(figure, bool)
        or not isinstance(figure, int | float)
        or not math.isfinite(figure)
        or figure < 0
    ):
        raise ValueError(f"benchmark {name!r}: {field} must be a finite number >= 0, got {figure!r}")


_default = Results()


def record(
    name: str,
    value: float,
    unit: str,
    peer: str | None = None,
    peer_value: float | None = None,
    higher_is_better: bool = True,
) -> dict[str, Any]:
    """Record a figure for the default results file (bench/results/latest.json)."""
    return _default.record(name, value, unit, peer, peer_value, higher_is_better)


def save(machine: dict[str, Any] | None = None) -> Path:
    """Merge the figures recorded so far into the default results file."""
    return _default.save(machine)

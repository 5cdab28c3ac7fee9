"""Replay: the state rebuilt from a run's stored events, compared with the state seen live."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wave_events import Envelope
from wave_events.projections import RunState, fold


def state_document(state: RunState) -> dict[str, Any]:
    """The JSON form of a run's state (what `wave status --json` prints and what snapshots hold)."""
    return json.loads(json.dumps(state.to_dict(), default=str))


def differences(live: dict[str, Any], replayed: dict[str, Any], path: str = "") -> list[str]:
    """Every field where the two documents disagree, as `path: live != replayed`."""
    if isinstance(live, dict) and isinstance(replayed, dict):
        found: list[str] = []
        for key in sorted(set(live) | set(replayed), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in live:
                found.append(f"{where}: missing live, replay has {replayed[key]!r}")
            elif key not in replayed:
                found.append(f"{where}: live has {live[key]!r}, missing in replay")
            else:
                found.extend(differences(live[key], replayed[key], where))
        return found
    if isinstance(live, list) and isinstance(replayed, list) and len(live) == len(replayed):
        return [d for i, (a, b) in enumerate(zip(live, replayed, strict=True)) for d in differences(a, b, f"{path}[{i}]")]
    return [] if live == replayed else [f"{path}: live {live!r} != replay {replayed!r}"]


@dataclass(frozen=True)
class ReplayCheck:
    against: str  # what the replay was compared with
    differences: list[str]


def replay_checks(
    events: Sequence[Envelope], global_order: Sequence[Envelope], live: dict[str, Any] | None
) -> list[ReplayCheck]:
    """Compare the replay of a run's stream with the fold of the same events in the store's global
    order (the way a subscribed service saw them) over the whole stream, and with the live projection
    over the events it covers (it stops where this machine stopped following the run)."""
    checks = [
        ReplayCheck(
            f"global-order fold (all {len(events)} events)",
            differences(state_document(fold(global_order)), state_document(fold(events))),
        )
    ]
    if live is not None:
        covered = min(int(live.get("version") or 0), len(events))
        checks.append(
            ReplayCheck(
                f"live projection (its first {covered} events)",
                differences(live, state_document(fold(events[:covered]))),
            )
        )
    return checks


class Snapshots:
    """The live projection of each followed run, written as it evolves event by event."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, run_id: str) -> Path:
        return self.directory / f"{run_id}.json"

    def save(self, state: RunState) -> None:
        """Keep the snapshot; when WAVE_HOME cannot be written, go on without it (`wave replay` then
        compares with the global-order fold instead)."""
        target = self.path(state.run_id)
        temporary = target.with_suffix(".tmp")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            temporary.write_text(json.dumps(state_document(state), sort_keys=True), encoding="utf-8")
            temporary.replace(target)
        except OSError:
            return

    def load(self, run_id: str) -> dict[str, Any] | None:
        try:
            return json.loads(self.path(run_id).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

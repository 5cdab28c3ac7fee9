"""The live projection of each run followed here, kept for `wave replay` to compare the replay with."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from wave_app.queries import state_document
from wave_events.projections import RunState


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

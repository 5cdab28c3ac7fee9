"""Recorded run histories checked in under tests/data/histories (not collected: no test_ prefix)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from wave_events import Envelope, decode_envelope
from wave_store import open_store

HISTORIES = Path(__file__).parents[1] / "data" / "histories"


def demo_history() -> list[Envelope]:
    """The demo run (`wave demo`, exported with `wave events RUN --json`)."""
    return [decode_envelope(json.dumps(document)) for document in json.loads((HISTORIES / "demo-run.json").read_text())]


def store_history(home: Path, events: list[Envelope]) -> str:
    """Store a history in the embedded store under `home`; returns its run id. Only the events are
    stored: no service is recorded as having handled them."""

    async def go() -> None:
        store = await open_store(f"sqlite:///{home / 'wave.db'}")
        try:
            await store.append(events[0].stream_id, events, 0)
        finally:
            await store.close()

    home.mkdir(parents=True, exist_ok=True)
    asyncio.run(go())
    return events[0].run_id

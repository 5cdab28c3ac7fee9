"""A run driven through the embedded runtime for planner tests: the test plays the other services
(gitops, safety, developer, qa) by appending their events; the planner answers through the runtime."""

from __future__ import annotations

import asyncio
import uuid

from wave_events import DomainEvent, Envelope, new_envelope, run_stream_id
from wave_events.projections import RunState, fold
from wave_store import EventStore


class StoredRun:
    def __init__(self, store: EventStore, run_id: str | None = None) -> None:
        self.store = store
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.stream_id = run_stream_id(self.run_id)

    async def append(self, *payloads: DomainEvent, producer: str = "test") -> list[Envelope]:
        """Append as another service would: at the version just read."""
        envelopes = [new_envelope(self.stream_id, p, producer=producer) for p in payloads]
        await self.store.append(self.stream_id, envelopes, await self.store.stream_version(self.stream_id))
        return envelopes

    async def events(self) -> list[Envelope]:
        return await self.store.read_stream(self.stream_id)

    async def types(self) -> list[str]:
        return [e.type for e in await self.events()]

    async def state(self) -> RunState:
        return fold(await self.events())

    async def first(self, event_type: str, within_s: float = 10.0) -> Envelope:
        async with asyncio.timeout(within_s):
            while True:
                for envelope in await self.events():
                    if envelope.type == event_type:
                        return envelope
                await asyncio.sleep(0.02)

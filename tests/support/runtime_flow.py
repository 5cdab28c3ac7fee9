"""A small two-service flow for the runtime's tests: `stamper` answers each RunRequested with a
WorkspaceReady, `finisher` answers each WorkspaceReady with a RunCompleted. A story containing
"poison" makes the stamper fail until the file named by WAVE_TEST_POISON_FIXED exists; a story
containing "timer" makes it schedule a RunCancelled 0.3 s later instead."""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from wave_events import catalogue as c
from wave_events import new_envelope, run_stream_id
from wave_runtime import ScheduleTimer


def sha_of(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


class Stamper:
    name = "stamper"
    handles = frozenset({"RunRequested"})

    async def handle(self, state, event):
        story = event.payload.story
        if "poison" in story:
            fixed = os.environ.get("WAVE_TEST_POISON_FIXED")
            if not fixed or not Path(fixed).exists():  # noqa: ASYNC240 - one stat, test-only
                raise ValueError(f"cannot handle a poisoned story: {story}")
        if "timer" in story:
            due = datetime.now(UTC) + timedelta(seconds=0.3)
            return [ScheduleTimer(f"cancel-{state.run_id}", due, c.RunCancelled(cancelled_by="timer"))]
        return [c.WorkspaceReady(branch=f"wave/{state.run_id}", base_commit=sha_of(state.run_id), location="mem")]


class Finisher:
    name = "finisher"
    handles = frozenset({"WorkspaceReady"})

    async def handle(self, state, event):
        return [c.RunCompleted(merge_commit=event.payload.base_commit)]


def stamper() -> Stamper:
    return Stamper()


def finisher() -> Finisher:
    return Finisher()


async def request_run(store, story: str = "add a health endpoint") -> str:
    run_id = uuid.uuid4().hex[:12]
    event = new_envelope(run_stream_id(run_id), c.RunRequested(story=story, repo="/srv/r", budget_usd=1), producer="test")
    await store.append(event.stream_id, [event], 0)
    return run_id


async def types_of(store, run_id: str) -> list[str]:
    return [e.type for e in await store.read_stream(run_stream_id(run_id))]

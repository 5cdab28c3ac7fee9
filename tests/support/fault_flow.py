"""The two-service flow the fault tests break: service A (`faulta`) answers each RunRequested with a
WorkspaceReady, service B (`faultb`) answers each WorkspaceReady with a RunCompleted. One input is one
run, so "every input produced exactly one output" reads straight off the store.

The child processes run them with

    python -m wave_runtime service --factory fault_flow:create_a   (or create_b)

Knobs, read from the environment of the service process:

- a story containing "poison" makes A fail (a handler bug) unless WAVE_FAULT_FIXED=1 — the fix;
- WAVE_FAULT_LEDGER=1 makes both handlers write one row per invocation to `fault_invocations` (in
  WAVE_DATABASE_URL, outside the handling transaction), so a test can count handler re-runs: work
  done twice that the deterministic output ids and the idempotent store must absorb.

The test-side helpers below (feeding inputs, reading the outcome from the store) live here too.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from dataclasses import dataclass, field

import asyncpg
from fault_procs import Child, TopicAudit, audit_topic
from wave_events import catalogue as c
from wave_events import new_envelope, run_stream_id
from wave_runtime.kafka import read_topic

SERVICE_A = "faulta"
SERVICE_B = "faultb"
INPUT, MIDDLE, OUTPUT = "RunRequested", "WorkspaceReady", "RunCompleted"
FLOW = (INPUT, MIDDLE, OUTPUT)

LEDGER_DDL = """
CREATE TABLE IF NOT EXISTS fault_invocations (
    service  text        NOT NULL,
    cause_id uuid        NOT NULL,
    pid      integer     NOT NULL,
    at       timestamptz NOT NULL DEFAULT clock_timestamp()
)
"""


def sha_of(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


class _Ledger:
    """One row per handler invocation (a child process's own pool, created on first use)."""

    def __init__(self) -> None:
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    async def record(self, service: str, cause_id: uuid.UUID) -> None:
        if os.environ.get("WAVE_FAULT_LEDGER") != "1":
            return
        async with self._lock:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(os.environ["WAVE_DATABASE_URL"], min_size=0, max_size=2)
        await self._pool.execute(
            "INSERT INTO fault_invocations (service, cause_id, pid) VALUES ($1, $2, $3)", service, cause_id, os.getpid()
        )


_ledger = _Ledger()


class ServiceA:
    name = SERVICE_A
    handles = frozenset({INPUT})

    async def handle(self, state, event):
        story = event.payload.story
        if "poison" in story and os.environ.get("WAVE_FAULT_FIXED") != "1":
            raise ValueError(f"cannot handle a poisoned input: {story}")
        await _ledger.record(self.name, event.event_id)
        return [c.WorkspaceReady(branch=f"wave/{state.run_id}", base_commit=sha_of(state.run_id), location="mem")]


class ServiceB:
    name = SERVICE_B
    handles = frozenset({MIDDLE})

    async def handle(self, state, event):
        await _ledger.record(self.name, event.event_id)
        return [c.RunCompleted(merge_commit=event.payload.base_commit)]


def create_a() -> ServiceA:
    return ServiceA()


def create_b() -> ServiceB:
    return ServiceB()


# --- test side -------------------------------------------------------------------------------------


async def request_run(store, story: str = "add a health endpoint", *, traceparent: str | None = None) -> str:
    run_id = uuid.uuid4().hex[:12]
    event = new_envelope(
        run_stream_id(run_id), c.RunRequested(story=story, repo="/srv/r", budget_usd=1), producer="fault-test",
        traceparent=traceparent,
    )
    await store.append(event.stream_id, [event], 0)
    return run_id


async def feed(store, count: int, *, seconds: float, story: str = "add a health endpoint") -> list[str]:
    """Append `count` inputs spread over about `seconds`, so faults land in the middle of a stream."""
    runs: list[str] = []
    loop = asyncio.get_running_loop()
    started = loop.time()
    for index in range(count):
        runs.append(await request_run(store, story))
        ahead = started + seconds * (index + 1) / count - loop.time()
        if ahead > 0:
            await asyncio.sleep(ahead)
    return runs


async def count_of(pool: asyncpg.Pool, event_type: str) -> int:
    return await pool.fetchval("SELECT count(*) FROM events WHERE event_type = $1", event_type)


async def wait_for_count(pool: asyncpg.Pool, event_type: str, count: int, timeout: float) -> float:  # noqa: ASYNC109
    """Seconds until the store holds `count` events of `event_type`; raises TimeoutError."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with asyncio.timeout(timeout):
        while await count_of(pool, event_type) < count:  # noqa: ASYNC110 - polling the database
            await asyncio.sleep(0.1)
    return loop.time() - started


@dataclass
class Outcome:
    """What the store says about a set of runs, against the flow RunRequested -> WorkspaceReady -> RunCompleted."""

    inputs: int
    lost: int  # runs missing an event of the flow
    duplicates: int  # events of the flow stored more than once for a run
    wrong_order: int  # runs whose stream is not exactly the flow, in order
    wrong_cause: int  # outputs whose causation_id is not the event that caused them
    handler_reruns: dict[str, int] = field(default_factory=dict)  # invocations beyond one per cause

    @property
    def duplicates_applied(self) -> int:
        return self.duplicates


async def outcome(pool: asyncpg.Pool, runs: list[str]) -> Outcome:
    rows = await pool.fetch(
        "SELECT stream_id, stream_version, event_id, event_type, causation_id FROM events "
        "WHERE stream_id = ANY($1::text[]) ORDER BY stream_id, stream_version",
        [run_stream_id(r) for r in runs],
    )
    streams: dict[str, list] = {run_stream_id(r): [] for r in runs}
    for row in rows:
        streams[row["stream_id"]].append(row)
    lost = duplicates = wrong_order = wrong_cause = 0
    for events in streams.values():
        types = [e["event_type"] for e in events]
        lost += sum(1 for t in FLOW if t not in types)
        duplicates += sum(types.count(t) - 1 for t in FLOW if types.count(t) > 1)
        if types != list(FLOW):
            wrong_order += 1
        for cause, effect in zip(events, events[1:], strict=False):
            if effect["causation_id"] != cause["event_id"]:
                wrong_cause += 1
    reruns: dict[str, int] = {}
    if await pool.fetchval("SELECT to_regclass('fault_invocations') IS NOT NULL"):
        for row in await pool.fetch(
            "SELECT service, count(*) - count(DISTINCT cause_id) AS reruns FROM fault_invocations GROUP BY service"
        ):
            reruns[row["service"]] = row["reruns"]
    return Outcome(len(runs), lost, duplicates, wrong_order, wrong_cause, reruns)


@dataclass
class Tally:
    """What a broker fault left behind once every input was handled."""

    stored: int  # events in the store
    audit: TopicAudit  # the events topic, read back whole
    result: Outcome
    died: list[str]  # the processes no longer running


async def tally(pool: asyncpg.Pool, bootstrap: str, topic: str, runs: list[str], children: list[Child]) -> Tally:
    stored = await pool.fetchval("SELECT count(*) FROM events")
    audit = audit_topic(await read_topic(bootstrap, topic))
    return Tally(stored, audit, await outcome(pool, runs), [child.name for child in children if not child.alive])

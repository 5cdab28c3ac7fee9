"""The race with LangGraph: the 8-gate workflow with one retry and no-op effects (orchestration_flow.py),
run by WAVE and by a LangGraph graph on a PostgreSQL checkpointer (orchestration_peer.py).

- distributed, many runs at once: WAVE's relay and six services, each a process of its own, over Kafka
  and PostgreSQL, against the peer's graph running as many runs at once on the same PostgreSQL server;
  durable steps per second and runs per second, from the first run submitted to the last completed.
- sequential: one run at a time, WAVE embedded (every service in one process, the SQLite store) against
  the peer's graph; milliseconds per durable step.

A durable step is one gate's outcome stored before the next gate starts: 12 per run on both sides
(plan, workspace, change, safety, commit, tests, change, safety, commit, tests, review, merge). WAVE
stores them as events (about 23 a run: the model calls and budget charges too), the peer as checkpoints.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import secrets
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orchestration_flow as flow
import orchestration_peer
from figures import Figure, Target, rate
from runtime_bench import _delete_topics, _until_stopped
from scratch_db import scratch_databases
from wave_app.commands import submit_run
from wave_runtime import EmbeddedRuntime, FileDeadLetters
from wave_runtime.kafka import KafkaServiceRunner, OutboxRelay, Topics, ensure_topics
from wave_store.postgres import PostgresEventStore
from wave_store.sqlite import SqliteEventStore

PARTITIONS = 6
PEER_POOL = 16
STOPPED = ("HandlingAbandoned", "EscalationRequested", "RunBlocked", "RunFailed")


@dataclass(frozen=True)
class Sizes:
    runs: int  # distributed: runs submitted at once (the peer: as many graph runs at once)
    warmup_runs: int
    sequential_runs: int  # one at a time, each side


FULL = Sizes(runs=60, warmup_runs=4, sequential_runs=10)
QUICK = Sizes(runs=10, warmup_runs=2, sequential_runs=3)

TARGETS: dict[str, Target] = {
    "orchestration.steps_per_s": Target(None, 1.5),
    "orchestration.ms_per_step": Target(None, 1.0),
}


async def measure(url: str, bootstrap: str, sizes: Sizes) -> tuple[list[Figure], dict[str, object]]:
    prefix = f"wavebench.{secrets.token_hex(4)}.orch"
    with tempfile.TemporaryDirectory(prefix="wave-orch-") as scratch:
        directory = Path(scratch)
        flow.models_file(directory)
        repo = flow.repository(directory)
        try:
            async with scratch_databases(url, "orch_wave", "orch_peer") as urls:
                wave_runs, wave_s, events = await _distributed(urls["orch_wave"], bootstrap, Topics(prefix), directory, repo, sizes)
                async with orchestration_peer.Peer(urls["orch_peer"], PEER_POOL) as peer:
                    await peer.many(sizes.warmup_runs, sizes.warmup_runs)
                    peer_steps, peer_s = await peer.many(sizes.runs, sizes.runs)
                    embedded_s = await _embedded(directory, repo, sizes)
                    await peer.many(2, 1)
                    peer_sequential_steps, peer_sequential_s = await peer.many(sizes.sequential_runs, 1)
        finally:
            await _delete_topics(bootstrap, prefix)
    steps = wave_runs * flow.STEPS_PER_RUN
    sequential_steps = sizes.sequential_runs * flow.STEPS_PER_RUN
    at_once = f"{sizes.runs} runs submitted at once"
    return [
        Figure(
            "orchestration.steps_per_s", rate(steps, wave_s), "steps/s", rate(peer_steps, peer_s), True,
            f"{at_once}; WAVE: relay + 6 services, each its own process, Kafka ({PARTITIONS} partitions), PostgreSQL, "
            f"{wave_s:.2f} s from the first submitted to the last completed, {events / wave_runs:.1f} events a run; "
            f"peer: {sizes.runs} graph runs at once on a pool of {PEER_POOL} connections, {peer_s:.2f} s",
            orchestration_peer.NAME,
        ),
        Figure(
            "orchestration.runs_per_s", rate(wave_runs, wave_s), "runs/s", rate(sizes.runs, peer_s), True,
            f"{at_once}, see orchestration.steps_per_s", orchestration_peer.NAME,
        ),
        Figure(
            "orchestration.ms_per_step", embedded_s * 1000 / sequential_steps, "ms",
            peer_sequential_s * 1000 / peer_sequential_steps, False,
            f"{sizes.sequential_runs} runs one after another, {flow.STEPS_PER_RUN} durable steps each; WAVE embedded "
            f"(six services in one process, SQLite) {embedded_s:.2f} s; peer on PostgreSQL {peer_sequential_s:.2f} s",
            orchestration_peer.NAME,
        ),
    ], {}


# --- WAVE distributed -------------------------------------------------------------------------------


def service_process(url: str, bootstrap: str, prefix: str, name: str, directory: str, told) -> None:
    logging.basicConfig(level=logging.WARNING, format=f"{name}: %(message)s")

    async def main() -> None:
        store = await PostgresEventStore.connect(url, min_size=1, max_size=8)
        stop = asyncio.Event()
        if name == "relay":
            worker = OutboxRelay(store, bootstrap, Topics(prefix))
        else:
            worker = KafkaServiceRunner(flow.build(name, Path(directory)), store, bootstrap, Topics(prefix))
        try:
            await asyncio.gather(worker.run(stop), _until_stopped(stop, told))
        finally:
            await store.close()

    asyncio.run(main())


async def _distributed(
    url: str, bootstrap: str, topics: Topics, directory: Path, repo: Path, sizes: Sizes
) -> tuple[int, float, int]:
    """(runs completed, seconds, events stored) for `sizes.runs` runs submitted at once."""
    await ensure_topics(bootstrap, topics, partitions=PARTITIONS)
    store = await PostgresEventStore.connect(url, min_size=2, max_size=8)
    context = multiprocessing.get_context("spawn")
    told = context.Event()
    children = [
        context.Process(target=service_process, args=(url, bootstrap, topics.prefix, name, str(directory), told))
        for name in ("relay", *flow.SERVICES)
    ]
    for child in children:
        child.start()
    try:
        await _submit(store, repo, sizes.warmup_runs)
        await _until_completed(store, sizes.warmup_runs, 180)
        before = await _count(store, "SELECT count(*) FROM events")
        started = datetime.now(UTC)
        await _submit(store, repo, sizes.runs)
        await _until_completed(store, sizes.warmup_runs + sizes.runs, 600)
        finished = await store.pool.fetchval(
            "SELECT max(occurred_at) FROM events WHERE event_type = 'RunCompleted'"
        )
        events = await _count(store, "SELECT count(*) FROM events") - before
    finally:
        told.set()
        for child in children:
            await asyncio.to_thread(child.join, 30)
            if child.is_alive():
                child.kill()
        await store.close()
    return sizes.runs, (finished - started).total_seconds(), events


async def _submit(store: PostgresEventStore, repo: Path, runs: int) -> None:
    async def one(_: int) -> None:
        await submit_run(store, actor="bench", story="bench story", repo=str(repo), target_branch="main")

    await asyncio.gather(*(one(i) for i in range(runs)))


async def _count(store: PostgresEventStore, sql: str) -> int:
    return await store.pool.fetchval(sql)


async def _until_completed(store: PostgresEventStore, runs: int, within: float) -> None:
    deadline = time.monotonic() + within
    while True:
        done = await _count(store, "SELECT count(*) FROM events WHERE event_type = 'RunCompleted'")
        if done >= runs:
            return
        stopped = await store.pool.fetch(
            "SELECT event_type, payload::text AS payload FROM events WHERE event_type = ANY($1::text[]) LIMIT 1",
            list(STOPPED),
        )
        if stopped:
            raise RuntimeError(f"orchestration bench: a run stopped: {stopped[0]['event_type']} {stopped[0]['payload'][:300]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"orchestration bench: {done} of {runs} runs completed within {within:.0f} s")
        await asyncio.sleep(0.05)


# --- WAVE embedded ----------------------------------------------------------------------------------


async def _embedded(directory: Path, repo: Path, sizes: Sizes) -> float:
    """Seconds for `sizes.sequential_runs` runs one after another (after two untimed ones)."""
    (directory / "embedded").mkdir()
    store = SqliteEventStore(directory / "embedded" / "wave.db")
    letters = FileDeadLetters(directory / "embedded" / "dead-letters.jsonl")
    try:
        async with EmbeddedRuntime(store, flow.services(directory), letters) as runtime:
            for _ in range(2):
                await _one_embedded(store, runtime, repo)
            started = time.perf_counter()
            for _ in range(sizes.sequential_runs):
                await _one_embedded(store, runtime, repo)
            return time.perf_counter() - started
    finally:
        await store.close()


async def _one_embedded(store: SqliteEventStore, runtime: EmbeddedRuntime, repo: Path) -> None:
    run_id = await submit_run(store, actor="bench", story="bench story", repo=str(repo), target_branch="main")
    stream = f"run-{run_id}"
    deadline = time.monotonic() + 60
    types: list[str] = []
    while True:
        moved = runtime.progress()
        # Only the events not looked at yet: reading the whole run at every step would bill WAVE for
        # the benchmark's own polling.
        types += [e.type for e in await store.read_stream(stream, from_version=len(types) + 1)]
        if "RunCompleted" in types:
            return
        if any(t in STOPPED for t in types) or time.monotonic() > deadline:
            raise RuntimeError(f"orchestration bench: the embedded run {run_id} stopped at {types[-1]}")
        await runtime.wait_for_progress(moved, 0.05)

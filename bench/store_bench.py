"""Event-store benchmarks: WAVE's PostgreSQL store against the eventsourcing library's recorder.

Both write to their own scratch database on the same server in the same run, the same payload bytes,
and take turns benchmark by benchmark so neither gets a quieter server. Every write is a committed,
durable transaction (the server's synchronous_commit setting is reported with the machine).
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from dataclasses import dataclass

import asyncpg
import figures
import store_peer
import workload
from figures import Target
from scratch_db import scratch_databases
from store_peer import PeerStore, stored_event
from wave_events import Envelope
from wave_events.projections import fold
from wave_events.projections.snapshots import PROJECTION, state_to_json
from wave_store import snapshots
from wave_store.port import Snapshot
from wave_store.postgres import PostgresEventStore
from wave_store.snapshots import SNAPSHOT_EVERY

BATCH = 100
WRITERS = 16
RUN_EVENTS = 10_000
PAGE = 1000


@dataclass(frozen=True)
class Sizes:
    batches: int  # (a) appends of BATCH events, each to a new stream
    single_per_writer: int  # (b) single-event appends per concurrent writer
    rebuilds: int  # (c) timed rebuilds of the run; the median is reported
    warmup_batches: int
    warmup_singles: int


FULL = Sizes(batches=400, single_per_writer=150, rebuilds=7, warmup_batches=40, warmup_singles=10)
QUICK = Sizes(batches=60, single_per_writer=30, rebuilds=3, warmup_batches=10, warmup_singles=5)


def _figure(
    name: str, value: float, unit: str, peer_value: float | None, higher_is_better: bool, detail: str
) -> figures.Figure:
    """A store figure; its peer is always the eventsourcing recorder."""
    return figures.Figure(name, value, unit, peer_value, higher_is_better, detail, store_peer.NAME)


TARGETS: dict[str, Target] = {
    "store.append_batched": Target(50_000),
    "store.append_single_concurrent": Target(3_000),
    "store.rebuild_10k_run": Target(100, None),
    "store.rebuild_10k_run_snapshot": Target(100, None),
    "store.read_all": Target(200_000),
}


async def measure(url: str, sizes: Sizes) -> tuple[list[figures.Figure], dict[str, object]]:
    """Run every store benchmark; returns the figures and what the server was."""
    async with scratch_databases(url, "wave", "peer") as urls:
        store = await PostgresEventStore.connect(urls["wave"], min_size=WRITERS, max_size=WRITERS)
        peer = PeerStore(urls["peer"], pool_size=WRITERS)
        try:
            server = await _server(store)
            found = [
                await _append_batched(store, peer, sizes),
                await _append_single_concurrent(store, peer, sizes),
                *await _rebuild(store, peer, sizes),
                await _read_all(store, peer),
            ]
        finally:
            peer.close()
            await store.close()
    return found, server


async def _append_batched(store: PostgresEventStore, peer: PeerStore, sizes: Sizes) -> figures.Figure:
    tag = uuid.uuid4().hex[:8]
    warm = [workload.batch(f"run-w{tag}{n}", BATCH) for n in range(sizes.warmup_batches)]
    timed = [workload.batch(f"run-a{tag}{n}", BATCH) for n in range(sizes.batches)]

    async def append_all(batches: list[list[Envelope]]) -> float:
        started = time.perf_counter()
        for envelopes in batches:
            await store.append(envelopes[0].stream_id, envelopes, expected_version=0)
        return time.perf_counter() - started

    await append_all(warm)
    wave_s = await append_all(timed)

    peer.insert_batches(_as_peer_batches(warm))
    peer_s = await asyncio.to_thread(peer.insert_batches, _as_peer_batches(timed))
    events = sizes.batches * BATCH
    return _figure(
        "store.append_batched",
        events / wave_s,
        "events/s",
        events / peer_s,
        True,
        f"{sizes.batches} appends x {BATCH} events, one writer, each append its own transaction",
    )


async def _append_single_concurrent(store: PostgresEventStore, peer: PeerStore, sizes: Sizes) -> figures.Figure:
    tag = uuid.uuid4().hex[:8]
    per_writer = sizes.warmup_singles + sizes.single_per_writer
    streams = [workload.batch(f"run-s{tag}{w}", per_writer) for w in range(WRITERS)]

    async def write(envelopes: list[Envelope], first: int, last: int) -> None:
        for version in range(first, last):
            await store.append(envelopes[version].stream_id, [envelopes[version]], expected_version=version)

    async def all_writers(first: int, last: int) -> float:
        started = time.perf_counter()
        await asyncio.gather(*(write(envelopes, first, last) for envelopes in streams))
        return time.perf_counter() - started

    await all_writers(0, sizes.warmup_singles)
    wave_s = await all_writers(sizes.warmup_singles, per_writer)

    peer_streams = [_as_peer_stream(envelopes) for envelopes in streams]
    peer.insert_concurrently([events[: sizes.warmup_singles] for events in peer_streams])
    peer_s = await asyncio.to_thread(
        peer.insert_concurrently, [events[sizes.warmup_singles :] for events in peer_streams]
    )
    events = WRITERS * sizes.single_per_writer
    return _figure(
        "store.append_single_concurrent",
        events / wave_s,
        "events/s",
        events / peer_s,
        True,
        f"{WRITERS} writers x {sizes.single_per_writer} single-event appends, each writer its own stream",
    )


async def _rebuild(store: PostgresEventStore, peer: PeerStore, sizes: Sizes) -> list[figures.Figure]:
    stream_id = f"run-r{uuid.uuid4().hex[:12]}"
    run = workload.run(stream_id, RUN_EVENTS)
    for start in range(0, RUN_EVENTS, BATCH):
        await store.append(stream_id, run[start : start + BATCH], expected_version=start)
    # The peer's log gets the same events, so (d) reads logs of the same length.
    peer.insert_batches([_as_peer_stream(run)])
    # The fixture is not the reader's: holding 10k envelopes would only slow the garbage collector.
    del run

    async def rebuild() -> float:
        started = time.perf_counter()
        state = fold(await store.read_stream(stream_id))
        elapsed = time.perf_counter() - started
        if state.version != RUN_EVENTS:
            raise RuntimeError(f"rebuild folded {state.version} events, expected {RUN_EVENTS}")
        return elapsed

    await rebuild()
    times = [await rebuild() for _ in range(sizes.rebuilds)]

    # The same run with the snapshot the runtime would have kept, at its oldest: taken SNAPSHOT_EVERY - 1
    # events before the end, so the rebuild loads it and folds the longest tail there can be.
    at = RUN_EVENTS - SNAPSHOT_EVERY + 1
    state = fold((await store.read_stream(stream_id))[:at])
    await store.save_snapshot(Snapshot(stream_id, at, PROJECTION, state_to_json(state)))

    async def rebuild_from_snapshot() -> float:
        started = time.perf_counter()
        state, used = await snapshots.rebuild(store, stream_id)
        elapsed = time.perf_counter() - started
        if (state.version, used) != (RUN_EVENTS, at):
            raise RuntimeError(f"rebuild reached version {state.version} from snapshot {used}, expected {at}")
        return elapsed

    await rebuild_from_snapshot()
    snapshot_times = [await rebuild_from_snapshot() for _ in range(sizes.rebuilds)]
    return [
        _figure(
            "store.rebuild_10k_run",
            statistics.median(times) * 1000,
            "ms",
            None,
            False,
            f"read_stream + fold of {RUN_EVENTS} events, median of {sizes.rebuilds}",
        ),
        _figure(
            "store.rebuild_10k_run_snapshot",
            statistics.median(snapshot_times) * 1000,
            "ms",
            None,
            False,
            f"snapshot at version {at} + read_stream and fold of the {RUN_EVENTS - at} events after it, "
            f"median of {sizes.rebuilds}",
        ),
    ]


async def _read_all(store: PostgresEventStore, peer: PeerStore) -> figures.Figure:
    async def read_all() -> tuple[int, float]:
        count, after = 0, 0
        started = time.perf_counter()
        while page := await store.read_all(after, PAGE):
            count += len(page)
            after = page[-1].global_position or after
        return count, time.perf_counter() - started

    await read_all()
    wave_n, wave_s = await read_all()
    await asyncio.to_thread(peer.read_all, PAGE)
    peer_n, peer_s = await asyncio.to_thread(peer.read_all, PAGE)
    return _figure(
        "store.read_all",
        wave_n / wave_s,
        "events/s",
        peer_n / peer_s,
        True,
        f"whole log in pages of {PAGE}: WAVE {wave_n} envelopes (positions read, payloads left undecoded), "
        f"peer {peer_n} notifications",
    )


def _as_peer_batches(batches: list[list[Envelope]]) -> list[list[store_peer.StoredEvent]]:
    return [_as_peer_stream(envelopes) for envelopes in batches]


def _as_peer_stream(envelopes: list[Envelope]) -> list[store_peer.StoredEvent]:
    """The same events as one peer aggregate: versions from 1, the same payload bytes."""
    originator = uuid.uuid4()
    return [
        stored_event(originator, version, workload.topic(e), workload.stored_bytes(e))
        for version, e in enumerate(envelopes, start=1)
    ]


async def _server(store: PostgresEventStore) -> dict[str, object]:
    async with store.pool.acquire() as connection:
        connection: asyncpg.Connection
        return {
            "postgres": await connection.fetchval("SHOW server_version"),
            "postgres_synchronous_commit": await connection.fetchval("SHOW synchronous_commit"),
            "postgres_fsync": await connection.fetchval("SHOW fsync"),
            "postgres_shared_buffers": await connection.fetchval("SHOW shared_buffers"),
        }

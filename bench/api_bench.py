"""API benchmarks: the HTTP API served by uvicorn in a process of its own, measured over HTTP.

- stream fan-out: 500 Server-Sent Events clients (`bench/sse_clients.py`, another process) follow
  `GET /api/v1/stream` while events are appended to the store at 100 per second; per delivery, the
  time the bytes reached the client minus the time the append returned (committed). p99 over every
  client and event. PostgreSQL (distributed): the appends come from this process, as services in
  other processes would make them. SQLite (embedded): from the API's own process, where the embedded
  services append.
- run list: 10,000 runs in the store, the runs read model holding the rows the API's projector makes
  of them (built from the seeded events, without reading each run back: set-up, not measured); `GET
  /api/v1/runs` pages as the portal asks for them (first page, a status filter, a search, the page
  after a cursor), one request at a time; p99 of the round trip.

Each backend gets its own scratch database (PostgreSQL: `wave_bench_<random>_api`, dropped after) or
scratch directory (SQLite).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from array import array
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from figures import Figure, Latencies, Target, percentile
from scratch_db import scratch_databases
from wave_app import access
from wave_app.projection import POSITION_NAME, RunsProjector, row_of_events
from wave_events import DomainEvent, Envelope, new_envelope, run_stream_id
from wave_events import catalogue as c
from wave_store import EventStore, open_store
from wave_store.tables import ApiTables, RunRow, open_tables

HERE = Path(__file__).resolve().parent
PRODUCER = "bench"
SEED_BATCH = 500  # runs per seeding round: one append per run, appended concurrently
SEED_WRITERS = 8  # concurrent upserts of the seeded runs' rows (the store's pool holds 10)


@dataclass(frozen=True)
class Sizes:
    stream_clients: int
    append_rate: float  # events per second
    stream_seconds: float  # measured appends, after the warm-up
    stream_warmup: int  # events appended (and delivered) before the measured ones
    stream_runs: int  # run streams the appended events go to
    runs: int  # runs in the store for the run list
    list_requests: int  # requests per kind of page
    sqlite: bool


FULL = Sizes(stream_clients=500, append_rate=100, stream_seconds=10, stream_warmup=100, stream_runs=100,
             runs=10_000, list_requests=100, sqlite=True)
QUICK = Sizes(stream_clients=50, append_rate=100, stream_seconds=3, stream_warmup=20, stream_runs=20,
              runs=1_000, list_requests=20, sqlite=True)

TARGETS: dict[str, Target] = {
    "api.stream_fanout_p99": Target(250, None),
    "api.list_runs_p99": Target(50, None),
    "api.stream_fanout_p99.sqlite": Target(250, None),
    "api.list_runs_p99.sqlite": Target(50, None),
}

STATUSES = ("completed", "running", "awaiting_human", "failed", "cancelled")


async def measure(url: str, sizes: Sizes) -> tuple[list[Figure], dict[str, object]]:
    found: list[Figure] = []
    async with scratch_databases(url, "api") as urls:
        found += await _backend(urls["api"], sizes, suffix="", remote_appends=True)
    if sizes.sqlite:
        with tempfile.TemporaryDirectory(prefix="wave-bench-api-") as scratch:
            found += await _backend(f"sqlite:///{scratch}/wave.db", sizes, suffix=".sqlite", remote_appends=False)
    return found, {}


async def _backend(store_url: str, sizes: Sizes, *, suffix: str, remote_appends: bool) -> list[Figure]:
    what = "PostgreSQL" if store_url.startswith("postgres") else "SQLite"
    store = await open_store(store_url)
    try:
        tables = await open_tables(store)
        try:
            _, token = await access.create_token(tables, name="bench", role="viewer")
            stream_runs = [f"fanout{n:04d}" for n in range(sizes.stream_runs)]
            rows = await seed_runs(store, stream_runs)
            seeding = time.perf_counter()
            rows += await seed_runs(store, [f"list{n:06d}" for n in range(sizes.runs)], varied=True)
            seeded = time.perf_counter() - seeding
            projecting = time.perf_counter()
            await project_seeded(store, tables, rows)
            projected = time.perf_counter() - projecting
        finally:
            await tables.close()
        print(f"api ({what}): {sizes.runs:,} runs seeded in {seeded:.1f} s, projected in {projected:.1f} s",
              file=sys.stderr)
        async with api_process(store_url, serve_appends=not remote_appends, sizes=sizes) as server:
            listing = await _list_runs(server, token, sizes, what)
            fanout = await _fanout(store, server, token, stream_runs, sizes, what, remote_appends)
    finally:
        await store.close()
    fanout = Figure(f"api.stream_fanout_p99{suffix}", fanout.value, fanout.unit, None, False, fanout.detail)
    listing = Figure(f"api.list_runs_p99{suffix}", listing.value, listing.unit, None, False, listing.detail)
    for figure in (fanout, listing):  # shown as they come: the SQLite half takes minutes more
        print(f"{figure.name}: {figure.value:,.1f} {figure.unit}; {figure.detail}", file=sys.stderr)
    return [fanout, listing]


# --- seeding --------------------------------------------------------------------------------------


def run_events(run_id: str, n: int, *, varied: bool) -> list[Envelope]:
    """A run's first events: its request and, when `varied`, a plan and then one of the endings or
    waits that give the list its mix of statuses."""
    stream = run_stream_id(run_id)
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=n)
    payloads: list[DomainEvent] = [c.RunRequested(
        story=f"Story {n}: add a {('slugify', 'pricing', 'search', 'export')[n % 4]} helper\n\nDetails.",
        repo=f"/srv/repos/project-{n % 37}", budget_usd=5.0, budget_tokens=1_000_000, max_retries=3,
    )]
    if varied:
        status = STATUSES[n % len(STATUSES)]
        payloads.append(c.LLMCallRecorded(
            role="planner", provider="anthropic", model="claude-sonnet-4-5", prompt="plan", response="{}",
            input_tokens=900, output_tokens=200, cost_usd=0.004, latency_ms=1800.0,
        ))
        if status == "completed":
            payloads.append(c.RunCompleted(merge_commit=f"{n:040x}"))
        elif status == "awaiting_human":
            payloads.append(c.EscalationRequested(escalation_id=f"e{n}", kind="merge_review", reason="review the merge"))
        elif status == "failed":
            payloads.append(c.RunFailed(reason="tests failed after 3 retries"))
        elif status == "cancelled":
            payloads.append(c.RunCancelled(cancelled_by="ana", reason="not needed"))
    return [
        new_envelope(stream, p, producer=PRODUCER, occurred_at=at + timedelta(milliseconds=i))
        for i, p in enumerate(payloads)
    ]


async def seed_runs(store: EventStore, run_ids: Sequence[str], *, varied: bool = False) -> list[RunRow]:
    """One append per run, SEED_BATCH runs at a time concurrently (each run is its own stream); the
    runs' rows as the projector makes them from those events."""
    rows: list[RunRow] = []
    for start in range(0, len(run_ids), SEED_BATCH):
        chunk = [(run_id, run_events(run_id, start + i, varied=varied)) for i, run_id in enumerate(run_ids[start : start + SEED_BATCH])]
        await asyncio.gather(*(store.append(run_stream_id(run_id), events, 0) for run_id, events in chunk))
        rows += [row_of_events(run_id, events) for run_id, events in chunk]
    return rows


async def project_seeded(store: EventStore, tables: ApiTables, rows: Sequence[RunRow]) -> None:
    """The runs table as the API's projector leaves it after catching up with the seeded runs, built
    without reading each run back: the rows the projector's own function makes of the seeded events,
    upserted by SEED_WRITERS at once, and the projector's position at the end of the log (the API
    process then starts with nothing to catch up)."""
    await asyncio.gather(*(tables.upsert_runs(rows[w::SEED_WRITERS]) for w in range(SEED_WRITERS)))
    await store.save_position(POSITION_NAME, await store.last_position())
    if (caught_up := await RunsProjector(store, tables).catch_up()) != await store.last_position():
        raise RuntimeError(f"the runs projection stopped at {caught_up}, not at the end of the log")


# --- appending at a rate --------------------------------------------------------------------------


def model_call(n: int) -> c.LLMCallRecorded:
    return c.LLMCallRecorded(
        role=("developer", "reviewer", "planner")[n % 3], provider="anthropic", model="claude-sonnet-4-5",
        prompt=f"implement task t{n % 8}", response="diff attached", input_tokens=1800, output_tokens=420,
        cost_usd=0.0117, latency_ms=2300.0,
    )


async def append_at_rate(store: EventStore, run_ids: Sequence[str], rate: float, count: int) -> dict[int, float]:
    """`count` events, one append each, round-robin over the runs, started at `rate` per second on a
    fixed schedule; {global position: time.monotonic() when its append returned}."""
    versions = {run_id: await store.stream_version(run_stream_id(run_id)) for run_id in run_ids}
    returned: dict[int, float] = {}
    start = time.monotonic()
    for i in range(count):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        run_id = run_ids[i % len(run_ids)]
        stream = run_stream_id(run_id)
        result = await store.append(stream, [new_envelope(stream, model_call(i), producer=PRODUCER)], versions[run_id])
        returned[result.positions[0]] = time.monotonic()
        versions[run_id] += 1
    return returned


# --- the API process ------------------------------------------------------------------------------


@dataclass
class ApiProcess:
    process: asyncio.subprocess.Process
    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def command(self, line: str) -> str:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()
        return (await self.process.stdout.readline()).decode().strip()


@contextlib.asynccontextmanager
async def api_process(store_url: str, *, serve_appends: bool, sizes: Sizes) -> AsyncIterator[ApiProcess]:
    """`bench/api_server.py` over the store: the API app under uvicorn, as `wave serve` runs it."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(HERE / "api_server.py"), store_url,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout
        line: list[str] = []
        while not line or line[0] != "listening":  # (a profiler wrapping it may print first)
            raw = await asyncio.wait_for(process.stdout.readline(), 120)
            if not raw:
                raise RuntimeError("the API process ended before it listened")
            line = raw.decode().split()
        yield ApiProcess(process, int(line[1]))
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()


# --- stream fan-out -------------------------------------------------------------------------------


async def _fanout(
    store: EventStore, server: ApiProcess, token: str, run_ids: Sequence[str], sizes: Sizes, what: str,
    remote_appends: bool,
) -> Figure:
    after = await store.last_position()
    with tempfile.TemporaryDirectory(prefix="wave-bench-sse-") as scratch:
        out, times_path = Path(scratch) / "latencies", Path(scratch) / "appended.json"
        clients = await asyncio.create_subprocess_exec(
            sys.executable, str(HERE / "sse_clients.py"), "--port", str(server.port), "--token", token,
            "--clients", str(sizes.stream_clients), "--after", str(after), "--out", str(out),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )
        assert clients.stdin and clients.stdout
        try:
            line = (await asyncio.wait_for(clients.stdout.readline(), 120)).decode().strip()
            if not line.startswith("connected"):
                raise RuntimeError(f"the stream clients did not connect: {line!r}")
            count = sizes.stream_warmup + int(sizes.append_rate * sizes.stream_seconds)
            cpu = _cpu_seconds(server.process.pid)
            started = time.monotonic()
            if remote_appends:
                returned = await append_at_rate(store, run_ids, sizes.append_rate, count)
            else:
                reply = await server.command(f"append {sizes.append_rate} {count} {times_path} {','.join(run_ids)}")
                if not reply.startswith("appended"):
                    raise RuntimeError(f"the API process did not append: {reply!r}")
                returned = {int(k): v for k, v in json.loads(times_path.read_text()).items()}
            measured = dict(sorted(returned.items())[sizes.stream_warmup :])
            times_path.write_text(json.dumps(measured))
            clients.stdin.write(f"stop {max(returned)} {times_path}\n".encode())
            await clients.stdin.drain()
            summary = json.loads((await asyncio.wait_for(clients.stdout.readline(), 120)).decode())
            elapsed = time.monotonic() - started
            server_cpu = _cpu_seconds(server.process.pid) - cpu
            latencies = array("d")
            latencies.frombytes(out.read_bytes())
        finally:
            if clients.returncode is None:
                clients.kill()
            await clients.wait()
    stats = Latencies.of_seconds([ms / 1000 for ms in latencies])
    detail = (
        f"{what}: {summary['clients']} clients x {len(measured):,} events at {sizes.append_rate:g}/s "
        f"({'appended by another process' if remote_appends else 'appended in the API process'}); "
        f"{stats.describe()}; missing {summary['missing']}, repeated {summary['repeated']}, "
        f"out of order {summary['out_of_order']}; CPU from the first append to the last delivery "
        f"({elapsed:.1f} s): API process {server_cpu:.1f} s ({server_cpu / max(len(latencies), 1) * 1e6:.0f} us "
        f"per delivery), clients {summary['cpu_s']:.1f} s"
    )
    return Figure("api.stream_fanout_p99", stats.p99, "ms", None, False, detail)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- run list -------------------------------------------------------------------------------------


async def _list_runs(server: ApiProcess, token: str, sizes: Sizes, what: str) -> Figure:
    headers = {"Authorization": f"Bearer {token}"}
    kinds: dict[str, list[float]] = {"first page": [], "status": [], "search": [], "next page": []}
    async with httpx.AsyncClient(base_url=server.base, headers=headers, timeout=30) as client:
        first = await client.get("/api/v1/runs", params={"limit": 50})
        first.raise_for_status()
        if len(first.json()["runs"]) != 50:
            raise RuntimeError(f"the run list shows {len(first.json()['runs'])} runs, not 50")
        cursor = first.json()["next_cursor"]
        for i in range(sizes.list_requests):
            for kind, params in (
                ("first page", {"limit": 50}),
                ("status", {"limit": 50, "status": ("awaiting_human", "failed", "running")[i % 3]}),
                ("search", {"limit": 50, "q": ("pricing", "project-1", "list0042")[i % 3]}),
                ("next page", {"limit": 50, "cursor": cursor}),
            ):
                began = time.perf_counter()
                response = await client.get("/api/v1/runs", params=params)
                kinds[kind].append(time.perf_counter() - began)
                response.raise_for_status()
    every = [s for samples in kinds.values() for s in samples]
    stats = Latencies.of_seconds(every)
    per_kind = ", ".join(f"{k} p99 {percentile(v, 99) * 1000:.1f}" for k, v in kinds.items())
    detail = f"{what}: {sizes.runs:,} runs, {len(every)} requests of 50 runs; {stats.describe()} ({per_kind} ms)"
    return Figure("api.list_runs_p99", stats.p99, "ms", None, False, detail)

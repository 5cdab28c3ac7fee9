"""Runtime benchmarks: the Kafka transport (outbox relay + consumer groups) over PostgreSQL.

- hop latency: service A appends an event, the relay publishes it, service B starts handling it, B's
  output is stored. Open loop at a fixed rate; p50 and p99 of (B's output committed - A's append
  returned). Peer: a bare aiokafka produce -> consume round trip at the same rate and settings.
- two-hop throughput: requests appended as fast as 8 writers can, each answered by service B, whose
  output is answered by service C; input events carried through both hops per second.
- relay throughput: events pre-loaded in PostgreSQL, the relay publishes them all (idempotent,
  acks=all, position saved after the acks). Peer: a bare aiokafka producer with the same settings
  sending the same records (already encoded) = the ceiling for the relay.

The hop runs the relay and service B in processes of their own, as deployed; the two-hop flow and the
relay throughput run in this one process and event loop. Each part has its own scratch database and
its own topics (`wavebench.<random>.<part>`), deleted afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import queue
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import workload
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from figures import Figure, Latencies, Target, rate
from scratch_db import scratch_databases
from wave_events import Envelope, new_envelope, run_stream_id
from wave_events import catalogue as c
from wave_runtime.kafka import KafkaServiceRunner, OutboxRelay, Topics, ensure_topics, message_of
from wave_store.port import Handling, HandlingResult
from wave_store.postgres import PostgresEventStore

PARTITIONS = 6
FLOW_WRITERS = 8
RELAY_SETTINGS = {"linger_ms": 2, "max_batch_size": 256 * 1024}  # what OutboxRelay's producer uses
PEER_HOP = "bare aiokafka produce->consume round trip, same rate and producer settings"
PEER_RELAY = "bare aiokafka producer, same records and settings (idempotent, acks=all)"


@dataclass(frozen=True)
class Sizes:
    hop_rate: int  # events per second, open loop
    hop_seconds: float
    hop_warmup: int  # events sent (and handled) before the measured ones
    flow_runs: int  # requests through the two-hop flow
    relay_events: int  # events pre-loaded for the relay


FULL = Sizes(hop_rate=200, hop_seconds=10, hop_warmup=100, flow_runs=1000, relay_events=50_000)
QUICK = Sizes(hop_rate=200, hop_seconds=2, hop_warmup=40, flow_runs=200, relay_events=5_000)

TARGETS: dict[str, Target] = {
    "runtime.hop_p50": Target(10, None),
    "runtime.hop_p99": Target(50, None),
    "runtime.relay_throughput": Target(20_000, None),
}


async def measure(url: str, bootstrap: str, sizes: Sizes) -> tuple[list[Figure], dict[str, object]]:
    prefix = f"wavebench.{secrets.token_hex(4)}"
    try:
        async with scratch_databases(url, "rt_hop", "rt_flow", "rt_relay") as urls:
            p50, p99 = await _hop(urls["rt_hop"], bootstrap, Topics(f"{prefix}.hop"), Topics(f"{prefix}.hoppeer"), sizes)
            flow = await _two_hop(urls["rt_flow"], bootstrap, Topics(f"{prefix}.flow"), sizes)
            relay = await _relay(urls["rt_relay"], bootstrap, Topics(f"{prefix}.relay"), Topics(f"{prefix}.relaypeer"), sizes)
            server = {"kafka_partitions": PARTITIONS}
    finally:
        await _delete_topics(bootstrap, prefix)
    return [p50, p99, flow, relay], server


# --- timing hooks ---------------------------------------------------------------------------------


@dataclass
class Clock:
    """monotonic() stamps by event id: when A's append returned, when a service started handling,
    when its outputs were committed."""

    appended: dict[uuid.UUID, float] = field(default_factory=dict)
    started: dict[tuple[str, uuid.UUID], float] = field(default_factory=dict)
    stored: dict[tuple[str, uuid.UUID], float] = field(default_factory=dict)

    def count_stored(self, service: str) -> int:
        return sum(1 for name, _ in self.stored if name == service)


class TimedStore(PostgresEventStore):
    """The PostgreSQL store, stamping the moment a handling (outputs + progress) is committed."""

    clock: Clock

    async def record_handling(self, handling: Handling) -> HandlingResult:
        result = await super().record_handling(handling)
        if not result.duplicate:
            self.clock.stored[(handling.consumer, handling.cause_event_id)] = time.monotonic()
        return result


class Answer:
    """A service answering one event type with another, stamping when it starts handling."""

    def __init__(self, name: str, handles: str, clock: Clock) -> None:
        self.name, self.handles, self.clock = name, frozenset({handles}), clock

    async def handle(self, state, event: Envelope):
        self.clock.started[(self.name, event.event_id)] = time.monotonic()
        if event.type == "RunRequested":
            return [c.WorkspaceReady(branch=f"wave/{state.run_id}", base_commit=workload.sha(1), location="mem")]
        return [c.RunCompleted(merge_commit=workload.sha(2))]


def request() -> Envelope:
    run_id = uuid.uuid4().hex[:12]
    return new_envelope(run_stream_id(run_id), c.RunRequested(story="bench", repo="/srv/r", budget_usd=1), producer="bench-a")


@contextlib.asynccontextmanager
async def pipeline(url: str, bootstrap: str, topics: Topics, services: Sequence[str], clock: Clock) -> AsyncIterator[PostgresEventStore]:
    """The relay and one runner per service ("B": RunRequested -> WorkspaceReady, "C": WorkspaceReady ->
    RunCompleted), each with its own store (pool), as separate processes would have. Yields A's store."""
    await ensure_topics(bootstrap, topics, partitions=PARTITIONS)
    writer = await PostgresEventStore.connect(url, min_size=FLOW_WRITERS, max_size=FLOW_WRITERS)
    relay_store = await PostgresEventStore.connect(url, min_size=2, max_size=4)
    stores: list[PostgresEventStore] = [writer, relay_store]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(OutboxRelay(relay_store, bootstrap, topics).run(stop))]
    for name in services:
        store = await TimedStore.connect(url, min_size=2, max_size=4)
        store.clock = clock
        stores.append(store)
        handles = {"b": "RunRequested", "c": "WorkspaceReady"}[name]
        runner = KafkaServiceRunner(Answer(name, handles, clock), store, bootstrap, topics)
        tasks.append(asyncio.create_task(runner.run(stop)))
    try:
        yield writer
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        for store in stores:
            await store.close()


async def _until(check, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"runtime bench: {what} did not happen within {within:.0f} s")
        await asyncio.sleep(0.002)


async def _paced(count: int, per_second: float, send) -> None:
    """Call `send(i)` for i in 0..count-1 at a fixed rate (open loop: a slow send does not delay the
    schedule, the next one goes at once)."""
    start = time.monotonic()
    for i in range(count):
        delay = start + i / per_second - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await send(i)


# --- hop latency ----------------------------------------------------------------------------------
#
# The relay and service B each run in a process of their own, as deployed (`wave relay`, `wave service`);
# A appends from this one. Every process stamps with time.monotonic(), one clock for the machine, and
# hands its stamps back when told to stop, so each hop splits into: the relay waking and reading the
# event, Kafka taking it (linger, acks), B's consumer receiving it, B starting its handler (the
# handled-check and the run's state), and B handling and storing its output.


class StampedStore(PostgresEventStore):
    """The relay's store, stamping when each page of rows was asked for and returned."""

    read_at: dict[str, tuple[float, float]]

    async def read_publishable(self, from_position: int, limit: int):
        asked = time.monotonic()
        rows = await super().read_publishable(from_position, limit)
        returned = time.monotonic()
        for row in rows:
            self.read_at[str(row["event_id"])] = (asked, returned)
        return rows


class StampedRelay(OutboxRelay):
    """The relay, stamping when Kafka acknowledged each event."""

    acked_at: dict[str, float]

    async def _send(self, producer, rows):
        acked = await super()._send(producer, rows)
        ids = [str(row["event_id"]) for row in rows]

        def stamp(_) -> None:
            now = time.monotonic()
            for event_id in ids:
                self.acked_at[event_id] = now

        acked.add_done_callback(stamp)
        return acked


class StampedRunner(KafkaServiceRunner):
    """Service B's runner, stamping when each record came out of the consumer."""

    received_at: dict[str, float]

    async def _handle(self, message, *args, **kwargs) -> None:
        self.received_at[dict(message.headers or ()).get("event-id", b"").decode()] = time.monotonic()
        await super()._handle(message, *args, **kwargs)


async def _until_stopped(stop: asyncio.Event, told) -> None:
    await asyncio.to_thread(told.wait)
    stop.set()


def relay_process(url: str, bootstrap: str, prefix: str, told, out) -> None:
    async def main() -> None:
        store = await StampedStore.connect(url, min_size=2, max_size=4)
        store.read_at = {}
        relay = StampedRelay(store, bootstrap, Topics(prefix))
        relay.acked_at = {}
        stop = asyncio.Event()
        try:
            await asyncio.gather(relay.run(stop), _until_stopped(stop, told))
        finally:
            await store.close()
        out.put(("relay", {"read": store.read_at, "acked": relay.acked_at}))

    asyncio.run(main())


def service_process(url: str, bootstrap: str, prefix: str, name: str, told, out) -> None:
    async def main() -> None:
        clock = Clock()
        store = await TimedStore.connect(url, min_size=2, max_size=4)
        store.clock = clock
        handles = {"b": "RunRequested", "c": "WorkspaceReady"}[name]
        runner = StampedRunner(Answer(name, handles, clock), store, bootstrap, Topics(prefix))
        runner.received_at = {}
        stop = asyncio.Event()
        try:
            await asyncio.gather(runner.run(stop), _until_stopped(stop, told))
        finally:
            await store.close()
        out.put((name, {
            "received": runner.received_at,
            "started": {str(k): t for (_, k), t in clock.started.items()},
            "stored": {str(k): t for (_, k), t in clock.stored.items()},
        }))

    asyncio.run(main())


@contextlib.asynccontextmanager
async def processes(url: str, bootstrap: str, topics: Topics, services: Sequence[str]) -> AsyncIterator[dict]:
    """The relay and one process per service; on exit they stop and their stamps land in the dict yielded."""
    await ensure_topics(bootstrap, topics, partitions=PARTITIONS)
    context = multiprocessing.get_context("spawn")
    told, out = context.Event(), context.Queue()
    children = [context.Process(target=relay_process, args=(url, bootstrap, topics.prefix, told, out))]
    children += [
        context.Process(target=service_process, args=(url, bootstrap, topics.prefix, name, told, out)) for name in services
    ]
    for child in children:
        child.start()
    stamps: dict = {}
    try:
        yield stamps
    finally:
        told.set()
        for _ in children:
            try:
                name, stamped = await asyncio.to_thread(out.get, True, 60)
                stamps[name] = stamped
            except queue.Empty:
                break
        for child in children:
            await asyncio.to_thread(child.join, 30)
            if child.is_alive():
                child.kill()


async def _handled(store: PostgresEventStore, consumer: str) -> int:
    return await store.pool.fetchval("SELECT count(*) FROM wave_handled WHERE consumer = $1", consumer)


async def _until_handled(store: PostgresEventStore, consumer: str, count: int, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while await _handled(store, consumer) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"runtime bench: {what} did not happen within {within:.0f} s")
        await asyncio.sleep(0.05)


async def _hop(url: str, bootstrap: str, topics: Topics, peer_topics: Topics, sizes: Sizes) -> tuple[Figure, Figure]:
    measured = int(sizes.hop_rate * sizes.hop_seconds)
    appended: dict[str, float] = {}
    writer = await PostgresEventStore.connect(url, min_size=2, max_size=FLOW_WRITERS)
    try:
        async with processes(url, bootstrap, topics, ["b"]) as stamps:

            async def append(envelopes: list[Envelope], i: int) -> None:
                e = envelopes[i]
                await writer.append(e.stream_id, [e], 0)
                appended[str(e.event_id)] = time.monotonic()

            warm = [request() for _ in range(sizes.hop_warmup)]
            await _paced(len(warm), sizes.hop_rate, lambda i: append(warm, i))
            await _until_handled(writer, "b", len(warm), 120, "the warm-up hops")
            timed = [request() for _ in range(measured)]
            await _paced(measured, sizes.hop_rate, lambda i: append(timed, i))
            await _until_handled(writer, "b", len(warm) + measured, 60, "the measured hops")
    finally:
        await writer.close()

    relay, b = stamps["relay"], stamps["b"]
    ids = [str(e.event_id) for e in timed]

    def between(later, earlier) -> Latencies:
        return Latencies.of_seconds([later(i) - earlier(i) for i in ids])

    hops = between(lambda i: b["stored"][i], appended.get)
    parts = {
        "relay wakes": between(lambda i: relay["read"][i][0], appended.get),
        "relay reads": between(lambda i: relay["read"][i][1], lambda i: relay["read"][i][0]),
        "Kafka acks (linger, broker)": between(relay["acked"].get, lambda i: relay["read"][i][1]),
        "B's consumer receives (after the read)": between(b["received"].get, lambda i: relay["read"][i][1]),
        "B starts its handler": between(b["started"].get, b["received"].get),
        "B handles and stores": between(b["stored"].get, b["started"].get),
    }
    peer = await _peer_round_trip(bootstrap, peer_topics, sizes)
    where = f"{sizes.hop_rate} ev/s for {sizes.hop_seconds:g} s, relay and B in processes of their own"
    detail = f"{where}; append->stored {hops.describe()}; " + "; ".join(
        f"{name} p50 {part.p50:.2f} p99 {part.p99:.2f}" for name, part in parts.items()
    ) + f"; peer {peer.describe()}"
    return (
        Figure("runtime.hop_p50", hops.p50, "ms", peer.p50, False, detail, PEER_HOP),
        Figure("runtime.hop_p99", hops.p99, "ms", peer.p99, False, f"{where}, see runtime.hop_p50", PEER_HOP),
    )


def peer_consumer_process(bootstrap: str, topic: str, group: str, told, out) -> None:
    """The peer's consumer in a process of its own, as B is: stamps when each record arrives."""

    async def main() -> None:
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
            auto_offset_reset="earliest", session_timeout_ms=10000, heartbeat_interval_ms=1000,
        )
        await consumer.start()
        received: dict[bytes, float] = {}
        try:
            while not told.is_set():
                batch = await consumer.getmany(timeout_ms=200)
                now = time.monotonic()
                for messages in batch.values():
                    for message in messages:
                        received[message.value] = now
                if batch:
                    out.put(("count", len(received)))
        finally:
            await consumer.stop()
        out.put(("received", received))

    asyncio.run(main())


async def _peer_round_trip(bootstrap: str, topics: Topics, sizes: Sizes) -> Latencies:
    """The same hop with nothing but Kafka: produce a record, a consumer in a group (in a process of
    its own) receives it."""
    await ensure_topics(bootstrap, topics, partitions=PARTITIONS)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", request_timeout_ms=30000, **RELAY_SETTINGS
    )
    context = multiprocessing.get_context("spawn")
    told, out = context.Event(), context.Queue()
    child = context.Process(
        target=peer_consumer_process, args=(bootstrap, topics.events, topics.group("peer"), told, out)
    )
    child.start()
    await producer.start()
    sent: dict[bytes, float] = {}
    seen = 0

    async def all_received(within: float) -> None:
        nonlocal seen
        deadline = time.monotonic() + within
        while seen < len(sent):
            if time.monotonic() > deadline:
                raise TimeoutError("runtime bench: the peer's round trips did not all arrive")
            try:
                _, seen = await asyncio.to_thread(out.get, True, 1)
            except queue.Empty:
                continue

    async def send(i: int) -> None:
        key = uuid.uuid4().hex.encode()
        sent[key] = time.monotonic()
        await producer.send(topics.events, key, key=key)

    try:
        await _paced(sizes.hop_warmup, sizes.hop_rate, send)
        await all_received(120)
        warm = set(sent)
        measured = int(sizes.hop_rate * sizes.hop_seconds)
        await _paced(measured, sizes.hop_rate, send)
        await all_received(60)
    finally:
        await producer.stop()
        told.set()
        received: dict[bytes, float] = {}
        while True:
            kind, value = await asyncio.to_thread(out.get, True, 60)
            if kind == "received":
                received = value
                break
        await asyncio.to_thread(child.join, 30)
    return Latencies.of_seconds([received[k] - t for k, t in sent.items() if k not in warm])


# --- two-hop throughput ---------------------------------------------------------------------------


async def _two_hop(url: str, bootstrap: str, topics: Topics, sizes: Sizes) -> Figure:
    clock = Clock()
    async with pipeline(url, bootstrap, topics, ["b", "c"], clock) as writer:
        warm = [request() for _ in range(20)]
        for e in warm:
            await writer.append(e.stream_id, [e], 0)
        await _until(lambda: clock.count_stored("c") >= len(warm), 60, "the two-hop warm-up")

        runs = [request() for _ in range(sizes.flow_runs)]
        queue = list(reversed(runs))

        async def write() -> None:
            while queue:
                e = queue.pop()
                await writer.append(e.stream_id, [e], 0)

        started = time.monotonic()
        await asyncio.gather(*(write() for _ in range(FLOW_WRITERS)))
        appended = time.monotonic() - started
        done = len(warm) + len(runs)
        await _until(lambda: clock.count_stored("c") >= done, 300, "the two-hop flow")
        finished = max(clock.stored[("c", k)] for name, k in clock.stored if name == "c")
        elapsed = finished - started
    return Figure(
        "runtime.two_hop_throughput",
        rate(len(runs), elapsed),
        "events/s",
        None,
        True,
        f"{len(runs)} requests by {FLOW_WRITERS} writers (appended in {appended:.2f} s), each through "
        f"A -> relay -> B -> relay -> C, one instance per service; first append to last C output stored "
        f"{elapsed:.2f} s",
    )


# --- relay throughput -----------------------------------------------------------------------------


async def _relay(url: str, bootstrap: str, topics: Topics, peer_topics: Topics, sizes: Sizes) -> Figure:
    store = await PostgresEventStore.connect(url, min_size=2, max_size=4)
    try:
        tag = uuid.uuid4().hex[:8]
        for n in range(sizes.relay_events // 100):
            envelopes = workload.batch(f"run-l{tag}{n}", 100)
            await store.append(envelopes[0].stream_id, envelopes, expected_version=0)
        total = (sizes.relay_events // 100) * 100
        last = await store.last_position()

        await ensure_topics(bootstrap, topics, partitions=PARTITIONS)
        relay = OutboxRelay(store, bootstrap, topics)
        stop = asyncio.Event()
        started = time.monotonic()
        task = asyncio.create_task(relay.run(stop))
        try:
            await _until(lambda: relay.published >= total or task.done(), 300, "the relay publishing the backlog")
            elapsed = time.monotonic() - started
        finally:
            stop.set()
            await task
        saved = await store.load_position(relay.name)
        on_topic = await _records_on(bootstrap, topics.events)
        if relay.published != total or saved != last or on_topic != total:
            raise RuntimeError(
                f"relay published {relay.published} of {total}, saved position {saved} of {last}, "
                f"{on_topic} records on the topic"
            )

        records = [message_of(e) for e in await _read_everything(store)]
    finally:
        await store.close()
    peer_s = await _peer_producer(bootstrap, peer_topics, records)
    return Figure(
        "runtime.relay_throughput",
        rate(total, elapsed),
        "events/s",
        rate(total, peer_s),
        True,
        f"{total} events pre-loaded ({len(records[0][1])}-{max(len(r[1]) for r in records)} bytes per record), "
        f"relay start to last position saved {elapsed:.2f} s; topic holds {on_topic}",
        PEER_RELAY,
    )


async def _read_everything(store: PostgresEventStore) -> list[Envelope]:
    events: list[Envelope] = []
    while page := await store.read_all(events[-1].global_position if events else 0, 5000):
        events.extend(page)
    return events


async def _peer_producer(bootstrap: str, topics: Topics, records: list) -> float:
    await ensure_topics(bootstrap, topics, partitions=PARTITIONS)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", request_timeout_ms=30000, **RELAY_SETTINGS
    )
    started = time.monotonic()
    await producer.start()
    try:
        futures = [await producer.send(topics.events, value, key=key, headers=headers) for key, value, headers in records]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return time.monotonic() - started


async def _records_on(bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]  # as ensure_topics made it
        starts = await consumer.beginning_offsets(partitions)
        ends = await consumer.end_offsets(partitions)
        return sum(ends[tp] - starts[tp] for tp in partitions)
    finally:
        await consumer.stop()


async def _delete_topics(bootstrap: str, prefix: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await admin.start()
        mine = [t for t in await admin.list_topics() if t.startswith(prefix + ".")]
        if mine:
            await admin.delete_topics(mine)
    except Exception as exc:  # noqa: BLE001 - leftover topics are untidy, not wrong
        print(f"runtime bench: could not delete topics {prefix}.*: {exc}")
    finally:
        await admin.close()

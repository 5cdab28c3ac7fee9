"""One run is one trace, across services, over the real broker.

Service A and service B run in separate KafkaServiceRunner instances (each its own consumer group and
Kafka clients), the outbox relay in between. The trace context travels only through the event: the
envelope's `traceparent` (stored, and inside the Kafka record) and the Kafka header `traceparent`.
An in-memory exporter collects the spans of this process."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from fault_flow import INPUT, MIDDLE, OUTPUT, SERVICE_A, SERVICE_B, ServiceA, ServiceB, request_run
from fault_procs import until
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from wave_events import decode_envelope, run_stream_id
from wave_runtime import RetryPolicy
from wave_runtime.kafka import KafkaServiceRunner, OutboxRelay, read_topic
from wave_runtime.tracing import configure_tracing, current_traceparent

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


@contextlib.asynccontextmanager
async def running(store, bootstrap, topics):
    stop = asyncio.Event()
    retry = RetryPolicy(max_attempts=3, base_delay_s=0.01)
    roles = [
        OutboxRelay(store, bootstrap, topics),
        KafkaServiceRunner(ServiceA(), store, bootstrap, topics, retry=retry),
        KafkaServiceRunner(ServiceB(), store, bootstrap, topics, retry=retry),
    ]
    tasks = [asyncio.create_task(role.run(stop)) for role in roles]
    try:
        yield
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)


def _span_id(traceparent: str) -> int:
    return int(traceparent.split("-")[2], 16)


async def test_one_run_is_one_trace_across_services(deployment, store, kafka_bootstrap, topics, figures):
    # `deployment` only for its topics (created, deleted afterwards): this test runs no child process.
    exporter = InMemorySpanExporter()
    configure_tracing("wave-fault-tests", exporter)
    provider = trace.get_tracer_provider()
    tracer = trace.get_tracer("wave.tests")

    roots = {}
    async with running(store, kafka_bootstrap, topics):
        for n in range(3):
            with tracer.start_as_current_span(f"wave run #{n}") as root:
                run_id = await request_run(store, traceparent=current_traceparent())
            roots[run_id] = root

        async def done():
            return all([len(await store.read_stream(run_stream_id(r))) >= 3 for r in roots])

        await until(done, 60)
    provider.force_flush()
    spans = exporter.get_finished_spans()
    by_event = {(s.attributes["wave.service"], s.attributes["wave.event_id"]): s for s in spans if s.attributes}
    records = await read_topic(kafka_bootstrap, topics.events)

    trace_ids = set()
    for run_id, root in roots.items():
        request, middle, output = await store.read_stream(run_stream_id(run_id))
        assert [request.type, middle.type, output.type] == [INPUT, MIDDLE, OUTPUT]
        a = by_event[(SERVICE_A, str(request.event_id))]
        b = by_event[(SERVICE_B, str(middle.event_id))]
        # One trace: the root, A's span and B's span share the trace id ...
        assert a.context.trace_id == b.context.trace_id == root.get_span_context().trace_id
        # ... and form a chain: root -> A handling the request -> B handling what A emitted.
        assert a.parent.span_id == root.get_span_context().span_id
        assert b.parent.span_id == a.context.span_id
        assert a.parent.is_remote and b.parent.is_remote  # the context came through the event, not the process
        # The events carry the span that produced them, in the store and on the topic (body and header).
        assert _span_id(middle.traceparent) == a.context.span_id
        assert _span_id(output.traceparent) == b.context.span_id
        mine = [r for r in records if r.key == run_id.encode()]
        assert len(mine) == 3
        for record in mine:
            envelope = decode_envelope(record.value)
            assert dict(record.headers)["traceparent"].decode() == envelope.traceparent
        trace_ids.add(a.context.trace_id)
    assert len(trace_ids) == len(roots)  # each run its own trace
    figures.report(runs=len(roots), spans=len(spans), traces=len(trace_ids))

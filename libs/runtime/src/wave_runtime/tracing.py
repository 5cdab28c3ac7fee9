"""OpenTelemetry: one run is one trace, in both modes. Submitting a run opens the trace's root span
(`command_span` with no run context), whose context is stamped on `RunRequested`; each handled event
gets a span whose parent is the `traceparent` of that event (stored with it and sent as a Kafka
header), stamped in turn on the event's outputs; a command a person gives later about the run (a
decision, a budget, a cancel, a re-drive, a fork, a resume) opens a span that is a child of the run's
root, recovered from its first event, so it joins the same trace however much later it comes.

An OTLP exporter is installed when OTEL_EXPORTER_OTLP_ENDPOINT is set; otherwise spans are created
(they carry the context) but go nowhere.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from wave_events import Envelope

_propagator = TraceContextTextMapPropagator()
_configured = False


def configure_tracing(service_name: str, exporter: SpanExporter | None = None) -> None:
    """Install a tracer provider once per process; `exporter` overrides the OTLP default (tests).
    Called again with an exporter, it adds that exporter to the provider already installed."""
    global _configured
    if _configured:
        provider = trace.get_tracer_provider()
        if exporter is not None and isinstance(provider, TracerProvider):
            provider.add_span_processor(BatchSpanProcessor(exporter))
        return
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if exporter is None and os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _configured = True


def context_of(traceparent: str | None) -> Context | None:
    """The trace context a stored `traceparent` names; None for none."""
    return _propagator.extract({"traceparent": traceparent}) if traceparent else None


@contextmanager
def command_span(
    name: str, run_id: str, *, run_traceparent: str | None = None, linked_traceparent: str | None = None,
    attributes: dict[str, str] | None = None,
) -> Iterator[trace.Span]:
    """A span for a command a person gives about run `run_id`. With `run_traceparent` (the run's first
    event's), a child of the run's root span: the command joins the run's trace. Without it, the root
    of a new trace — submitting a run — linked to the trace of `linked_traceparent` when given (a fork
    and the run it was forked from)."""
    parent = context_of(run_traceparent) or Context()  # an empty context: no parent, a new trace
    linked = context_of(linked_traceparent)
    links = [trace.Link(trace.get_current_span(linked).get_span_context())] if linked is not None else None
    tracer = trace.get_tracer("wave.app")
    with tracer.start_as_current_span(
        name, context=parent, kind=trace.SpanKind.PRODUCER, links=links,
        attributes={"wave.run_id": run_id, **(attributes or {})},
    ) as span:
        yield span


@contextmanager
def handling_span(service: str, envelope: Envelope) -> Iterator[trace.Span]:
    """A span for `service` handling `envelope`, a child of the span that produced the event."""
    parent = context_of(envelope.traceparent)
    tracer = trace.get_tracer("wave.runtime")
    with tracer.start_as_current_span(
        f"{service} handle {envelope.type}",
        context=parent,
        kind=trace.SpanKind.CONSUMER,
        attributes={
            "wave.service": service,
            "wave.event_type": envelope.type,
            "wave.event_id": str(envelope.event_id),
            "wave.run_id": envelope.correlation_id,
        },
    ) as span:
        yield span


def current_traceparent() -> str | None:
    """The W3C traceparent of the active span, to stamp on the events it produces."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")

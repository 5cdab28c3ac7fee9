"""OpenTelemetry: one span per handled event, its context carried in the event's `traceparent`
(stored with the event and sent as a Kafka header), so one run is one trace across services.

An OTLP exporter is installed when OTEL_EXPORTER_OTLP_ENDPOINT is set; otherwise spans are created
(they carry the context) but go nowhere.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace
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


@contextmanager
def handling_span(service: str, envelope: Envelope) -> Iterator[trace.Span]:
    """A span for `service` handling `envelope`, a child of the span that produced the event."""
    parent = _propagator.extract({"traceparent": envelope.traceparent}) if envelope.traceparent else None
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

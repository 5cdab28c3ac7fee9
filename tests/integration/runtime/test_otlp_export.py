"""With OTEL_EXPORTER_OTLP_ENDPOINT set, a service's spans leave the process over OTLP/HTTP — the real
exporter against a local collector stand-in that records what arrives."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from http.server import BaseHTTPRequestHandler

from local_http import LocalHTTPServer


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, str, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.received.append((self.path, self.headers.get("Content-Type", ""), body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


SERVICE = textwrap.dedent(
    """
    from opentelemetry import trace
    from wave_events import catalogue as c, new_envelope
    from wave_runtime.tracing import configure_tracing, handling_span

    configure_tracing("wave-otlp-probe")
    event = new_envelope("run-r1", c.RunFailed(reason="probe"), producer="test")
    with handling_span("otlp-probe", event):
        pass
    trace.get_tracer_provider().shutdown()  # flushes the batch
    """
)


def test_spans_are_exported_over_otlp_http_when_an_endpoint_is_configured():
    _Collector.received = []
    collector = LocalHTTPServer(_Collector)
    collector.start()
    try:
        done = subprocess.run(
            [sys.executable, "-c", SERVICE], capture_output=True, text=True, timeout=60,
            env={"PATH": "/usr/bin:/bin", "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url},
        )
        assert done.returncode == 0, done.stderr
    finally:
        collector.stop()
    assert len(_Collector.received) == 1
    path, content_type, body = _Collector.received[0]
    assert (path, content_type) == ("/v1/traces", "application/x-protobuf")
    assert b"wave-otlp-probe" in body and b"otlp-probe handle RunFailed" in body

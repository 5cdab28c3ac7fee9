"""Prometheus metrics and the health/readiness endpoints every service process serves."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

EVENTS_HANDLED = Counter("wave_events_handled_total", "Events a service handled", ["service", "event_type", "outcome"])
HANDLER_FAILURES = Counter("wave_handler_failures_total", "Handler attempts that raised", ["service", "event_type"])
HANDLER_LATENCY = Histogram(
    "wave_handler_seconds",
    "Time from receiving an event to storing the outputs",
    ["service"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
# One series per partition, as Kafka exporters report consumer lag. The embedded transport follows
# the store's global order, one sequence: topic "store", partition "all".
CONSUMER_LAG = Gauge(
    "wave_consumer_lag", "Events not yet handled, per partition of the topic consumed", ["service", "topic", "partition"]
)
EMBEDDED_LAG_TOPIC, EMBEDDED_LAG_PARTITION = "store", "all"
DEAD_LETTERS = Counter("wave_dead_letters_total", "Events sent to the dead-letter queue", ["service"])
RELAY_PUBLISHED = Counter("wave_relay_published_total", "Events the outbox relay published")
RELAY_POSITION = Gauge("wave_relay_position", "Last global position the relay confirmed")
SANDBOX_SECONDS = Histogram(
    "wave_sandbox_seconds",
    "Wall time of one test run in QA's sandbox",
    ["sandbox", "outcome"],  # outcome: exited or timed_out
    buckets=(1, 5, 10, 30, 60, 120, 300, 600, 1200),
)

_log = logging.getLogger(__name__)


class HealthServer:
    """GET /healthz (the process is alive), /readyz (it is connected and consuming), /metrics.

    A stdlib HTTP server in a thread of its own, so a probe is answered even while the event loop is
    busy, and a malformed request gets a 4xx from the HTTP parser instead of reaching our code.
    """

    def __init__(self, port: int, ready: Callable[[], bool], host: str = "127.0.0.1") -> None:
        self.host, self.port, self.ready = host, port, ready
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    async def start(self) -> int:
        server_class = _IPv6Server if ":" in self.host else ThreadingHTTPServer
        self._server = server_class((self.host, self.port), _handler_for(self.ready))
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="wave-health", daemon=True)
        self._thread.start()
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            await asyncio.to_thread(self._server.shutdown)
            self._server.server_close()
            self._server = None


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def _handler_for(ready: Callable[[], bool]) -> type[BaseHTTPRequestHandler]:
    class HealthHandler(BaseHTTPRequestHandler):
        timeout = 5  # a client that opens a connection and sends nothing is dropped
        server_version = "wave-health"
        default_request_version = "HTTP/1.0"  # so even a garbled request line gets a status line

        def do_GET(self) -> None:
            if self.path == "/healthz":
                self._answer(200, b"ok\n", "text/plain")
            elif self.path == "/readyz":
                if ready():
                    self._answer(200, b"ready\n", "text/plain")
                else:
                    self._answer(503, b"not ready\n", "text/plain")
            elif self.path == "/metrics":
                self._answer(200, generate_latest(), CONTENT_TYPE_LATEST)
            else:
                self._answer(404, b"not found\n", "text/plain")

        def do_POST(self) -> None:
            self._answer(405, b"only GET\n", "text/plain")

        do_PUT = do_DELETE = do_PATCH = do_POST

        def _answer(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            if status == 405:
                self.send_header("Allow", "GET")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # the base class's signature
            _log.debug("health %s: " + format, self.address_string(), *args)

    return HealthHandler

"""Prometheus metrics and the health/readiness endpoints every service process serves."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

EVENTS_HANDLED = Counter("wave_events_handled_total", "Events a service handled", ["service", "event_type", "outcome"])
HANDLER_FAILURES = Counter("wave_handler_failures_total", "Handler attempts that raised", ["service", "event_type"])
HANDLER_LATENCY = Histogram(
    "wave_handler_seconds",
    "Time from receiving an event to storing the outputs",
    ["service"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CONSUMER_LAG = Gauge("wave_consumer_lag", "Events (or messages) not yet handled", ["service"])
DEAD_LETTERS = Counter("wave_dead_letters_total", "Events sent to the dead-letter queue", ["service"])
RELAY_PUBLISHED = Counter("wave_relay_published_total", "Events the outbox relay published")
RELAY_POSITION = Gauge("wave_relay_position", "Last global position the relay confirmed")


class HealthServer:
    """GET /healthz (the process is alive), /readyz (it is connected and consuming), /metrics."""

    def __init__(self, port: int, ready: Callable[[], bool], host: str = "127.0.0.1") -> None:
        self.host, self.port, self.ready = host, port, ready
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), 5)
            while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
                pass
            path = request.split(b" ")[1].decode() if request.count(b" ") >= 2 else ""
            if path == "/healthz":
                status, body, kind = 200, b"ok\n", "text/plain"
            elif path == "/readyz":
                ready = self.ready()
                status, body, kind = (200, b"ready\n", "text/plain") if ready else (503, b"not ready\n", "text/plain")
            elif path == "/metrics":
                status, body, kind = 200, generate_latest(), CONTENT_TYPE_LATEST
            else:
                status, body, kind = 404, b"not found\n", "text/plain"
            reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
            writer.write(
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (TimeoutError, ConnectionError, IndexError):
            pass
        finally:
            writer.close()

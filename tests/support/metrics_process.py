"""A process that serves a service's Prometheus metrics through the runtime's health server, for the
dashboard tests (not collected: no test_ prefix). It counts what it is told as the runtime counts a
service's work, then serves /metrics until its stdin closes.

    python tests/support/metrics_process.py SERVICE HANDLED

prints `port N`; each line `handle N` on stdin counts N more handled events and answers `ok`."""

from __future__ import annotations

import asyncio
import sys

from wave_llm.metrics import MODEL_COST, MODEL_TOKENS
from wave_runtime.metrics import (
    CONSUMER_LAG,
    DEAD_LETTERS,
    EVENTS_HANDLED,
    HANDLER_FAILURES,
    HANDLER_LATENCY,
    HealthServer,
)


def handle(service: str, count: int) -> None:
    EVENTS_HANDLED.labels(service, "RunRequested", "ok").inc(count)


async def main(service: str, handled: int) -> None:
    handle(service, handled)
    HANDLER_FAILURES.labels(service, "RunRequested").inc(2)
    for _ in range(99):
        HANDLER_LATENCY.labels(service).observe(0.02)
    HANDLER_LATENCY.labels(service).observe(3.0)
    CONSUMER_LAG.labels(service, "wave.events", "0").set(4)
    CONSUMER_LAG.labels(service, "wave.events", "1").set(3)
    DEAD_LETTERS.labels(service).inc(1)
    MODEL_TOKENS.labels(service, "anthropic", "claude-sonnet-4-5", "input").inc(1000)
    MODEL_TOKENS.labels(service, "anthropic", "claude-sonnet-4-5", "output").inc(200)
    MODEL_COST.labels(service, "anthropic", "claude-sonnet-4-5").inc(0.25)
    server = HealthServer(0, ready=lambda: True)
    print(f"port {await server.start()}", flush=True)
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        handle(service, int(line.split()[1]))
        print("ok", flush=True)
    await server.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))

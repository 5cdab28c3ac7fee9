"""Process entry points: one service (or the relay) per process, stopped gracefully by SIGTERM.

    python -m wave_runtime service --factory package.module:factory [--health-port N]
    python -m wave_runtime relay [--health-port N]

Both read WAVE_DATABASE_URL (PostgreSQL) and WAVE_KAFKA_BOOTSTRAP. `wave service NAME` calls the
same code with a named factory.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import signal
import sys

from wave_store import open_store

from .handler import Service
from .kafka import KafkaServiceRunner, OutboxRelay, Topics, ensure_topics
from .metrics import HealthServer
from .tracing import configure_tracing


def load_factory(spec: str) -> Service:
    """`module:attr` — a Service, or a callable returning one."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise SystemExit(f"--factory must look like package.module:factory, got {spec!r}")
    target = getattr(importlib.import_module(module_name), attr)
    service = target() if callable(target) and not isinstance(target, Service) else target
    if not isinstance(service, Service):
        raise SystemExit(f"{spec} did not give a service (an object with name, handles and handle)")
    return service


def _required_env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise SystemExit(f"{name} is not set; a distributed service needs it (see README: configuration)")
    return value


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


async def serve_service(service: Service, *, health_port: int | None = None) -> None:
    database_url = _required_env("WAVE_DATABASE_URL")
    bootstrap = _required_env("WAVE_KAFKA_BOOTSTRAP")
    configure_tracing(f"wave-{service.name}")
    store = await open_store(database_url)
    topics = Topics.from_env()
    await ensure_topics(bootstrap, topics)
    runner = KafkaServiceRunner(service, store, bootstrap, topics)
    stop = asyncio.Event()
    _stop_on_signals(stop)
    health = HealthServer(health_port, lambda: runner.ready) if health_port is not None else None
    if health:
        await health.start()
    try:
        await runner.run(stop)
    finally:
        if health:
            await health.stop()
        await store.close()


async def serve_relay(*, health_port: int | None = None) -> None:
    database_url = _required_env("WAVE_DATABASE_URL")
    bootstrap = _required_env("WAVE_KAFKA_BOOTSTRAP")
    store = await open_store(database_url)
    topics = Topics.from_env()
    await ensure_topics(bootstrap, topics)
    relay = OutboxRelay(store, bootstrap, topics)
    stop = asyncio.Event()
    _stop_on_signals(stop)
    health = HealthServer(health_port, lambda: relay.active) if health_port is not None else None
    if health:
        await health.start()
    try:
        await relay.run(stop)
    finally:
        if health:
            await health.stop()
        await store.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m wave_runtime", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="role", required=True)
    service = sub.add_parser("service", help="run one service in its Kafka consumer group")
    service.add_argument("--factory", required=True, help="package.module:factory giving the service")
    service.add_argument("--health-port", type=int, default=None)
    relay = sub.add_parser("relay", help="run the outbox relay (store -> Kafka)")
    relay.add_argument("--health-port", type=int, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("WAVE_LOG_LEVEL", "INFO"), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.role == "service":
        asyncio.run(serve_service(load_factory(args.factory), health_port=args.health_port))
    else:
        asyncio.run(serve_relay(health_port=args.health_port))

"""Process entry points: one service (or the relay) per process, stopped gracefully by SIGTERM.

    python -m wave_runtime service --factory package.module:factory [--health-port N] [--health-host H]
    python -m wave_runtime relay [--health-port N] [--health-host H]

Both read WAVE_DATABASE_URL (PostgreSQL) and WAVE_KAFKA_BOOTSTRAP; a service also WAVE_INSTANCE, its
instance's name in the events it stores (random when unset). `wave service NAME` calls the same code
with a named factory.

The health server listens on --health-host, else WAVE_HEALTH_HOST, else every interface (0.0.0.0)
for these entry points — they run in containers, probed and scraped from outside — and on the
loopback interface when `serve_service`/`serve_relay` are called without a host (`wave service` on a
workstation).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import inspect
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable

from wave_store import UnsupportedByStoreError, open_store

from .handler import Service
from .kafka import KafkaServiceRunner, OutboxRelay, Topics, ensure_topics
from .metrics import HealthServer
from .outages import OutageWatch, is_outage, quiet_broker_client_logs
from .settings import EnvSettings, read_settings
from .tracing import configure_tracing

LOOPBACK = "127.0.0.1"
ALL_INTERFACES = "0.0.0.0"


def load_factory(spec: str, **arguments: object) -> Service:
    """`module:attr` naming a service class, a function returning a service (either called with
    `arguments`, none by default), or a service object."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise SystemExit(f"--factory must look like package.module:factory, got {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SystemExit(f"--factory {spec}: cannot import {module_name} ({exc})") from None
    target = getattr(module, attr, None)
    if target is None:
        raise SystemExit(f"--factory {spec}: {module_name} has no {attr!r}")
    # A class is checked before the Service protocol: the class of a service matches the protocol too
    # (its name, handles and handle are class attributes), but only an instance can handle events.
    if inspect.isclass(target) or (callable(target) and not isinstance(target, Service)):
        service = target(**arguments)
    else:
        service = target
    if inspect.isclass(service) or not isinstance(service, Service):
        raise SystemExit(
            f"--factory {spec} gave {service!r}, not a service (an object with name, handles and handle)"
        )
    return service


class ProcessSettings(EnvSettings):
    """What a service or relay process reads from the environment (variables WAVE_<FIELD>)."""

    model_config = {"env_prefix": "WAVE_"}

    health_host: str | None = None
    database_url: str | None = None
    kafka_bootstrap: str | None = None
    # This instance's name in the `producer` of what it stores (`planner@<instance>`): a pod's name
    # where one is given, so work reads per replica; a random one otherwise.
    instance: str | None = None


def resolve_health_host(given: str | None, default: str) -> str:
    """The address the health server binds: the one given, else WAVE_HEALTH_HOST, else `default`."""
    return given or read_settings(ProcessSettings).health_host or default


def _distributed_settings() -> tuple[str, str]:
    """WAVE_DATABASE_URL and WAVE_KAFKA_BOOTSTRAP; leaving the process when either is unset."""
    settings = read_settings(ProcessSettings)
    for variable, value in (("WAVE_DATABASE_URL", settings.database_url), ("WAVE_KAFKA_BOOTSTRAP", settings.kafka_bootstrap)):
        if not value:
            raise SystemExit(f"{variable} is not set; a distributed service needs it (see README: configuration)")
    return settings.database_url, settings.kafka_bootstrap  # type: ignore[return-value]


async def _open_store(database_url: str, who: str):
    """The store, once the database answers: a process started while it is down waits for it."""
    outage = OutageWatch(who, logging.getLogger("wave.runtime"))
    while True:
        try:
            store = await open_store(database_url)
        except Exception as exc:
            if not is_outage(exc):
                raise
            await outage.wait(exc)
            continue
        outage.recovered()
        return store


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


@contextlib.asynccontextmanager
async def health_endpoints(port: int | None, host: str | None, ready: Callable[[], bool]) -> AsyncIterator[None]:
    """Serves /healthz, /readyz and /metrics while the block runs, when a port is given."""
    if port is None:
        yield
        return
    server = HealthServer(port, ready, resolve_health_host(host, LOOPBACK))
    await server.start()
    try:
        yield
    finally:
        await server.stop()


async def serve_service(
    service: Service, *, health_port: int | None = None, health_host: str | None = None
) -> None:
    database_url, bootstrap = _distributed_settings()
    configure_tracing(f"wave-{service.name}")
    store = await _open_store(database_url, service.name)
    topics = Topics.from_env()
    await ensure_topics(bootstrap, topics)
    runner = KafkaServiceRunner(service, store, bootstrap, topics, instance=read_settings(ProcessSettings).instance)
    stop = asyncio.Event()
    _stop_on_signals(stop)
    try:
        async with health_endpoints(health_port, health_host, lambda: runner.ready):
            await runner.run(stop)
    finally:
        await store.close()


async def serve_relay(*, health_port: int | None = None, health_host: str | None = None) -> None:
    database_url, bootstrap = _distributed_settings()
    store = await _open_store(database_url, "relay")
    topics = Topics.from_env()
    await ensure_topics(bootstrap, topics)
    relay = OutboxRelay(store, bootstrap, topics)
    stop = asyncio.Event()
    _stop_on_signals(stop)
    try:
        async with health_endpoints(health_port, health_host, lambda: relay.active):
            await relay.run(stop)
    except UnsupportedByStoreError as exc:
        raise SystemExit(f"the relay cannot start: {exc}") from None
    finally:
        await store.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m wave_runtime", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="role", required=True)
    service = sub.add_parser("service", help="run one service in its Kafka consumer group")
    service.add_argument("--factory", required=True, help="package.module:factory giving the service")
    relay = sub.add_parser("relay", help="run the outbox relay (store -> Kafka)")
    for role in (service, relay):
        role.add_argument("--health-port", type=int, default=None, help="serve /healthz, /readyz and /metrics here")
        role.add_argument(
            "--health-host",
            default=None,
            help=f"the address to serve them on (default: WAVE_HEALTH_HOST, else {ALL_INTERFACES})",
        )
    args = parser.parse_args(argv)
    host = resolve_health_host(args.health_host, ALL_INTERFACES)
    logging.basicConfig(level=os.environ.get("WAVE_LOG_LEVEL", "INFO"), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    quiet_broker_client_logs()
    if args.role == "service":
        asyncio.run(serve_service(load_factory(args.factory), health_port=args.health_port, health_host=host))
    else:
        asyncio.run(serve_relay(health_port=args.health_port, health_host=host))

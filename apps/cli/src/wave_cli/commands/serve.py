"""Serving WAVE over HTTP: `wave serve`, the access tokens it accepts (`wave token`), and the read
models it keeps (`wave projections`)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
from collections.abc import AsyncIterator

import click
from wave_app import access
from wave_app.projection import RunsProjector
from wave_store import EventStore
from wave_store.tables import ApiTables, open_tables

from .. import render
from ..bootstrap import Composition


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="the address to listen on")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="0: any free port")
@click.pass_obj
def serve_command(parts: Composition, host: str, port: int) -> None:
    """Serve the HTTP API (/api/v1, /healthz, /readyz, /metrics, /slack/actions) until Ctrl-C or SIGTERM.

    \b
    Embedded (the SQLite store): this process also runs every service, so a run submitted through
    the API progresses. Distributed (WAVE_DATABASE_URL + WAVE_KAFKA_BOOTSTRAP): the API alone; it
    reads the store, records people's commands and follows new events by the store's notifications.
    Calls need a token: `wave token create --role viewer|approver|admin --name NAME`.
    """
    run_api(parts, host, port)


def run_api(parts: Composition, host: str, port: int, *, health_port: int | None = None,
            health_host: str | None = None) -> None:
    """`wave serve`, and `wave service api` (the same in a distributed deployment) until Ctrl-C or SIGTERM."""
    model_source = parts.models_in_use()
    services = parts.embedded_services(model_source)  # a service that cannot start refuses before listening
    parts.configure_logging()
    listener = _listen(host, port)
    previous = signal.signal(signal.SIGTERM, _stop_serving)
    try:
        asyncio.run(_serve(parts, listener, model_source, services, health_port, health_host))
    except (KeyboardInterrupt, _Terminated):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        listener.close()


class _Terminated(Exception):
    """SIGTERM arrived: the server stops the way Ctrl-C stops it, and the process exits 0."""


def _stop_serving(signum: int, frame: object) -> None:
    # The HTTP server stops gracefully on SIGTERM, then raises the signal again for the handler it
    # found: without this one, the default handler would kill the process after a clean stop.
    raise _Terminated()


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # Naming TCP makes asyncio set TCP_NODELAY on each connection (it checks the protocol number);
    # without it an answer written as headers then body waits for the client's delayed ACK.
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    listener.listen(128)
    return listener


async def _serve(parts: Composition, listener: socket.socket, model_source: str, services: list | None,
                 health_port: int | None, health_host: str | None) -> None:
    import uvicorn
    from wave_api import ApiConfig, create_app
    from wave_runtime import EmbeddedRuntime
    from wave_runtime.process import health_endpoints

    async with parts.store() as store:
        app = create_app(ApiConfig(store=store, model_source=model_source, env=parts.env))
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        host, port = listener.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        what = "the API and every service" if services is not None else "the API (the services run elsewhere)"
        render.console.print(f"WAVE API on http://{shown}:{port}/api/v1 ({parts.settings.mode}: {what}); Ctrl-C stops")
        sys.stdout.flush()

        def ready() -> bool:
            api = getattr(app.state, "api", None)
            return api is not None and api.ready

        async with health_endpoints(health_port, health_host, ready):
            if services is None:
                await server.serve(sockets=[listener])
                return
            async with EmbeddedRuntime(store, services, parts.dead_letters()):
                await server.serve(sockets=[listener])


# --- tokens -------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _store_and_tables(parts: Composition) -> AsyncIterator[tuple[EventStore, ApiTables]]:
    async with parts.store() as store:
        tables = await open_tables(store)
        try:
            yield store, tables
        finally:
            await tables.close()


@click.group("token")
def token_group() -> None:
    """Access tokens of the HTTP API: viewer reads; approver also decides, tops up, cancels and
    submits; admin also manages tokens. Only a token's hash is stored."""


@token_group.command("create")
@click.option("--role", type=click.Choice(access.ROLES), required=True)
@click.option("--name", required=True, help="who holds it: decisions made with it name it")
@click.pass_obj
def token_create(parts: Composition, role: str, name: str) -> None:
    """Make a token and print it once (it cannot be shown again)."""

    async def go():
        async with _store_and_tables(parts) as (_, tables):
            return await access.create_token(tables, name=name, role=role)

    _, secret = asyncio.run(go())
    render.errors.print(f"token {name} ({role}); it is shown this once, keep it:")
    click.echo(secret)


@token_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def token_list(parts: Composition, as_json: bool) -> None:
    """The live tokens: name, role, when made (never the tokens themselves)."""

    async def go():
        async with _store_and_tables(parts) as (_, tables):
            return await access.list_tokens(tables)

    found = asyncio.run(go())
    if as_json:
        render.print_json([{"name": t.name, "role": t.role, "created_at": t.created_at} for t in found])
        return
    if not found:
        render.console.print("no tokens; make one with `wave token create --role viewer --name NAME`")
    for token in found:
        render.console.print(f"{token.name}\t{token.role}\t{token.created_at}", markup=False)


@token_group.command("revoke")
@click.argument("name")
@click.pass_obj
def token_revoke(parts: Composition, name: str) -> None:
    """Revoke a token: it and the sessions signed in with it stop working at once."""

    async def go() -> None:
        async with _store_and_tables(parts) as (_, tables):
            await access.revoke_token(tables, name)

    asyncio.run(go())
    render.console.print(f"token {name} revoked", markup=False)


# --- read models --------------------------------------------------------------------------------


@click.group("projections")
def projections_group() -> None:
    """The read models kept beside the event log (rebuildable from it)."""


@projections_group.command("rebuild")
@click.argument("name", type=click.Choice(["runs"]))
@click.pass_obj
def projections_rebuild(parts: Composition, name: str) -> None:
    """Empty a read model and build it again from the whole log (runs: the table `GET /api/v1/runs` lists)."""

    async def go() -> int:
        async with _store_and_tables(parts) as (store, tables):
            return await RunsProjector(store, tables).rebuild()

    position = asyncio.run(go())
    render.console.print(f"projection {name} rebuilt up to position {position}")

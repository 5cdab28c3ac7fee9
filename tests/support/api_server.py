"""The HTTP API over a real SQLite store in a tmp dir, for the API tests (not collected: no test_
prefix): an in-process ASGI client (`ApiHarness.client`) and, for what needs a real socket (event
streams, the fuzzer), the same app served by uvicorn in a thread of its own (`served`)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
from wave_api import ApiConfig, create_app
from wave_api.settings import ApiSettings, read_api_settings
from wave_app import access, commands
from wave_events import catalogue as ev
from wave_events.envelope import new_envelope
from wave_store import EventStore, open_store
from wave_store.tables import ApiTables, open_tables


@dataclass
class ApiHarness:
    app: object
    store: EventStore
    tables: ApiTables
    client: httpx.AsyncClient
    tokens: dict[str, str]  # role -> a token of that role

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@contextlib.asynccontextmanager
async def api_harness(
    db: Path, env: Mapping[str, str] | None = None, *, keep_alive_s: float = 15.0, client_host: str = "127.0.0.1"
) -> AsyncIterator[ApiHarness]:
    """The app with its lifespan run, over `db`, with one token per role (named after the role)."""
    settings = read_api_settings(dict(env or {}))
    app = create_app(ApiConfig(store_url=f"sqlite:///{db}", settings=settings), keep_alive_s=keep_alive_s)
    async with app.router.lifespan_context(app):
        api = app.state.api
        tokens = {}
        for role in access.ROLES:
            _, tokens[role] = await access.create_token(api.tables, name=role, role=role)
        transport = httpx.ASGITransport(app=app, client=(client_host, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://wave.test") as client:
            yield ApiHarness(app, api.store, api.tables, client, tokens)


async def make_tokens(db: Path) -> dict[str, str]:
    """One token per role in the tables of the store at `db` (for a server started separately)."""
    store = await open_store(f"sqlite:///{db}")
    try:
        tables = await open_tables(store)
        tokens = {}
        for role in access.ROLES:
            _, tokens[role] = await access.create_token(tables, name=role, role=role)
        await tables.close()
        return tokens
    finally:
        await store.close()


@contextlib.contextmanager
def served(db: Path, settings: ApiSettings | None = None, *, keep_alive_s: float = 15.0) -> Iterator[str]:
    """The app served by uvicorn on a free local port, in its own thread and event loop; yields the base URL."""
    import uvicorn

    app = create_app(ApiConfig(store_url=f"sqlite:///{db}", settings=settings or ApiSettings()), keep_alive_s=keep_alive_s)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP_NODELAY, as wave serve
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    # Open event streams end at shutdown after the grace period.
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[listener])), daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if server.started:
                break
            threading.Event().wait(0.02)
        else:
            raise RuntimeError("the API server did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


async def escalated_run(store: EventStore, repo: Path, escalation_id: str = "e1", kind: str = "unsafe_action") -> str:
    """A run submitted against `repo` that waits on one escalation (approve or reject), asked as a
    service asks: caused by the request, in the run's trace."""
    run_id = await commands.submit_run(store, actor="ana", story="Add slugify\n\nmore words", repo=str(repo))
    stream = f"run-{run_id}"
    (request,) = await store.read_stream(stream)
    question = ev.EscalationRequested(escalation_id=escalation_id, kind=kind, reason="why", options=("approve", "reject"))
    await store.append(stream, [new_envelope(stream, question, producer="test", causation=request)], 1)
    return run_id

"""The FastAPI application: `/api/v1` over the application layer, health and metrics, Slack's
interactivity endpoint. `create_app(config)` builds it; the store is opened in its lifespan (or given,
when the process that serves it also runs the services on the same store)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from wave_app import access, commands, queries
from wave_app.errors import AppError, Remedy, phrase
from wave_app.projection import RunsProjector
from wave_events.codec import encode_envelope
from wave_events.envelope import run_stream_id
from wave_store import EventStore, StoreError, open_store
from wave_store.tables import ApiTables, RunRow, TokenRecord, open_tables

from . import models, sse
from .auth import SESSION_COOKIE, FailureLimiter, client_address, require
from .scrape import MetricsScraper, parse_targets
from .settings import ApiSettings, read_api_settings

API_PREFIX = "/api/v1"
REQUESTS = Counter("wave_api_requests_total", "HTTP requests the API answered", ["method", "route", "status"])
_log = logging.getLogger("wave_api")

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": models.Problem, "description": why}
    for status, why in (
        (400, "the request cannot be carried out as it is"),
        (401, "no valid token or session"),
        (403, "the token's role does not allow it"),
        (404, "no such run"),
        (409, "the run's state does not allow it"),
        (422, "a field is missing or malformed"),
        (429, "too many bad credentials from this address"),
    )
}


@dataclass
class ApiConfig:
    """What the API needs from the process that serves it."""

    store_url: str = ""  # opened in the lifespan unless `store` is given
    store: EventStore | None = None  # shared with the services of the same process (embedded)
    model_source: str = ""  # the models file a submitted run remembers (the server's own)
    env: Mapping[str, str] | None = None  # default: the process environment
    project_runs: bool = True  # keep the runs table current (off: another process does)
    settings: ApiSettings | None = None


@dataclass
class Api:
    """The parts the endpoints use, on `app.state.api`."""

    store: EventStore
    tables: ApiTables
    config: ApiConfig
    settings: ApiSettings
    feed: sse.EventFeed
    limiter: FailureLimiter = field(default_factory=FailureLimiter)
    projector: RunsProjector | None = None
    scraper: MetricsScraper | None = None  # distributed: the services' metrics for the dashboard
    ready: bool = False


def api_of(request: Request) -> Api:
    return request.app.state.api


Viewer = Annotated[TokenRecord, Depends(require("viewer"))]
Approver = Annotated[TokenRecord, Depends(require("approver"))]
Admin = Annotated[TokenRecord, Depends(require("admin"))]


# --- runs ----------------------------------------------------------------------------------------

runs = APIRouter(prefix=API_PREFIX, tags=["runs"], responses=ERRORS)


def _summary(row: RunRow) -> models.RunSummary:
    return models.RunSummary(
        run_id=row.run_id, status=row.status, title=row.title, repo=row.repo, target_branch=row.target_branch,
        gates=json.loads(row.gates), cost_usd=row.cost_usd, tokens_used=row.tokens_used, retries=row.retries,
        pending_escalations=json.loads(row.pending), error=row.error, last_event_at=row.last_event_at,
    )


def _cursor_of(row: RunRow) -> str:
    return base64.urlsafe_b64encode(json.dumps([row.last_event_at, row.run_id]).encode()).decode()


def _parse_cursor(cursor: str) -> tuple[str, str]:
    try:
        moment, run_id = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
        if isinstance(moment, str) and isinstance(run_id, str):
            return moment, run_id
    except (ValueError, TypeError, UnicodeError, binascii.Error):
        pass
    raise HTTPException(400, "cursor: not a cursor this API gave out (pass `next_cursor` of the previous page)")


@runs.get("/runs", response_model=models.RunPage, summary="List runs, newest activity first")
async def list_runs(
    request: Request,
    _: Viewer,
    status: Annotated[str | None, Query(max_length=40, description="only runs with this status")] = None,
    q: Annotated[str | None, Query(max_length=200, description="text in the run id, story title or repository")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> models.RunPage:
    api = api_of(request)
    before = _parse_cursor(cursor) if cursor else None
    rows = await api.tables.list_runs(status=status or None, text=q or None, limit=limit + 1, before=before)
    page = rows[:limit]
    return models.RunPage(
        runs=[_summary(row) for row in page],
        next_cursor=_cursor_of(page[-1]) if len(rows) > limit else None,
    )


@runs.post("/runs", status_code=201, response_model=models.RunCreated, summary="Submit a story")
async def submit_run(request: Request, body: models.RunCreate, token: Approver) -> models.RunCreated:
    api = api_of(request)
    run_id = await commands.submit_run(
        api.store, actor=access.actor_of(token), story=body.story, repo=body.repo,
        target_branch=body.target_branch, budget_usd=body.budget_usd, budget_tokens=body.budget_tokens,
        max_retries=body.max_retries, merge_policy=body.merge_policy, merge_strategy=body.merge_strategy,
        delivery=body.delivery, model_source=api.config.model_source, producer=commands.API_PRODUCER,
    )
    return models.RunCreated(run_id=run_id, status="running")



@runs.get("/runs/{run_id}", response_model=models.RunStateDocument, summary="A run's state (`wave status --json`)")
async def get_run(request: Request, run_id: str, _: Viewer) -> dict[str, Any]:
    _, state = await queries.load_run(api_of(request).store, run_id)
    return queries.state_document(state)


@runs.get("/runs/{run_id}/events", response_model=models.EventList, summary="A run's audit history, with payloads")
async def run_events(
    request: Request,
    run_id: str,
    _: Viewer,
    after: Annotated[int, Query(ge=0, le=2**62, description="only events after this stream version")] = 0,
    types: Annotated[str | None, Query(max_length=2000, description="comma-separated event types")] = None,
) -> models.EventList:
    events, _state = await queries.load_run(api_of(request).store, run_id)
    wanted = {t.strip() for t in types.split(",") if t.strip()} if types else None
    return models.EventList(events=[
        json.loads(encode_envelope(e)) for e in events
        if (e.stream_version or 0) > after and (wanted is None or e.type in wanted)
    ])


def _last_event_id(header: str | None, after: int | None) -> int:
    if header is None:
        return after or 0
    try:
        value = int(header.strip())
    except ValueError:
        value = -1
    if value < 0:
        raise HTTPException(400, f"Last-Event-ID {header[:40]!r}: want the id (a global position) of an event received")
    return value


STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {"schema": {"type": "string"}}},
          "description": "`id:` global position, `event:` type, `data:` the envelope as JSON"},
}


def _event_stream(request: Request, after: int, stream_id: str | None) -> StreamingResponse:
    frames = sse.events_after(api_of(request).feed, after, stream_id=stream_id, disconnected=request.is_disconnected,
                              keep_alive_s=request.app.state.keep_alive_s)
    return StreamingResponse(frames, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@runs.get("/runs/{run_id}/stream", response_class=StreamingResponse, responses=STREAM_RESPONSES,
          summary="A run's events as Server-Sent Events, then live ones")
async def run_stream(
    request: Request,
    run_id: str,
    _: Viewer,
    last_event_id: Annotated[str | None, Header(max_length=40)] = None,
    after: Annotated[int | None, Query(ge=0, le=2**62, description="as Last-Event-ID")] = None,
) -> StreamingResponse:
    stream_id = run_stream_id(queries.check_run_id(run_id))
    if await api_of(request).store.stream_version(stream_id) == 0:
        raise queries.no_such_run(run_id)
    return _event_stream(request, _last_event_id(last_event_id, after), stream_id)


@runs.get("/stream", response_class=StreamingResponse, responses=STREAM_RESPONSES,
          summary="Every run's events as Server-Sent Events, then live ones")
async def all_stream(
    request: Request,
    _: Viewer,
    last_event_id: Annotated[str | None, Header(max_length=40)] = None,
    after: Annotated[int | None, Query(ge=0, le=2**62, description="as Last-Event-ID")] = None,
) -> StreamingResponse:
    return _event_stream(request, _last_event_id(last_event_id, after), None)


@runs.post("/runs/{run_id}/decisions", response_model=models.DecisionRecorded, summary="Answer an escalation")
async def decide(request: Request, run_id: str, body: models.DecisionRequest, token: Approver) -> models.DecisionRecorded:
    _, envelope = await commands.record_decision(
        api_of(request).store, run_id, actor=access.actor_of(token), decision=body.decision,
        escalation_id=body.escalation_id or None, comment=body.comment, producer=commands.API_PRODUCER,
    )
    payload = envelope.payload
    return models.DecisionRecorded(run_id=run_id, event_id=str(envelope.event_id), escalation_id=payload.escalation_id,
                                   decision=payload.decision, decided_by=payload.decided_by, comment=payload.comment)


@runs.post("/runs/{run_id}/budget", response_model=models.BudgetRecorded, summary="Raise a run's budget")
async def budget(request: Request, run_id: str, body: models.BudgetRequest, token: Approver) -> models.BudgetRecorded:
    _, envelope = await commands.raise_budget(api_of(request).store, run_id, actor=access.actor_of(token),
                                              usd=body.usd, tokens=body.tokens, force=body.force,
                                              producer=commands.API_PRODUCER)
    payload = envelope.payload
    return models.BudgetRecorded(run_id=run_id, event_id=str(envelope.event_id), limit_usd=payload.limit_usd,
                                 limit_tokens=payload.limit_tokens, raised_by=payload.raised_by)


@runs.post("/runs/{run_id}/cancel", response_model=models.CancelRecorded, summary="Cancel a run")
async def cancel(request: Request, run_id: str, body: models.CancelRequest, token: Approver) -> models.CancelRecorded:
    _, envelope = await commands.cancel_run(api_of(request).store, run_id, actor=access.actor_of(token),
                                            reason=body.reason, producer=commands.API_PRODUCER)
    payload = envelope.payload
    return models.CancelRecorded(run_id=run_id, event_id=str(envelope.event_id), cancelled_by=payload.cancelled_by,
                                 reason=payload.reason)


@runs.get("/runs/{run_id}/replay", response_model=models.ReplayResult, summary="Replay a run and check it")
async def replay(request: Request, run_id: str, _: Viewer) -> models.ReplayResult:
    result = await queries.replay_run(api_of(request).store, run_id, None)
    checks = [models.ReplayCheck(against=c.against, differences=c.differences) for c in result.checks]
    return models.ReplayResult(run_id=run_id, events=len(result.events),
                               consistent=not any(c.differences for c in checks), checks=checks)


# --- sessions and tokens -------------------------------------------------------------------------

people = APIRouter(prefix=API_PREFIX, tags=["access"], responses=ERRORS)


@people.post("/session", response_model=models.SessionInfo, summary="Sign in with a token (sets the session cookie)")
async def sign_in(request: Request, response: Response, body: models.SessionRequest) -> models.SessionInfo:
    api = api_of(request)
    client = client_address(request)
    wait = api.limiter.retry_after(client)
    if wait is not None:
        raise HTTPException(429, f"too many bad credentials from {client}; try again in {wait}s",
                            headers={"Retry-After": str(wait)})
    token = await access.authenticate(api.tables, body.token)
    if token is None:
        api.limiter.failed(client)
        raise HTTPException(401, "no such token, or it was revoked", headers={"WWW-Authenticate": "Bearer"})
    session = await access.open_session(api.tables, token)
    response.set_cookie(
        SESSION_COOKIE, session.session_id, httponly=True, samesite="strict", path="/",
        secure=request.url.scheme == "https", max_age=int(access.SESSION_LIFETIME.total_seconds()),
    )
    return models.SessionInfo(csrf_token=session.csrf_token, name=token.name, role=token.role)


@people.delete("/session", status_code=204, summary="Sign out (ends the session)")
async def sign_out(request: Request) -> Response:
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        await access.close_session(api_of(request).tables, session_id)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


@people.get("/whoami", response_model=models.Who, summary="The token behind this request")
async def whoami(token: Viewer) -> models.Who:
    return models.Who(name=token.name, role=token.role)


@people.get("/tokens", response_model=models.TokenList, summary="List live tokens (never their secrets)")
async def tokens(request: Request, _: Admin) -> models.TokenList:
    found = await access.list_tokens(api_of(request).tables)
    return models.TokenList(tokens=[models.TokenInfo(name=t.name, role=t.role, created_at=t.created_at) for t in found])


@people.post("/tokens", status_code=201, response_model=models.TokenCreated, summary="Make a token (shown once)")
async def make_token(request: Request, body: models.TokenCreate, _: Admin) -> models.TokenCreated:
    record, secret = await access.create_token(api_of(request).tables, name=body.name, role=body.role)
    return models.TokenCreated(name=record.name, role=record.role, created_at=record.created_at, token=secret)


@people.delete("/tokens/{name}", status_code=204, summary="Revoke a token and end its sessions")
async def revoke(request: Request, name: str, _: Admin) -> Response:
    await access.revoke_token(api_of(request).tables, name)
    return Response(status_code=204)


# --- health --------------------------------------------------------------------------------------

health = APIRouter(tags=["health"])


@health.get("/healthz", response_model=models.Health, summary="The process is alive")
async def healthz() -> models.Health:
    return models.Health(status="ok")


@health.get("/readyz", response_model=models.Health, responses={503: {"model": models.Health}},
            summary="The store answers and the runs table is current")
async def readyz(request: Request) -> Any:
    api = api_of(request)
    try:
        await asyncio.wait_for(api.store.last_position(), 5)
    except Exception:  # noqa: BLE001 - any failure to reach the store means not ready
        return JSONResponse({"status": "store unreachable"}, status_code=503)
    if not api.ready:
        return JSONResponse({"status": "starting"}, status_code=503)
    return models.Health(status="ready")


@health.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics")
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


# --- the application -----------------------------------------------------------------------------


def remedy_text(remedy: Remedy) -> str:
    """What to do about a refusal, in this API's terms (the CLI says it with its options)."""
    run = f"{API_PREFIX}/runs/{remedy.run_id}"
    return {
        "force": 'send "force": true to change its budget anyway',
        "name_escalation": f'name one in "escalation_id" ({", ".join(remedy.choices)})',
        "raise_budget": f"raise it with POST {run}/budget, or reject it to stop the run",
        "name_target_branch": 'name one in "target_branch"',
        "list_escalations": f"GET {run} lists them",
        "list_runs": f"GET {API_PREFIX}/runs lists the runs",
        "raw_events": "an operator can read what is stored with `wave events RUN --raw`",
    }[remedy.kind]


def api_line(error: AppError) -> str:
    """A refusal as this API says it: inputs by their JSON field names, which are the neutral names."""
    return phrase(error, {}, remedy_text)



def _one_line(exc: RequestValidationError) -> str:
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("body",)) or "request"
    return f"{where}: {first.get('msg', 'invalid')}"[:500]


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(_: Request, exc: AppError) -> JSONResponse:
        return JSONResponse({"detail": api_line(exc)}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _one_line(exc)}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(StoreError)
    async def store_error(request: Request, exc: StoreError) -> JSONResponse:
        _log.error("store error on %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse({"detail": f"the event store refused: {exc}"}, status_code=503)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        _log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal error (logged)"}, status_code=500)


def _openapi(app: FastAPI) -> Any:
    """FastAPI's document, with validation errors as the one-line Problem the API answers with."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            schemas = document.get("components", {}).get("schemas", {})
            schemas["HTTPValidationError"] = schemas["Problem"]
            schemas.pop("ValidationError", None)
            app.openapi_schema = document
        return app.openapi_schema

    return build


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    config: ApiConfig = app.state.config
    settings = config.settings or read_api_settings(config.env)
    async with contextlib.AsyncExitStack() as stack:
        store = config.store
        if store is None:
            store = await open_store(config.store_url)
            stack.push_async_callback(store.close)
        tables = await open_tables(store)
        stack.push_async_callback(tables.close)
        feed = sse.EventFeed(store)
        await feed.start()
        stack.push_async_callback(feed.close)
        api = Api(store=store, tables=tables, config=config, settings=settings, feed=feed,
                  limiter=FailureLimiter(settings.api_auth_failures_per_minute))
        targets = parse_targets(settings.api_metrics_targets)
        if targets:
            api.scraper = MetricsScraper(targets)
            stack.push_async_callback(api.scraper.close)
        app.state.api = api
        stop = asyncio.Event()
        if config.project_runs:
            api.projector = RunsProjector(store, tables)
            await api.projector.catch_up()
            follower = asyncio.create_task(api.projector.follow(stop), name="wave-api-projection")

            async def end_projection() -> None:
                stop.set()
                follower.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await follower

            stack.push_async_callback(end_projection)
        api.ready = True
        yield


class RequestCounter:
    """Counts answered requests by route and status. Plain ASGI: a `BaseHTTPMiddleware` would pass
    every chunk of every event stream through a memory channel of its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            # The router notes the matched route in the same scope.
            route = getattr(scope.get("route"), "path", "unmatched")
            REQUESTS.labels(scope["method"], route, str(status)).inc()


def create_app(config: ApiConfig | None = None, *, keep_alive_s: float = sse.KEEP_ALIVE_S) -> FastAPI:
    config = config or ApiConfig()
    settings = config.settings or read_api_settings(config.env)
    config.settings = settings
    app = FastAPI(
        title="WAVE API",
        version="1",
        description="Runs, decisions, budgets and live events of WAVE. Every /api/v1 call needs "
                    "`Authorization: Bearer TOKEN` (`wave token create`) or a session cookie.",
        lifespan=_lifespan,
    )
    app.state.config = config
    app.state.keep_alive_s = keep_alive_s
    _install_errors(app)
    app.openapi = _openapi(app)  # type: ignore[method-assign]
    from .slack import slack

    for router in (runs, people, health, slack):
        app.include_router(router)
    from .portal import mount_portal

    mount_portal(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "DELETE"], allow_headers=["Authorization", "Content-Type", "X-CSRF-Token", "Last-Event-ID"],
        )

    app.add_middleware(RequestCounter)
    return app

"""The web portal served by `wave serve` beside the API: static pages under `/portal` that call
`/api/v1` with the session cookie (and its CSRF token), and the two reads only the portal needs: where
the log stands (so a live list follows new events only) and the per-service dashboard."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from wave_events.base import registry
from wave_store.tables import TokenRecord

from ..app import ERRORS
from ..auth import require
from .dashboard import Dashboard, dashboard_of

STATIC = Path(__file__).parent / "static"
PAGES = {"sign-in": "sign-in.html", "runs": "runs.html", "run": "run.html", "replay": "replay.html",
         "dashboard": "dashboard.html"}
READ_BATCH = 1000

Viewer = Annotated[TokenRecord, Depends(require("viewer"))]

pages = APIRouter(include_in_schema=False)
reads = APIRouter(prefix="/api/v1", tags=["portal"], responses=ERRORS)


def _page(name: str) -> FileResponse:
    # The pages hold no data: they fetch it after load, so they are the same for every caller.
    return FileResponse(STATIC / PAGES[name], media_type="text/html", headers={"Cache-Control": "no-cache"})


@pages.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse("/portal/", status_code=303)


@pages.get("/portal/")
async def runs_page() -> FileResponse:
    return _page("runs")


@pages.get("/portal/sign-in")
async def sign_in_page() -> FileResponse:
    return _page("sign-in")


@pages.get("/portal/runs/{run_id}")
async def run_page(run_id: str) -> FileResponse:
    return _page("run")


@pages.get("/portal/runs/{run_id}/replay")
async def replay_page(run_id: str) -> FileResponse:
    return _page("replay")


@pages.get("/portal/dashboard")
async def dashboard_page() -> FileResponse:
    return _page("dashboard")


class Position(BaseModel):
    position: int
    event_types: list[str]


@reads.get("/position", response_model=Position,
           summary="The global position of the newest event, and every event type a stream may name")
async def position(request: Request, _: Viewer) -> Position:
    # A browser's EventSource hands a named event (`event: TYPE`) only to listeners of that type.
    types = sorted({model.event_type for model in registry.latest_models()} | {"Unreadable"})
    return Position(position=await request.app.state.api.store.last_position(), event_types=types)


@reads.get("/dashboard", response_model=Dashboard, summary="Events per service, model cost per role and provider, dead letters")
async def dashboard(request: Request, _: Viewer) -> Dashboard:
    api = request.app.state.api
    if api.scraper is not None:
        scraped = await api.scraper.scrape()
        return Dashboard(source="metrics", events=0, services=[], models=[], dead_letters=[], scraped=scraped)
    store = api.store
    events, position = [], 0
    while batch := await store.read_all(position, READ_BATCH):
        events.extend(batch)
        position = batch[-1].global_position or position
    return dashboard_of(events)


def mount_portal(app: FastAPI) -> None:
    app.include_router(pages)
    app.include_router(reads)
    app.mount("/portal/static", StaticFiles(directory=STATIC), name="portal-static")
